/* test_opt.c — unit tests of the passes (fold, simplify, CSE, DCE), the first fusion (opt_fuse)
 * and program_build / plan_lower, on graphs made with the IR builder. Expected values are
 * independent facts (IEEE results, NumPy's answers), not outputs of the code under test.
 */
#include "check.h"
#include "opt/opt.h"
#include "plan/plan.h"
#include "vm/vm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static BudContext ctx_storage;
static BudContext *ctx = &ctx_storage;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

static Shape shp(int ndim, int64_t d0, int64_t d1) {
  Shape s;
  memset(&s, 0, sizeof s);
  s.ndim = ndim;
  s.dim[0] = d0;
  s.dim[1] = d1;
  return s;
}

static int32_t in_f64(IrGraph *g, const char *name, int ndim, int64_t d0, int64_t d1) {
  Shape s = shp(ndim, d0, d1);
  return ir_input(g, name, BUD_FLOAT64, &s, NULL);
}

static int32_t cf(IrGraph *g, BudDType dt, double v) {
  Scalar s;
  s.u = 0;
  s.f = v;
  return ir_const(g, dt, s);
}

static int32_t ci(IrGraph *g, BudDType dt, int64_t v) {
  Scalar s;
  s.i = v;
  return ir_const(g, dt, s);
}

static int32_t op2(IrGraph *g, Op op, int32_t a, int32_t b) {
  int32_t in[2] = {a, b};
  return ir_op(g, op, 2, in);
}

static int32_t op1(IrGraph *g, Op op, int32_t a) { return ir_op(g, op, 1, &a); }

/* Runs the passes named in `passes` (comma-separated: fold, simplify, cse, dce) and frees g. */
static IrGraph *run(IrGraph *g, const char *passes) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", passes);
  for (char *tok = strtok(buf, ","); tok && g; tok = strtok(NULL, ",")) {
    IrGraph *out = NULL;
    BudStatus st = !strcmp(tok, "fold")       ? opt_fold(ctx, g, &out)
                   : !strcmp(tok, "simplify") ? opt_simplify(ctx, g, &out)
                   : !strcmp(tok, "cse")      ? opt_cse(ctx, g, &out)
                                              : opt_dce(ctx, g, &out);
    CHECK_MSG(st == BUD_OK, "pass %s: %s", tok, ctx->errmsg);
    ir_graph_free(g);
    g = out;
  }
  return g;
}

static const IrNode *out_node(const IrGraph *g, int o) { return &g->nodes[g->outputs[o].node]; }

/* ---- folding -----------------------------------------------------------------------------------
 */

static void test_fold(void) {
  IrGraph *g = ir_graph_new(ctx);
  /* (2 + 3) * 4 in float64 */
  ir_output(g, "a",
            op2(g, OP_mul, op2(g, OP_add, cf(g, BUD_FLOAT64, 2), cf(g, BUD_FLOAT64, 3)),
                cf(g, BUD_FLOAT64, 4)));
  /* 0/0 -> NaN, -(0.0) -> -0.0, sqrt(2) as float32 */
  ir_output(g, "nan", op2(g, OP_div, cf(g, BUD_FLOAT64, 0), cf(g, BUD_FLOAT64, 0)));
  ir_output(g, "negz", op1(g, OP_neg, cf(g, BUD_FLOAT64, 0)));
  ir_output(g, "sq", op1(g, OP_sqrt, cf(g, BUD_FLOAT32, 2)));
  g = run(g, "fold,dce");
  CHECK(g && g->noutputs == 4);
  if (!g) return;
  for (int o = 0; o < 4; o++)
    CHECK_EQ_INT(out_node(g, o)->op, OP_const);
  CHECK(out_node(g, 0)->value.f == 20.0);
  CHECK(isnan(out_node(g, 1)->value.f));
  CHECK(out_node(g, 2)->value.f == 0.0 && signbit(out_node(g, 2)->value.f));
  CHECK_EQ_INT(out_node(g, 3)->dtype, BUD_FLOAT32);
  CHECK(out_node(g, 3)->value.f == (double)sqrtf(2.0f));
  CHECK_EQ_INT(g->nnodes, 4); /* nothing but the four constants is left */
  ir_graph_free(g);

  /* integer wrap: int8 127 + 1 = -128; uint8 0 - 1 = 255; casts of constants */
  g = ir_graph_new(ctx);
  IrNode n;
  memset(&n, 0, sizeof n);
  n.op = OP_add;
  n.dtype = BUD_INT8;
  n.nin = 2;
  n.in[0] = ci(g, BUD_INT8, 127);
  n.in[1] = ci(g, BUD_INT8, 1);
  ir_output(g, "wrap", ir_append(g, &n));
  n.op = OP_sub;
  n.dtype = BUD_UINT8;
  n.in[0] = ci(g, BUD_UINT8, 0);
  n.in[1] = ci(g, BUD_UINT8, 1);
  ir_output(g, "uwrap", ir_append(g, &n));
  memset(&n, 0, sizeof n);
  n.op = OP_cast;
  n.dtype = BUD_INT32;
  n.nin = 1;
  n.in[0] = cf(g, BUD_FLOAT64, -3.7);
  ir_output(g, "trunc", ir_append(g, &n));
  g = run(g, "fold");
  CHECK(g != NULL);
  if (!g) return;
  CHECK_EQ_INT(out_node(g, 0)->op, OP_const);
  CHECK_EQ_INT(out_node(g, 0)->dtype, BUD_INT8);
  CHECK_EQ_INT(out_node(g, 0)->value.i, -128);
  CHECK_EQ_INT(out_node(g, 1)->value.u, 255);
  CHECK_EQ_INT(out_node(g, 2)->op, OP_const);
  CHECK_EQ_INT(out_node(g, 2)->value.i, -3);
  ir_graph_free(g);

  /* integers to a negative power: NumPy raises, so does folding */
  g = ir_graph_new(ctx);
  ir_output(g, "p", op2(g, OP_pow, ci(g, BUD_INT64, 2), ci(g, BUD_INT64, -1)));
  IrGraph *out = NULL;
  BudStatus st = opt_fold(ctx, g, &out);
  CHECK_EQ_INT(st, BUD_ERR_VALUE);
  CHECK(out == NULL);
  CHECK(strstr(ctx->errmsg, "negative") != NULL);
  ir_graph_free(g);

  /* not folded: a 0-d input with an example value, a reduction of a constant, arrays */
  g = ir_graph_new(ctx);
  Shape s0 = shp(0, 0, 0);
  double ex = 2.0;
  int32_t x = ir_input(g, "x", BUD_FLOAT64, &s0, &ex);
  int32_t a = in_f64(g, "a", 1, 8, 0);
  ir_output(g, "o1", op2(g, OP_add, x, cf(g, BUD_FLOAT64, 1)));
  ir_output(g, "o2", ir_reduce(g, OP_sum, cf(g, BUD_FLOAT64, 1), BUD_AXIS_ALL));
  ir_output(g, "o3",
            op2(g, OP_mul, a, op2(g, OP_add, cf(g, BUD_FLOAT64, 1), cf(g, BUD_FLOAT64, 1))));
  g = run(g, "fold,dce");
  CHECK(g != NULL);
  if (!g) return;
  CHECK_EQ_INT(out_node(g, 0)->op, OP_add);
  CHECK_EQ_INT(out_node(g, 1)->op, OP_sum);
  CHECK_EQ_INT(out_node(g, 2)->op, OP_mul);
  CHECK_EQ_INT(g->nodes[out_node(g, 2)->in[1]].op, OP_const);
  CHECK(g->nodes[out_node(g, 2)->in[1]].value.f == 2.0);
  ir_graph_free(g);
}

