/* test_jit.c — the x86-64 JIT against the VM, bit for bit: every element-wise op x dtype the JIT
 * compiles, on every ISA path this machine runs (sse2, avx2, avx512 when present), sizes 0..257
 * and random large ones, begin offsets, misaligned pointers, stride-0 operands; the target table
 * covers every op of ops.def; a W^X check of /proc/self/maps while compiling; the median time to
 * compile a 10-op kernel is printed (not asserted). BUD_FUZZ_N sets the random-graph count.
 */
#define _GNU_SOURCE
#include "check.h"
#include "jit_util.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#include "jit_diff.h"

/* ---- op x dtype cases ---- */

typedef struct OpCase {
  Op op;
  int nin;
  BudDType dt;       /* operand dtype */
  BudDType out;      /* result dtype (cast target; bool for comparisons/predicates) */
  unsigned native;   /* bit per ISA (1 sse2, 2 avx2, 4 avx512) where the JIT must compile it */
  int flav1;         /* flavour of the second operand */
} OpCase;

#define F32 BUD_FLOAT32
#define F64 BUD_FLOAT64
#define I32 BUD_INT32
#define I64 BUD_INT64
#define U32 BUD_UINT32
#define U64 BUD_UINT64
#define ALLI 7u

static const OpCase cases[] = {
    {OP_add, 2, F32, F32, ALLI, 0}, {OP_add, 2, F64, F64, ALLI, 0},
    {OP_sub, 2, F32, F32, ALLI, 0}, {OP_sub, 2, F64, F64, ALLI, 0},
    {OP_mul, 2, F32, F32, ALLI, 0}, {OP_mul, 2, F64, F64, ALLI, 0},
    {OP_div, 2, F32, F32, ALLI, 0}, {OP_div, 2, F64, F64, ALLI, 0},
    {OP_minimum, 2, F32, F32, ALLI, 0}, {OP_minimum, 2, F64, F64, ALLI, 0},
    {OP_maximum, 2, F32, F32, ALLI, 0}, {OP_maximum, 2, F64, F64, ALLI, 0},
    {OP_copysign, 2, F32, F32, ALLI, 0}, {OP_copysign, 2, F64, F64, ALLI, 0},
    {OP_neg, 1, F32, F32, ALLI, 0}, {OP_neg, 1, F64, F64, ALLI, 0},
    {OP_abs, 1, F32, F32, ALLI, 0}, {OP_abs, 1, F64, F64, ALLI, 0},
    {OP_sqrt, 1, F32, F32, ALLI, 0}, {OP_sqrt, 1, F64, F64, ALLI, 0},
    {OP_floor, 1, F32, F32, 6, 0}, {OP_floor, 1, F64, F64, 6, 0},
    {OP_ceil, 1, F32, F32, 6, 0}, {OP_ceil, 1, F64, F64, 6, 0},
    {OP_trunc, 1, F32, F32, 6, 0}, {OP_trunc, 1, F64, F64, 6, 0},
    {OP_rint, 1, F32, F32, 6, 0}, {OP_rint, 1, F64, F64, 6, 0},
    {OP_fma, 3, F32, F32, 6, 0}, {OP_fma, 3, F64, F64, 6, 0},
    {OP_cast, 1, F32, F64, ALLI, 0}, {OP_cast, 1, F64, F32, ALLI, 0},
    {OP_cast, 1, I32, F32, ALLI, 0}, {OP_cast, 1, I32, F64, ALLI, 0},
    {OP_cast, 1, F32, I32, ALLI, 0}, {OP_cast, 1, F64, I32, ALLI, 0},
    {OP_cast, 1, I32, U32, ALLI, 0}, {OP_cast, 1, U64, I64, ALLI, 0},
    {OP_add, 2, I32, I32, ALLI, 0}, {OP_add, 2, I64, I64, ALLI, 0},
    {OP_add, 2, U32, U32, ALLI, 0}, {OP_sub, 2, U64, U64, ALLI, 0},
    {OP_sub, 2, I32, I32, ALLI, 0}, {OP_sub, 2, I64, I64, ALLI, 0},
    {OP_mul, 2, I32, I32, 6, 0}, {OP_mul, 2, I64, I64, 4, 0},
    {OP_and, 2, I32, I32, ALLI, 0}, {OP_or, 2, I64, I64, ALLI, 0},
    {OP_xor, 2, I32, I32, ALLI, 0}, {OP_xor, 2, U64, U64, ALLI, 0},
    {OP_not, 1, I32, I32, ALLI, 0}, {OP_not, 1, I64, I64, ALLI, 0},
    {OP_neg, 1, I32, I32, ALLI, 0}, {OP_neg, 1, I64, I64, ALLI, 0},
    {OP_abs, 1, I32, I32, ALLI, 0}, {OP_abs, 1, I64, I64, 6, 0},
    {OP_minimum, 2, I32, I32, ALLI, 0}, {OP_maximum, 2, I32, I32, ALLI, 0},
    {OP_minimum, 2, I64, I64, 6, 0}, {OP_maximum, 2, I64, I64, 6, 0},
    {OP_shl, 2, I32, I32, 6, 0}, {OP_shl, 2, I64, I64, 6, 0},
    {OP_shr, 2, I32, I32, 6, 0}, {OP_shr, 2, I64, I64, 4, 0},
    {OP_shr, 2, U32, U32, 6, 0}, {OP_shl, 2, U64, U64, 6, 0},
    /* comparisons and predicates: where(cmp(a, b), a, b) keeps values in the dtype */
    {OP_eq, 2, F32, BUD_BOOL, ALLI, 0}, {OP_ne, 2, F32, BUD_BOOL, ALLI, 0},
    {OP_lt, 2, F32, BUD_BOOL, ALLI, 0}, {OP_le, 2, F32, BUD_BOOL, ALLI, 0},
    {OP_gt, 2, F32, BUD_BOOL, ALLI, 0}, {OP_ge, 2, F32, BUD_BOOL, ALLI, 0},
    {OP_eq, 2, F64, BUD_BOOL, ALLI, 0}, {OP_ne, 2, F64, BUD_BOOL, ALLI, 0},
    {OP_lt, 2, F64, BUD_BOOL, ALLI, 0}, {OP_le, 2, F64, BUD_BOOL, ALLI, 0},
    {OP_gt, 2, F64, BUD_BOOL, ALLI, 0}, {OP_ge, 2, F64, BUD_BOOL, ALLI, 0},
    {OP_eq, 2, I32, BUD_BOOL, ALLI, 0}, {OP_ne, 2, I32, BUD_BOOL, ALLI, 0},
    {OP_lt, 2, I32, BUD_BOOL, ALLI, 0}, {OP_le, 2, I32, BUD_BOOL, ALLI, 0},
    {OP_gt, 2, I32, BUD_BOOL, ALLI, 0}, {OP_ge, 2, I32, BUD_BOOL, ALLI, 0},
    {OP_eq, 2, I64, BUD_BOOL, 6, 0}, {OP_ne, 2, I64, BUD_BOOL, 6, 0},
    {OP_lt, 2, I64, BUD_BOOL, 6, 0}, {OP_ge, 2, I64, BUD_BOOL, 6, 0},
    {OP_eq, 2, U32, BUD_BOOL, ALLI, 0},
    {OP_isnan, 1, F32, BUD_BOOL, ALLI, 0}, {OP_isinf, 1, F32, BUD_BOOL, ALLI, 0},
    {OP_isfinite, 1, F32, BUD_BOOL, ALLI, 0}, {OP_isnan, 1, F64, BUD_BOOL, ALLI, 0},
    {OP_isinf, 1, F64, BUD_BOOL, ALLI, 0}, {OP_isfinite, 1, F64, BUD_BOOL, ALLI, 0},
};

