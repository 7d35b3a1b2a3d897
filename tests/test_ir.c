/* test_ir.c — the IR builder: op table, shapes, NumPy 1.24 type resolution, casts, reductions,
 * dot shapes and error messages. */
#include "check.h"
#include "ir/ir.h"

#include <math.h>
#include <stdlib.h>

#include <stdarg.h>

#include "test_ir_types.h"

static Shape shp(int ndim, ...) {
  Shape s;
  memset(&s, 0, sizeof s);
  s.ndim = ndim;
  va_list ap;
  va_start(ap, ndim);
  for (int i = 0; i < ndim; i++) s.dim[i] = va_arg(ap, int);
  va_end(ap);
  return s;
}

static void test_smoke(void) {
  BudContext ctxs = {0}, *ctx = &ctxs;
  IrGraph *g = ir_graph_new(ctx);
  Shape s = shp(2, 1000, 3);
  int32_t a = ir_input(g, "a", BUD_FLOAT32, &s, NULL);
  int32_t c = ir_const(g, BUD_FLOAT64, (Scalar){.f = 2.5});
  int32_t m = ir_op(g, OP_mul, 2, (int32_t[]){a, c});
  CHECK(m >= 0);
  CHECK_EQ_INT(g->nodes[m].dtype, BUD_FLOAT32);
  CHECK_EQ_INT(g->nodes[m].shape.ndim, 2);
  int32_t r = ir_reduce(g, OP_sum, m, 0);
  CHECK_EQ_INT(g->nodes[r].shape.ndim, 1);
  CHECK_EQ_INT(g->nodes[r].shape.dim[0], 3);
  CHECK_EQ_INT(ir_output(g, "y", r), BUD_OK);
  ir_graph_free(g);
}

/* Builds operand "dtype" (an array of shape (4,)) or "dtype=value" (0-d with a known value, as a
 * constant when as_const, else as an input with an example value). */
static int32_t make_operand(IrGraph *g, const char *spec, int k, bool as_const) {
  char dtname[16];
  const char *eq = strchr(spec, '=');
  size_t len = eq ? (size_t)(eq - spec) : strlen(spec);
  memcpy(dtname, spec, len);
  dtname[len] = '\0';
  BudDType dt;
  if (bud_dtype_from_name(dtname, &dt) != BUD_OK) return -1000;
  char name[8] = {'a', (char)('0' + k), 0};
  if (!eq) {
    Shape s = shp(1, 4);
    return ir_input(g, name, dt, &s, NULL);
  }
  Scalar v;
  if (dt == BUD_BOOL) v.i = atoi(eq + 1) != 0;
  else if (dtype_is_float(dt)) v.f = strtod(eq + 1, NULL);
  else if (dtype_is_uint(dt)) v.u = strtoull(eq + 1, NULL, 10);
  else v.i = strtoll(eq + 1, NULL, 10);
  if (as_const) return ir_const(g, dt, v);
  unsigned char buf[8];
  scalar_store(dt, buf, v);
  Shape s0 = shp(0);
  return ir_input(g, name, dt, &s0, buf);
}

static void test_numpy_table(void) {
  int nbad = 0;
  for (size_t c = 0; c < BUD_ARRAY_LEN(type_cases); c++) {
    const TypeCase *tc = &type_cases[c];
    for (int as_const = 0; as_const < 2; as_const++) {
      BudContext ctxs = {0}, *ctx = &ctxs;
      IrGraph *g = ir_graph_new(ctx);
      int32_t in[3];
      int nin = 0;
      while (nin < 3 && tc->arg[nin]) {
        in[nin] = make_operand(g, tc->arg[nin], nin, as_const);
        nin++;
      }
      int op = op_lookup(tc->op);
      int32_t r;
      if (op < 0) r = -1000;
      else if (op_is_reduction((Op)op)) r = ir_reduce(g, (Op)op, in[0], BUD_AXIS_ALL);
      else r = ir_op(g, (Op)op, nin, in);
      const char *got = r >= 0 ? bud_dtype_name(g->nodes[r].dtype) : "!";
      bool ok = strcmp(got, tc->expect) == 0 && (r >= 0 || r == BUD_ERR_DTYPE);
      if (ok && r >= 0) ok = ir_verify(g) == BUD_OK;
      if (!ok && nbad++ < 40)
        fprintf(stderr, "numpy table: %s(%s, %s, %s)%s: got %s (%d %s), NumPy %s\n", tc->op,
                tc->arg[0], tc->arg[1] ? tc->arg[1] : "-", tc->arg[2] ? tc->arg[2] : "-",
                as_const ? " [const]" : "", got, (int)r, ctx->errmsg, tc->expect);
      CHECK(ok);
      ir_graph_free(g);
    }
  }
}