/* ---- simplification ----------------------------------------------------------------------------
 */

/* Builds f(x) for a float64 array x (plus a bool array c and an int32 array i), runs fold,
 * simplify, dce, and returns the output node's op (-1: the output is x itself). */
typedef int32_t (*BuildFn)(IrGraph *g, int32_t x, int32_t c, int32_t i);

static int simp_case(BuildFn f, int32_t *nnodes) {
  IrGraph *g = ir_graph_new(ctx);
  int32_t x = in_f64(g, "x", 1, 16, 0);
  Shape s = shp(1, 16, 0);
  int32_t c = ir_input(g, "c", BUD_BOOL, &s, NULL);
  int32_t i = ir_input(g, "i", BUD_INT32, &s, NULL);
  int32_t r = f(g, x, c, i);
  CHECK_MSG(r >= 0, "build: %s", ctx->errmsg);
  ir_output(g, "out", r);
  const IrNode before = g->nodes[r];
  g = run(g, "fold,simplify,dce");
  if (!g) return -2;
  const IrNode *o = out_node(g, 0);
  CHECK_EQ_INT(o->dtype, before.dtype);
  CHECK(shape_eq(&o->shape, &before.shape));
  int res = o->op == OP_input ? -1 - o->input_index : (int)o->op;
  if (nnodes) *nnodes = g->nnodes;
  ir_graph_free(g);
  return res;
}

#define F64(v) cf(g, BUD_FLOAT64, (v))
static int32_t b_mul1(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_mul, x, F64(1));
}
static int32_t b_1mul(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_mul, F64(1), x);
}
static int32_t b_div1(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_div, x, F64(1));
}
static int32_t b_pow1(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_pow, x, F64(1));
}
static int32_t b_sub0(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_sub, x, F64(0));
}
static int32_t b_addm0(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_add, x, F64(-0.0));
}
static int32_t b_add0(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_add, x, F64(0));
}
static int32_t b_subm0(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_sub, x, F64(-0.0));
}
static int32_t b_mul0(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_mul, x, F64(0));
}
static int32_t b_iadd0(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_add, i, ci(g, BUD_INT32, 0));
}
static int32_t b_i0add(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_add, ci(g, BUD_INT32, 0), i);
}
static int32_t b_imul1(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_mul, i, ci(g, BUD_INT64, 1));
}
static int32_t b_pow2(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_pow, x, F64(2));
}
static int32_t b_ipow2(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_pow, i, ci(g, BUD_INT32, 2));
}
static int32_t b_powm1(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_pow, x, F64(-1));
}
static int32_t b_powhalf(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_pow, x, F64(0.5));
}
static int32_t b_powhalf0d(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  Shape s0 = shp(0, 0, 0);
  double v = -0.0;
  int32_t y = ir_input(g, "y", BUD_FLOAT64, &s0, &v);
  return op2(g, OP_pow, y, F64(0.5));
}
static int32_t b_ipowhalf(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_pow, i, F64(0.5));
}
static int32_t b_negneg(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op1(g, OP_neg, op1(g, OP_neg, x));
}
static int32_t b_neg3(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op1(g, OP_neg, op1(g, OP_neg, op1(g, OP_neg, x)));
}
static int32_t b_notnot(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op1(g, OP_not, op1(g, OP_not, c));
}
static int32_t b_castown(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  IrNode n;
  memset(&n, 0, sizeof n);
  n.op = OP_cast;
  n.dtype = BUD_FLOAT64;
  n.shape = g->nodes[x].shape;
  n.nin = 1;
  n.in[0] = x;
  return ir_append(g, &n);
}
static int32_t b_wherexx(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  int32_t in[3] = {c, x, x};
  return ir_op(g, OP_where, 3, in);
}
static int32_t b_wheretrue(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  int32_t in[3] = {ci(g, BUD_BOOL, 1), x, op1(g, OP_neg, x)};
  return ir_op(g, OP_where, 3, in);
}
static int32_t b_wherebcast(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  int32_t y = F64(2);
  int32_t in[3] = {c, y, y}; /* shape (16,), not y's () */
  return ir_op(g, OP_where, 3, in);
}
static int32_t b_minxx(IrGraph *g, int32_t x, int32_t c, int32_t i) {
  return op2(g, OP_minimum, x, x);
}
static int32_t b_subxx(IrGraph *g, int32_t x, int32_t c, int32_t i) { return op2(g, OP_sub, x, x); }