/* One plan per case: out = op(a[, b[, c]]), or for bool results where(op(...), a, b) (a, b of
 * the operand dtype), plus the logic ops on masks: where(not(m) & m2 | m3 ^ m, a, b). */
static void build_case(TPlan *t, const OpCase *c, int variant) {
  tp_init(t);
  int sl[3], v[3];
  for (int i = 0; i < 3; i++) sl[i] = tp_operand(t, c->dt, false);
  int so = tp_operand(t, c->out == BUD_BOOL ? c->dt : c->out, true);
  for (int i = 0; i < c->nin || (c->out == BUD_BOOL && i < 2); i++) v[i] = tp_load(t, sl[i]);
  int r = tp_op(t, c->op, c->out, c->nin, v[0], c->nin > 1 ? v[1] : -1, c->nin > 2 ? v[2] : -1);
  if (c->out == BUD_BOOL) {
    if (variant == 1) { /* exercise and/or/xor/not on masks */
      int m2 = tp_op(t, OP_not, BUD_BOOL, 1, r, -1, -1);
      int m3 = tp_op(t, OP_and, BUD_BOOL, 2, m2, r, -1);
      m3 = tp_op(t, OP_or, BUD_BOOL, 2, m3, m2, -1);
      r = tp_op(t, OP_xor, BUD_BOOL, 2, m3, r, -1);
    }
    r = tp_op(t, OP_where, c->dt, 3, r, v[0], v[1]);
  }
  tp_store(t, so, r);
}

