/* graph.c — the node-by-node builder: a BudGraph wraps an IrGraph, and each bud_graph_* call
 * appends through the IR builder (which infers dtypes and shapes as NumPy does). Compiling runs
 * the pass pipeline on a copy, so a graph stays usable after bud_graph_compile.
 * Entry points: bud_graph_new/free/input/const_f64/const_i64/op/reduce/output/compile.
 */
#include "api/api.h"
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

struct BudGraph {
  BudContext *ctx;
  IrGraph *g;
};

BudGraph *bud_graph_new(BudContext *ctx) {
  if (!ctx) return NULL;
  bud_clear(ctx);
  BudGraph *bg = calloc(1, sizeof *bg);
  if (!bg) {
    bud_fail(ctx, BUD_ERR_NOMEM, "bud_graph_new: out of memory");
    return NULL;
  }
  bg->ctx = ctx;
  bg->g = ir_graph_new(ctx);
  if (!bg->g) {
    free(bg);
    bud_fail(ctx, BUD_ERR_NOMEM, "bud_graph_new: out of memory");
    return NULL;
  }
  return bg;
}

void bud_graph_free(BudGraph *g) {
  if (!g) return;
  ir_graph_free(g->g);
  free(g);
}

int bud_graph_input(BudGraph *g, const char *name, BudDType dtype, int ndim,
                    const int64_t *shape) {
  if (!g) return BUD_ERR_INVALID;
  bud_clear(g->ctx);
  if (!name || !*name) return bud_fail(g->ctx, BUD_ERR_INVALID, "bud_graph_input: name is NULL or empty");
  BudStatus st = api_check_geometry(g->ctx, name, dtype, ndim, shape, NULL);
  if (st) return st;
  for (int i = 0; i < g->g->ninputs; i++)
    if (strcmp(g->g->inputs[i].name, name) == 0)
      return bud_fail(g->ctx, BUD_ERR_INVALID, "bud_graph_input: input '%s' already exists", name);
  Shape s;
  memset(&s, 0, sizeof s);
  s.ndim = ndim;
  for (int d = 0; d < ndim; d++) s.dim[d] = shape[d];
  return ir_input(g->g, name, dtype, &s, NULL);
}

int bud_graph_const_f64(BudGraph *g, double v) {
  if (!g) return BUD_ERR_INVALID;
  bud_clear(g->ctx);
  Scalar s = {.f = v};
  return ir_const(g->g, BUD_FLOAT64, s);
}

int bud_graph_const_i64(BudGraph *g, int64_t v) {
  if (!g) return BUD_ERR_INVALID;
  bud_clear(g->ctx);
  Scalar s = {.i = v};
  return ir_const(g->g, BUD_INT64, s);
}

static BudStatus api_check_node(BudGraph *g, const char *op, int k, int node) {
  if (node < 0 || node >= g->g->nnodes)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "%s: argument %d is not a node of this graph (%d)", op,
                    k + 1, node);
  return BUD_OK;
}

int bud_graph_op(BudGraph *g, const char *op, int nargs, const int *args) {
  if (!g) return BUD_ERR_INVALID;
  bud_clear(g->ctx);
  if (!op) return bud_fail(g->ctx, BUD_ERR_INVALID, "bud_graph_op: op is NULL");
  if (nargs < 0 || nargs > IR_MAX_ARGS || (nargs > 0 && !args))
    return bud_fail(g->ctx, BUD_ERR_INVALID, "bud_graph_op: bad argument list for '%s'", op);
  BudStatus st;
  for (int k = 0; k < nargs; k++)
    if ((st = api_check_node(g, op, k, args[k]))) return st;
  BudDType dt;
  if (bud_dtype_from_name(op, &dt) == BUD_OK) {
    if (nargs != 1)
      return bud_fail(g->ctx, BUD_ERR_INVALID, "cast to %s takes 1 argument, %d given", op, nargs);
    return ir_cast(g->g, args[0], dt);
  }
  int id = op_lookup(op);
  if (id < 0 || (op_info((Op)id)->flags & F_INTERNAL) || id == OP_input || id == OP_const ||
      id == OP_cast)
    return bud_fail(g->ctx, BUD_ERR_NAME, "unknown operation '%s'", op);
  const OpInfo *oi = op_info((Op)id);
  if (oi->pclass == PC_REDUCTION)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "'%s' is a reduction: use bud_graph_reduce", op);
  if (oi->nargs >= 0 && oi->nargs != nargs)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "'%s' takes %d argument%s, %d given", op, oi->nargs,
                    oi->nargs == 1 ? "" : "s", nargs);
  int32_t in[IR_MAX_ARGS];
  for (int k = 0; k < nargs; k++) in[k] = args[k];
  return ir_op(g->g, (Op)id, nargs, in);
}

int bud_graph_reduce(BudGraph *g, const char *op, int arg, int axis) {
  if (!g) return BUD_ERR_INVALID;
  bud_clear(g->ctx);
  if (!op) return bud_fail(g->ctx, BUD_ERR_INVALID, "bud_graph_reduce: op is NULL");
  int id = op_lookup(op);
  if (id < 0 || !op_is_reduction((Op)id))
    return bud_fail(g->ctx, BUD_ERR_NAME, "unknown reduction '%s'", op);
  BudStatus st = api_check_node(g, op, 0, arg);
  if (st) return st;
  return ir_reduce(g->g, (Op)id, arg, axis);
}

BudStatus bud_graph_output(BudGraph *g, const char *name, int node) {
  if (!g) return BUD_ERR_INVALID;
  bud_clear(g->ctx);
  if (!name || !*name) return bud_fail(g->ctx, BUD_ERR_INVALID, "bud_graph_output: name is NULL or empty");
  BudStatus st = api_check_node(g, "bud_graph_output", 0, node);
  if (st) return st;
  for (int i = 0; i < g->g->noutputs; i++)
    if (strcmp(g->g->outputs[i].name, name) == 0)
      return bud_fail(g->ctx, BUD_ERR_INVALID, "bud_graph_output: output '%s' already exists", name);
  return ir_output(g->g, name, node);
}

BudStatus bud_graph_compile(BudGraph *g, BudProgram **out) {
  if (!g) return BUD_ERR_INVALID;
  bud_clear(g->ctx);
  if (!out) return bud_fail(g->ctx, BUD_ERR_INVALID, "bud_graph_compile: out is NULL");
  *out = NULL;
  if (g->g->noutputs == 0)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "bud_graph_compile: the graph has no outputs");
  return api_build_program(g->ctx, g->g, out, NULL, now_ns());
}
