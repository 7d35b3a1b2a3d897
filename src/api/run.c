/* run.c — bud_run: checks what the caller passes against what the program was compiled for
 * (counts, dtypes, shapes, given outputs, and the value-based-casting class of 0-d inputs), then
 * hands over to the executor (rt_run_program). Entry point: bud_run.
 */
#include "api/api.h"
#include "rt/exec.h"

#include <stdio.h>
#include <string.h>

/* The value-based-casting class the program's 0-d input i was compiled for; false when the
 * program does not know (compiled from a graph, whose 0-d inputs carry no value). */
static bool api_compiled_scalar(const BudProgram *prog, int i, int *out) {
  const IrGraph *g = prog->graph;
  if (!g || i >= g->ninputs || strcmp(g->inputs[i].name, prog->input_names[i]) != 0) return false;
  int32_t id = g->inputs[i].node;
  if (id < 0 || id >= g->nnodes) return false;
  const IrNode *n = &g->nodes[id];
  if (n->op != OP_input || !n->has_value || n->shape.ndim != 0) return false;
  unsigned char buf[8];
  scalar_store(n->dtype, buf, n->value);
  *out = api_scalar_class(n->dtype, buf);
  return true;
}

static BudStatus api_check_array(BudContext *ctx, const char *what, const char *name,
                                 const BudArray *a, BudDType dt, const Shape *s) {
  char want[256], got[256];
  if (a->ndim < 0 || a->ndim > BUD_MAX_DIMS)
    return bud_fail(ctx, BUD_ERR_INVALID, "%s '%s': ndim %d is not in [0, %d]", what, name,
                    a->ndim, BUD_MAX_DIMS);
  if (a->dtype != dt)
    return bud_fail(ctx, BUD_ERR_DTYPE, "%s '%s' has dtype %s, the program was compiled for %s",
                    what, name, bud_dtype_name(a->dtype) ? bud_dtype_name(a->dtype) : "(invalid)",
                    bud_dtype_name(dt));
  bool same = a->ndim == s->ndim;
  for (int d = 0; same && d < s->ndim; d++) same = a->shape[d] == s->dim[d];
  if (!same) {
    api_format_shape(got, sizeof got, a->ndim, a->shape);
    api_format_shape(want, sizeof want, s->ndim, s->dim);
    return bud_fail(ctx, BUD_ERR_SHAPE, "%s '%s' has shape %s, the program was compiled for %s",
                    what, name, got, want);
  }
  return BUD_OK;
}

BudStatus bud_run(BudContext *ctx, BudProgram *prog, int ninputs, const BudArray *inputs,
                  int noutputs, BudArray *outputs) {
  if (!ctx) return BUD_ERR_INVALID;
  bud_clear(ctx);
  if (!prog) return bud_fail(ctx, BUD_ERR_INVALID, "bud_run: program is NULL");
  if (ninputs != prog->ninputs)
    return bud_fail(ctx, BUD_ERR_INVALID, "bud_run: the program takes %d inputs, %d given",
                    prog->ninputs, ninputs);
  if (noutputs != prog->noutputs)
    return bud_fail(ctx, BUD_ERR_INVALID, "bud_run: the program has %d outputs, %d given",
                    prog->noutputs, noutputs);
  if (ninputs > 0 && !inputs) return bud_fail(ctx, BUD_ERR_INVALID, "bud_run: inputs is NULL");
  if (noutputs > 0 && !outputs) return bud_fail(ctx, BUD_ERR_INVALID, "bud_run: outputs is NULL");
  BudStatus st;
  for (int i = 0; i < ninputs; i++) {
    const BudArray *a = &inputs[i];
    const char *name = prog->input_names[i];
    if ((st = api_check_array(ctx, "input", name, a, prog->input_dtypes[i], &prog->input_shapes[i])))
      return st;
    if (bud_array_size(a) > 0 && !a->data)
      return bud_fail(ctx, BUD_ERR_INVALID, "input '%s': data is NULL", name);
    int was;
    if (a->ndim == 0 && api_compiled_scalar(prog, i, &was)) {
      int now = api_scalar_class(a->dtype, a->data);
      if (now != was) {
        char v[64];
        Scalar s = scalar_load(a->dtype, a->data);
        if (dtype_is_float(a->dtype)) format_double(v, s.f);
        else if (dtype_is_uint(a->dtype)) snprintf(v, sizeof v, "%llu", (unsigned long long)s.u);
        else snprintf(v, sizeof v, "%lld", (long long)s.i);
        return bud_fail(ctx, BUD_ERR_VALUE,
                        "input '%s': the value %s is of NumPy scalar class %s, the program was "
                        "compiled for a value of class %s (value-based casting could change the "
                        "result types); compile again for this value, or use bud_eval",
                        name, v, api_scalar_class_name(now), api_scalar_class_name(was));
      }
    }
  }
  for (int i = 0; i < noutputs; i++) {
    BudArray *o = &outputs[i];
    if (!o->data) continue;
    const Buffer *b = &prog->buffers[prog->output_buf[i]];
    if ((st = api_check_array(ctx, "output", prog->output_names[i], o, (BudDType)b->dtype,
                              &b->shape)))
      return st;
  }
  if ((st = rt_run_program(ctx, prog, inputs, outputs))) return st;
  ctx->stats.runs++;
  return BUD_OK;
}