static void test_simplify(void) {
  /* identities: the output becomes input x (index 0), c (1) or i (2) */
  CHECK_EQ_INT(simp_case(b_mul1, NULL), -1);
  CHECK_EQ_INT(simp_case(b_1mul, NULL), -1);
  CHECK_EQ_INT(simp_case(b_div1, NULL), -1);
  CHECK_EQ_INT(simp_case(b_pow1, NULL), -1);
  CHECK_EQ_INT(simp_case(b_sub0, NULL), -1);
  CHECK_EQ_INT(simp_case(b_addm0, NULL), -1);
  CHECK_EQ_INT(simp_case(b_iadd0, NULL), -3);
  CHECK_EQ_INT(simp_case(b_i0add, NULL), -3);
  CHECK_EQ_INT(simp_case(b_negneg, NULL), -1);
  CHECK_EQ_INT(simp_case(b_notnot, NULL), -2);
  CHECK_EQ_INT(simp_case(b_castown, NULL), -1);
  CHECK_EQ_INT(simp_case(b_wherexx, NULL), -1);
  CHECK_EQ_INT(simp_case(b_wheretrue, NULL), -1);
  CHECK_EQ_INT(simp_case(b_minxx, NULL), -1);
  /* int32 array * int64 scalar 1: value-based casting keeps int32, so the result is i */
  CHECK_EQ_INT(simp_case(b_imul1, NULL), -3);
  /* strength reduction */
  CHECK_EQ_INT(simp_case(b_pow2, NULL), OP_mul);
  CHECK_EQ_INT(simp_case(b_ipow2, NULL), OP_mul);
  CHECK_EQ_INT(simp_case(b_powm1, NULL), OP_div);
  int32_t nn = 0;
  CHECK_EQ_INT(simp_case(b_neg3, &nn), OP_neg);
  CHECK_EQ_INT(nn, 4); /* x, c, i, one negative */
  /* NOT identities: they change some result, so they stay */
  CHECK_EQ_INT(simp_case(b_add0, NULL), OP_add);         /* -0.0 + 0.0 = +0.0 */
  CHECK_EQ_INT(simp_case(b_subm0, NULL), OP_sub);        /* -0.0 - -0.0 = +0.0 */
  CHECK_EQ_INT(simp_case(b_mul0, NULL), OP_mul);         /* NaN * 0, inf * 0, -1 * 0 */
  CHECK_EQ_INT(simp_case(b_powhalf, NULL), OP_sqrt);     /* NumPy: a**0.5 is sqrt(a) */
  CHECK_EQ_INT(simp_case(b_powhalf0d, NULL), OP_pow);    /* a NumPy scalar uses pow */
  CHECK_EQ_INT(simp_case(b_ipowhalf, NULL), OP_pow);     /* an integer array uses pow */
  CHECK_EQ_INT(simp_case(b_subxx, NULL), OP_sub);        /* NaN - NaN */
  CHECK_EQ_INT(simp_case(b_wherebcast, NULL), OP_where); /* would change the shape */
}

/* The identities, checked on the VM itself (the reference semantics): original and rewritten
 * forms give the same bits on special values (NaN, +-0, +-inf, subnormals, extremes) and many
 * random bit patterns. A failing case names the rule. */
#define NVALS 4096
static void vm_eval2(Op op, BudDType dt, const void *x, const void *y, void *out) {
  BudDType dts[2] = {dt, dt};
  const void *in[2] = {x, y};
  BudStatus st = vm_elementwise(ctx, op, dt, 2, dts, out, in, NVALS);
  CHECK_MSG(st == BUD_OK, "%s", ctx->errmsg);
}

static void fill_values(BudDType dt, void *buf) {
  static const double special[] = {0.0,   -0.0,   1.0,     -1.0,  INFINITY, -INFINITY, NAN,
                                   -NAN,  1e-310, -1e-310, 1e-40, 1.7e308,  -1.7e308,  3.4e38,
                                   1e-20, 1e20,   2.5,     -2.5,  0.1,      65535.0};
  for (int i = 0; i < NVALS; i++) {
    uint64_t r = ((uint64_t)rnd(1u << 31) << 33) ^ ((uint64_t)rnd(1u << 31) << 2) ^ rnd(4);
    if (dt == BUD_FLOAT64) {
      double v;
      if (i < (int)BUD_ARRAY_LEN(special))
        v = special[i];
      else
        memcpy(&v, &r, 8);
      ((double *)buf)[i] = v;
    } else if (dt == BUD_FLOAT32) {
      float v;
      uint32_t r32 = (uint32_t)r;
      if (i < (int)BUD_ARRAY_LEN(special))
        v = (float)special[i];
      else
        memcpy(&v, &r32, 4);
      ((float *)buf)[i] = v;
    } else if (dt == BUD_INT32) {
      ((int32_t *)buf)[i] = i < 4 ? (int32_t[]){0, -1, INT32_MIN, INT32_MAX}[i] : (int32_t)r;
    } else {
      ((int64_t *)buf)[i] = i < 4 ? (int64_t[]){0, -1, INT64_MIN, INT64_MAX}[i] : (int64_t)r;
    }
  }
}

static void fill_const(BudDType dt, double v, void *buf) {
  for (int i = 0; i < NVALS; i++) {
    if (dt == BUD_FLOAT64)
      ((double *)buf)[i] = v;
    else if (dt == BUD_FLOAT32)
      ((float *)buf)[i] = (float)v;
    else if (dt == BUD_INT32)
      ((int32_t *)buf)[i] = (int32_t)v;
    else
      ((int64_t *)buf)[i] = (int64_t)v;
  }
}