static void test_ops(void) {
  int ncase = (int)BUD_ARRAY_LEN(cases);
  for (int ci = 0; ci < ncase; ci++) {
    const OpCase *c = &cases[ci];
    TPlan t;
    for (int variant = 0; variant < (c->out == BUD_BOOL ? 2 : 1); variant++) {
      build_case(&t, c, variant);
      char name[96];
      snprintf(name, sizeof name, "%s(%s)->%s%s", op_info(c->op)->name, dtype_info(c->dt)->name,
               dtype_info(c->out)->name, variant ? " +logic" : "");
      int flav[4] = {0, c->op == OP_div && !dtype_is_float(c->dt) ? 1 : c->flav1, 0, 0};
      diff_sizes(&t, name, NULL, flav);
      /* which paths must compile it */
      for (int ii = 0; ii < g_nisa; ii++) {
        unsigned bit = g_isas[ii] == X86_ISA_SSE2 ? 1u : g_isas[ii] == X86_ISA_AVX2 ? 2u : 4u;
        char why[256];
        int rc = x86_jit_check(&t.p, NULL, g_isas[ii], why, sizeof why);
        if (c->native & bit) CHECK_MSG(rc == 0, "%s must be native on %s: %s", name, x86_isa_name(g_isas[ii]), why);
      }
      /* stride-0 second operand (and first for binary) */
      if (c->nin >= 2) {
        uint8_t lay[4] = {LAYOUT_CONTIG, LAYOUT_BCAST, LAYOUT_CONTIG, LAYOUT_CONTIG};
        for (int64_t n = 0; n < 40; n += 3) diff_plan(&t, name, n, 0, 0, lay, flav, true);
        uint8_t lay2[4] = {LAYOUT_BCAST, LAYOUT_CONTIG, LAYOUT_BCAST, LAYOUT_CONTIG};
        for (int64_t n = 0; n < 40; n += 7) diff_plan(&t, name, n, 1, 1, lay2, flav, true);
      }
    }
  }
}

/* Constants: out = a * 2.5 + 3 (f32) and an int64 constant; all-invariant ops hoisted. */
static void test_consts(void) {
  TPlan t;
  tp_init(&t);
  int sa = tp_operand(&t, F32, false), so = tp_operand(&t, F32, true);
  int a = tp_load(&t, sa);
  int c1 = tp_const(&t, F32, 2.5, 0), c2 = tp_const(&t, F32, 3.0, 0);
  int c3 = tp_op(&t, OP_mul, F32, 2, c1, c2, -1); /* invariant */
  int m = tp_op(&t, OP_mul, F32, 2, a, c1, -1);
  int r = tp_op(&t, OP_add, F32, 2, m, c3, -1);
  r = tp_op(&t, OP_sqrt, F32, 1, r, -1, -1);
  tp_store(&t, so, r);
  CHECK(diff_sizes(&t, "a*2.5+7.5", NULL, NULL) > 0);
  tp_init(&t);
  sa = tp_operand(&t, I64, false);
  so = tp_operand(&t, I64, true);
  a = tp_load(&t, sa);
  c1 = tp_const(&t, I64, 0, -123456789012345ll);
  tp_store(&t, so, tp_op(&t, OP_xor, I64, 2, a, c1, -1));
  CHECK(diff_sizes(&t, "a^c64", NULL, NULL) > 0);
}