static void test_conversions(void) {
  int nbad = 0;
  for (size_t c = 0; c < BUD_ARRAY_LEN(conv_cases); c++) {
    const ConvCase *cc = &conv_cases[c];
    BudDType from = BUD_BOOL, to = BUD_BOOL;
    CHECK(bud_dtype_from_name(cc->from, &from) == BUD_OK && bud_dtype_from_name(cc->to, &to) == BUD_OK);
    Scalar in = {.u = cc->in};
    Scalar out = scalar_convert(from, to, in);
    bool ok = out.u == cc->out;
    if (!ok && nbad++ < 20)
      fprintf(stderr, "convert %s 0x%016llx -> %s: got 0x%016llx, NumPy 0x%016llx\n", cc->from,
              (unsigned long long)cc->in, cc->to, (unsigned long long)out.u,
              (unsigned long long)cc->out);
    CHECK(ok);
  }
}

/* A fresh graph on a zeroed context for one test. */
typedef struct T {
  BudContext ctx;
  IrGraph *g;
} T;

static void t_init(T *t) {
  memset(&t->ctx, 0, sizeof t->ctx);
  t->g = ir_graph_new(&t->ctx);
}

static int32_t arr(T *t, const char *name, BudDType dt, Shape s) { return ir_input(t->g, name, dt, &s, NULL); }
static int32_t op2(T *t, Op op, int32_t a, int32_t b) { return ir_op(t->g, op, 2, (int32_t[]){a, b}); }

static void test_ops_table(void) {
  for (int i = 0; i < OP_COUNT; i++) {
    const OpInfo *oi = op_info((Op)i);
    CHECK_MSG(op_lookup(oi->name) == i, "op %s", oi->name);
    CHECK(oi->nargs >= 0 && oi->nargs <= IR_MAX_ARGS);
  }
  CHECK_EQ_INT(op_lookup("absolute"), OP_abs);
  CHECK_EQ_INT(op_lookup("mod"), OP_mod);
  CHECK_EQ_INT(op_lookup("true_divide"), OP_div);
  CHECK_EQ_INT(op_lookup("bitwise_not"), OP_not);
  CHECK_EQ_INT(op_lookup("fma"), OP_fma); /* internal ops are found too */
  CHECK_EQ_INT(op_lookup("arctan2"), OP_arctan2);
  CHECK_EQ_INT(op_lookup("nosuch"), -1);
  CHECK_EQ_INT(op_lookup(""), -1);
  CHECK_EQ_INT(op_lookup(NULL), -1);
  CHECK_EQ_STR(op_info(OP_sub)->name, "subtract");
  CHECK(op_is_reduction(OP_argmax) && !op_is_reduction(OP_add));
  CHECK(op_is_elemwise(OP_add) && !op_is_elemwise(OP_dot));
  CHECK(op_info(OP_fma)->flags & F_INTERNAL);
}