/* Same bits, except that any two NaNs match (arithmetic quiets signalling NaNs and may set the
 * sign of a NaN: x*1 is not bitwise x for an sNaN in NumPy either). */
static bool same_bits(BudDType dt, const void *a, const void *b, int *first) {
  int sz = dtype_size(dt);
  for (int i = 0; i < NVALS; i++) {
    const char *pa = (const char *)a + i * sz, *pb = (const char *)b + i * sz;
    if (dt == BUD_FLOAT32 && isnan(*(const float *)pa) && isnan(*(const float *)pb)) continue;
    if (dt == BUD_FLOAT64 && isnan(*(const double *)pa) && isnan(*(const double *)pb)) continue;
    if (memcmp(pa, pb, (size_t)sz) != 0) {
      *first = i;
      return false;
    }
  }
  return true;
}

static void test_identities_on_vm(void) {
  static double x[NVALS], c[NVALS], r1[NVALS], r2[NVALS], one[NVALS];
  const BudDType dts[] = {BUD_FLOAT32, BUD_FLOAT64, BUD_INT32, BUD_INT64};
  for (size_t d = 0; d < BUD_ARRAY_LEN(dts); d++) {
    BudDType dt = dts[d];
    bool isf = dtype_is_float(dt);
    int bad = -1;
    fill_values(dt, x);
    fill_const(dt, 1, one);
#define RULE(rule, cond)                                                                           \
  CHECK_MSG(cond, "%s on %s differs at element %d", rule, dtype_info(dt)->name, bad)
    /* (x**2 -> x*x, x**-1 -> 1/x, x**0.5 -> sqrt are NumPy's definitions of those powers, not
     * identities of a pow routine: a pow routine need not be correctly rounded.) */
    /* x**1 == x, x*1 == x, 1*x == x */
    vm_eval2(OP_pow, dt, x, one, r1);
    RULE("x**1 -> x", same_bits(dt, r1, x, &bad));
    vm_eval2(OP_mul, dt, x, one, r1);
    RULE("x*1 -> x", same_bits(dt, r1, x, &bad));
    vm_eval2(OP_mul, dt, one, x, r1);
    RULE("1*x -> x", same_bits(dt, r1, x, &bad));
    /* x - 0 == x */
    fill_const(dt, 0, c);
    vm_eval2(OP_sub, dt, x, c, r1);
    RULE("x-0 -> x", same_bits(dt, r1, x, &bad));
    if (isf) {
      /* x/1 == x, x + -0.0 == x; x + 0.0 is NOT x (-0.0 + 0.0 = +0.0) */
      vm_eval2(OP_div, dt, x, one, r1);
      RULE("x/1 -> x", same_bits(dt, r1, x, &bad));
      fill_const(dt, -0.0, c);
      vm_eval2(OP_add, dt, x, c, r1);
      RULE("x+(-0.0) -> x", same_bits(dt, r1, x, &bad));
      fill_const(dt, 0.0, c);
      vm_eval2(OP_add, dt, x, c, r1);
      CHECK(!same_bits(dt, r1, x, &bad) && bad == 1); /* element 1 is -0.0 */
      fill_const(dt, -0.0, c);
      vm_eval2(OP_sub, dt, x, c, r1);
      CHECK(!same_bits(dt, r1, x, &bad)); /* -0.0 - -0.0 = +0.0 */
    } else {
      /* x + 0 == x, x // 1 == x */
      vm_eval2(OP_add, dt, x, c, r1);
      RULE("x+0 -> x", same_bits(dt, r1, x, &bad));
      vm_eval2(OP_floordiv, dt, x, one, r1);
      RULE("x//1 -> x", same_bits(dt, r1, x, &bad));
    }
    /* -(-x) == x */
    BudDType dt1[1] = {dt};
    const void *in1[1] = {x};
    CHECK(vm_elementwise(ctx, OP_neg, dt, 1, dt1, r1, in1, NVALS) == BUD_OK);
    in1[0] = r1;
    CHECK(vm_elementwise(ctx, OP_neg, dt, 1, dt1, r2, in1, NVALS) == BUD_OK);
    RULE("-(-x) -> x", same_bits(dt, r2, x, &bad));
#undef RULE
  }
}

/* ---- CSE and DCE -------------------------------------------------------------------------------
 */

static void test_cse_dce(void) {
  IrGraph *g = ir_graph_new(ctx);
  int32_t a = in_f64(g, "a", 1, 8, 0), b = in_f64(g, "b", 1, 8, 0);
  int32_t unused = in_f64(g, "unused", 1, 3, 0);
  int32_t ab = op2(g, OP_mul, a, b), ba = op2(g, OP_mul, b, a);
  int32_t d1 = op2(g, OP_sub, a, b), d2 = op2(g, OP_sub, b, a); /* not commutative */
  ir_output(g, "s", op2(g, OP_add, ab, ba));
  ir_output(g, "d", op2(g, OP_add, d1, d2));
  ir_output(g, "z", op2(g, OP_add, op2(g, OP_add, a, F64(0.0)), op2(g, OP_add, a, F64(-0.0))));
  double nan = NAN;
  ir_output(g, "n", op2(g, OP_add, op2(g, OP_add, a, F64(nan)), op2(g, OP_add, a, F64(nan))));
  ir_output(g, "r", op2(g, OP_add, ir_reduce(g, OP_sum, a, 0), ir_reduce(g, OP_sum, a, 0)));
  ir_output(
      g, "m",
      op2(g, OP_add, ir_reduce(g, OP_sum, a, BUD_AXIS_ALL), ir_reduce(g, OP_max, a, BUD_AXIS_ALL)));
  op2(g, OP_mul, a, F64(3)); /* dead */
  (void)unused;
  g = run(g, "cse,dce");
  CHECK(g != NULL);
  if (!g) return;
  const IrNode *s = out_node(g, 0), *d = out_node(g, 1), *z = out_node(g, 2), *n = out_node(g, 3);
  CHECK_EQ_INT(s->in[0], s->in[1]); /* a*b and b*a merged */
  CHECK(d->in[0] != d->in[1]);      /* a-b and b-a not */
  CHECK(z->in[0] != z->in[1]);      /* +0.0 and -0.0 distinct */
  CHECK_EQ_INT(n->in[0], n->in[1]); /* same NaN bits merge */
  CHECK_EQ_INT(out_node(g, 4)->in[0], out_node(g, 4)->in[1]);
  CHECK(out_node(g, 5)->in[0] != out_node(g, 5)->in[1]);
  /* inputs stay, in order, even unused */
  CHECK_EQ_INT(g->ninputs, 3);
  CHECK_EQ_STR(g->inputs[2].name, "unused");
  CHECK_EQ_INT(g->nodes[g->inputs[2].node].input_index, 2);
  /* no dead node: every non-input node has a user */
  int32_t *uses = calloc((size_t)g->nnodes, sizeof *uses);
  ir_use_counts(g, uses);
  int dead = 0;
  for (int32_t i = 0; i < g->nnodes; i++)
    dead += g->nodes[i].op != OP_input && uses[i] == 0;
  CHECK_EQ_INT(dead, 0);
  /* a, b, unused, a*b, s, a-b, b-a, d, 0.0, -0.0, a+0, a+-0, z, nan, a+nan, n, sum, r, sum, max, m
   */
  CHECK_EQ_INT(g->nnodes, 21);
  free(uses);
  ir_graph_free(g);
}