/* Mixed widths: f32 and f64 in one kernel; many live values (spills); a long chain. */
static void test_mixed_and_pressure(void) {
  TPlan t;
  tp_init(&t);
  int sa = tp_operand(&t, F32, false), sb = tp_operand(&t, F64, false);
  int so = tp_operand(&t, F64, true), so2 = tp_operand(&t, F32, true);
  int a = tp_load(&t, sa), b = tp_load(&t, sb);
  int a64 = tp_op(&t, OP_cast, F64, 1, a, -1, -1);
  int s = tp_op(&t, OP_add, F64, 2, a64, b, -1);
  tp_store(&t, so, s);
  tp_store(&t, so2, tp_op(&t, OP_cast, F32, 1, tp_op(&t, OP_mul, F64, 2, s, b, -1), -1, -1));
  CHECK(diff_sizes(&t, "mixed f32/f64", NULL, NULL) > 0);

  /* 24 values all live at once, summed at the end: forces spills */
  tp_init(&t);
  sa = tp_operand(&t, F32, false);
  sb = tp_operand(&t, F32, false);
  so = tp_operand(&t, F32, true);
  a = tp_load(&t, sa);
  b = tp_load(&t, sb);
  int vals[24];
  for (int i = 0; i < 24; i++) {
    int c = tp_const(&t, F32, 1.0 + i * 0.25, 0);
    vals[i] = tp_op(&t, (i & 1) ? OP_mul : OP_add, F32, 2, i & 2 ? a : b, c, -1);
    vals[i] = tp_op(&t, OP_sub, F32, 2, vals[i], a, -1);
  }
  int acc = vals[0];
  for (int i = 1; i < 24; i++) acc = tp_op(&t, OP_add, F32, 2, acc, vals[i], -1);
  tp_store(&t, so, acc);
  CHECK(diff_sizes(&t, "pressure", NULL, NULL) > 0);
}

/* ---- reductions: float sum/mean, against the VM within a tolerance ---- */

/* Reductions are not bit-exact by contract: both sum in double, in different orders. */
static bool close_enough(double x, double y) {
  if (x != x || y != y) return x != x && y != y;
  if (x == y) return true;
  return fabs(x - y) <= 1e-12 * (fabs(x) + fabs(y)) + 1e-300;
}

static void diff_reduce(TPlan *t, const char *name, int64_t n, int64_t begin, bool nan_in) {
  Plan *p = &t->p;
  void *mem[TP_MAXO];
  BudKArgs args;
  memset(&args, 0, sizeof args);
  for (int s = 0; s < p->noperands; s++) {
    int z = dtype_size((BudDType)p->operands[s].dtype);
    mem[s] = bud_aligned_alloc((size_t)(n + 8) * (size_t)z + 64);
    args.ptr[s] = mem[s];
    args.stride[s] = z;
    if (!p->operands[s].is_output) {
      fill((BudDType)p->operands[s].dtype, mem[s], n + 8, nan_in ? 0 : 1);
    }
  }
  RedAcc vacc[8], jacc[8];
  for (int r = 0; r < p->nreduces; r++) vm_reduce_init(&p->reduces[r], &vacc[r]);
  args.acc = vacc;
  VmScratch *vs = vm_scratch_new(p);
  /* two calls, as the executor makes for two chunks of a row */
  CHECK_EQ_INT(vm_run_row(&g_ctx, p, vs, &args, begin, begin + (n - begin) / 2), BUD_OK);
  CHECK_EQ_INT(vm_run_row(&g_ctx, p, vs, &args, begin + (n - begin) / 2, n), BUD_OK);
  vm_scratch_free(vs);
  for (int ii = 0; ii < g_nisa; ii++) {
    TKernel k;
    char why[256];
    int rc = tk_compile(&g_cm, p, NULL, g_isas[ii], &k, why, sizeof why);
    bool sse2_fma = rc == -1 && g_isas[ii] == X86_ISA_SSE2 && strstr(why, "FMA3");
    CHECK_MSG(rc == 0 || sse2_fma, "%s on %s: %s", name, x86_isa_name(g_isas[ii]), why);
    if (rc) continue;
    for (int r = 0; r < p->nreduces; r++) vm_reduce_init(&p->reduces[r], &jacc[r]);
    args.acc = jacc;
    k.fn(&args, begin, begin + (n - begin) / 2);
    k.fn(&args, begin + (n - begin) / 2, n);
    for (int r = 0; r < p->nreduces; r++) {
      double vo = 0, jo = 0;
      float f1, f2;
      if (p->reduces[r].out_dtype == BUD_FLOAT32) {
        vm_reduce_finish(&p->reduces[r], &vacc[r], &f1);
        vm_reduce_finish(&p->reduces[r], &jacc[r], &f2);
        vo = f1;
        jo = f2;
        CHECK_MSG(close_enough(vo, jo) || fabs(vo - jo) <= 1e-6 * fabs(vo), "%s on %s n=%lld: %.9g vs %.9g",
                  name, x86_isa_name(g_isas[ii]), (long long)n, jo, vo);
      } else {
        vm_reduce_finish(&p->reduces[r], &vacc[r], &vo);
        vm_reduce_finish(&p->reduces[r], &jacc[r], &jo);
        CHECK_MSG(close_enough(vo, jo), "%s on %s n=%lld: %.17g vs %.17g", name,
                  x86_isa_name(g_isas[ii]), (long long)n, jo, vo);
      }
      CHECK_EQ_INT(jacc[r].count, vacc[r].count);
    }
    tk_free(&g_cm, &k);
  }
  for (int s = 0; s < p->noperands; s++) bud_aligned_free(mem[s]);
}

