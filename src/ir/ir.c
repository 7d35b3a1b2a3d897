/* ir.c — the graph and its builder: storage (growable node/input/output arrays, names in the
 * arena), appending nodes and inputs as given (ir_append, ir_append_input) and the typed builder
 * (ir_input, ir_const, ir_op, ir_cast, ir_reduce, ir_output) that infers dtypes and shapes as
 * NumPy 1.24 does (types.c) and inserts explicit casts. Also ir_use_counts.
 * Builder calls accept a negative operand id and return it unchanged, so calls can be chained and
 * the first failure's message stays on the context.
 */
#include "ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

IrGraph *ir_graph_new(BudContext *ctx) {
  IrGraph *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->ctx = ctx;
  arena_init(&g->arena);
  return g;
}

void ir_graph_free(IrGraph *g) {
  if (!g) return;
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  arena_free(&g->arena);
  free(g);
}

/* Grows *p (elements of size esz, capacity *cap) to hold at least need; false when out of memory. */
static bool grow(void **p, int32_t *cap, int32_t need, size_t esz) {
  if (need <= *cap) return true;
  int32_t nc = *cap ? *cap : 16;
  while (nc < need) nc = nc > INT32_MAX / 2 ? need : nc * 2;
  void *q = realloc(*p, (size_t)nc * esz);
  if (!q) return false;
  *p = q;
  *cap = nc;
  return true;
}

static int32_t push_node(IrGraph *g, const IrNode *n) {
  if (g->nnodes >= IR_MAX_NODES)
    return bud_fail(g->ctx, BUD_ERR_LIMIT, "graph has more than %d nodes", IR_MAX_NODES);
  if (!grow((void **)&g->nodes, &g->capnodes, g->nnodes + 1, sizeof(IrNode)))
    return bud_fail(g->ctx, BUD_ERR_NOMEM, "out of memory growing the graph to %d nodes",
                    (int)g->nnodes + 1);
  g->nodes[g->nnodes] = *n;
  return g->nnodes++;
}

static bool shape_valid(const Shape *s) {
  if (s->ndim < 0 || s->ndim > BUD_MAX_DIMS) return false;
  for (int i = 0; i < s->ndim; i++)
    if (s->dim[i] < 0) return false;
  int64_t n;
  return shape_size(s, &n);
}

/* A clean copy: dims beyond ndim zeroed (so shapes compare and hash as bytes too). */
static Shape shape_clean(const Shape *s) {
  Shape r;
  memset(&r, 0, sizeof r);
  r.ndim = s->ndim;
  for (int i = 0; i < s->ndim; i++) r.dim[i] = s->dim[i];
  return r;
}

/* Brings v into dt's kind and range (as storing and loading one element would). */
static Scalar scalar_normalize(BudDType dt, Scalar v) {
  unsigned char buf[8];
  if (dt == BUD_BOOL) {
    Scalar r = {.i = v.i != 0};
    return r;
  }
  scalar_store(dt, buf, v);
  return scalar_load(dt, buf);
}

int32_t ir_append(IrGraph *g, const IrNode *n) {
  if (n->op < 0 || n->op >= OP_COUNT)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "ir_append: invalid op %d", (int)n->op);
  if (n->op == OP_input)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "ir_append: inputs are added with ir_append_input");
  if (!dtype_valid((int)n->dtype))
    return bud_fail(g->ctx, BUD_ERR_INVALID, "ir_append: invalid dtype %d", (int)n->dtype);
  if (!shape_valid(&n->shape))
    return bud_fail(g->ctx, BUD_ERR_INVALID, "ir_append: invalid shape");
  if (n->nin < 0 || n->nin > IR_MAX_ARGS)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "ir_append: %d operands", n->nin);
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] < 0 || n->in[i] >= g->nnodes)
      return bud_fail(g->ctx, BUD_ERR_INVALID,
                      "ir_append: operand %d of %s is %%%d, which does not precede the node", i,
                      op_info(n->op)->name, (int)n->in[i]);
  IrNode c = *n;
  c.shape = shape_clean(&n->shape);
  for (int i = c.nin; i < IR_MAX_ARGS; i++) c.in[i] = 0;
  if (c.op == OP_const) c.has_value = true;
  if (c.has_value) c.value = scalar_normalize(c.dtype, c.value);
  else c.value.u = 0;
  return push_node(g, &c);
}