/* ---- fusion and programs -----------------------------------------------------------------------
 */

/* Fuses g (freeing it) and returns the group count; groups in *grp (caller frees). */
static int fuse(IrGraph *g, int32_t **grp) {
  *grp = calloc((size_t)g->nnodes + 1, sizeof **grp);
  int32_t ng = -1;
  BudStatus st = opt_fuse(ctx, g, *grp, &ng);
  CHECK_MSG(st == BUD_OK, "fuse: %s", ctx->errmsg);
  return ng;
}

static void test_fuse(void) {
  int32_t *grp;
  /* 2*a + 3*b: one group */
  IrGraph *g = ir_graph_new(ctx);
  int32_t a = in_f64(g, "a", 1, 100, 0), b = in_f64(g, "b", 1, 100, 0);
  int32_t r = op2(g, OP_add, op2(g, OP_mul, F64(2), a), op2(g, OP_mul, F64(3), b));
  ir_output(g, "out", r);
  CHECK_EQ_INT(fuse(g, &grp), 1);
  CHECK_EQ_INT(grp[a], -1);
  CHECK_EQ_INT(grp[r], 0);
  free(grp);
  BudProgram *prog = NULL;
  BudStatus st = program_build(ctx, g, &prog, NULL);
  CHECK_MSG(st == BUD_OK, "%s", ctx->errmsg);
  if (st == BUD_OK) {
    CHECK_EQ_INT(prog->ngroups, 1);
    CHECK_EQ_INT(prog->nbuffers, 3);
    CHECK_EQ_INT(prog->ntemps, 0);
    const Plan *p = &prog->groups[0].plan;
    int count[5] = {0};
    for (int i = 0; i < p->ninsts; i++)
      count[p->insts[i].kind]++;
    CHECK_EQ_INT(count[LK_LOAD], 2);
    CHECK_EQ_INT(count[LK_CONST], 2);
    CHECK_EQ_INT(count[LK_OP], 3);
    CHECK_EQ_INT(count[LK_STORE], 1);
    CHECK_EQ_INT(p->reduce_axis, PLAN_NO_REDUCE);
    CHECK_EQ_INT(p->iter.dim[0], 100);
    CHECK_EQ_INT(p->sched.block, 256);
    CHECK_EQ_INT(prog->buffers[prog->output_buf[0]].kind, BUF_OUTPUT);
    CHECK(prog->graph == g);
    program_free(prog);
  } else {
    ir_graph_free(g);
  }

  /* sum(a*b): one group */
  g = ir_graph_new(ctx);
  a = in_f64(g, "a", 2, 10, 20), b = in_f64(g, "b", 1, 20, 0);
  r = ir_reduce(g, OP_sum, op2(g, OP_mul, a, b), 1);
  ir_output(g, "s", r);
  CHECK_EQ_INT(fuse(g, &grp), 1);
  free(grp);
  st = program_build(ctx, g, &prog, NULL);
  CHECK(st == BUD_OK);
  if (st == BUD_OK) {
    const Plan *p = &prog->groups[0].plan;
    CHECK_EQ_INT(p->reduce_axis, 1);
    CHECK_EQ_INT(p->nreduces, 1);
    CHECK_EQ_INT(p->reduces[0].op, OP_sum);
    CHECK_EQ_INT(p->reduces[0].buffer, prog->output_buf[0]);
    CHECK_EQ_INT(p->iter.ndim, 2);
    CHECK_EQ_INT(p->iter.dim[1], 20);
    program_free(prog);
  } else {
    ir_graph_free(g);
  }

  /* a - sum(a)/n: two groups, the reduction first, its result through a 0-d temp */
  g = ir_graph_new(ctx);
  a = in_f64(g, "a", 1, 50, 0);
  int32_t s = ir_reduce(g, OP_sum, a, BUD_AXIS_ALL);
  r = op2(g, OP_sub, a, op2(g, OP_div, s, F64(50)));
  ir_output(g, "c", r);
  CHECK_EQ_INT(fuse(g, &grp), 2);
  CHECK_EQ_INT(grp[s], 0);
  CHECK_EQ_INT(grp[r], 1);
  CHECK_EQ_INT(grp[r - 1], 1); /* the division joins the subtraction */
  free(grp);
  st = program_build(ctx, g, &prog, NULL);
  CHECK(st == BUD_OK);
  if (st == BUD_OK) {
    CHECK_EQ_INT(prog->ntemps, 1);
    CHECK_EQ_INT(prog->groups[0].plan.reduce_axis, BUD_AXIS_ALL);
    int32_t tb = prog->groups[0].plan.reduces[0].buffer;
    CHECK_EQ_INT(prog->buffers[tb].kind, BUF_TEMP);
    CHECK_EQ_INT(prog->buffers[tb].shape.ndim, 0);
    const Plan *p1 = &prog->groups[1].plan;
    CHECK_EQ_INT(p1->noperands, 3);           /* a, the temp, the output */
    CHECK_EQ_INT(p1->operands[0].buffer, tb); /* s/50 comes first, then a - it */
    CHECK_EQ_INT(p1->operands[1].buffer, 0);
    CHECK(p1->operands[2].is_output && !p1->operands[0].is_output);
    program_free(prog);
  } else {
    ir_graph_free(g);
  }

  /* t = a*b used by sum(t) and t + sum(t): t is materialized by the sum's group (one pass
   * computes, stores and sums it), then read by the second group */
  g = ir_graph_new(ctx);
  a = in_f64(g, "a", 1, 50, 0), b = in_f64(g, "b", 1, 50, 0);
  int32_t t = op2(g, OP_mul, a, b);
  s = ir_reduce(g, OP_sum, t, BUD_AXIS_ALL);
  r = op2(g, OP_add, t, s);
  ir_output(g, "o", r);
  CHECK_EQ_INT(fuse(g, &grp), 2);
  CHECK(grp[t] == 0 && grp[s] == 0 && grp[r] == 1);
  free(grp);
  st = program_build(ctx, g, &prog, NULL);
  CHECK(st == BUD_OK);
  if (st == BUD_OK) {
    CHECK_EQ_INT(prog->ntemps, 2); /* t and sum(t) */
    const Plan *p0 = &prog->groups[0].plan;
    CHECK_EQ_INT(p0->nreduces, 1);
    CHECK_EQ_INT(p0->noperands, 3); /* loads a, b; stores t */
    CHECK(p0->operands[2].is_output);
    CHECK_EQ_INT(prog->buffers[p0->operands[2].buffer].kind, BUF_TEMP);
    CHECK_EQ_INT(prog->buffers[p0->operands[2].buffer].node, t);
    program_free(prog);
  } else {
    ir_graph_free(g);
  }

  /* t (shape (4,)) used by two groups iterating over (3,4) and (5,4): its own group, a temp */
  g = ir_graph_new(ctx);
  a = in_f64(g, "a", 2, 3, 4), b = in_f64(g, "b", 2, 5, 4);
  int32_t c4 = in_f64(g, "c", 1, 4, 0);
  t = op1(g, OP_exp, c4);
  ir_output(g, "y", op2(g, OP_add, a, t));
  ir_output(g, "z", op2(g, OP_mul, b, t));
  CHECK_EQ_INT(fuse(g, &grp), 3);
  CHECK_EQ_INT(grp[t], 0);
  free(grp);
  st = program_build(ctx, g, &prog, NULL);
  CHECK(st == BUD_OK);
  if (st == BUD_OK) {
    CHECK_EQ_INT(prog->ntemps, 1);
    program_free(prog);
  } else {
    ir_graph_free(g);
  }

  /* multi-output: y = a*b; z = y + 1 -> one group storing both */
  g = ir_graph_new(ctx);
  a = in_f64(g, "a", 1, 50, 0), b = in_f64(g, "b", 1, 50, 0);
  int32_t y = op2(g, OP_mul, a, b);
  int32_t z = op2(g, OP_add, y, F64(1));
  ir_output(g, "y", y);
  ir_output(g, "z", z);
  ir_output(g, "y2", y); /* the same node twice: a copy */
  ir_output(g, "a2", a); /* an input: a copy */
  CHECK_EQ_INT(fuse(g, &grp), 1);
  free(grp);
  st = program_build(ctx, g, &prog, NULL);
  CHECK(st == BUD_OK);
  if (st == BUD_OK) {
    CHECK_EQ_INT(prog->ngroups, 3);
    CHECK_EQ_INT(prog->groups[0].kind, GROUP_FUSED);
    CHECK_EQ_INT(prog->groups[1].kind, GROUP_COPY);
    CHECK_EQ_INT(prog->groups[1].in_buf[0], prog->output_buf[0]);
    CHECK_EQ_INT(prog->groups[1].out_buf, prog->output_buf[2]);
    CHECK_EQ_INT(prog->groups[2].in_buf[0], 0); /* input a's buffer */
    int nstores = 0;
    for (int i = 0; i < prog->groups[0].plan.ninsts; i++)
      nstores += prog->groups[0].plan.insts[i].kind == LK_STORE;
    CHECK_EQ_INT(nstores, 2);
    CHECK_EQ_INT(prog->noutputs, 4);
    CHECK_EQ_STR(prog->output_names[3], "a2");
    program_free(prog);
  } else {
    ir_graph_free(g);
  }

  /* an output whose shape is smaller than its user's iteration: its own group */
  g = ir_graph_new(ctx);
  a = in_f64(g, "a", 2, 4, 5), b = in_f64(g, "b", 1, 5, 0);
  y = op2(g, OP_mul, b, F64(2));
  ir_output(g, "y", y);
  ir_output(g, "z", op2(g, OP_add, a, y));
  CHECK_EQ_INT(fuse(g, &grp), 2);
  free(grp);
  ir_graph_free(g);

  /* dot in the middle: (a*2) . b + 1 -> fused, dot, fused */
  g = ir_graph_new(ctx);
  a = in_f64(g, "a", 2, 4, 5), b = in_f64(g, "b", 2, 5, 3);
  int32_t m = op2(g, OP_mul, a, F64(2));
  int32_t d = op2(g, OP_matmul, m, b);
  r = op2(g, OP_add, d, F64(1));
  ir_output(g, "o", r);
  CHECK_EQ_INT(fuse(g, &grp), 3);
  CHECK(grp[m] == 0 && grp[d] == 1 && grp[r] == 2);
  free(grp);
  st = program_build(ctx, g, &prog, NULL);
  CHECK_MSG(st == BUD_OK, "%s", ctx->errmsg);
  if (st == BUD_OK) {
    CHECK_EQ_INT(prog->groups[1].kind, GROUP_DOT);
    CHECK_EQ_INT(prog->groups[1].node, d);
    CHECK_EQ_INT(prog->buffers[prog->groups[1].in_buf[0]].kind, BUF_TEMP);
    CHECK_EQ_INT(prog->groups[1].in_buf[1], 1);
    CHECK_EQ_INT(prog->buffers[prog->groups[1].out_buf].kind, BUF_TEMP);
    program_free(prog);
  } else {
    ir_graph_free(g);
  }

  /* sum(x) and max(x) of the same x = a*b: one pass */
  g = ir_graph_new(ctx);
  a = in_f64(g, "a", 1, 50, 0), b = in_f64(g, "b", 1, 50, 0);
  int32_t x = op2(g, OP_mul, a, b);
  ir_output(g, "s", ir_reduce(g, OP_sum, x, BUD_AXIS_ALL));
  ir_output(g, "m", ir_reduce(g, OP_max, x, BUD_AXIS_ALL));
  CHECK_EQ_INT(fuse(g, &grp), 1);
  free(grp);
  st = program_build(ctx, g, &prog, NULL);
  CHECK(st == BUD_OK);
  if (st == BUD_OK) {
    CHECK_EQ_INT(prog->groups[0].plan.nreduces, 2);
    program_free(prog);
  } else {
    ir_graph_free(g);
  }

  /* sum(x * max(x)): the max must finish first, two groups */
  g = ir_graph_new(ctx);
  a = in_f64(g, "a", 1, 50, 0);
  int32_t mx = ir_reduce(g, OP_max, a, BUD_AXIS_ALL);
  s = ir_reduce(g, OP_sum, op2(g, OP_mul, a, mx), BUD_AXIS_ALL);
  ir_output(g, "s", s);
  CHECK_EQ_INT(fuse(g, &grp), 2);
  CHECK(grp[mx] == 0 && grp[s] == 1);
  free(grp);
  ir_graph_free(g);
}

