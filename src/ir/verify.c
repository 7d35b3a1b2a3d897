/* verify.c — ir_verify: checks every invariant of a graph and reports the first violation as
 * BUD_ERR_INTERNAL ("ir_verify: %5 (add): ..."). A graph that passes can be printed, lowered and
 * run without further checks. Entry point: ir_verify.
 * Invariants: node count; valid op, dtype, shape and arity; operands precede their user; inputs
 * and their records agree; constants carry a value normalised to their dtype (a constant may have
 * any shape: the value fills it); element-wise operands already have the loop dtype (the op's type
 * resolution of those dtypes gives the same loop and the node's dtype); shapes broadcast to the
 * node's shape; reductions have a valid axis and the reduced shape; dot/matmul shapes; outputs
 * name existing nodes, with unique names.
 */
#include "ir_private.h"

#include <stdio.h>
#include <string.h>

/* Fails with `code`, the message prefixed by `where` ("ir_verify" or "line 3"). */
#define VFAIL(fmt, ...) return bud_fail(g->ctx, code, "%s: " fmt, where, __VA_ARGS__)
#define VFAIL0(fmt) return bud_fail(g->ctx, code, "%s: " fmt, where)

static bool shape_ok(const Shape *s) {
  if (s->ndim < 0 || s->ndim > BUD_MAX_DIMS) return false;
  for (int i = 0; i < s->ndim; i++)
    if (s->dim[i] < 0) return false;
  int64_t n;
  return shape_size(s, &n);
}

static bool scalar_normalized(BudDType dt, Scalar v) {
  unsigned char buf[8];
  if (dt == BUD_BOOL) return v.i == 0 || v.i == 1;
  if (dtype_is_float(dt)) {
    if (dt == BUD_FLOAT32 && v.f == v.f && (double)(float)v.f != v.f) return false;
    return true;
  }
  scalar_store(dt, buf, v);
  Scalar w = scalar_load(dt, buf);
  return w.u == v.u;
}

/* Element-wise node i: operand dtypes, result dtype and shape. */
static BudStatus verify_elemwise(const IrGraph *g, int32_t i, const IrNode *n, BudStatus code,
                                 const char *where) {
  const OpInfo *oi = op_info(n->op);
  char sa[200], sb[200];
  if (n->op == OP_cast) {
    const IrNode *x = &g->nodes[n->in[0]];
    if (!shape_eq(&x->shape, &n->shape)) VFAIL("%%%d (cast): shape differs from its operand", i);
    return BUD_OK;
  }
  BudDType dts[IR_MAX_ARGS];
  const IrNode *ops[IR_MAX_ARGS];
  int first = oi->tsig == TS_WHERE ? 1 : 0;
  if (oi->tsig == TS_WHERE && g->nodes[n->in[0]].dtype != BUD_BOOL)
    VFAIL("%%%d (where): the condition has dtype %s, not bool", i,
          bud_dtype_name(g->nodes[n->in[0]].dtype));
  for (int k = 0; k < n->nin; k++) {
    ops[k] = &g->nodes[n->in[k]];
    dts[k] = ops[k]->dtype;
    if (k > first && dts[k] != dts[first])
      VFAIL("%%%d (%s): operand %d has dtype %s, operand %d has %s", i, oi->name, k,
            bud_dtype_name(dts[k]), first, bud_dtype_name(dts[first]));
  }
  BudDType loop, out;
  if (ir_resolve_dtypes(NULL, n->op, n->nin, dts, NULL, ops, &loop, &out) != BUD_OK)
    VFAIL("%%%d (%s): no loop for operand dtype %s", i, oi->name, bud_dtype_name(dts[first]));
  if (loop != dts[first])
    VFAIL("%%%d (%s): operands have dtype %s, but the loop dtype is %s", i, oi->name,
          bud_dtype_name(dts[first]), bud_dtype_name(loop));
  if (out != n->dtype)
    VFAIL("%%%d (%s): dtype %s, expected %s", i, oi->name, bud_dtype_name(n->dtype),
          bud_dtype_name(out));
  if (oi->tsig == TS_DOT) {
    const Shape *a = &ops[0]->shape, *b = &ops[1]->shape;
    Shape r;
    memset(&r, 0, sizeof r);
    if (a->ndim < 1 || a->ndim > 2 || b->ndim < 1 || b->ndim > 2 ||
        a->dim[a->ndim - 1] != b->dim[0])
      VFAIL("%%%d (%s): operand shapes do not contract", i, oi->name);
    if (a->ndim == 2) r.dim[r.ndim++] = a->dim[0];
    if (b->ndim == 2) r.dim[r.ndim++] = b->dim[1];
    if (!shape_eq(&r, &n->shape)) {
      shape_format(&n->shape, sa, sizeof sa);
      shape_format(&r, sb, sizeof sb);
      VFAIL("%%%d (%s): shape %s, expected %s", i, oi->name, sa, sb);
    }
    return BUD_OK;
  }
  Shape r = ops[0]->shape;
  for (int k = 1; k < n->nin; k++)
    if (!shape_broadcast(&r, &ops[k]->shape, &r))
      VFAIL("%%%d (%s): operand shapes do not broadcast", i, oi->name);
  if (!shape_eq(&r, &n->shape)) {
    shape_format(&n->shape, sa, sizeof sa);
    shape_format(&r, sb, sizeof sb);
    VFAIL("%%%d (%s): shape %s, expected %s", i, oi->name, sa, sb);
  }
  return BUD_OK;
}