static int find_input(const IrGraph *g, const char *name) {
  for (int i = 0; i < g->ninputs; i++)
    if (strcmp(g->inputs[i].name, name) == 0) return i;
  return -1;
}

int32_t ir_append_input(IrGraph *g, const char *name, BudDType dt, const Shape *shape,
                        bool has_value, Scalar value) {
  if (!name || !*name) return bud_fail(g->ctx, BUD_ERR_INVALID, "input with an empty name");
  if (find_input(g, name) >= 0)
    return bud_fail(g->ctx, BUD_ERR_NAME, "duplicate input name '%s'", name);
  if (!dtype_valid((int)dt))
    return bud_fail(g->ctx, BUD_ERR_INVALID, "input '%s': invalid dtype %d", name, (int)dt);
  if (!shape || !shape_valid(shape))
    return bud_fail(g->ctx, BUD_ERR_INVALID, "input '%s': invalid shape", name);
  if (!grow((void **)&g->inputs, &g->capinputs, g->ninputs + 1, sizeof(IrInput)))
    return bud_fail(g->ctx, BUD_ERR_NOMEM, "out of memory adding input '%s'", name);
  char *nm = arena_strdup(&g->arena, name);
  if (!nm) return bud_fail(g->ctx, BUD_ERR_NOMEM, "out of memory adding input '%s'", name);
  IrNode n;
  memset(&n, 0, sizeof n);
  n.op = OP_input;
  n.dtype = dt;
  n.shape = shape_clean(shape);
  n.input_index = g->ninputs;
  n.has_value = has_value && shape->ndim == 0;
  if (n.has_value) n.value = scalar_normalize(dt, value);
  int32_t id = push_node(g, &n);
  if (id < 0) return id;
  IrInput *in = &g->inputs[g->ninputs++];
  in->name = nm;
  in->dtype = dt;
  in->shape = n.shape;
  in->node = id;
  return id;
}

int32_t ir_input(IrGraph *g, const char *name, BudDType dt, const Shape *shape,
                 const void *example_value) {
  Scalar v = {.u = 0};
  bool has = shape && shape->ndim == 0 && example_value && dtype_valid((int)dt);
  if (has) v = scalar_load(dt, example_value);
  return ir_append_input(g, name, dt, shape, has, v);
}

int32_t ir_const(IrGraph *g, BudDType dt, Scalar v) {
  if (!dtype_valid((int)dt))
    return bud_fail(g->ctx, BUD_ERR_INVALID, "constant with invalid dtype %d", (int)dt);
  IrNode n;
  memset(&n, 0, sizeof n);
  n.op = OP_const;
  n.dtype = dt;
  n.has_value = true;
  n.value = scalar_normalize(dt, v);
  return push_node(g, &n);
}

/* Checks that id names an existing node; negative ids (an earlier failure) pass through. */
static int32_t check_operand(IrGraph *g, const char *what, int i, int32_t id) {
  if (id < 0) return id;
  if (id >= g->nnodes)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "%s: operand %d is node %d, but the graph has %d nodes",
                    what, i, (int)id, (int)g->nnodes);
  return 0;
}

/* x converted to dtype `to`: x itself, a folded constant, or a new OP_cast node. */
static int32_t cast_to(IrGraph *g, int32_t x, BudDType to) {
  const IrNode *xn = &g->nodes[x];
  if (xn->dtype == to) return x;
  if (xn->op == OP_const) return ir_const(g, to, scalar_convert(xn->dtype, to, xn->value));
  IrNode n;
  memset(&n, 0, sizeof n);
  n.op = OP_cast;
  n.dtype = to;
  n.shape = xn->shape;
  n.nin = 1;
  n.in[0] = x;
  return push_node(g, &n);
}

int32_t ir_cast(IrGraph *g, int32_t x, BudDType to) {
  int32_t st = check_operand(g, "cast", 0, x);
  if (st < 0) return st;
  if (!dtype_valid((int)to))
    return bud_fail(g->ctx, BUD_ERR_INVALID, "cast to invalid dtype %d", (int)to);
  return cast_to(g, x, to);
}

