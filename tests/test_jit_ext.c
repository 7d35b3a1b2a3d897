/* test_jit_ext.c — the JIT's wider coverage against the VM, bit for bit on every ISA path this
 * machine runs (sse2, avx2, avx512 when x86_cpu() has it): bool arrays as inputs and outputs (bytes
 * in memory, lane masks in registers; masked tails), ops the JIT calls the VM for per vector
 * ("external" calls: transcendentals, floor_divide, remainder, fmod, sign, clip, casts), and the
 * reductions other than float sum/mean (min/max with NaN, prod, integer sums, any/all,
 * argmin/argmax) in several accumulators and split calls. */
#define _GNU_SOURCE
#include "check.h"
#include "jit_util.h"

#include "jit_diff.h"

#define F32 BUD_FLOAT32
#define F64 BUD_FLOAT64
#define I32 BUD_INT32
#define I64 BUD_INT64
#define BOOL BUD_BOOL

/* Which paths compiled plan t (bit per ISA as in test_jit: 1 sse2, 2 avx2, 4 avx512). */
static unsigned compiled_on(TPlan *t, const uint8_t *lay, char *why, size_t nwhy) {
  unsigned m = 0;
  for (int ii = 0; ii < g_nisa; ii++) {
    unsigned bit = g_isas[ii] == X86_ISA_SSE2 ? 1u : g_isas[ii] == X86_ISA_AVX2 ? 2u : 4u;
    if (x86_jit_check(&t->p, lay, g_isas[ii], why, nwhy) == 0) m |= bit;
  }
  return m;
}

static unsigned all_paths(void) {
  unsigned m = 0;
  for (int ii = 0; ii < g_nisa; ii++)
    m |= g_isas[ii] == X86_ISA_SSE2 ? 1u : g_isas[ii] == X86_ISA_AVX2 ? 2u : 4u;
  return m;
}

static void expect_native(TPlan *t, const char *name, unsigned need) {
  char why[256] = "";
  unsigned got = compiled_on(t, NULL, why, sizeof why);
  need &= all_paths();
  CHECK_MSG((got & need) == need, "%s: compiled on %x, expected %x (%s)", name, got, need, why);
}

/* ---- bool operands ---- */

static void test_bool(void) {
  static const BudDType dts[] = {F32, F64, I32, I64};
  for (int di = 0; di < 4; di++) {
    BudDType dt = dts[di];
    char name[96];
    TPlan t;
    /* out = a < b as a bool array */
    tp_init(&t);
    int sa = tp_operand(&t, dt, false), sb = tp_operand(&t, dt, false), so = tp_operand(&t, BOOL, true);
    int a = tp_load(&t, sa), b = tp_load(&t, sb);
    tp_store(&t, so, tp_op(&t, OP_lt, BOOL, 2, a, b, -1));
    snprintf(name, sizeof name, "bool out = a < b (%s)", dtype_info(dt)->name);
    diff_sizes(&t, name, NULL, NULL);
    expect_native(&t, name, dt == I64 ? 6u : 7u);
    /* out = where(m, a, b) with a bool input, and m2 = m & (a >= b) | ~n */
    tp_init(&t);
    int sm = tp_operand(&t, BOOL, false), sn = tp_operand(&t, BOOL, false);
    sa = tp_operand(&t, dt, false);
    sb = tp_operand(&t, dt, false);
    so = tp_operand(&t, dt, true);
    int so2 = tp_operand(&t, BOOL, true);
    int m = tp_load(&t, sm), n = tp_load(&t, sn);
    a = tp_load(&t, sa);
    b = tp_load(&t, sb);
    tp_store(&t, so, tp_op(&t, OP_where, dt, 3, m, a, b));
    int ge = tp_op(&t, OP_ge, BOOL, 2, a, b, -1);
    int m2 = tp_op(&t, OP_or, BOOL, 2, tp_op(&t, OP_and, BOOL, 2, m, ge, -1),
                   tp_op(&t, OP_not, BOOL, 1, n, -1, -1), -1);
    tp_store(&t, so2, m2);
    snprintf(name, sizeof name, "where(m, a, b), m & (a >= b) | ~n (%s)", dtype_info(dt)->name);
    diff_sizes(&t, name, NULL, NULL);
    expect_native(&t, name, dt == I64 ? 6u : 7u);
  }
  /* bool-only plans, and a bool constant: out = (m ^ true) | n */
  TPlan t;
  tp_init(&t);
  int sm = tp_operand(&t, BOOL, false), sn = tp_operand(&t, BOOL, false), so = tp_operand(&t, BOOL, true);
  int m = tp_load(&t, sm), n = tp_load(&t, sn);
  int c = tp_const(&t, BOOL, 0, 1);
  tp_store(&t, so, tp_op(&t, OP_or, BOOL, 2, tp_op(&t, OP_xor, BOOL, 2, m, c, -1), n, -1));
  diff_sizes(&t, "(m ^ true) | n", NULL, NULL);
  expect_native(&t, "(m ^ true) | n", 7u);
  /* unrolled main loop with many byte operands */
  t.p.sched.unroll = 3;
  diff_sizes(&t, "(m ^ true) | n, unroll 3", NULL, NULL);
}

