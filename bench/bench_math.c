/* bench_math.c — ns per element of every math function at 1M float32 and float64 elements:
 * Bud's math_eval (the VM's C reading of the programs), glibc's scalar libm, glibc's libmvec AVX2
 * (_ZGVdN8v_expf, ...) and SLEEF's 1-ULP AVX2 functions (Sleef_expf8_u10avx2, ...), the last two
 * found with dlopen at run time (libmvec.so.1, libsleef.so.3; skipped with a note when missing).
 * One JSON line per (function, dtype): three rounds of the four in turn, the median of the three
 * medians of 7 runs (bud_lanebits: the program's lane width, 0 = libm). Then, for every function with a
 * program, one "math_jit" line per JIT path this CPU runs (avx2, avx512): the JIT kernel out =
 * fn(a[, b]) (the program inline, src/x86/jit_math.c) beside the VM's math_eval, measured
 * alternately in the same run. Run: build/.../bench/bench_math [jit] ("jit": only those lines) */
#define _GNU_SOURCE
#include "../tests/jit_util.h"
#include "math/math.h"

#include <dlfcn.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 1 << 20, RUNS = 7 };

static const char *const cname[MATH_FN_COUNT] = {
    [MATH_exp] = "exp",     [MATH_exp2] = "exp2",   [MATH_expm1] = "expm1", [MATH_log] = "log",
    [MATH_log2] = "log2",   [MATH_log10] = "log10", [MATH_log1p] = "log1p", [MATH_sin] = "sin",
    [MATH_cos] = "cos",     [MATH_tan] = "tan",     [MATH_tanh] = "tanh",   [MATH_sinh] = "sinh",
    [MATH_cosh] = "cosh",   [MATH_arcsin] = "asin", [MATH_arccos] = "acos", [MATH_arctan] = "atan",
    [MATH_arctan2] = "atan2", [MATH_arcsinh] = "asinh", [MATH_arccosh] = "acosh",
    [MATH_arctanh] = "atanh", [MATH_pow] = "pow",   [MATH_hypot] = "hypot", [MATH_cbrt] = "cbrt",
    [MATH_erf] = "erf",     [MATH_sigmoid] = NULL,
};

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

typedef void (*Runner)(void *fp, int dbl, int nin, void *out, const void *a, const void *b, int n);

static void run_bud(void *fp, int dbl, int nin, void *out, const void *a, const void *b, int n) {
  (void)nin;
  math_eval_fn((MathFn)((intptr_t)fp - 1), dbl ? BUD_FLOAT64 : BUD_FLOAT32, out, a, b, n);
}
static void run_libm(void *fp, int dbl, int nin, void *out, const void *a, const void *b, int n) {
  if (dbl) {
    double *o = out;
    const double *x = a, *y = b;
    if (nin == 1)
      for (int i = 0; i < n; i++) o[i] = ((double (*)(double))fp)(x[i]);
    else
      for (int i = 0; i < n; i++) o[i] = ((double (*)(double, double))fp)(x[i], y[i]);
  } else {
    float *o = out;
    const float *x = a, *y = b;
    if (nin == 1)
      for (int i = 0; i < n; i++) o[i] = ((float (*)(float))fp)(x[i]);
    else
      for (int i = 0; i < n; i++) o[i] = ((float (*)(float, float))fp)(x[i], y[i]);
  }
}
/* AVX2 vector functions: 8 floats or 4 doubles per call (n is a multiple of 8). */
static void run_vec(void *fp, int dbl, int nin, void *out, const void *a, const void *b, int n) {
  if (dbl) {
    double *o = out;
    const double *x = a, *y = b;
    if (nin == 1)
      for (int i = 0; i < n; i += 4)
        _mm256_storeu_pd(o + i, ((__m256d(*)(__m256d))fp)(_mm256_loadu_pd(x + i)));
    else
      for (int i = 0; i < n; i += 4)
        _mm256_storeu_pd(o + i, ((__m256d(*)(__m256d, __m256d))fp)(_mm256_loadu_pd(x + i),
                                                                    _mm256_loadu_pd(y + i)));
  } else {
    float *o = out;
    const float *x = a, *y = b;
    if (nin == 1)
      for (int i = 0; i < n; i += 8)
        _mm256_storeu_ps(o + i, ((__m256(*)(__m256))fp)(_mm256_loadu_ps(x + i)));
    else
      for (int i = 0; i < n; i += 8)
        _mm256_storeu_ps(o + i, ((__m256(*)(__m256, __m256))fp)(_mm256_loadu_ps(x + i),
                                                                 _mm256_loadu_ps(y + i)));
  }
}

