/* test_jit_math.c — the math programs inline in JIT kernels (src/x86/jit_math.c) against the VM
 * (math_eval through vm_run_row), bit for bit: every function of fns.def that has a program, float32
 * and float64, on the avx2 path and on avx512 when the CPU has it, sizes 0..67 and large ones,
 * misaligned, over special values (+-0, +-inf, NaNs, subnormals, overflow/underflow thresholds,
 * huge trigonometric arguments that take the escape) and random values over wide ranges; inside
 * fused chains (exp(a)*sin(b)+log1p(c), sources that stay live, invariants, pow(a, a)) and under
 * reductions (sum(exp(a))). Also: every MathOp has an emission row, the sse2 path says why it runs
 * such ops in the VM, and the other paths emit them natively (no external calls). */
#define _GNU_SOURCE
#include "check.h"
#include "jit_util.h"

#include "jit_diff.h"
#include "math/math.h"

#include <unistd.h>

#define F32 BUD_FLOAT32
#define F64 BUD_FLOAT64

/* ---- inputs ---- */

static const double specials64[] = {
    0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 1.0, -1.0, 0.5, -0.5, 2.0, 1e-300, -1e-300,
    0x1p-1022, 0x1p-1074, -0x1p-1074, 0x1.fffffffffffffp-1023, 0x1.fffffffffffffp+1023,
    -0x1.fffffffffffffp+1023, 709.782712893384, 709.7827128933841, -745.1332191019411,
    -745.1332191019412, -708.4, 1024.0, -1075.0, 0x1p20, -0x1p20, 0x1.0000000000001p20, 1e6, 1e22,
    -1e22, 1e300, 3.141592653589793, 1.5707963267948966, 0x1.6c6cbc45dc8dep+7, 1e-8, -1e-8,
    0.9999999999999999, 1.0000000000000002, -0.9999999999999999, 3.0, -3.0, 0.6931471805599453,
    37.5, -37.5, 19.1, 4.0, -4.0, 1e15, -2.0};
static const float specials32[] = {
    0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1.0f, -1.0f, 0.5f, -0.5f, 2.0f, 0x1p-126f,
    0x1p-149f, -0x1p-149f, 0x1.fffffcp-127f, 0x1.fffffep+127f, -0x1.fffffep+127f, 88.72283f,
    88.72284f, -103.97208f, -103.97209f, -87.33655f, 128.0f, -150.0f, 0x1p20f, -0x1p20f,
    0x1.000002p20f, 1e6f, 1e22f, -1e22f, 3e38f, 3.1415927f, 1.5707964f, 1e-8f, -1e-8f, 0.99999994f,
    1.0000001f, -0.99999994f, 3.0f, -3.0f, 0.6931472f, 9.0f, -9.0f, 4.0f, -4.0f, 1e10f, -2.0f};

/* A wide-range value: uniform exponent (about 2^-60 .. 2^60, sometimes the whole range). */
static double wide(void) {
  uint64_t r = rnd();
  double m = 1.0 + (double)(r >> 12) / 4503599627370496.0;
  int e = (int)((r >> 2) % 121) - 60;
  if ((r & 3) == 0) e = (int)((r >> 2) % 2000) - 1000;
  double v = ldexp(m, e);
  return (r >> 63) ? -v : v;
}

/* mode 0: specials mixed with random; 1: wide random; 2: random bit patterns; 3: small |x| < 4 */
static void mfill(BudDType dt, void *p, int64_t n, int mode) {
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = rnd();
    double v;
    if (mode == 0 && r % 3 == 0) {
      if (dt == F32) {
        ((float *)p)[i] = specials32[(r >> 8) % BUD_ARRAY_LEN(specials32)];
        continue;
      }
      v = specials64[(r >> 8) % BUD_ARRAY_LEN(specials64)];
    } else if (mode == 2) {
      uint64_t u = rnd();
      if (dt == F32) {
        uint32_t w = (uint32_t)u;
        memcpy((float *)p + i, &w, 4);
      } else {
        memcpy((double *)p + i, &u, 8);
      }
      continue;
    } else if (mode == 3) {
      v = ((double)(r >> 11) / 9007199254740992.0) * 8.0 - 4.0;
    } else {
      v = wide();
    }
    if (dt == F32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
  }
}