/* ---- external calls ---- */

typedef struct ExtCase {
  Op op;
  int nin;
  BudDType dt, out;
  int flav1; /* flavour of the second operand (1: positive, for divisors) */
} ExtCase;

static const ExtCase ext_cases[] = {
    {OP_sin, 1, F32, F32, 0},      {OP_exp, 1, F64, F64, 0},       {OP_log1p, 1, F32, F32, 0},
    {OP_tanh, 1, F64, F64, 0},     {OP_arctan2, 2, F32, F32, 0},   {OP_pow, 2, F64, F64, 0},
    {OP_floordiv, 2, F32, F32, 0}, {OP_mod, 2, F64, F64, 0},       {OP_fmod, 2, F32, F32, 0},
    {OP_floordiv, 2, I32, I32, 0}, {OP_mod, 2, I64, I64, 0},       {OP_sign, 1, F32, F32, 0},
    {OP_sign, 1, I64, I64, 0},     {OP_clip, 3, F32, F32, 0},      {OP_cast, 1, F64, I64, 0},
    {OP_cast, 1, I64, F64, 0},     {OP_cast, 1, F32, BUD_UINT32, 0}, {OP_mul, 2, I64, I64, 0},
    {OP_hypot, 2, F64, F64, 0},    {OP_cbrt, 1, F32, F32, 0},
};

/* out = op(a[, b[, c]]) + a (the add keeps a native op after the call: registers must survive) */
static void test_ext_ops(void) {
  for (size_t ci = 0; ci < BUD_ARRAY_LEN(ext_cases); ci++) {
    const ExtCase *c = &ext_cases[ci];
    TPlan t;
    tp_init(&t);
    int sl[3];
    for (int i = 0; i < 3; i++) sl[i] = tp_operand(&t, c->dt, false);
    int so = tp_operand(&t, c->out, true);
    int v[3];
    for (int i = 0; i < c->nin; i++) v[i] = tp_load(&t, sl[i]);
    int r = tp_op(&t, c->op, c->out, c->nin, v[0], c->nin > 1 ? v[1] : -1, c->nin > 2 ? v[2] : -1);
    if (c->out == c->dt) r = tp_op(&t, OP_add, c->dt, 2, r, v[0], -1);
    tp_store(&t, so, r);
    char name[96];
    snprintf(name, sizeof name, "ext %s(%s)->%s", op_info(c->op)->name, dtype_info(c->dt)->name,
             dtype_info(c->out)->name);
    int flav[4] = {0, c->flav1, 0, 0};
    diff_sizes(&t, name, NULL, flav);
    expect_native(&t, name, 7u);
    uint8_t lay[4] = {LAYOUT_CONTIG, LAYOUT_BCAST, LAYOUT_CONTIG, LAYOUT_CONTIG};
    if (c->nin > 1)
      for (int64_t n = 0; n < 40; n += 3) diff_plan(&t, name, n, 0, 0, lay, flav, true);
  }
}

/* floor_divide(a, b)*remainder(b, c)+fmod(c, a): three calls, values live across them (f32 and
 * f64), unrolled. (Transcendentals are inline math on avx2/avx512, external calls on sse2.) */