/* Median ns per element of RUNS runs (-1 when fp is NULL). */
static double timeit(Runner r, void *fp, int dbl, int nin, void *out, const void *a, const void *b) {
  if (!fp) return -1;
  uint64_t t[RUNS];
  r(fp, dbl, nin, out, a, b, N); /* warm */
  for (int k = 0; k < RUNS; k++) {
    uint64_t t0 = now_ns();
    r(fp, dbl, nin, out, a, b, N);
    t[k] = now_ns() - t0;
  }
  qsort(t, RUNS, sizeof t[0], cmp_u64);
  return (double)t[RUNS / 2] / N;
}

static void range_of(MathFn fn, double *lo, double *hi) {
  *lo = -10, *hi = 10;
  switch (fn) {
  case MATH_exp: case MATH_expm1: case MATH_sinh: case MATH_cosh: case MATH_exp2: *lo = -80, *hi = 80; break;
  case MATH_log: case MATH_log2: case MATH_log10: case MATH_log1p: case MATH_cbrt: *lo = 0, *hi = 1000; break;
  case MATH_sin: case MATH_cos: case MATH_tan: *lo = -100, *hi = 100; break;
  case MATH_arcsin: case MATH_arccos: case MATH_arctanh: *lo = -1, *hi = 1; break;
  case MATH_arccosh: *lo = 1, *hi = 100; break;
  case MATH_pow: *lo = 0, *hi = 10; break;
  default: break;
  }
}

static void jnum(const char *key, double v) {
  if (v < 0) printf(", \"%s\": null", key);
  else printf(", \"%s\": %.3f", key, v);
}

/* ---- the JIT lines ---- */

typedef struct JitRun {
  BudKernelFn fn;
  BudKArgs args;
} JitRun;

static void run_jit(void *fp, int dbl, int nin, void *out, const void *a, const void *b, int n) {
  (void)dbl, (void)nin, (void)out, (void)a, (void)b;
  JitRun *j = fp;
  j->fn(&j->args, 0, n);
}

static void bench_jit(RtCodeMem *cm, MathFn fn, int dbl, void *out, const void *a, const void *b) {
  static const X86Isa isas[] = {X86_ISA_AVX2, X86_ISA_AVX512};
  BudDType dt = dbl ? BUD_FLOAT64 : BUD_FLOAT32;
  Op op = OP_COUNT;
#define MFN(ID, o, nin_, f32, f64)                                                                \
  if (fn == MATH_##ID) op = o;
#include "math/fns.def"
#undef MFN
  if (op == OP_COUNT || !math_prog(fn, dt)) return;
  int nin = math_fn_nin(fn);
  TPlan t;
  tp_init(&t);
  int sa = tp_operand(&t, dt, false), sb = nin > 1 ? tp_operand(&t, dt, false) : -1;
  int so = tp_operand(&t, dt, true);
  int va = tp_load(&t, sa), vb = nin > 1 ? tp_load(&t, sb) : -1;
  tp_store(&t, so, tp_op(&t, op, dt, nin, va, vb, -1));
  for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
    if ((x86_cpu()->feat & x86_isa_needs(isas[i])) != x86_isa_needs(isas[i])) continue;
    TKernel k;
    char why[256];
    uint64_t t0 = now_ns();
    if (tk_compile(cm, &t.p, NULL, isas[i], &k, why, sizeof why) != 0) {
      fprintf(stderr, "bench_math: %s %s on %s: %s\n", math_fn_name(fn), dbl ? "f64" : "f32",
              x86_isa_name(isas[i]), why);
      continue;
    }
    double us = (double)(now_ns() - t0) / 1e3;
    JitRun j;
    memset(&j, 0, sizeof j);
    j.fn = k.fn;
    int z = dbl ? 8 : 4;
    j.args.ptr[sa] = (void *)a, j.args.stride[sa] = z;
    if (nin > 1) j.args.ptr[sb] = (void *)b, j.args.stride[sb] = z;
    j.args.ptr[so] = out, j.args.stride[so] = z;
    /* alternate: VM, JIT, VM, JIT, ... medians of each */
    double tv[3], tj[3];
    for (int r = 0; r < 3; r++) {
      tv[r] = timeit(run_bud, (void *)(intptr_t)(fn + 1), dbl, nin, out, a, b);
      tj[r] = timeit(run_jit, &j, dbl, nin, out, a, b);
    }
    qsort(tv, 3, sizeof tv[0], cmp_dbl);
    qsort(tj, 3, sizeof tj[0], cmp_dbl);
    printf("{\"bench\": \"math_jit\", \"fn\": \"%s\", \"dtype\": \"%s\", \"n\": %d, "
           "\"threads\": 1, \"isa\": \"%s\", \"lanebits\": %d, \"compile_us\": %.1f",
           math_fn_name(fn), dbl ? "float64" : "float32", N, x86_isa_name(isas[i]),
           math_prog(fn, dt)->lanebits, us);
    jnum("jit_ns", tj[1]);
    jnum("vm_ns", tv[1]);
    printf(", \"vm_over_jit\": %.2f}\n", tv[1] / tj[1]);
    fflush(stdout);
    tk_free(cm, &k);
  }
}