/* The result shape of dot/matmul for 1-D and 2-D operands, NumPy's messages otherwise. */
static BudStatus dot_shape(IrGraph *g, Op op, const Shape *a, const Shape *b, Shape *out) {
  char sa[200], sb[200];
  const char *nm = op_info(op)->name;
  memset(out, 0, sizeof *out);
  if (a->ndim > 2 || b->ndim > 2)
    return bud_fail(g->ctx, BUD_ERR_UNSUPPORTED, "%s of arrays with more than 2 dimensions", nm);
  if (a->ndim == 0 || b->ndim == 0) {
    if (op == OP_matmul)
      return bud_fail(g->ctx, BUD_ERR_SHAPE,
                      "matmul: Input operand %d does not have enough dimensions (has 0, gufunc "
                      "core with signature (n?,k),(k,m?)->(n?,m?) requires 1)",
                      a->ndim == 0 ? 0 : 1);
    return bud_fail(g->ctx, BUD_ERR_UNSUPPORTED, "dot with a 0-d operand: use multiply");
  }
  int ka = a->ndim - 1; /* contracted axis of a: its last */
  int kb = 0; /* contracted axis of b: its first */
  if (a->dim[ka] != b->dim[kb]) {
    if (op == OP_matmul)
      return bud_fail(g->ctx, BUD_ERR_SHAPE,
                      "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
                      "signature (n?,k),(k,m?)->(n?,m?) (size %lld is different from %lld)",
                      (long long)b->dim[kb], (long long)a->dim[ka]);
    shape_format(a, sa, sizeof sa);
    shape_format(b, sb, sizeof sb);
    return bud_fail(g->ctx, BUD_ERR_SHAPE, "shapes %s and %s not aligned: %lld (dim %d) != %lld (dim %d)",
                    sa, sb, (long long)a->dim[ka], ka, (long long)b->dim[kb], kb);
  }
  if (a->ndim == 2) out->dim[out->ndim++] = a->dim[0];
  if (b->ndim == 2) out->dim[out->ndim++] = b->dim[1];
  return BUD_OK;
}

int32_t ir_op(IrGraph *g, Op op, int nin, const int32_t *in) {
  if ((int)op < 0 || op >= OP_COUNT)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "ir_op: invalid op %d", (int)op);
  const OpInfo *oi = op_info(op);
  if (oi->pclass == PC_LEAF || oi->pclass == PC_REDUCTION || op == OP_cast)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "ir_op: %s is built with %s", oi->name,
                    op == OP_cast ? "ir_cast" : oi->pclass == PC_LEAF ? "ir_input/ir_const"
                                                                      : "ir_reduce");
  if (nin != oi->nargs || nin < 1 || nin > IR_MAX_ARGS)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "%s takes %d operands, got %d", oi->name, oi->nargs,
                    nin);
  for (int i = 0; i < nin; i++) {
    int32_t st = check_operand(g, oi->name, i, in[i]);
    if (st < 0) return st;
  }
  BudDType dts[IR_MAX_ARGS];
  bool weak[IR_MAX_ARGS];
  const IrNode *ops[IR_MAX_ARGS];
  Shape shapes[IR_MAX_ARGS];
  for (int i = 0; i < nin; i++) {
    ops[i] = &g->nodes[in[i]];
    dts[i] = ops[i]->dtype;
    weak[i] = ops[i]->shape.ndim == 0;
    shapes[i] = ops[i]->shape;
  }
  /* shape first (NumPy reports a broadcast error before a dtype error) */
  Shape out_shape;
  if (oi->tsig == TS_DOT) {
    BudStatus st = dot_shape(g, op, &shapes[0], &shapes[1], &out_shape);
    if (st != BUD_OK) return st;
  } else {
    out_shape = shapes[0];
    bool ok = true;
    for (int i = 1; i < nin && ok; i++) ok = shape_broadcast(&out_shape, &shapes[i], &out_shape);
    if (!ok) {
      char msg[IR_MAX_ARGS * 200 + 8], buf[200];
      size_t len = 0;
      msg[0] = '\0';
      for (int i = 0; i < nin; i++) {
        shape_format(&shapes[i], buf, sizeof buf);
        len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", i ? " " : "", buf);
        if (len >= sizeof msg) break;
      }
      return bud_fail(g->ctx, BUD_ERR_SHAPE, "operands could not be broadcast together with shapes %s",
                      msg);
    }
  }
  BudDType loop, out;
  BudStatus st = ir_resolve_dtypes(g->ctx, op, nin, dts, weak, ops, &loop, &out);
  if (st != BUD_OK) return st;
  IrNode n;
  memset(&n, 0, sizeof n);
  n.op = op;
  n.dtype = out;
  n.shape = shape_clean(&out_shape);
  n.nin = nin;
  for (int i = 0; i < nin; i++) {
    BudDType want = (oi->tsig == TS_WHERE && i == 0) ? BUD_BOOL : loop;
    int32_t c = cast_to(g, in[i], want);
    if (c < 0) return c;
    n.in[i] = c;
  }
  return push_node(g, &n);
}

