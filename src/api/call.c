/* call.c — prepared calls (bud.h: bud_call_new, bud_call_run, bud_call_free, bud_call_is_lean):
 * the value classes of 0-d inputs are resolved here once, the rest of the lean path is the
 * executor's (rt/exec_fast.c); whatever the lean path declines runs through bud_run, so a
 * prepared call gives bud_run's results and errors in every case.
 */
#include "api/api.h"
#include "rt/exec_fast.h"

#include <stdlib.h>
#include <string.h>

struct BudCall {
  RtCall *rt;
  BudProgram *prog;
  int ninputs;
  int scalar_class[]; /* per input: the class a 0-d input was compiled for, or -1 */
};

/* run.c's rule: the class of the example value a 0-d input was compiled with, or -1. */
static int api_call_class(const BudProgram *prog, int i) {
  const IrGraph *g = prog->graph;
  if (!g || i >= g->ninputs || strcmp(g->inputs[i].name, prog->input_names[i]) != 0) return -1;
  int32_t id = g->inputs[i].node;
  if (id < 0 || id >= g->nnodes) return -1;
  const IrNode *n = &g->nodes[id];
  if (n->op != OP_input || !n->has_value || n->shape.ndim != 0) return -1;
  unsigned char buf[8];
  scalar_store(n->dtype, buf, n->value);
  return api_scalar_class(n->dtype, buf);
}

BudStatus bud_call_new(BudContext *ctx, BudProgram *prog, BudCall **out) {
  if (!ctx) return BUD_ERR_INVALID;
  bud_clear(ctx);
  if (!out) return bud_fail(ctx, BUD_ERR_INVALID, "bud_call_new: out is NULL");
  *out = NULL;
  if (!prog) return bud_fail(ctx, BUD_ERR_INVALID, "bud_call_new: program is NULL");
  BudCall *c = calloc(1, sizeof *c + (size_t)(prog->ninputs + 1) * sizeof(int));
  if (!c) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory preparing a call");
  c->prog = prog;
  c->ninputs = prog->ninputs;
  for (int i = 0; i < prog->ninputs; i++) c->scalar_class[i] = api_call_class(prog, i);
  BudStatus st = rt_call_prepare(ctx, prog, &c->rt);
  if (st != BUD_OK) {
    free(c);
    return st;
  }
  *out = c;
  return BUD_OK;
}

void bud_call_free(BudCall *call) {
  if (!call) return;
  rt_call_free(call->rt);
  free(call);
}

int bud_call_is_lean(const BudCall *call) { return call && rt_call_is_lean(call->rt); }

BudStatus bud_call_run(BudContext *ctx, BudCall *call, int ninputs, const BudArray *inputs,
                       int noutputs, BudArray *outputs) {
  if (!ctx) return BUD_ERR_INVALID;
  if (!call) {
    bud_clear(ctx);
    return bud_fail(ctx, BUD_ERR_INVALID, "bud_call_run: call is NULL");
  }
  bool lean = ninputs == call->ninputs && (ninputs == 0 || inputs);
  for (int i = 0; lean && i < ninputs; i++)
    if (call->scalar_class[i] >= 0)
      lean = inputs[i].ndim == 0 && inputs[i].data && (unsigned)inputs[i].dtype < BUD_NDTYPES &&
             api_scalar_class(inputs[i].dtype, inputs[i].data) == call->scalar_class[i];
  if (lean && rt_call_run(ctx, call->rt, ninputs, inputs, noutputs, outputs) == BUD_OK) {
    bud_clear(ctx);
    return BUD_OK;
  }
  return bud_run(ctx, call->prog, ninputs, inputs, noutputs, outputs);
}