/* ---- the differential run ---- */

static int64_t g_checked;

/* Runs t on the VM and on each ISA path over the same inputs (filled by mode); outputs must agree
 * bit for bit and bytes past the end stay untouched. native: the avx2/avx512 kernels must have no
 * external calls. */
static void mdiff(TPlan *t, const char *name, int64_t n, int misalign, int mode, bool native) {
  Plan *p = &t->p;
  enum { PAD = 8 };
  void *mem[TP_MAXO], *vmout[TP_MAXO];
  BudKArgs args;
  memset(&args, 0, sizeof args);
  int64_t total = n + PAD;
  for (int s = 0; s < p->noperands; s++) {
    int z = dtype_size((BudDType)p->operands[s].dtype);
    mem[s] = bud_aligned_alloc((size_t)(total + 1) * (size_t)z + 64);
    vmout[s] = bud_aligned_alloc((size_t)(total + 1) * (size_t)z + 64);
    char *base = (char *)mem[s] + (misalign ? z : 0);
    args.ptr[s] = base;
    args.stride[s] = z;
    if (!p->operands[s].is_output) mfill((BudDType)p->operands[s].dtype, base, total, mode);
    else memset(base, 0xA5, (size_t)total * (size_t)z);
  }
  /* reductions: accumulators for the VM and for the kernel */
  RedAcc acc_vm[8], acc_jit[8];
  VmScratch *vs = vm_scratch_new(p);
  CHECK(vs != NULL);
  for (int r = 0; r < p->nreduces; r++) vm_reduce_init(&p->reduces[r], &acc_vm[r]);
  args.acc = acc_vm;
  CHECK_EQ_INT(vm_run_row(&g_ctx, p, vs, &args, 0, n), BUD_OK);
  vm_scratch_free(vs);
  for (int s = 0; s < p->noperands; s++) {
    int z = dtype_size((BudDType)p->operands[s].dtype);
    if (p->operands[s].is_output) {
      memcpy(vmout[s], args.ptr[s], (size_t)total * (size_t)z);
      memset(args.ptr[s], 0xA5, (size_t)total * (size_t)z);
    }
  }
  for (int ii = 0; ii < g_nisa; ii++) {
    X86Isa isa = g_isas[ii];
    JitOut o;
    char why[256] = "";
    if (n == 0) { /* once per plan and path: native where FMA exists, a reason on sse2 */
      int rc = x86_jit_compile(p, NULL, isa, &o, why, sizeof why);
      if (isa == X86_ISA_SSE2) {
        CHECK_MSG(rc < 0 || (o.next > 0 && strstr(o.ext_why, "FMA3")),
                  "%s on sse2: math ops must say why they run in the VM (%s)", name, o.ext_why);
      } else if (native) {
        CHECK_MSG(rc == 0 && o.next == 0, "%s on %s: not native (%s / %s)", name,
                  x86_isa_name(isa), why, rc == 0 ? o.ext_ops : "");
      }
      if (rc == 0) x86_jit_out_free(&o);
    }
    TKernel k;
    int rc = tk_compile(&g_cm, p, NULL, isa, &k, why, sizeof why);
    if (rc != 0) {
      CHECK_MSG(isa == X86_ISA_SSE2 || !native, "%s on %s: refused: %s", name, x86_isa_name(isa), why);
      continue;
    }
    for (int r = 0; r < p->nreduces; r++) vm_reduce_init(&p->reduces[r], &acc_jit[r]);
    args.acc = acc_jit;
    k.fn(&args, 0, n);
    g_checked += n;
    for (int r = 0; r < p->nreduces; r++) { /* sums: summation order differs, values are close */
      double a = 0, bb = 0;
      if (p->reduces[r].out_dtype == F32) {
        float fa, fb;
        vm_reduce_finish(&p->reduces[r], &acc_vm[r], &fa);
        vm_reduce_finish(&p->reduces[r], &acc_jit[r], &fb);
        a = fa, bb = fb;
      } else {
        vm_reduce_finish(&p->reduces[r], &acc_vm[r], &a);
        vm_reduce_finish(&p->reduces[r], &acc_jit[r], &bb);
      }
      CHECK_MSG(fabs(a - bb) <= 1e-6 * fabs(a) + 1e-30 || (a != a && bb != bb),
                "%s on %s: n=%lld: sum %a vs VM %a", name, x86_isa_name(isa), (long long)n, bb, a);
      CHECK_EQ_INT(acc_jit[r].count, acc_vm[r].count);
    }
    for (int s = 0; s < p->noperands; s++) {
      if (!p->operands[s].is_output) continue;
      int z = dtype_size((BudDType)p->operands[s].dtype);
      const uint8_t *a = (const uint8_t *)args.ptr[s], *bvm = vmout[s];
      int64_t bad = -1;
      for (int64_t i = 0; i < total * z && bad < 0; i++)
        if (a[i] != bvm[i]) bad = i / z;
      CHECK_MSG(bad < 0, "%s on %s: n=%lld mis=%d mode=%d: element %lld differs", name,
                x86_isa_name(isa), (long long)n, misalign, mode, (long long)bad);
      if (bad >= 0) {
        int in0 = 0;
        if (p->operands[s].dtype == F32)
          printf("   in %a: jit %a vm %a\n", ((float *)args.ptr[in0])[bad], ((float *)args.ptr[s])[bad],
                 ((float *)vmout[s])[bad]);
        else
          printf("   in %a: jit %a vm %a\n", ((double *)args.ptr[in0])[bad],
                 ((double *)args.ptr[s])[bad], ((double *)vmout[s])[bad]);
      }
      memset(args.ptr[s], 0xA5, (size_t)total * (size_t)z);
    }
    tk_free(&g_cm, &k);
  }
  for (int s = 0; s < p->noperands; s++) {
    bud_aligned_free(mem[s]);
    bud_aligned_free(vmout[s]);
  }
}