static void test_reduce(void) {
  for (int dti = 0; dti < 2; dti++) {
    BudDType dt = dti ? F64 : F32;
    for (int shape = 0; shape < 3; shape++) {
      TPlan t;
      tp_init(&t);
      t.p.sched.naccum = 1 + shape;
      t.p.sched.unroll = 1 + 2 * shape;
      int sa = tp_operand(&t, dt, false), sb = tp_operand(&t, dt, false);
      int a = tp_load(&t, sa), b = tp_load(&t, sb);
      int one = tp_const(&t, dt, 1.0, 0);
      const char *name = "sum(a*b)";
      if (shape == 0) {
        tp_reduce(&t, OP_sum, tp_op(&t, OP_mul, dt, 2, a, b, -1));
      } else if (shape == 1) { /* two reductions and a store of the element-wise value */
        name = "sum(a+1), mean(b) + store";
        int so = tp_operand(&t, dt, true);
        int x = tp_op(&t, OP_add, dt, 2, a, one, -1);
        tp_store(&t, so, x);
        tp_reduce(&t, OP_sum, x);
        tp_reduce(&t, OP_mean, b);
      } else {
        name = "mean(sqrt(a*a+b*b)+1)";
        int x = tp_op(&t, OP_fma, dt, 3, a, a, tp_op(&t, OP_mul, dt, 2, b, b, -1));
        tp_reduce(&t, OP_mean, tp_op(&t, OP_add, dt, 2, tp_op(&t, OP_sqrt, dt, 1, x, -1, -1), one, -1));
      }
      for (int64_t n = 0; n <= 70; n++) diff_reduce(&t, name, n, n > 10 ? 3 : 0, false);
      diff_reduce(&t, name, 100000, 0, false);
      diff_reduce(&t, name, 333, 1, true);
    }
  }
}

/* ---- random expression graphs ---- */

/* copysign exposes the sign of intermediate NaNs: included since the JIT's fma takes NaN operands in
 * glibc's order (a, c, b), the VM's; NaN payloads must now match bit for bit too.
 * Except when the VM (the reference) is built by clang: LLVM treats NaN payloads as unspecified
 * and swaps the operands of commutative float ops, so which NaN an add of two NaNs returns is not
 * fixed by the source. There a NaN-vs-NaN difference is counted, not failed, and copysign (which
 * makes a NaN's sign visible as a number) is left out; every non-NaN result stays bit-exact. */