/* Random graphs: fusion must give an execution order (operands in earlier or the same group, a
 * reduction's result never read inside its own group) and every group must lower. */

static void test_fuse_random(void) {
  int bad = 0, built = 0, nepi = 0;
  for (int iter = 0; iter < 300; iter++) {
    IrGraph *g = ir_graph_new(ctx);
    int32_t vec[64], nvec = 0, scal[64], nscal = 0;
    vec[nvec++] = in_f64(g, "a", 1, 16, 0);
    vec[nvec++] = in_f64(g, "b", 1, 16, 0);
    int nops = 4 + (int)rnd(20);
    for (int k = 0; k < nops && nvec < 60 && nscal < 60; k++) {
      int32_t x = vec[rnd((uint32_t)nvec)], y = vec[rnd((uint32_t)nvec)];
      switch (rnd(6)) {
      case 0:
        vec[nvec++] = op2(g, OP_add, x, y);
        break;
      case 1:
        vec[nvec++] = op2(g, OP_mul, x, y);
        break;
      case 2:
        vec[nvec++] = op1(g, OP_exp, x);
        break;
      case 3:
        scal[nscal++] = ir_reduce(g, rnd(2) ? OP_sum : OP_max, x, BUD_AXIS_ALL);
        break;
      case 4:
        if (nscal) vec[nvec++] = op2(g, OP_sub, x, scal[rnd((uint32_t)nscal)]);
        break;
      default:
        if (nscal) {
          int32_t v = op2(g, OP_mul, scal[rnd((uint32_t)nscal)], F64(2));
          scal[nscal++] = v;
        }
        break;
      }
    }
    int nout = 0;
    char name[16];
    for (int k = 2; k < nvec; k++)
      if (rnd(3) == 0 || k == nvec - 1) {
        snprintf(name, sizeof name, "v%d", k);
        ir_output(g, name, vec[k]), nout++;
      }
    for (int k = 0; k < nscal; k++)
      if (rnd(2) == 0) {
        snprintf(name, sizeof name, "s%d", k);
        ir_output(g, name, scal[k]), nout++;
      }
    if (nout == 0) ir_output(g, "a2", vec[0]);
    g = run(g, "dce");
    if (!g) return;
    int32_t *grp = NULL;
    int32_t ng = fuse(g, &grp);
    for (int32_t id = 0; id < g->nnodes; id++) {
      if (grp[id] < 0) continue;
      for (int k = 0; k < g->nodes[id].nin; k++) {
        int32_t x = g->nodes[id].in[k];
        if (grp[x] > grp[id]) bad++;
        /* read inside its own group only by the group's epilogue: element-wise over the
         * reduction's result shape, and no reduction of the group reads the epilogue */
        if (grp[x] == grp[id] && op_is_reduction(g->nodes[x].op)) {
          nepi++;
          if (!op_is_elemwise(g->nodes[id].op) || !shape_eq(&g->nodes[id].shape, &g->nodes[x].shape))
            bad++;
          for (int32_t u = id + 1; u < g->nnodes; u++)
            for (int j = 0; j < g->nodes[u].nin; j++)
              if (g->nodes[u].in[j] == id && grp[u] == grp[id] && op_is_reduction(g->nodes[u].op))
                bad++;
        }
      }
      if (grp[id] >= ng) bad++;
    }
    free(grp);
    BudProgram *prog = NULL;
    BudStatus st = program_build(ctx, g, &prog, NULL);
    CHECK_MSG(st == BUD_OK, "random graph %d: %s", iter, ctx->errmsg);
    if (st == BUD_OK) {
      built++;
      program_free(prog);
    } else {
      ir_graph_free(g);
    }
  }
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(built, 300);
  CHECK(nepi > 0); /* the random graphs do make reduction epilogues (s * 2) */
}

