/* exec_int.h — private to the executor (exec.c, exec_fused.c): the per-run views of a program's
 * buffers and the fused-group runner.
 */
#ifndef BUD_RT_EXEC_INT_H
#define BUD_RT_EXEC_INT_H

#include "rt/exec.h"

/* A strided view of one program buffer for this run. */
typedef struct View {
  char *data;
  BudDType dtype;
  int ndim;
  int64_t shape[BUD_MAX_DIMS];
  int64_t strides[BUD_MAX_DIMS];
} View;

typedef struct RunState {
  BudContext *ctx;
  BudProgram *prog;
  View *views;       /* per program buffer */
  void **temps;      /* per temp slot */
  void **copies;     /* per input: the alias copy, or NULL */
} RunState;

/* Number of elements (shapes were checked against the program, so this fits). */
static inline int64_t rt_shape_size(int ndim, const int64_t *dims) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) n *= dims[d];
  return n;
}

static inline int64_t rt_view_size(const View *v) { return rt_shape_size(v->ndim, v->shape); }

/* Runs one GROUP_FUSED group over rs's views (exec_fused.c). */
BudStatus rt_run_fused(RunState *rs, Group *grp);
/* Runs the horizontal batch groups[0..count) (consecutive members of one Group.batch): one
 * parallel job when the program chose it (batch_threads > 1, or the par_min_bytes test knob),
 * else one group after another (exec_fused.c). */
BudStatus rt_run_batch(RunState *rs, Group *groups, int count);

#endif