#ifdef __clang__
#define FZ_NAN_BITS_DEFINED 0
static const Op fz_bin[] = {OP_add, OP_sub, OP_mul, OP_div, OP_minimum, OP_maximum};
#else
#define FZ_NAN_BITS_DEFINED 1
static const Op fz_bin[] = {OP_add, OP_sub, OP_mul, OP_div, OP_minimum, OP_maximum, OP_copysign};
#endif
static const Op fz_un[] = {OP_neg, OP_abs, OP_sqrt, OP_floor, OP_rint};
static const Op fz_cmp[] = {OP_lt, OP_le, OP_gt, OP_ge, OP_eq, OP_ne};

static void build_random(TPlan *t, BudDType dt, int *nops_out) {
  tp_init(t);
  int nin = 1 + (int)(rnd() % 4);
  int vals[64], nv = 0;
  int slots[5];
  for (int i = 0; i < nin; i++) slots[i] = tp_operand(t, dt, false);
  int so = tp_operand(t, dt, true);
  for (int i = 0; i < nin; i++) vals[nv++] = tp_load(t, slots[i]);
  if (rnd() % 2) vals[nv++] = tp_const(t, dt, (double)(int)(rnd() % 9) - 4.0 + 0.5, 0);
  int nops = 1 + (int)(rnd() % 12);
  for (int k = 0; k < nops; k++) {
    int a = vals[rnd() % (unsigned)nv], b = vals[rnd() % (unsigned)nv], c = vals[rnd() % (unsigned)nv];
    int r, kind = (int)(rnd() % 10);
    if (kind < 6) r = tp_op(t, fz_bin[rnd() % BUD_ARRAY_LEN(fz_bin)], dt, 2, a, b, -1);
    else if (kind < 8) r = tp_op(t, fz_un[rnd() % BUD_ARRAY_LEN(fz_un)], dt, 1, a, -1, -1);
    else if (kind < 9) r = tp_op(t, OP_fma, dt, 3, a, b, c);
    else {
      int m = tp_op(t, fz_cmp[rnd() % BUD_ARRAY_LEN(fz_cmp)], BUD_BOOL, 2, a, b, -1);
      r = tp_op(t, OP_where, dt, 3, m, b, c);
    }
    vals[nv++] = r;
  }
  tp_store(t, so, vals[nv - 1]);
  *nops_out = nops;
}

static void dump_plan(const Plan *p) {
  for (int k = 0; k < p->ninsts; k++) {
    const LInst *in = &p->insts[k];
    printf("   %d: kind %d dst v%d src v%d v%d v%d slot %d op %s dt %s\n", k, in->kind, in->dst,
           in->src[0], in->src[1], in->src[2], in->slot,
           in->kind == LK_OP ? op_info((Op)in->op)->name : "-", dtype_info((BudDType)in->dtype)->name);
  }
}

/* Random graphs in batches: every kernel of a batch goes into one code block (one map and one
 * seal per batch instead of per kernel), inputs are shared, and each output is compared with the
 * VM bit for bit (NaN against NaN of another payload is counted, not failed). */
enum { FZ_BATCH = 64, FZ_MAXN = 48 };
/* 100,000 graphs by default; a quarter under the sanitizers, whose VM runs are ~5x slower
 * (BUD_FUZZ_N overrides both). */
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_DEFAULT 25000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FUZZ_DEFAULT 25000
#endif
#endif
#ifndef FUZZ_DEFAULT
#define FUZZ_DEFAULT 100000
#endif