/* 70 sums of 70 inputs would merge into one pass reading 70 arrays, more than one kernel
 * takes (BUD_MAX_OPERANDS): program_build falls back to fusion without merges. */
static void test_fuse_operand_limit(void) {
  IrGraph *g = ir_graph_new(ctx);
  char name[16];
  for (int k = 0; k < 70; k++) {
    snprintf(name, sizeof name, "i%d", k);
    int32_t x = in_f64(g, name, 1, 8, 0);
    snprintf(name, sizeof name, "s%d", k);
    ir_output(g, name, ir_reduce(g, OP_sum, x, BUD_AXIS_ALL));
  }
  int32_t *grp;
  CHECK_EQ_INT(fuse(g, &grp), 1); /* merged */
  free(grp);
  BudProgram *prog = NULL;
  BudStatus st = program_build(ctx, g, &prog, NULL);
  CHECK_MSG(st == BUD_OK, "%s", ctx->errmsg);
  if (st == BUD_OK) {
    CHECK_EQ_INT(prog->ngroups, 70);
    program_free(prog);
  } else {
    ir_graph_free(g);
  }
}

/* plan_lower: equal constants (by dtype and bits) become one LK_CONST, a buffer read by several
 * nodes one LK_LOAD; -0.0 and 0.0 stay two constants. */