static void test_ext_expr(void) {
  for (int di = 0; di < 2; di++) {
    BudDType dt = di ? F64 : F32;
    TPlan t;
    tp_init(&t);
    t.p.sched.unroll = 2;
    int sa = tp_operand(&t, dt, false), sb = tp_operand(&t, dt, false), sc = tp_operand(&t, dt, false);
    int so = tp_operand(&t, dt, true);
    int a = tp_load(&t, sa), b = tp_load(&t, sb), c = tp_load(&t, sc);
    int e = tp_op(&t, OP_floordiv, dt, 2, a, b, -1);
    int s = tp_op(&t, OP_mod, dt, 2, b, c, -1);
    int l = tp_op(&t, OP_fmod, dt, 2, c, a, -1);
    int r = tp_op(&t, OP_add, dt, 2, tp_op(&t, OP_mul, dt, 2, e, s, -1), l, -1);
    tp_store(&t, so, r);
    diff_sizes(&t, "floordiv(a,b)*mod(b,c)+fmod(c,a)", NULL, NULL);
    expect_native(&t, "floordiv(a,b)*mod(b,c)+fmod(c,a)", 7u);
    for (int ii = 0; ii < g_nisa; ii++) {
      JitOut o;
      CHECK_EQ_INT(x86_jit_compile(&t.p, NULL, g_isas[ii], &o, NULL, 0), 0);
      CHECK_EQ_INT(o.next, 3);
      CHECK(strstr(o.ext_ops, "floor_divide") && strstr(o.ext_ops, "remainder") &&
            strstr(o.ext_ops, "fmod"));
      x86_jit_out_free(&o);
    }
    /* exp(a)*sin(b)+log1p(c): inline math where FMA exists, three external calls on sse2 */
    tp_init(&t);
    sa = tp_operand(&t, dt, false), sb = tp_operand(&t, dt, false), sc = tp_operand(&t, dt, false);
    so = tp_operand(&t, dt, true);
    a = tp_load(&t, sa), b = tp_load(&t, sb), c = tp_load(&t, sc);
    e = tp_op(&t, OP_exp, dt, 1, a, -1, -1);
    s = tp_op(&t, OP_sin, dt, 1, b, -1, -1);
    l = tp_op(&t, OP_log1p, dt, 1, c, -1, -1);
    tp_store(&t, so, tp_op(&t, OP_add, dt, 2, tp_op(&t, OP_mul, dt, 2, e, s, -1), l, -1));
    diff_sizes(&t, "exp(a)*sin(b)+log1p(c)", NULL, NULL);
    for (int ii = 0; ii < g_nisa; ii++) {
      JitOut o;
      CHECK_EQ_INT(x86_jit_compile(&t.p, NULL, g_isas[ii], &o, NULL, 0), 0);
      CHECK_EQ_INT(o.next, g_isas[ii] == X86_ISA_SSE2 ? 3 : 0);
      x86_jit_out_free(&o);
    }
  }
}

/* ---- reductions handed to the VM block by block ---- */

/* Runs plan t's reductions on the VM and on every path over [begin, n) in two calls (the
 * executor's chunks), index_base 1000; the finished results must be identical bytes. */
static void diff_red(TPlan *t, const char *name, int64_t n, int64_t begin, int flavour) {
  Plan *p = &t->p;
  void *mem[TP_MAXO];
  BudKArgs args;
  memset(&args, 0, sizeof args);
  args.index_base = 1000;
  for (int s = 0; s < p->noperands; s++) {
    int z = dtype_size((BudDType)p->operands[s].dtype);
    mem[s] = bud_aligned_alloc((size_t)(n + 8) * (size_t)z + 64);
    args.ptr[s] = mem[s];
    args.stride[s] = z;
    if (!p->operands[s].is_output) fill((BudDType)p->operands[s].dtype, mem[s], n + 8, flavour);
    else memset(mem[s], 0, (size_t)(n + 8) * (size_t)z);
  }
  int64_t mid = begin + (n - begin) / 3;
  RedAcc vacc[8], jacc[8];
  for (int r = 0; r < p->nreduces; r++) vm_reduce_init(&p->reduces[r], &vacc[r]);
  args.acc = vacc;
  VmScratch *vs = vm_scratch_new(p);
  CHECK_EQ_INT(vm_run_row(&g_ctx, p, vs, &args, begin, mid), BUD_OK);
  CHECK_EQ_INT(vm_run_row(&g_ctx, p, vs, &args, mid, n), BUD_OK);
  vm_scratch_free(vs);
  for (int ii = 0; ii < g_nisa; ii++) {
    TKernel k;
    char why[256];
    int rc = tk_compile(&g_cm, p, NULL, g_isas[ii], &k, why, sizeof why);
    CHECK_MSG(rc == 0, "%s on %s: %s", name, x86_isa_name(g_isas[ii]), why);
    if (rc) continue;
    for (int r = 0; r < p->nreduces; r++) vm_reduce_init(&p->reduces[r], &jacc[r]);
    args.acc = jacc;
    k.fn(&args, begin, mid);
    k.fn(&args, mid, n);
    for (int r = 0; r < p->nreduces; r++) {
      const PlanReduce *pr = &p->reduces[r];
      uint64_t vo = 0, jo = 0;
      vm_reduce_finish(pr, &vacc[r], &vo);
      vm_reduce_finish(pr, &jacc[r], &jo);
      bool sum_f = (pr->op == OP_sum || pr->op == OP_mean) && dtype_is_float((BudDType)pr->in_dtype);
      if (sum_f) continue; /* the native float sums: tolerance, tested in test_jit */
      CHECK_MSG(vo == jo, "%s (reduction %d, %s) on %s n=%lld begin=%lld: jit %llx vm %llx", name, r,
                op_info((Op)pr->op)->name, x86_isa_name(g_isas[ii]), (long long)n,
                (long long)begin, (unsigned long long)jo, (unsigned long long)vo);
      CHECK_EQ_INT(jacc[r].count, vacc[r].count);
    }
    tk_free(&g_cm, &k);
  }
  for (int s = 0; s < p->noperands; s++) bud_aligned_free(mem[s]);
}