static const char *reduce_numpy_name(Op op) {
  return op == OP_min ? "minimum" : op == OP_max ? "maximum" : op_info(op)->name;
}

int32_t ir_reduce(IrGraph *g, Op op, int32_t x, int axis) {
  if ((int)op < 0 || op >= OP_COUNT || !op_is_reduction(op))
    return bud_fail(g->ctx, BUD_ERR_INVALID, "ir_reduce: %d is not a reduction", (int)op);
  const char *nm = op_info(op)->name;
  int32_t st = check_operand(g, nm, 0, x);
  if (st < 0) return st;
  Shape xs = g->nodes[x].shape;
  BudDType xdt = g->nodes[x].dtype;
  Shape out;
  memset(&out, 0, sizeof out);
  int64_t red_len; /* elements reduced into each result */
  if (axis == BUD_AXIS_ALL) {
    if (!shape_size(&xs, &red_len)) return bud_fail(g->ctx, BUD_ERR_OVERFLOW, "%s: size overflows", nm);
  } else {
    if (axis < -xs.ndim || axis >= xs.ndim)
      return bud_fail(g->ctx, BUD_ERR_SHAPE, "axis %d is out of bounds for array of dimension %d",
                      axis, xs.ndim);
    if (axis < 0) axis += xs.ndim;
    red_len = xs.dim[axis];
    for (int i = 0; i < xs.ndim; i++)
      if (i != axis) out.dim[out.ndim++] = xs.dim[i];
  }
  if (red_len == 0 && (op == OP_min || op == OP_max))
    return bud_fail(g->ctx, BUD_ERR_VALUE,
                    "zero-size array to reduction operation %s which has no identity",
                    reduce_numpy_name(op));
  if (red_len == 0 && (op == OP_argmin || op == OP_argmax))
    return bud_fail(g->ctx, BUD_ERR_VALUE, "attempt to get %s of an empty sequence", nm);
  BudDType loop, odt;
  bool weak = false;
  const IrNode *opnd = &g->nodes[x];
  BudStatus s = ir_resolve_dtypes(g->ctx, op, 1, &xdt, &weak, &opnd, &loop, &odt);
  if (s != BUD_OK) return s;
  int32_t c = x;
  TypeSig ts = op_info(op)->tsig;
  if (ts == TS_RBOOL || ts == TS_RMEAN) {
    c = cast_to(g, x, loop);
    if (c < 0) return c;
  }
  IrNode n;
  memset(&n, 0, sizeof n);
  n.op = op;
  n.dtype = odt;
  n.shape = out;
  n.nin = 1;
  n.in[0] = c;
  n.axis = axis;
  return push_node(g, &n);
}

BudStatus ir_output(IrGraph *g, const char *name, int32_t node) {
  if (node < 0) return (BudStatus)node;
  if (!name || !*name) return bud_fail(g->ctx, BUD_ERR_INVALID, "output with an empty name");
  if (node >= g->nnodes)
    return bud_fail(g->ctx, BUD_ERR_INVALID, "output '%s' names node %d, but the graph has %d nodes",
                    name, (int)node, (int)g->nnodes);
  for (int i = 0; i < g->noutputs; i++)
    if (strcmp(g->outputs[i].name, name) == 0)
      return bud_fail(g->ctx, BUD_ERR_NAME, "duplicate output name '%s'", name);
  if (!grow((void **)&g->outputs, &g->capoutputs, g->noutputs + 1, sizeof(IrOutput)))
    return bud_fail(g->ctx, BUD_ERR_NOMEM, "out of memory adding output '%s'", name);
  char *nm = arena_strdup(&g->arena, name);
  if (!nm) return bud_fail(g->ctx, BUD_ERR_NOMEM, "out of memory adding output '%s'", name);
  g->outputs[g->noutputs].name = nm;
  g->outputs[g->noutputs].node = node;
  g->noutputs++;
  return BUD_OK;
}

void ir_use_counts(const IrGraph *g, int32_t *counts) {
  memset(counts, 0, (size_t)g->nnodes * sizeof *counts);
  for (int32_t i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i].nin; k++) counts[g->nodes[i].in[k]]++;
  for (int i = 0; i < g->noutputs; i++) counts[g->outputs[i].node]++;
}