static void test_fuzz(void) {
  const char *e = getenv("BUD_FUZZ_N");
  long ngraphs = e ? atol(e) : FUZZ_DEFAULT;
  long nrun = 0;
  int before = check_nfail;
  uint64_t t0 = now_ns();
  static TPlan plans[FZ_BATCH];
  static JitOut outs[FZ_BATCH][3];
  static int64_t ns[FZ_BATCH];
  double in64[5][FZ_MAXN + 8], vm64[FZ_MAXN + 8], jit64[FZ_MAXN + 8];
  for (int s = 0; s < 5; s++) fill(F64, in64[s], FZ_MAXN + 8, 0);
  float in32[5][FZ_MAXN + 8];
  for (int s = 0; s < 5; s++) fill(F32, in32[s], FZ_MAXN + 8, 0);
  g_nan_lenient = true;
  int nbad = 0;
  for (long g0 = 0; g0 < ngraphs && nbad < 5; g0 += FZ_BATCH) {
    int nb = (int)(ngraphs - g0 < FZ_BATCH ? ngraphs - g0 : FZ_BATCH);
    size_t total = 0;
    for (int i = 0; i < nb; i++) {
      int nops;
      build_random(&plans[i], ((g0 + i) & 1) ? F64 : F32, &nops);
      plans[i].p.sched.unroll = 1 + (int)(rnd() % 4);
      ns[i] = (int64_t)(rnd() % FZ_MAXN);
      for (int ii = 0; ii < g_nisa; ii++) {
        JitOut *o = &outs[i][ii];
        if (x86_jit_compile(&plans[i].p, NULL, g_isas[ii], o, NULL, 0) != 0) o->buf.code = NULL;
        else total += (o->buf.len + o->npool + 63) & ~(size_t)63;
      }
    }
    RtCode code;
    CHECK_EQ_INT(rt_code_alloc(&g_cm, total ? total : 64, &code), RT_CODE_OK);
    size_t off = 0;
    size_t offs[FZ_BATCH][3];
    for (int i = 0; i < nb; i++)
      for (int ii = 0; ii < g_nisa; ii++) {
        JitOut *o = &outs[i][ii];
        if (!o->buf.code) continue;
        offs[i][ii] = off;
        memcpy(code.p + off, o->buf.code, o->buf.len);
        if (o->npool) memcpy(code.p + off + o->buf.len, o->pool, o->npool);
        off += (o->buf.len + o->npool + 63) & ~(size_t)63;
      }
    CHECK_EQ_INT(rt_code_seal(&g_cm, &code), RT_CODE_OK);
    for (int i = 0; i < nb; i++) {
      Plan *p = &plans[i].p;
      bool f64 = p->operands[0].dtype == F64;
      int z = f64 ? 8 : 4;
      BudKArgs args;
      memset(&args, 0, sizeof args);
      int so = p->noperands - 1;
      for (int s = 0; s < so; s++) {
        args.ptr[s] = f64 ? (char *)in64[s] : (char *)in32[s];
        args.stride[s] = z;
      }
      args.ptr[so] = (char *)vm64;
      args.stride[so] = z;
      memset(vm64, 0xA5, sizeof vm64);
      VmScratch *vs = vm_scratch_new(p);
      CHECK_EQ_INT(vm_run_row(&g_ctx, p, vs, &args, 0, ns[i]), BUD_OK);
      vm_scratch_free(vs);
      for (int ii = 0; ii < g_nisa; ii++) {
        JitOut *o = &outs[i][ii];
        if (!o->buf.code) continue;
        BudKernelFn fn;
        void *fp = code.p + offs[i][ii];
        memcpy(&fn, &fp, sizeof fp);
        args.ptr[so] = (char *)jit64;
        memset(jit64, 0xA5, sizeof jit64);
        fn(&args, 0, ns[i]);
        nrun++;
        int64_t bad = -1;
        for (int64_t k = 0; k < FZ_MAXN + 8 && bad < 0; k++) {
          const uint8_t *x = (const uint8_t *)jit64 + k * z, *y = (const uint8_t *)vm64 + k * z;
          if (memcmp(x, y, (size_t)z) == 0) continue;
          if (is_nan_elem((BudDType)p->operands[0].dtype, x) &&
              is_nan_elem((BudDType)p->operands[0].dtype, y)) {
            if (g_nan_payload_diffs++ < 3 && g_verbose) {
              uint64_t a = 0, b2 = 0;
              memcpy(&a, x, (size_t)z);
              memcpy(&b2, y, (size_t)z);
              printf("   bits jit %llx vm %llx on %s\n", (unsigned long long)a, (unsigned long long)b2,
                     x86_isa_name(g_isas[ii]));
              dump_plan(p);
            }
            continue;
          }
          bad = k;
        }
        CHECK_MSG(bad < 0, "random graph %ld on %s: n=%lld element %lld differs", g0 + i,
                  x86_isa_name(g_isas[ii]), (long long)ns[i], (long long)bad);
        if (bad >= 0) {
          nbad++;
          if (g_verbose) dump_plan(p);
        }
        x86_jit_out_free(o);
      }
    }
    rt_code_free(&g_cm, &code);
  }
  g_nan_lenient = false;
  printf("test_jit: %ld random graphs (%ld kernel runs) in %.1f s, %d failures, %ld NaN-payload "
         "differences\n", ngraphs, nrun, (double)(now_ns() - t0) / 1e9, check_nfail - before,
         g_nan_payload_diffs);
  CHECK(nrun > 0);
  if (FZ_NAN_BITS_DEFINED)
    CHECK_MSG(g_nan_payload_diffs == 0, "%ld NaN payload/sign differences", g_nan_payload_diffs);
}