static void test_reduce_calls(void) {
  static const Op ops[] = {OP_min, OP_max, OP_prod, OP_sum, OP_argmin, OP_argmax, OP_any, OP_all, OP_mean};
  static const BudDType dts[] = {F32, F64, I32, I64};
  for (int di = 0; di < 4; di++)
    for (size_t oi = 0; oi < BUD_ARRAY_LEN(ops); oi++) {
      BudDType dt = dts[di];
      Op op = ops[oi];
      if (op == OP_mean && dtype_is_float(dt)) continue;
      for (int shape = 0; shape < 2; shape++) {
        TPlan t;
        tp_init(&t);
        t.p.sched.unroll = 1 + 2 * shape;
        t.p.sched.naccum = 1 + shape;
        int sa = tp_operand(&t, dt, false), sb = tp_operand(&t, dt, false);
        int a = tp_load(&t, sa), b = tp_load(&t, sb);
        int x = tp_op(&t, OP_sub, dt, 2, a, b, -1);
        int r = tp_reduce(&t, op, x);
        t.reds[r].out_dtype = (uint8_t)(op == OP_argmin || op == OP_argmax ? I64
                                        : op == OP_any || op == OP_all ? BOOL
                                        : op == OP_mean ? F64
                                        : dtype_is_float(dt) ? dt : I64);
        if (shape == 1) { /* with a native float sum beside it, and a store */
          int so = tp_operand(&t, dt, true);
          tp_store(&t, so, x);
          if (dtype_is_float(dt)) tp_reduce(&t, OP_sum, a);
        }
        char name[96];
        snprintf(name, sizeof name, "%s(a - b) (%s)%s", op_info(op)->name, dtype_info(dt)->name,
                 shape ? " + sum(a), store" : "");
        for (int64_t n = 0; n <= 40; n++) diff_red(&t, name, n, n > 10 ? 3 : 0, op == OP_prod ? 1 : 0);
        diff_red(&t, name, 1000 + (int64_t)(rnd() % 3000), 5, 0);
        diff_red(&t, name, 700, 0, 1);
      }
    }
  /* any/all of a comparison (bool lane masks), and argmax of floats with NaN near block edges */
  for (int di = 0; di < 2; di++) {
    BudDType dt = di ? F64 : F32;
    for (int oi = 0; oi < 2; oi++) {
      TPlan t;
      tp_init(&t);
      int sa = tp_operand(&t, dt, false), sb = tp_operand(&t, dt, false);
      int m = tp_op(&t, OP_gt, BOOL, 2, tp_load(&t, sa), tp_load(&t, sb), -1);
      int r = tp_reduce(&t, oi ? OP_all : OP_any, m);
      t.reds[r].out_dtype = BOOL;
      for (int64_t n = 0; n <= 40; n++) diff_red(&t, oi ? "all(a > b)" : "any(a > b)", n, 0, 0);
      diff_red(&t, "any/all(a > b)", 3000, 7, 1);
    }
  }
}

int main(void) {
  diff_init("test_jit_ext");
  if (g_nisa == 0) return check_done("test_jit_ext");
  test_bool();
  test_ext_ops();
  test_ext_expr();
  test_reduce_calls();
  rt_codemem_destroy(&g_cm);
  return check_done("test_jit_ext");
}