static void msizes(TPlan *t, const char *name, bool native) {
  for (int64_t n = 0; n <= 67; n++) mdiff(t, name, n, (int)(n % 3 == 1), (int)(n % 4), native);
  for (int mode = 0; mode < 4; mode++) mdiff(t, name, 4099 + mode, mode & 1, mode, native);
}

/* ---- cases ---- */

static void test_rows(void) {
  (void)diff_sizes; /* jit_diff.h: this suite has its own fills */
  for (int mop = 0; mop < MOP_COUNT; mop++)
    CHECK_MSG(x86_jit_math_op_status(mop) == 1, "MathOp %d has no complete emission row", mop);
  CHECK_EQ_INT(x86_jit_math_op_status(MOP_COUNT), -1);
}

static void test_each_fn(void) {
  int nprogs = 0;
  for (int fn = 0; fn < MATH_FN_COUNT; fn++) {
    Op op = OP_COUNT;
#define MFN(ID, o, nin, f32, f64)                                                                 \
  if (fn == MATH_##ID) op = o;
#include "math/fns.def"
#undef MFN
    if (op == OP_COUNT) continue; /* a function without an op of its own */
    for (int di = 0; di < 2; di++) {
      BudDType dt = di ? F64 : F32;
      if (!math_prog((MathFn)fn, dt)) continue;
      nprogs++;
      int nin = math_fn_nin((MathFn)fn);
      TPlan t;
      tp_init(&t);
      int sa = tp_operand(&t, dt, false), sb = nin > 1 ? tp_operand(&t, dt, false) : -1;
      int so = tp_operand(&t, dt, true);
      int a = tp_load(&t, sa), b = nin > 1 ? tp_load(&t, sb) : -1;
      tp_store(&t, so, tp_op(&t, op, dt, nin, a, b, -1));
      char name[64];
      snprintf(name, sizeof name, "%s (%s)", math_fn_name((MathFn)fn), dtype_info(dt)->name);
      msizes(&t, name, true);
    }
  }
  CHECK(nprogs >= 39); /* every function with a program, float32 and float64 */
}

static void test_chains(void) {
  for (int di = 0; di < 2; di++) {
    BudDType dt = di ? F64 : F32;
    char name[96];
    TPlan t;
    /* exp(a)*sin(b) + log1p(c) */
    tp_init(&t);
    int sa = tp_operand(&t, dt, false), sb = tp_operand(&t, dt, false), sc = tp_operand(&t, dt, false);
    int so = tp_operand(&t, dt, true);
    int a = tp_load(&t, sa), b = tp_load(&t, sb), c = tp_load(&t, sc);
    int e = tp_op(&t, OP_exp, dt, 1, a, -1, -1), s = tp_op(&t, OP_sin, dt, 1, b, -1, -1);
    int l = tp_op(&t, OP_log1p, dt, 1, c, -1, -1);
    tp_store(&t, so, tp_op(&t, OP_add, dt, 2, tp_op(&t, OP_mul, dt, 2, e, s, -1), l, -1));
    snprintf(name, sizeof name, "exp(a)*sin(b)+log1p(c) (%s)", dtype_info(dt)->name);
    msizes(&t, name, true);
    /* sources live after the math op, constants pinned around it, pow(a, a), two outputs */
    tp_init(&t);
    sa = tp_operand(&t, dt, false);
    sb = tp_operand(&t, dt, false);
    so = tp_operand(&t, dt, true);
    int so2 = tp_operand(&t, dt, true);
    a = tp_load(&t, sa);
    b = tp_load(&t, sb);
    int k1 = tp_const(&t, dt, 0.75, 0), k2 = tp_const(&t, dt, -1.25, 0), k3 = tp_const(&t, dt, 3.0, 0);
    int x = tp_op(&t, OP_fma, dt, 3, a, k1, k2);
    int cs = tp_op(&t, OP_cos, dt, 1, x, -1, -1);
    int pw = tp_op(&t, OP_pow, dt, 2, b, b, -1);
    int at = tp_op(&t, OP_arctan2, dt, 2, a, x, -1);
    int r = tp_op(&t, OP_add, dt, 2, tp_op(&t, OP_mul, dt, 2, cs, k3, -1), x, -1);
    r = tp_op(&t, OP_add, dt, 2, r, tp_op(&t, OP_mul, dt, 2, a, b, -1), -1);
    tp_store(&t, so, tp_op(&t, OP_add, dt, 2, r, at, -1));
    tp_store(&t, so2, tp_op(&t, OP_sub, dt, 2, pw, tp_op(&t, OP_tan, dt, 1, k3, -1, -1), -1));
    snprintf(name, sizeof name, "cos(fma(a,k,k))*k + ... + pow(b,b), arctan2 (%s)",
             dtype_info(dt)->name);
    msizes(&t, name, dt == F32); /* float64 pow/arctan2 have no program: external calls */
    /* sum(exp(a)) and sum(sin(a)) * with a float32 sum over double lanes */
    tp_init(&t);
    sa = tp_operand(&t, dt, false);
    so = tp_operand(&t, dt, true);
    a = tp_load(&t, sa);
    tp_reduce(&t, OP_sum, tp_op(&t, OP_exp, dt, 1, a, -1, -1));
    s = tp_op(&t, OP_sin, dt, 1, a, -1, -1);
    tp_reduce(&t, OP_sum, s);
    tp_store(&t, so, s); /* the values themselves: bit for bit */
    snprintf(name, sizeof name, "sum(exp(a)), sum(sin(a)) (%s)", dtype_info(dt)->name);
    for (int64_t n = 0; n <= 67; n++) mdiff(&t, name, n, (int)(n & 1), 3, true);
    mdiff(&t, name, 5003, 1, 3, true);
  }
}

/* Mixed lane widths (a float32 value in an xmm on AVX2 beside float64 ones), a stride-0 operand
 * (the math op on an invariant, once in the prologue), and many pinned invariants around a long
 * program (the program spills). */
static void test_shapes(void) {
  TPlan t;
  tp_init(&t);
  int sa = tp_operand(&t, F32, false), sb = tp_operand(&t, F64, false), so = tp_operand(&t, F64, true);
  int so2 = tp_operand(&t, F32, true);
  int a = tp_load(&t, sa), b = tp_load(&t, sb);
  int e = tp_op(&t, OP_exp, F32, 1, a, -1, -1);
  int s = tp_op(&t, OP_sin, F64, 1, b, -1, -1);
  tp_store(&t, so, tp_op(&t, OP_add, F64, 2, tp_op(&t, OP_cast, F64, 1, e, -1, -1), s, -1));
  tp_store(&t, so2, tp_op(&t, OP_tan, F32, 1, tp_op(&t, OP_log1p, F32, 1, a, -1, -1), -1, -1));
  msizes(&t, "f64(exp(a32)) + sin(b64), tan(log1p(a32))", true);
  for (int di = 0; di < 2; di++) {
    BudDType dt = di ? F64 : F32;
    char name[96];
    /* sin(k) with k a stride-0 operand, cos(a) * it */
    tp_init(&t);
    sa = tp_operand(&t, dt, false);
    int sk = tp_operand(&t, dt, false);
    so = tp_operand(&t, dt, true);
    a = tp_load(&t, sa);
    int k = tp_load(&t, sk);
    tp_store(&t, so, tp_op(&t, OP_mul, dt, 2, tp_op(&t, OP_sin, dt, 1, k, -1, -1),
                           tp_op(&t, OP_cos, dt, 1, a, -1, -1), -1));
    uint8_t lay[3] = {LAYOUT_CONTIG, LAYOUT_BCAST, LAYOUT_CONTIG};
    snprintf(name, sizeof name, "sin(k bcast) * cos(a) (%s)", dtype_info(dt)->name);
    for (int64_t n = 0; n < 40; n++) {
      /* the broadcast operand: element 0 of a filled buffer (jit_diff.h's diff_plan) */
      diff_plan(&t, name, n, 0, (int)(n & 1), lay, NULL, true);
    }
    /* 9 loaded values live across log2(a) and hypot(a, b0): few registers left (AVX2), so a
     * float32 program on double lanes takes its inputs from the scratch */
    tp_init(&t);
    sa = tp_operand(&t, dt, false);
    int sl[9];
    for (int i = 0; i < 9; i++) sl[i] = tp_operand(&t, dt, false);
    so = tp_operand(&t, dt, true);
    int lv[9];
    for (int i = 0; i < 9; i++) lv[i] = tp_load(&t, sl[i]);
    a = tp_load(&t, sa);
    int acc0 = tp_op(&t, OP_add, dt, 2, tp_op(&t, OP_log2, dt, 1, a, -1, -1),
                     tp_op(&t, OP_hypot, dt, 2, a, lv[0], -1), -1);
    for (int i = 0; i < 9; i++) acc0 = tp_op(&t, OP_add, dt, 2, acc0, lv[i], -1);
    tp_store(&t, so, acc0);
    snprintf(name, sizeof name, "log2(a) + hypot(a, b0) with 9 values live (%s)", dtype_info(dt)->name);
    msizes(&t, name, true);
    /* 10 invariants pinned around tan(a): the program runs in the registers left */
    tp_init(&t);
    sa = tp_operand(&t, dt, false);
    so = tp_operand(&t, dt, true);
    a = tp_load(&t, sa);
    int acc = tp_op(&t, OP_tan, dt, 1, a, -1, -1);
    for (int i = 0; i < 10; i++) {
      int c = tp_const(&t, dt, 1.0 + i * 0.125, 0);
      acc = tp_op(&t, OP_fma, dt, 3, acc, c, tp_op(&t, OP_mul, dt, 2, a, c, -1));
    }
    acc = tp_op(&t, OP_add, dt, 2, acc, tp_op(&t, OP_log, dt, 1, acc, -1, -1), -1);
    tp_store(&t, so, acc);
    snprintf(name, sizeof name, "tan(a) in 10 pinned invariants (%s)", dtype_info(dt)->name);
    msizes(&t, name, true);
  }
}

/* The runtime's policy (kcache.c): a group with math ops gets its JIT kernel by default (they are
 * no longer external calls); forced to sse2, the VM runs it and the reason names FMA3. */
static void test_default_policy(void) {
  TPlan t;
  tp_init(&t);
  int sa = tp_operand(&t, F32, false), sb = tp_operand(&t, F32, false), sc = tp_operand(&t, F32, false);
  int so = tp_operand(&t, F32, true);
  int a = tp_load(&t, sa), b = tp_load(&t, sb), c = tp_load(&t, sc);
  int e = tp_op(&t, OP_exp, F32, 1, a, -1, -1), s = tp_op(&t, OP_sin, F32, 1, b, -1, -1);
  tp_store(&t, so, tp_op(&t, OP_add, F32, 2, tp_op(&t, OP_mul, F32, 2, e, s, -1),
                         tp_op(&t, OP_log1p, F32, 1, c, -1, -1), -1));
  bool has_avx2 = (x86_cpu()->feat & x86_isa_needs(X86_ISA_AVX2)) == x86_isa_needs(X86_ISA_AVX2);
  for (int pass = has_avx2 ? 0 : 1; pass < 2; pass++) {
    bool sse2 = pass == 1;
    BudContext *ctx = bud_context_new();
    CHECK(ctx != NULL);
    if (!ctx) return;
    ctx->isa = sse2 ? X86_ISA_SSE2 : -1;
    Group g;
    memset(&g, 0, sizeof g);
    g.kind = GROUP_FUSED;
    g.plan = t.p;
    BudKernelFn fn = rt_kernel_get(ctx, &g, NULL);
    StrBuf txt;
    sb_init(&txt);
    rt_kernel_explain(ctx, &g, &txt);
    const char *ex = txt.data ? txt.data : "";
    if (!sse2) {
      CHECK_MSG(fn != NULL, "exp*sin+log1p: no JIT kernel by default: %s", ex);
      CHECK_EQ_INT((int)ctx->stats.jit_fallbacks, 0);
      if (access("/usr/bin/objdump", X_OK) == 0) /* else explain prints bytes */
        CHECK_MSG(strstr(ex, "vfmadd213") != NULL, "explain shows no inline math: %.300s", ex);
      CHECK_MSG(strstr(ex, "external") == NULL, "explain: %.300s", ex);
    } else {
      CHECK(fn == NULL);
      CHECK_MSG(strstr(ex, "FMA3") && strstr(ex, "VM"), "sse2 reason: %s", ex);
      CHECK(ctx->stats.jit_fallbacks >= 1);
    }
    sb_free(&txt);
    rt_kernel_release(&g);
    bud_context_free(ctx);
  }
}

int main(void) {
  diff_init("test_jit_math");
  test_rows();
  if (g_nisa == 0) return check_done("test_jit_math");
  test_each_fn();
  test_chains();
  test_shapes();
  test_default_policy();
  printf("test_jit_math: %lld elements compared\n", (long long)g_checked);
  rt_codemem_destroy(&g_cm);
  return check_done("test_jit_math");
}