/* ---- table, W^X, compile time ---- */

static void test_table(void) {
  int nnative = 0, nfallback = 0;
  for (int op = 0; op < OP_COUNT; op++) {
    const char *why = NULL;
    int st = x86_jit_op_status(op, &why);
    CHECK_MSG(st >= 0, "op %s has no entry in the JIT target table", op_info((Op)op)->name);
    if (st == 0) {
      CHECK_MSG(why && why[0], "op %s: fallback without a reason", op_info((Op)op)->name);
      nfallback++;
    }
    if (st == 1) nnative++;
  }
  printf("test_jit: target table: %d ops native, %d explicit fallbacks\n", nnative, nfallback);
}

static bool maps_have_rwx(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return false;
  char line[512];
  bool bad = false;
  while (fgets(line, sizeof line, f)) {
    char perms[8] = {0};
    if (sscanf(line, "%*s %7s", perms) == 1 && perms[0] == 'r' && perms[1] == 'w' && perms[2] == 'x')
      bad = true;
  }
  fclose(f);
  return bad;
}

static void build_chain(TPlan *t, int nops) {
  tp_init(t);
  int sa = tp_operand(t, F32, false), sb = tp_operand(t, F32, false), so = tp_operand(t, F32, true);
  int a = tp_load(t, sa), b = tp_load(t, sb);
  int c = tp_const(t, F32, 1.5, 0);
  int r = a;
  static const Op ops[] = {OP_add, OP_mul, OP_sub, OP_fma, OP_maximum};
  for (int k = 0; k < nops; k++) {
    Op o = ops[k % 5];
    r = o == OP_fma ? tp_op(t, o, F32, 3, r, b, c) : tp_op(t, o, F32, 2, r, k & 1 ? b : c, -1);
  }
  tp_store(t, so, r);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void test_wx_and_compile_time(void) {
  CHECK(!maps_have_rwx());
  X86Isa isa = g_isas[g_nisa - 1];
  TPlan t;
  build_chain(&t, 10);
  enum { NREP = 201 };
  uint64_t ns[NREP];
  bool rwx = false;
  for (int r = 0; r < NREP; r++) {
    TKernel k;
    uint64_t t0 = now_ns();
    int rc = tk_compile(&g_cm, &t.p, NULL, isa, &k, NULL, 0);
    ns[r] = now_ns() - t0;
    if (r % 50 == 0) rwx = rwx || maps_have_rwx();
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) tk_free(&g_cm, &k);
  }
  CHECK(!rwx);
  qsort(ns, NREP, sizeof ns[0], cmp_u64);
  JitOut o;
  uint64_t t0 = now_ns();
  for (int r = 0; r < 100; r++) {
    CHECK_EQ_INT(x86_jit_compile(&t.p, NULL, isa, &o, NULL, 0), 0);
    x86_jit_out_free(&o);
  }
  double gen_us = (double)(now_ns() - t0) / 100 / 1e3;
  printf("test_jit: compile 10-op kernel on %s: median %.1f us (codegen alone %.1f us)\n",
         x86_isa_name(isa), (double)ns[NREP / 2] / 1e3, gen_us);
}

int main(void) {
  diff_init("test_jit");
  test_table();
  if (g_nisa == 0) return check_done("test_jit");
  test_consts();
  if (!getenv("BUD_JIT_SKIP_OPS")) test_ops();
  test_mixed_and_pressure();
  test_reduce();
  test_wx_and_compile_time();
  test_fuzz();
  rt_codemem_destroy(&g_cm);
  return check_done("test_jit");
}