static void test_lower_dedupe(void) {
  IrGraph *g = ir_graph_new(ctx);
  int32_t a = in_f64(g, "a", 1, 8, 0);
  int32_t x = op2(g, OP_mul, a, F64(2));
  int32_t y = op2(g, OP_add, a, F64(2));
  int32_t z = op2(g, OP_sub, op2(g, OP_add, x, y), F64(0.0));
  ir_output(g, "o", op2(g, OP_add, z, F64(-0.0)));
  BudProgram *prog = NULL;
  BudStatus st = program_build(ctx, g, &prog, NULL);
  CHECK_MSG(st == BUD_OK, "%s", ctx->errmsg);
  if (st != BUD_OK) {
    ir_graph_free(g);
    return;
  }
  const Plan *p = &prog->groups[0].plan;
  int count[5] = {0};
  for (int i = 0; i < p->ninsts; i++)
    count[p->insts[i].kind]++;
  CHECK_EQ_INT(count[LK_LOAD], 1);
  CHECK_EQ_INT(count[LK_CONST], 3); /* 2.0, 0.0, -0.0 */
  CHECK_EQ_INT(p->nconsts, 3);
  CHECK_EQ_INT(count[LK_OP], 5);
  CHECK_EQ_INT(count[LK_STORE], 1);
  CHECK_EQ_INT(p->nvregs, 9);           /* 1 load + 3 consts + 5 ops */
  for (int i = 0; i < p->ninsts; i++) { /* SSA: operands defined before use */
    const LInst *in = &p->insts[i];
    for (int k = 0; k < 3; k++)
      if (in->src[k] >= 0) {
        bool defined = false;
        for (int j = 0; j < i; j++)
          defined |= p->insts[j].dst == in->src[k];
        CHECK(defined);
      }
  }
  StrBuf sb;
  sb_init(&sb);
  plan_print(p, &sb);
  CHECK(sb.data && strstr(sb.data, "v2:float64 = multiply v0, v1\n") != NULL);
  CHECK(sb.data && strstr(sb.data, "store @1 <- v8\n") != NULL);
  sb_free(&sb);
  program_free(prog);
}

/* ---- the pipeline ------------------------------------------------------------------------------
 */

static void test_pipeline(void) {
  IrGraph *g = ir_graph_new(ctx);
  int32_t a = in_f64(g, "a", 1, 10, 0);
  int32_t u = op2(g, OP_mul, op2(g, OP_add, F64(1), F64(1)), a); /* (1+1)*a */
  int32_t v = op2(g, OP_mul, a, F64(2));                         /* a*2: the same after folding */
  ir_output(g, "o", op2(g, OP_add, op2(g, OP_mul, u, F64(1)), v));
  StrBuf sb;
  sb_init(&sb);
  IrGraph *out = NULL;
  BudStatus st = opt_pipeline(ctx, g, &out, &sb);
  if (st == BUD_ERR_UNSUPPORTED && strstr(ctx->errmsg, "not implemented")) {
    /* ir_verify / ir_print not there yet */
    printf("test_opt: pipeline skipped (%s)\n", ctx->errmsg);
  } else {
    CHECK_MSG(st == BUD_OK, "%s", ctx->errmsg);
    if (out) {
      const IrNode *o = out_node(out, 0);
      CHECK_EQ_INT(o->op, OP_add);
      CHECK_EQ_INT(o->in[0], o->in[1]); /* a*2 + a*2 after fold, simplify and CSE */
      CHECK_EQ_INT(out->nnodes, 4);     /* a, 2, a*2, add */
      const char *t = sb.data ? sb.data : "";
      const char *p0 = strstr(t, "== input =="), *p1 = strstr(t, "== after fold =="),
                 *p2 = strstr(t, "== after simplify =="), *p3 = strstr(t, "== after cse =="),
                 *p4 = strstr(t, "== after dce ==");
      CHECK(p0 && p1 && p2 && p3 && p4 && p0 < p1 && p1 < p2 && p2 < p3 && p3 < p4);
      ir_graph_free(out);
    }
  }
  sb_free(&sb);
  ir_graph_free(g);
}

int main(void) {
  test_fold();
  test_simplify();
  test_identities_on_vm();
  test_cse_dce();
  test_fuse();
  test_fuse_random();
  test_fuse_operand_limit();
  test_lower_dedupe();
  test_pipeline();
  return check_done("test_opt");
}