static void test_shapes(void) {
  char buf[200];
  Shape a = shp(2, 3, 4), b = shp(1, 5), c = shp(0), r;
  shape_format(&a, buf, sizeof buf);
  CHECK_EQ_STR(buf, "(3,4)");
  shape_format(&b, buf, sizeof buf);
  CHECK_EQ_STR(buf, "(5,)");
  shape_format(&c, buf, sizeof buf);
  CHECK_EQ_STR(buf, "()");
  shape_format(&a, buf, 4); /* truncated, terminated */
  CHECK_EQ_STR(buf, "(3,");
  int64_t n = -1;
  CHECK(shape_size(&a, &n) && n == 12);
  CHECK(shape_size(&c, &n) && n == 1);
  Shape big = shp(3, 1 << 30, 1 << 30, 1 << 30);
  n = 7;
  CHECK(!shape_size(&big, &n) && n == 7);
  Shape z = shp(2, 0, 1 << 30);
  CHECK(shape_size(&z, &n) && n == 0);
  CHECK(!shape_broadcast(&a, &b, &r));
  Shape x = shp(2, 3, 1), y = shp(1, 4);
  CHECK(shape_broadcast(&x, &y, &r) && r.ndim == 2 && r.dim[0] == 3 && r.dim[1] == 4);
  Shape p = shp(3, 2, 1, 3), q = shp(2, 4, 1);
  CHECK(shape_broadcast(&p, &q, &r) && r.ndim == 3 && r.dim[0] == 2 && r.dim[1] == 4 && r.dim[2] == 3);
  Shape e0 = shp(1, 0), e1 = shp(1, 1), e3 = shp(1, 3);
  CHECK(shape_broadcast(&e0, &e1, &r) && r.ndim == 1 && r.dim[0] == 0);
  CHECK(shape_broadcast(&e1, &e0, &r) && r.dim[0] == 0);
  CHECK(!shape_broadcast(&e0, &e3, &r));
  CHECK(shape_broadcast(&c, &a, &r) && shape_eq(&r, &a));
  CHECK(shape_eq(&a, &a) && !shape_eq(&a, &b) && !shape_eq(&x, &a));
}

static void test_promote(void) {
  /* np.promote_types, spot checks (the big table covers the ufuncs) */
  CHECK_EQ_INT(dtype_promote(BUD_INT8, BUD_UINT8), BUD_INT16);
  CHECK_EQ_INT(dtype_promote(BUD_UINT8, BUD_INT16), BUD_INT16);
  CHECK_EQ_INT(dtype_promote(BUD_INT32, BUD_UINT32), BUD_INT64);
  CHECK_EQ_INT(dtype_promote(BUD_INT64, BUD_UINT64), BUD_FLOAT64);
  CHECK_EQ_INT(dtype_promote(BUD_INT8, BUD_UINT64), BUD_FLOAT64);
  CHECK_EQ_INT(dtype_promote(BUD_UINT16, BUD_FLOAT32), BUD_FLOAT32);
  CHECK_EQ_INT(dtype_promote(BUD_INT32, BUD_FLOAT32), BUD_FLOAT64);
  CHECK_EQ_INT(dtype_promote(BUD_BOOL, BUD_UINT8), BUD_UINT8);
  CHECK_EQ_INT(dtype_promote(BUD_FLOAT32, BUD_FLOAT64), BUD_FLOAT64);
  CHECK(dtype_can_cast_safe(BUD_INT8, BUD_FLOAT32));
  CHECK(!dtype_can_cast_safe(BUD_INT32, BUD_FLOAT32));
  CHECK(!dtype_can_cast_safe(BUD_UINT8, BUD_INT8));
  CHECK(dtype_can_cast_safe(BUD_BOOL, BUD_BOOL));
  CHECK(!dtype_can_cast_safe(BUD_INT8, BUD_BOOL));
}