int main(int argc, char **argv) {
  bool jit_only = argc > 1 && strcmp(argv[1], "jit") == 0;
  RtCodeMem cm;
  if (rt_codemem_init(&cm, 0) != RT_CODE_OK) return 1;
  void *mvec = dlopen("libmvec.so.1", RTLD_NOW);
  void *sleef = dlopen("libsleef.so.3", RTLD_NOW);
  if (!mvec) fprintf(stderr, "bench_math: libmvec.so.1 not found, skipping its column\n");
  if (!sleef) fprintf(stderr, "bench_math: libsleef.so.3 not found, skipping its column\n");
  void *libm = dlopen("libm.so.6", RTLD_NOW);
  double *a = bud_aligned_alloc(N * sizeof(double)), *b = bud_aligned_alloc(N * sizeof(double));
  double *out = bud_aligned_alloc(N * sizeof(double));
  if (!a || !b || !out) return 1;
  uint64_t s = 12345;
  for (int dbl = 0; dbl < 2; dbl++) {
    for (int f = 0; f < MATH_FN_COUNT; f++) {
      MathFn fn = (MathFn)f;
      int nin = math_fn_nin(fn);
      double lo, hi;
      range_of(fn, &lo, &hi);
      for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(s >> 11) * 0x1p-53, v = (double)((s * 31) >> 11) * 0x1p-53;
        double x = lo + (hi - lo) * u, y = -5 + 10 * v;
        if (dbl) a[i] = x, b[i] = y;
        else ((float *)a)[i] = (float)x, ((float *)b)[i] = (float)y;
      }
      char nm[64];
      void *pm = NULL, *pv = NULL, *ps = NULL;
      const char *c = cname[f];
      if (c) {
        snprintf(nm, sizeof nm, "%s%s", c, dbl ? "" : "f");
        pm = libm ? dlsym(libm, nm) : NULL;
        snprintf(nm, sizeof nm, "_ZGVdN%d%s_%s%s", dbl ? 4 : 8, nin == 2 ? "vv" : "v", c, dbl ? "" : "f");
        pv = mvec ? dlsym(mvec, nm) : NULL;
        snprintf(nm, sizeof nm, "Sleef_%s%s%d_%savx2", c, dbl ? "d" : "f", dbl ? 4 : 8,
                 fn == MATH_hypot ? "u05" : "u10");
        ps = sleef ? dlsym(sleef, nm) : NULL;
      } else {
        pm = dbl ? (void *)math_sigmoid : (void *)math_sigmoidf;
      }
      if (jit_only) {
        bench_jit(&cm, fn, dbl, out, a, b);
        continue;
      }
      const MathProg *prog = math_prog(fn, dbl ? BUD_FLOAT64 : BUD_FLOAT32);
      /* three rounds of Bud, libm, libmvec, SLEEF in turn (a noisy machine hits all alike);
       * the median of the three medians of RUNS */
      double rb[3], rm[3], rv[3], rs[3];
      for (int r = 0; r < 3; r++) {
        rb[r] = timeit(run_bud, (void *)(intptr_t)(fn + 1), dbl, nin, out, a, b);
        rm[r] = timeit(run_libm, pm, dbl, nin, out, a, b);
        rv[r] = timeit(run_vec, pv, dbl, nin, out, a, b);
        rs[r] = timeit(run_vec, ps, dbl, nin, out, a, b);
      }
      qsort(rb, 3, sizeof rb[0], cmp_dbl);
      qsort(rm, 3, sizeof rm[0], cmp_dbl);
      qsort(rv, 3, sizeof rv[0], cmp_dbl);
      qsort(rs, 3, sizeof rs[0], cmp_dbl);
      double tb = rb[1], tm = rm[1], tv = rv[1], ts = rs[1];
      printf("{\"bench\": \"math\", \"fn\": \"%s\", \"dtype\": \"%s\", \"n\": %d, \"threads\": 1, "
             "\"bud_impl\": \"%s\", \"bud_lanebits\": %d",
             math_fn_name(fn), dbl ? "float64" : "float32", N, prog ? "program" : "libm",
             prog ? prog->lanebits : 0);
      jnum("bud_ns", tb);
      jnum("libm_ns", tm);
      jnum("libmvec_avx2_ns", tv);
      jnum("sleef_u10_avx2_ns", ts);
      printf("}\n");
      fflush(stdout);
      bench_jit(&cm, fn, dbl, out, a, b);
    }
  }
  rt_codemem_destroy(&cm);
  bud_aligned_free(a);
  bud_aligned_free(b);
  bud_aligned_free(out);
  return 0;
}