static BudStatus verify_reduction(const IrGraph *g, int32_t i, const IrNode *n, BudStatus code,
                                  const char *where) {
  const char *nm = op_info(n->op)->name;
  const IrNode *x = &g->nodes[n->in[0]];
  Shape r;
  memset(&r, 0, sizeof r);
  if (n->axis != BUD_AXIS_ALL) {
    if (n->axis < 0 || n->axis >= x->shape.ndim)
      VFAIL("%%%d (%s): axis %d, operand has %d dimensions", i, nm, (int)n->axis, x->shape.ndim);
    for (int k = 0; k < x->shape.ndim; k++)
      if (k != n->axis) r.dim[r.ndim++] = x->shape.dim[k];
  }
  if (!shape_eq(&r, &n->shape)) VFAIL("%%%d (%s): shape is not the reduced shape", i, nm);
  BudDType loop, out;
  const IrNode *ops[1] = {x};
  if (ir_resolve_dtypes(NULL, n->op, 1, &x->dtype, NULL, ops, &loop, &out) != BUD_OK ||
      loop != x->dtype || out != n->dtype)
    VFAIL("%%%d (%s): dtype %s of operand dtype %s is not what %s gives", i, nm,
          bud_dtype_name(n->dtype), bud_dtype_name(x->dtype), nm);
  return BUD_OK;
}

BudStatus ir_verify_node(const IrGraph *g, int32_t i, BudStatus code, const char *where) {
  const IrNode *n = &g->nodes[i];
  if ((int)n->op < 0 || n->op >= OP_COUNT) VFAIL("%%%d: invalid op %d", i, (int)n->op);
  const OpInfo *oi = op_info(n->op);
  if (!dtype_valid((int)n->dtype)) VFAIL("%%%d (%s): invalid dtype %d", i, oi->name, (int)n->dtype);
  if (!shape_ok(&n->shape)) VFAIL("%%%d (%s): invalid shape", i, oi->name);
  if (n->nin != oi->nargs) VFAIL("%%%d (%s): %d operands, expected %d", i, oi->name, n->nin, oi->nargs);
  for (int k = 0; k < n->nin; k++)
    if (n->in[k] < 0 || n->in[k] >= i)
      VFAIL("%%%d (%s): operand %d is %%%d, which does not precede it", i, oi->name, k,
            (int)n->in[k]);
  BudStatus st = BUD_OK;
  switch (n->op) {
  case OP_input: {
    int k = n->input_index;
    if (k < 0 || k >= g->ninputs || g->inputs[k].node != i)
      VFAIL("%%%d (input): input index %d does not refer back to it", i, k);
    if (g->inputs[k].dtype != n->dtype || !shape_eq(&g->inputs[k].shape, &n->shape))
      VFAIL("%%%d (input): dtype or shape differs from input record '%s'", i, g->inputs[k].name);
    if (n->has_value && n->shape.ndim != 0) VFAIL("%%%d (input): a value on a non-0-d input", i);
    if (n->has_value && !scalar_normalized(n->dtype, n->value))
      VFAIL("%%%d (input): value out of range for %s", i, bud_dtype_name(n->dtype));
    break;
  }
  case OP_const:
    if (!n->has_value) VFAIL("%%%d (const): no value", i);
    if (!scalar_normalized(n->dtype, n->value))
      VFAIL("%%%d (const): value out of range for %s", i, bud_dtype_name(n->dtype));
    break;
  default:
    if (n->op == OP_input || oi->pclass == PC_LEAF) break;
    st = oi->pclass == PC_REDUCTION ? verify_reduction(g, i, n, code, where)
                                         : verify_elemwise(g, i, n, code, where);
    if (st != BUD_OK) return st;
    break;
  }
  return BUD_OK;
}

BudStatus ir_verify(const IrGraph *g) {
  const BudStatus code = BUD_ERR_INTERNAL;
  const char *where = "ir_verify";
  if (g->nnodes < 0 || g->nnodes > IR_MAX_NODES) VFAIL("node count %d", (int)g->nnodes);
  if (g->ninputs < 0 || g->noutputs < 0) VFAIL0("negative input or output count");
  for (int32_t i = 0; i < g->nnodes; i++) {
    BudStatus st = ir_verify_node(g, i, code, where);
    if (st != BUD_OK) return st;
  }
  for (int k = 0; k < g->ninputs; k++) {
    const IrInput *in = &g->inputs[k];
    if (!in->name || !*in->name) VFAIL("input %d has no name", k);
    if (in->node < 0 || in->node >= g->nnodes || g->nodes[in->node].op != OP_input ||
        g->nodes[in->node].input_index != k)
      VFAIL("input '%s' does not name its OP_input node", in->name);
    for (int j = 0; j < k; j++)
      if (strcmp(g->inputs[j].name, in->name) == 0) VFAIL("duplicate input name '%s'", in->name);
  }
  for (int k = 0; k < g->noutputs; k++) {
    const IrOutput *o = &g->outputs[k];
    if (!o->name || !*o->name) VFAIL("output %d has no name", k);
    if (o->node < 0 || o->node >= g->nnodes)
      VFAIL("output '%s' names %%%d, which does not exist", o->name, (int)o->node);
    for (int j = 0; j < k; j++)
      if (strcmp(g->outputs[j].name, o->name) == 0) VFAIL("duplicate output name '%s'", o->name);
  }
  return BUD_OK;
}