static void test_builder(void) {
  T t;
  /* casts are inserted; constants are folded into constants of the loop dtype */
  t_init(&t);
  int32_t a = arr(&t, "a", BUD_INT8, shp(1, 10));
  int32_t c = ir_const(t.g, BUD_INT64, (Scalar){.i = 300});
  int32_t s = op2(&t, OP_add, a, c);
  CHECK(s >= 0);
  const IrNode *n = &t.g->nodes[s];
  CHECK_EQ_INT(n->dtype, BUD_INT16);
  CHECK_EQ_INT(t.g->nodes[n->in[0]].op, OP_cast);
  CHECK_EQ_INT(t.g->nodes[n->in[0]].dtype, BUD_INT16);
  CHECK_EQ_INT(t.g->nodes[n->in[0]].in[0], a);
  CHECK_EQ_INT(t.g->nodes[n->in[1]].op, OP_const);
  CHECK_EQ_INT(t.g->nodes[n->in[1]].dtype, BUD_INT16);
  CHECK_EQ_INT(t.g->nodes[n->in[1]].value.i, 300);
  CHECK_EQ_INT(ir_verify(t.g), BUD_OK);
  /* ir_cast: same dtype is a no-op; a constant folds with NumPy's conversion */
  CHECK_EQ_INT(ir_cast(t.g, a, BUD_INT8), a);
  int32_t k = ir_cast(t.g, c, BUD_INT8);
  CHECK(k >= 0 && t.g->nodes[k].op == OP_const && t.g->nodes[k].value.i == 44);
  int32_t f = ir_cast(t.g, ir_const(t.g, BUD_FLOAT64, (Scalar){.f = 0.1}), BUD_FLOAT32);
  CHECK(f >= 0 && t.g->nodes[f].value.f == (double)0.1f);
  int32_t ca = ir_cast(t.g, a, BUD_FLOAT64);
  CHECK(ca >= 0 && t.g->nodes[ca].op == OP_cast && t.g->nodes[ca].shape.dim[0] == 10);
  CHECK_EQ_INT(ir_cast(t.g, a, (BudDType)99), BUD_ERR_INVALID);
  /* ir_const normalises the value to the dtype */
  int32_t c8 = ir_const(t.g, BUD_UINT8, (Scalar){.u = 257});
  CHECK(t.g->nodes[c8].value.u == 1);
  int32_t cb = ir_const(t.g, BUD_BOOL, (Scalar){.i = 5});
  CHECK(t.g->nodes[cb].value.i == 1);
  /* value-based casting with examples on 0-d inputs */
  int8_t m1 = -1;
  Shape s0 = shp(0);
  int32_t x = ir_input(t.g, "x", BUD_INT8, &s0, &m1);
  CHECK(t.g->nodes[x].has_value && t.g->nodes[x].value.i == -1);
  int32_t u = arr(&t, "u", BUD_UINT8, shp(1, 10));
  int32_t ux = op2(&t, OP_add, u, x);
  CHECK(ux >= 0 && t.g->nodes[ux].dtype == BUD_INT16);
  /* a non-0-d input ignores its example value */
  int32_t big = ir_input(t.g, "b", BUD_INT8, &(Shape){1, {3}}, &m1);
  CHECK(big >= 0 && !t.g->nodes[big].has_value);
  /* unknown 0-d values (computed) never widen: int8 array + sum(int64) stays int8 */
  int32_t sm = ir_reduce(t.g, OP_sum, arr(&t, "w", BUD_INT64, shp(1, 4)), BUD_AXIS_ALL);
  int32_t as = op2(&t, OP_add, a, sm);
  CHECK(as >= 0 && t.g->nodes[as].dtype == BUD_INT8);
  int32_t fsm = ir_reduce(t.g, OP_sum, arr(&t, "fw", BUD_FLOAT64, shp(1, 4)), BUD_AXIS_ALL);
  int32_t f32 = arr(&t, "f32", BUD_FLOAT32, shp(1, 10));
  int32_t fm = op2(&t, OP_mul, f32, fsm);
  CHECK(fm >= 0 && t.g->nodes[fm].dtype == BUD_FLOAT32);
  CHECK(op2(&t, OP_add, u, sm) >= 0 && t.g->nodes[t.g->nnodes - 1].dtype == BUD_UINT8);
  /* ... but a higher category still wins: int8 array + unknown float64 0-d is float64 */
  int32_t af = op2(&t, OP_add, a, fsm);
  CHECK(af >= 0 && t.g->nodes[af].dtype == BUD_FLOAT64);
  CHECK_EQ_INT(ir_verify(t.g), BUD_OK);
  /* where: condition cast to bool, values promoted */
  int32_t w = ir_op(t.g, OP_where, 3, (int32_t[]){a, f32, ir_const(t.g, BUD_INT64, (Scalar){.i = 3})});
  CHECK(w >= 0 && t.g->nodes[w].dtype == BUD_FLOAT32);
  CHECK(t.g->nodes[t.g->nodes[w].in[0]].dtype == BUD_BOOL);
  CHECK_EQ_INT(ir_verify(t.g), BUD_OK);
  /* names */
  CHECK_EQ_INT(arr(&t, "a", BUD_FLOAT32, shp(0)), BUD_ERR_NAME);
  CHECK(strstr(t.ctx.errmsg, "'a'") != NULL);
  CHECK_EQ_INT(ir_input(t.g, "", BUD_FLOAT32, &s0, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(ir_input(t.g, "neg", BUD_FLOAT32, &(Shape){1, {-1}}, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(ir_input(t.g, "nd", BUD_FLOAT32, &(Shape){9, {1}}, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(ir_output(t.g, "y", s), BUD_OK);
  CHECK_EQ_INT(ir_output(t.g, "y", a), BUD_ERR_NAME);
  CHECK_EQ_INT(ir_output(t.g, "in", a), BUD_OK); /* an output may name an input */
  CHECK_EQ_INT(ir_output(t.g, "k", c), BUD_OK);  /* or a constant */
  CHECK_EQ_INT(ir_output(t.g, "bad", t.g->nnodes), BUD_ERR_INVALID);
  CHECK_EQ_INT(t.g->noutputs, 3);
  CHECK_EQ_INT(ir_verify(t.g), BUD_OK);
  /* chaining: a failed id passes through unchanged */
  CHECK_EQ_INT(ir_op(t.g, OP_add, 2, (int32_t[]){BUD_ERR_SHAPE, a}), BUD_ERR_SHAPE);
  CHECK_EQ_INT(ir_reduce(t.g, OP_sum, BUD_ERR_DTYPE, 0), BUD_ERR_DTYPE);
  CHECK_EQ_INT(ir_cast(t.g, BUD_ERR_NAME, BUD_INT8), BUD_ERR_NAME);
  CHECK_EQ_INT(ir_output(t.g, "z", BUD_ERR_VALUE), BUD_ERR_VALUE);
  /* misuse */
  CHECK_EQ_INT(ir_op(t.g, OP_add, 1, &a), BUD_ERR_INVALID);
  CHECK_EQ_INT(ir_op(t.g, OP_sum, 1, &a), BUD_ERR_INVALID);
  CHECK_EQ_INT(ir_op(t.g, OP_const, 0, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(ir_op(t.g, OP_cast, 1, &a), BUD_ERR_INVALID);
  CHECK_EQ_INT(ir_op(t.g, (Op)OP_COUNT, 1, &a), BUD_ERR_INVALID);
  CHECK_EQ_INT(ir_op(t.g, OP_neg, 1, (int32_t[]){t.g->nnodes + 5}), BUD_ERR_INVALID);
  CHECK_EQ_INT(ir_reduce(t.g, OP_add, a, 0), BUD_ERR_INVALID);
  ir_graph_free(t.g);
}

static void test_errors(void) {
  T t;
  t_init(&t);
  int32_t a = arr(&t, "a", BUD_FLOAT64, shp(2, 3, 4));
  int32_t b = arr(&t, "b", BUD_FLOAT64, shp(1, 5));
  int32_t nn = t.g->nnodes;
  CHECK_EQ_INT(op2(&t, OP_add, a, b), BUD_ERR_SHAPE);
  CHECK_EQ_STR(t.ctx.errmsg, "operands could not be broadcast together with shapes (3,4) (5,)");
  CHECK_EQ_INT(t.g->nnodes, nn); /* nothing appended on failure */
  int32_t c = arr(&t, "c", BUD_FLOAT64, shp(1, 4));
  CHECK_EQ_INT(ir_op(t.g, OP_clip, 3, (int32_t[]){a, b, c}), BUD_ERR_SHAPE);
  CHECK_EQ_STR(t.ctx.errmsg, "operands could not be broadcast together with shapes (3,4) (5,) (4,)");
  int32_t p = arr(&t, "p", BUD_BOOL, shp(1, 4));
  CHECK_EQ_INT(op2(&t, OP_sub, p, p), BUD_ERR_DTYPE);
  CHECK_EQ_STR(t.ctx.errmsg, "numpy boolean subtract, the `-` operator, is not supported, use the "
                             "bitwise_xor, the `^` operator, or the logical_xor function instead.");
  CHECK_EQ_INT(ir_op(t.g, OP_neg, 1, &p), BUD_ERR_DTYPE);
  CHECK_EQ_STR(t.ctx.errmsg, "The numpy boolean negative, the `-` operator, is not supported, use "
                             "the `~` operator or the logical_not function instead.");
  CHECK_EQ_INT(ir_op(t.g, OP_not, 1, &a), BUD_ERR_DTYPE);
  CHECK_EQ_STR(t.ctx.errmsg, "ufunc 'invert' not supported for the input types, and the inputs "
                             "could not be safely coerced to any supported types according to the "
                             "casting rule ''safe''");
  CHECK_EQ_INT(op2(&t, OP_shl, a, a), BUD_ERR_DTYPE);
  CHECK(strstr(t.ctx.errmsg, "ufunc 'left_shift'") != NULL);
  CHECK_EQ_INT(ir_op(t.g, OP_sign, 1, &p), BUD_ERR_DTYPE);
  CHECK(strstr(t.ctx.errmsg, "ufunc 'sign' did not contain a loop") != NULL);
  /* bool - bool is refused but bool + bool is fine, bool ^ bool too */
  CHECK(op2(&t, OP_add, p, p) >= 0 && t.g->nodes[t.g->nnodes - 1].dtype == BUD_BOOL);
  CHECK(op2(&t, OP_xor, p, p) >= 0 && t.g->nodes[t.g->nnodes - 1].dtype == BUD_BOOL);
  CHECK_EQ_INT(ir_verify(t.g), BUD_OK);
  ir_graph_free(t.g);
}

static void test_reductions(void) {
  T t;
  t_init(&t);
  int32_t a = arr(&t, "a", BUD_INT16, shp(3, 2, 3, 4));
  int32_t r = ir_reduce(t.g, OP_sum, a, -1);
  CHECK(r >= 0);
  const IrNode *n = &t.g->nodes[r];
  CHECK_EQ_INT(n->axis, 2);
  CHECK(n->shape.ndim == 2 && n->shape.dim[0] == 2 && n->shape.dim[1] == 3);
  CHECK_EQ_INT(n->dtype, BUD_INT64);
  CHECK_EQ_INT(n->in[0], a); /* sum accumulates in int64 without a cast */
  r = ir_reduce(t.g, OP_mean, a, 1);
  n = &t.g->nodes[r];
  CHECK(n->dtype == BUD_FLOAT64 && n->shape.ndim == 2 && n->shape.dim[1] == 4);
  CHECK(t.g->nodes[n->in[0]].op == OP_cast && t.g->nodes[n->in[0]].dtype == BUD_FLOAT64);
  r = ir_reduce(t.g, OP_any, a, BUD_AXIS_ALL);
  n = &t.g->nodes[r];
  CHECK(n->dtype == BUD_BOOL && n->shape.ndim == 0 && n->axis == BUD_AXIS_ALL);
  CHECK(t.g->nodes[n->in[0]].dtype == BUD_BOOL);
  r = ir_reduce(t.g, OP_argmax, a, 0);
  CHECK(r >= 0 && t.g->nodes[r].dtype == BUD_INT64 && t.g->nodes[t.g->nodes[r].in[0]].dtype == BUD_INT16);
  r = ir_reduce(t.g, OP_max, a, -3);
  CHECK(r >= 0 && t.g->nodes[r].dtype == BUD_INT16 && t.g->nodes[r].axis == 0);
  CHECK_EQ_INT(ir_reduce(t.g, OP_sum, a, 3), BUD_ERR_SHAPE);
  CHECK_EQ_STR(t.ctx.errmsg, "axis 3 is out of bounds for array of dimension 3");
  CHECK_EQ_INT(ir_reduce(t.g, OP_sum, a, -4), BUD_ERR_SHAPE);
  CHECK_EQ_STR(t.ctx.errmsg, "axis -4 is out of bounds for array of dimension 3");
  int32_t s0 = ir_reduce(t.g, OP_sum, a, BUD_AXIS_ALL);
  CHECK_EQ_INT(ir_reduce(t.g, OP_sum, s0, 0), BUD_ERR_SHAPE);
  CHECK_EQ_STR(t.ctx.errmsg, "axis 0 is out of bounds for array of dimension 0");
  CHECK(ir_reduce(t.g, OP_sum, s0, BUD_AXIS_ALL) >= 0);
  /* empty arrays */
  int32_t e = arr(&t, "e", BUD_FLOAT32, shp(2, 0, 3));
  CHECK(ir_reduce(t.g, OP_sum, e, 0) >= 0);
  CHECK(ir_reduce(t.g, OP_prod, e, BUD_AXIS_ALL) >= 0);
  CHECK(ir_reduce(t.g, OP_mean, e, BUD_AXIS_ALL) >= 0);
  CHECK_EQ_INT(ir_reduce(t.g, OP_max, e, 0), BUD_ERR_VALUE);
  CHECK_EQ_STR(t.ctx.errmsg, "zero-size array to reduction operation maximum which has no identity");
  CHECK_EQ_INT(ir_reduce(t.g, OP_min, e, BUD_AXIS_ALL), BUD_ERR_VALUE);
  CHECK_EQ_STR(t.ctx.errmsg, "zero-size array to reduction operation minimum which has no identity");
  CHECK_EQ_INT(ir_reduce(t.g, OP_argmax, e, 0), BUD_ERR_VALUE);
  CHECK_EQ_STR(t.ctx.errmsg, "attempt to get argmax of an empty sequence");
  r = ir_reduce(t.g, OP_max, e, 1); /* the reduced axis is not empty: result shape (0,) */
  CHECK(r >= 0 && t.g->nodes[r].shape.ndim == 1 && t.g->nodes[r].shape.dim[0] == 0);
  CHECK_EQ_INT(ir_verify(t.g), BUD_OK);
  ir_graph_free(t.g);
}

static void test_dot(void) {
  T t;
  t_init(&t);
  int32_t m34 = arr(&t, "m34", BUD_FLOAT32, shp(2, 3, 4));
  int32_t m45 = arr(&t, "m45", BUD_INT8, shp(2, 4, 5));
  int32_t v4 = arr(&t, "v4", BUD_FLOAT32, shp(1, 4));
  int32_t v5 = arr(&t, "v5", BUD_FLOAT32, shp(1, 5));
  int32_t m53 = arr(&t, "m53", BUD_FLOAT32, shp(2, 5, 3));
  int32_t t3 = arr(&t, "t3", BUD_FLOAT32, shp(3, 2, 3, 4));
  int32_t r = op2(&t, OP_dot, m34, m45);
  CHECK(r >= 0 && t.g->nodes[r].dtype == BUD_FLOAT32 && t.g->nodes[r].shape.ndim == 2 &&
        t.g->nodes[r].shape.dim[0] == 3 && t.g->nodes[r].shape.dim[1] == 5);
  CHECK(t.g->nodes[t.g->nodes[r].in[1]].op == OP_cast);
  r = op2(&t, OP_matmul, m34, v4);
  CHECK(r >= 0 && t.g->nodes[r].shape.ndim == 1 && t.g->nodes[r].shape.dim[0] == 3);
  r = op2(&t, OP_dot, v4, m45);
  CHECK(r >= 0 && t.g->nodes[r].shape.ndim == 1 && t.g->nodes[r].shape.dim[0] == 5);
  r = op2(&t, OP_dot, v4, v4);
  CHECK(r >= 0 && t.g->nodes[r].shape.ndim == 0);
  CHECK_EQ_INT(op2(&t, OP_dot, m34, v5), BUD_ERR_SHAPE);
  CHECK_EQ_STR(t.ctx.errmsg, "shapes (3,4) and (5,) not aligned: 4 (dim 1) != 5 (dim 0)");
  CHECK_EQ_INT(op2(&t, OP_dot, v4, m53), BUD_ERR_SHAPE);
  CHECK_EQ_STR(t.ctx.errmsg, "shapes (4,) and (5,3) not aligned: 4 (dim 0) != 5 (dim 0)");
  CHECK_EQ_INT(op2(&t, OP_dot, m34, m53), BUD_ERR_SHAPE);
  CHECK_EQ_STR(t.ctx.errmsg, "shapes (3,4) and (5,3) not aligned: 4 (dim 1) != 5 (dim 0)");
  CHECK_EQ_INT(op2(&t, OP_matmul, m34, v5), BUD_ERR_SHAPE);
  CHECK_EQ_STR(t.ctx.errmsg, "matmul: Input operand 1 has a mismatch in its core dimension 0, with "
                             "gufunc signature (n?,k),(k,m?)->(n?,m?) (size 5 is different from 4)");
  CHECK_EQ_INT(op2(&t, OP_dot, t3, v4), BUD_ERR_UNSUPPORTED);
  int32_t sc = ir_const(t.g, BUD_FLOAT32, (Scalar){.f = 1});
  CHECK_EQ_INT(op2(&t, OP_dot, sc, v4), BUD_ERR_UNSUPPORTED);
  CHECK_EQ_INT(op2(&t, OP_matmul, sc, v4), BUD_ERR_SHAPE);
  CHECK_EQ_INT(ir_verify(t.g), BUD_OK);
  ir_graph_free(t.g);
}

static void test_use_counts(void) {
  T t;
  t_init(&t);
  int32_t a = arr(&t, "a", BUD_FLOAT64, shp(1, 3));
  int32_t m = op2(&t, OP_mul, a, a);
  int32_t s = op2(&t, OP_add, m, a);
  ir_output(t.g, "s", s);
  ir_output(t.g, "a", a);
  int32_t counts[8];
  ir_use_counts(t.g, counts);
  CHECK_EQ_INT(counts[a], 4);
  CHECK_EQ_INT(counts[m], 1);
  CHECK_EQ_INT(counts[s], 1);
  ir_graph_free(t.g);
}

/* The verifier must catch each kind of damage. */
static void test_verify(void) {
  T t;
  t_init(&t);
  int32_t a = arr(&t, "a", BUD_INT8, shp(2, 3, 4));
  int32_t b = arr(&t, "b", BUD_FLOAT32, shp(1, 4));
  int32_t s = op2(&t, OP_add, a, b);
  int32_t r = ir_reduce(t.g, OP_sum, s, 1);
  ir_output(t.g, "r", r);
  CHECK_EQ_INT(ir_verify(t.g), BUD_OK);
  IrNode *n = t.g->nodes;
  IrNode keep;
#define DAMAGE(stmt, what)                                             \
  do {                                                                 \
    int32_t i_ = (what);                                               \
    keep = n[i_];                                                      \
    stmt;                                                              \
    CHECK_EQ_INT(ir_verify(t.g), BUD_ERR_INTERNAL);                    \
    CHECK(strncmp(t.ctx.errmsg, "ir_verify: ", 11) == 0);              \
    n[i_] = keep;                                                      \
    CHECK_EQ_INT(ir_verify(t.g), BUD_OK);                              \
  } while (0)
  DAMAGE(n[s].dtype = BUD_FLOAT64, s);
  DAMAGE(n[s].in[0] = a, s);  /* int8 operand, float32 loop */
  DAMAGE(n[s].in[1] = s, s);  /* not preceding */
  DAMAGE(n[s].nin = 1, s);
  DAMAGE(n[s].shape.dim[1] = 5, s);
  DAMAGE(n[r].axis = 2, r);
  DAMAGE(n[r].axis = 0, r);   /* shape no longer the reduced one */
  DAMAGE(n[r].dtype = BUD_FLOAT64, r);
  DAMAGE(n[a].input_index = 1, a);
  DAMAGE(n[a].dtype = BUD_INT16, a);
  DAMAGE(n[s].op = OP_COUNT, s);
  DAMAGE(n[s].shape.ndim = 9, s);
#undef DAMAGE
  t.g->outputs[0].node = 99;
  CHECK_EQ_INT(ir_verify(t.g), BUD_ERR_INTERNAL);
  t.g->outputs[0].node = r;
  int32_t c = ir_const(t.g, BUD_INT8, (Scalar){.i = 3});
  t.g->nodes[c].value.i = 300;
  CHECK_EQ_INT(ir_verify(t.g), BUD_ERR_INTERNAL);
  t.g->nodes[c].value.i = 3;
  CHECK_EQ_INT(ir_verify(t.g), BUD_OK);
  ir_graph_free(t.g);
}

int main(void) {
  test_ops_table();
  test_shapes();
  test_promote();
  test_builder();
  test_errors();
  test_reductions();
  test_dot();
  test_use_counts();
  test_verify();
  test_conversions();
  test_smoke();
  test_numpy_table();
  return check_done("test_ir");
}
