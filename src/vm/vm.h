/* vm.h — the blocked VM: tier 0 on any CPU and the reference the JIT is tested against.
 * vm_elementwise evaluates one op over contiguous buffers (constant folding uses it, so folding and
 * execution share one semantics); vm_run_row runs a Plan on one row through the kernel ABI in
 * blocks of Plan.sched.block elements; vm_reduce_* give each reduction its identity, combining and
 * final value. */
#ifndef BUD_VM_H
#define BUD_VM_H

#include "plan/plan.h"

/* out[i] = op(in[0][i], ...) for i < n. Operand dtypes are those the IR resolved (in_dts; for
 * OP_cast the source dtype), out has out_dt. BUD_ERR_VALUE (message on ctx) for values NumPy
 * refuses at run time (integers to negative integer powers). */
BudStatus vm_elementwise(BudContext *ctx, Op op, BudDType out_dt, int nin, const BudDType *in_dts,
                         void *out, const void *const *in, int64_t n);

typedef struct VmScratch VmScratch;
VmScratch *vm_scratch_new(const Plan *p); /* NULL when out of memory */
void vm_scratch_free(VmScratch *s);
/* Runs elements [begin, end) of one row of plan p. */
BudStatus vm_run_row(BudContext *ctx, const Plan *p, VmScratch *s, const BudKArgs *a,
                     int64_t begin, int64_t end);

void vm_reduce_init(const PlanReduce *r, RedAcc *acc);
/* Accumulates m values of r->in_dtype at x (aligned) into acc; element i has the flat index
 * index_base + i. The VM calls it once per block; so do JIT kernels (x86_jit_red_flush). */
void vm_reduce_block(const PlanReduce *r, RedAcc *acc, const void *x, int64_t m,
                     int64_t index_base);
/* Adds one block's partial sum s to acc's pairwise cascade (float sum/mean). */
void vm_reduce_cascade_push(RedAcc *acc, double s);
void vm_reduce_combine(const PlanReduce *r, RedAcc *into, const RedAcc *from); /* into then from */
/* Writes the reduction's value (out_dtype) to out. */
void vm_reduce_finish(const PlanReduce *r, const RedAcc *acc, void *out);

#endif
