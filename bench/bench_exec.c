/* bench_exec.c — benchmark (not a test) of the executor, all in one run, one JSON line per case:
 *   small   `a + b` at n = 16, 256, 4096 float32 through bud_run (output given): median ns/call
 *           (the fixed cost of a call: checks, views, scratch, dispatch);
 *   chains  `2*a + 3*b`, `a*b + c*d - e`, `sqrt(a*b + c)`, `where(a > b, a*2, b - 1)`,
 *           `a - sum(a)/n`, `sum(a*b)` at 1M and 16M float32 on 1 and 2 threads through bud_run
 *           (outputs given), against the same loops in plain C (-O3 -march=native; 2 threads: an
 *           OpenMP `parallel for schedule(static)` loop, -fopenmp; without OpenMP the Makefile
 *           says so and the peer is static halves on the runtime's pool, marked
 *           "c_impl":"pool"; OMP_WAIT_POLICY is passive unless set). "bud" follows the cost model's thread advice; "bud_split"
 *           overrides it with the executor's own threshold (ctx->par_min_bytes), to show what
 *           the chunked executor does on 2 threads. "pct_nt" is GB/s as a percentage of the
 *           non-temporal triad's GB/s at the same size and thread count (measured in this run);
 *   stream  the machine's streaming limits on 1 and 2 threads: a copy (memcpy of 16M floats) and
 *           a triad a = b + s*c with non-temporal stores;
 *   math    `exp(a)*sin(b) + log1p(c)` at 1M float32 on 1 and 2 threads: "c" calls libm's expf,
 *           sinf, log1pf per element (what a C programmer writes), "bud" is the default path (the
 *           JIT with the math programs inline), "bud_vm" / "bud_avx2" force the VM / the AVX2 path
 *           on a context of their own (ctx->isa), all in the same run.
 * GB/s counts the traffic the work must move: each input read once and each output written once,
 * except a - sum(a)/n, whose two passes read a twice (12 bytes per element).
 * Inputs come from bud_array_alloc (2 MiB aligned, huge pages). Times are medians of BENCH_RUNS
 * runs after a warm-up; GB/s counts each array read or written once.
 * Usage: bench_exec [runs]   (make bench; build/release-gcc/bench/bench_exec)
 */
#define _GNU_SOURCE
#include "base/base.h" /* BudContext.par_min_bytes, for the "bud_split" lines */
#include "bud.h"
#include "bench_peers.h"
#include "rt/pool.h"

#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int bench_runs = 11;

static int cmp_dbl(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_dbl);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- the C peers ----------------------------------------------------------------------------- */

typedef struct CJob {
  int kind;
  float *o;
  const float *a, *b, *c, *d, *e;
  int64_t n;
  double partial[RT_MAX_THREADS];
} CJob;

enum { C_AXPBY, C_MULADD, C_SQRT, C_DOT, C_COPY, C_TRIAD_NT, C_MATH, C_WHERE, C_CENTER };

/* o = exp(a)*sin(b) + log1p(c) with libm, element by element */
static void __attribute__((noinline)) c_math(float *restrict o, const float *restrict a,
                                             const float *restrict b, const float *restrict c,
                                             int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = expf(a[i]) * sinf(b[i]) + log1pf(c[i]);
}


/* o = a > b ? a*2 : b - 1 */
static void __attribute__((noinline)) c_where(float *restrict o, const float *restrict a,
                                               const float *restrict b, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = a[i] > b[i] ? a[i] * 2.0f : b[i] - 1.0f;
}

/* float sum of a in 16 float partials (vectorised without fast-math), then a - s/n */
static float __attribute__((noinline)) c_fsum(const float *restrict a, int64_t n) {
  float s[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) s[k] += a[i + k];
  for (; i < n; i++) s[0] += a[i];
  float t = 0;
  for (int k = 0; k < 16; k++) t += s[k];
  return t;
}

static void __attribute__((noinline)) c_sub_scalar(float *restrict o, const float *restrict a,
                                                    float m, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = a[i] - m;
}

static void c_triad_nt(float *restrict o, const float *restrict a, const float *restrict b,
                       int64_t n);

#ifdef _OPENMP
#include <omp.h>
/* The 2-thread peers: what a C programmer writes with OpenMP. */
static void omp_run(int kind, float *restrict o, const float *restrict a, const float *restrict b,
                    const float *restrict c, const float *restrict d, const float *restrict e,
                    int64_t n, int t, double *dot) {
  switch (kind) {
  case C_AXPBY:
#pragma omp parallel for schedule(static) num_threads(t)
    for (int64_t i = 0; i < n; i++) o[i] = 2.0f * a[i] + 3.0f * b[i];
    break;
  case C_MULADD:
#pragma omp parallel for schedule(static) num_threads(t)
    for (int64_t i = 0; i < n; i++) o[i] = a[i] * b[i] + c[i] * d[i] - e[i];
    break;
  case C_SQRT:
#pragma omp parallel for schedule(static) num_threads(t)
    for (int64_t i = 0; i < n; i++) o[i] = sqrtf(a[i] * b[i] + c[i]);
    break;
  case C_WHERE:
#pragma omp parallel for schedule(static) num_threads(t)
    for (int64_t i = 0; i < n; i++) o[i] = a[i] > b[i] ? a[i] * 2.0f : b[i] - 1.0f;
    break;
  case C_DOT: {
    float s = 0;
#pragma omp parallel for simd schedule(static) num_threads(t) reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    *dot = s;
    break;
  }
  case C_MATH:
#pragma omp parallel for schedule(static) num_threads(t)
    for (int64_t i = 0; i < n; i++) o[i] = expf(a[i]) * sinf(b[i]) + log1pf(c[i]);
    break;
  case C_CENTER: {
    float s = 0;
#pragma omp parallel for simd schedule(static) num_threads(t) reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += a[i];
    float m = s / (float)n;
#pragma omp parallel for schedule(static) num_threads(t)
    for (int64_t i = 0; i < n; i++) o[i] = a[i] - m;
    break;
  }
  case C_COPY:
#pragma omp parallel num_threads(t)
    {
      int k = omp_get_thread_num(), nt = omp_get_num_threads();
      int64_t lo = n / nt * k / 16 * 16, hi = k + 1 == nt ? n : n / nt * (k + 1) / 16 * 16;
      memcpy(o + lo, a + lo, (size_t)(hi - lo) * sizeof *o);
    }
    break;
  case C_TRIAD_NT:
#pragma omp parallel num_threads(t)
    {
      int k = omp_get_thread_num(), nt = omp_get_num_threads();
      int64_t lo = n / nt * k / 16 * 16, hi = k + 1 == nt ? n : n / nt * (k + 1) / 16 * 16;
      c_triad_nt(o + lo, a + lo, b + lo, hi - lo);
    }
    break;
  }
}
#define C_IMPL2 "openmp"
#else
#define C_IMPL2 "pool"
#endif

/* 16 float partial sums (one vector), so -O3 vectorises without fast-math */
static double __attribute__((noinline)) c_dot(const float *restrict a, const float *restrict b,
                                              int64_t n) {
  float s[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) s[k] += a[i + k] * b[i + k];
  double t = 0;
  for (; i < n; i++) t += (double)a[i] * b[i];
  for (int k = 0; k < 16; k++) t += s[k];
  return t;
}

static void __attribute__((noinline)) c_copy(float *restrict o, const float *restrict a,
                                              int64_t n) {
  memcpy(o, a, (size_t)n * sizeof *o);
}

/* o = a + 3 * b with non-temporal stores (o 64-byte aligned, n a multiple of 16) */
static void __attribute__((noinline)) c_triad_nt(float *restrict o, const float *restrict a,
                                                  const float *restrict b, int64_t n) {
#if defined(__AVX__)
  const __m256 s = _mm256_set1_ps(3.0f);
  for (int64_t i = 0; i < n; i += 8)
    _mm256_stream_ps(o + i, _mm256_add_ps(_mm256_loadu_ps(a + i),
                                          _mm256_mul_ps(s, _mm256_loadu_ps(b + i))));
#else
  const __m128 s = _mm_set1_ps(3.0f);
  for (int64_t i = 0; i < n; i += 4)
    _mm_stream_ps(o + i, _mm_add_ps(_mm_loadu_ps(a + i), _mm_mul_ps(s, _mm_loadu_ps(b + i))));
#endif
  _mm_sfence();
}

static void c_chunk(void *arg, int c, int nchunks) {
  CJob *j = arg;
  int64_t part = j->n / nchunks / 16 * 16; /* multiples of 16 floats: whole 64-byte lines */
  int64_t lo = part * c, hi = c + 1 == nchunks ? j->n : part * (c + 1);
  int64_t m = hi - lo;
  switch (j->kind) {
  case C_AXPBY: c_axpby(j->o + lo, j->a + lo, j->b + lo, m); break;
  case C_MULADD:
    c_muladd(j->o + lo, j->a + lo, j->b + lo, j->c + lo, j->d + lo, j->e + lo, m);
    break;
  case C_SQRT: c_sqrt(j->o + lo, j->a + lo, j->b + lo, j->c + lo, m); break;
  case C_DOT: j->partial[c] = c_dot(j->a + lo, j->b + lo, m); break;
  case C_COPY: c_copy(j->o + lo, j->a + lo, m); break;
  case C_TRIAD_NT: c_triad_nt(j->o + lo, j->a + lo, j->b + lo, m); break;
  case C_MATH: c_math(j->o + lo, j->a + lo, j->b + lo, j->c + lo, m); break;
  case C_WHERE: c_where(j->o + lo, j->a + lo, j->b + lo, m); break;
  case C_CENTER: /* (without OpenMP, 2 threads centre each half on its own mean: same traffic) */
    c_sub_scalar(j->o + lo, j->a + lo, c_fsum(j->a + lo, m) / (float)m, m);
    break;
  }
}

/* ---- cases ----------------------------------------------------------------------------------- */

typedef struct Chain {
  const char *name, *expr;
  int nin;
  int ckind;
  bool reduce;
} Chain;

static const Chain chains[] = {
    {"axpby", "2*a + 3*b", 2, C_AXPBY, false},
    {"muladd", "a*b + c*d - e", 5, C_MULADD, false},
    {"sqrt", "sqrt(a*b + c)", 3, C_SQRT, false},
    {"where", "where(a > b, a*2, b - 1)", 2, C_WHERE, false},
    {"center", "a - sum(a)/n", 1, C_CENTER, false},
    {"sum_mul", "sum(a*b)", 2, C_DOT, true},
};

static const char *const in_names[5] = {"a", "b", "c", "d", "e"};

/* GB/s of the non-temporal triad per thread count for the size being measured (0: unknown) */
static double nt_gbs[3];

static void print_line(const char *kase, const char *expr, int64_t n, int threads,
                       const char *impl, double ms, double bytes, double c_ms) {
  double gbs = bytes / (ms * 1e6);
  printf("{\"bench\":\"exec\",\"case\":\"%s\",\"expr\":\"%s\",\"dtype\":\"float32\",\"n\":%lld,"
         "\"threads\":%d,\"impl\":\"%s\",\"median_ms\":%.4f,\"gbs\":%.2f",
         kase, expr, (long long)n, threads, impl, ms, gbs);
  if (c_ms > 0) printf(",\"vs_c\":%.3f", ms / c_ms);
  if (threads >= 1 && threads <= 2 && nt_gbs[threads] > 0)
    printf(",\"pct_nt\":%.1f", 100.0 * gbs / nt_gbs[threads]);
  if (!strcmp(impl, "c") && threads > 1) printf(",\"c_impl\":\"%s\"", C_IMPL2);
  printf("}\n");
  fflush(stdout);
}

static double time_c(RtPool *pool, int threads, CJob *j) {
  double t[64];
  for (int r = -1; r < bench_runs; r++) {
    uint64_t t0 = bench_now();
    if (threads == 1) c_chunk(j, 0, 1);
#ifdef _OPENMP
    else omp_run(j->kind, j->o, j->a, j->b, j->c, j->d, j->e, j->n, threads, &j->partial[0]);
#else
    else rt_pool_run(pool, threads, c_chunk, j);
#endif
    double ms = (double)(bench_now() - t0) / 1e6;
    if (r >= 0) t[r] = ms;
  }
  return median(t, bench_runs);
}

static double time_bud(BudContext *ctx, BudProgram *prog, int nin, const BudArray *ins,
                       BudArray *out) {
  double t[64];
  for (int r = -1; r < bench_runs; r++) {
    uint64_t t0 = bench_now();
    if (bud_run(ctx, prog, nin, ins, 1, out) != BUD_OK) {
      fprintf(stderr, "bench_exec: %s\n", bud_last_error(ctx));
      exit(1);
    }
    double ms = (double)(bench_now() - t0) / 1e6;
    if (r >= 0) t[r] = ms;
  }
  return median(t, bench_runs);
}

static void bench_small(BudContext *ctx) {
  static const int64_t sizes[] = {16, 256, 4096};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    int64_t n = sizes[k];
    BudArray a, b, c;
    bud_array_alloc(ctx, &a, BUD_FLOAT32, 1, &n);
    bud_array_alloc(ctx, &b, BUD_FLOAT32, 1, &n);
    bud_array_alloc(ctx, &c, BUD_FLOAT32, 1, &n);
    BudInput in[2] = {{"a", &a}, {"b", &b}};
    BudProgram *prog;
    if (bud_compile(ctx, "a + b", 2, in, &prog) != BUD_OK) {
      fprintf(stderr, "bench_exec: %s\n", bud_last_error(ctx));
      exit(1);
    }
    BudArray ins[2] = {a, b};
    enum { CALLS = 2000, BATCHES = 41 };
    double per[BATCHES];
    for (int r = -1; r < BATCHES; r++) {
      uint64_t t0 = bench_now();
      for (int i = 0; i < CALLS; i++) bud_run(ctx, prog, 2, ins, 1, &c);
      if (r >= 0) per[r] = (double)(bench_now() - t0) / CALLS;
    }
    printf("{\"bench\":\"exec\",\"case\":\"small_call\",\"expr\":\"a + b\",\"dtype\":\"float32\","
           "\"n\":%lld,\"threads\":%d,\"impl\":\"bud\",\"median_ns_per_call\":%.1f}\n",
           (long long)n, bud_get_num_threads(ctx), median(per, BATCHES));
    fflush(stdout);
    bud_program_free(prog);
    bud_array_free(&a);
    bud_array_free(&b);
    bud_array_free(&c);
  }
}

static void bench_chains(BudContext *ctx, RtPool *pool, int64_t n, BudArray *arr, BudArray *out) {
  for (size_t k = 0; k < sizeof chains / sizeof chains[0]; k++) {
    const Chain *ch = &chains[k];
    BudInput in[5];
    for (int i = 0; i < ch->nin; i++) in[i] = (BudInput){in_names[i], &arr[i]};
    BudProgram *prog;
    char src[128]; /* n spelled out */
    const char *np = strstr(ch->expr, "/n");
    if (np)
      snprintf(src, sizeof src, "%.*s/%lld", (int)(np - ch->expr), ch->expr, (long long)n);
    else
      snprintf(src, sizeof src, "%s", ch->expr);
    if (bud_compile(ctx, src, ch->nin, in, &prog) != BUD_OK) {
      fprintf(stderr, "bench_exec: %s: %s\n", src, bud_last_error(ctx));
      exit(1);
    }
    BudArray res;
    float scalar;
    if (ch->reduce) bud_array_view(ctx, &res, &scalar, BUD_FLOAT32, 0, NULL, NULL);
    else res = *out;
    double bytes = (double)n * 4 * (ch->nin + (ch->reduce ? 0 : 1) + (ch->ckind == C_CENTER));
    CJob j = {ch->ckind, out->data, arr[0].data, arr[1].data, arr[2].data, arr[3].data,
              arr[4].data, n, {0}};
    for (int t = 1; t <= 2; t++) {
      double c_ms = time_c(pool, t, &j);
      bud_set_num_threads(ctx, t);
      double b_ms = time_bud(ctx, prog, ch->nin, arr, &res);
      print_line(ch->name, ch->expr, n, t, "c", c_ms, bytes, 0);
      print_line(ch->name, ch->expr, n, t, "bud", b_ms, bytes, c_ms);
      if (t > 1) { /* the executor's own split, overriding the cost model's thread advice */
        ctx->par_min_bytes = 1024 * 1024; /* RT_PAR_MIN_BYTES */
        b_ms = time_bud(ctx, prog, ch->nin, arr, &res);
        ctx->par_min_bytes = 0;
        print_line(ch->name, ch->expr, n, t, "bud_split", b_ms, bytes, c_ms);
      }
    }
    bud_program_free(prog);
  }
}

static void bench_stream(RtPool *pool, int64_t n, BudArray *arr, BudArray *out) {
  CJob copy = {C_COPY, out->data, arr[0].data, NULL, NULL, NULL, NULL, n, {0}};
  CJob triad = {C_TRIAD_NT, out->data, arr[0].data, arr[1].data, NULL, NULL, NULL, n, {0}};
  nt_gbs[1] = nt_gbs[2] = 0;
  for (int t = 1; t <= 2; t++) {
    print_line("stream_copy", "o = a", n, t, "c", time_c(pool, t, &copy), 8.0 * (double)n, 0);
    double ms = time_c(pool, t, &triad);
    print_line("stream_triad_nt", "o = a + 3*b (nt stores)", n, t, "c", ms, 12.0 * (double)n, 0);
    nt_gbs[t] = 12.0 * (double)n / (ms * 1e6);
  }
}

/* exp(a)*sin(b) + log1p(c), float32, on 1 and 2 threads: C with libm, then Bud on the default
 * path and on the VM and AVX2 paths forced per context. */
static void bench_math(RtPool *pool, int64_t n, BudArray *arr, BudArray *out) {
  static const char *expr = "exp(a)*sin(b) + log1p(c)";
  static const struct { const char *impl; int isa; } paths[] = {
      {"bud", -1}, {"bud_vm", 0 /* X86_ISA_VM */}, {"bud_avx2", 2 /* X86_ISA_AVX2 */}};
  double bytes = (double)n * 4 * 4;
  CJob j = {C_MATH, out->data, arr[0].data, arr[1].data, arr[2].data, NULL, NULL, n, {0}};
  for (int t = 1; t <= 2; t++) {
    double c_ms = time_c(pool, t, &j);
    print_line("math", expr, n, t, "c", c_ms, bytes, 0);
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
      BudContext *ctx = bud_context_new();
      if (!ctx) exit(1);
      ctx->isa = paths[k].isa;
      BudInput in[3] = {{"a", &arr[0]}, {"b", &arr[1]}, {"c", &arr[2]}};
      BudProgram *prog;
      if (bud_compile(ctx, expr, 3, in, &prog) != BUD_OK) {
        fprintf(stderr, "bench_exec: %s: %s\n", expr, bud_last_error(ctx));
        exit(1);
      }
      bud_set_num_threads(ctx, t);
      ctx->par_min_bytes = t > 1 ? 1024 * 1024 : 0; /* 2 threads: the executor's own split */
      print_line("math", expr, n, t, paths[k].impl, time_bud(ctx, prog, 3, arr, out), bytes, c_ms);
      bud_program_free(prog);
      bud_context_free(ctx);
    }
  }
}

int main(int argc, char **argv) {
#ifdef _OPENMP
  /* libgomp reads its wait policy when it loads: re-run with OMP_WAIT_POLICY=passive unless the
   * caller chose one, so the OpenMP peer's idle threads do not spin through the next Bud run
   * (Bud's pool does not spin either; measured, spinning peers took the second CPU from Bud). */
  if (!getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);
  }
#endif
  if (argc > 1) bench_runs = atoi(argv[1]);
  if (bench_runs < 1) bench_runs = 1;
  if (bench_runs > 64) bench_runs = 64;
  BudContext *ctx = bud_context_new();
  if (!ctx) return 1;
  bud_set_num_threads(ctx, 1);
  bench_small(ctx);
  RtPool *pool = rt_pool_new(2);
  static const int64_t sizes[] = {1 << 20, 16 << 20};
  for (size_t s = 0; s < 2; s++) {
    int64_t n = sizes[s];
    BudArray arr[5], out;
    for (int i = 0; i < 5; i++) {
      bud_array_alloc(ctx, &arr[i], BUD_FLOAT32, 1, &n);
      float *p = arr[i].data;
      for (int64_t e = 0; e < n; e++) p[e] = (float)((e * (i + 3)) % 1000) * 0.001f + 0.5f;
    }
    bud_array_alloc(ctx, &out, BUD_FLOAT32, 1, &n);
    bench_stream(pool, n, arr, &out);
    bench_chains(ctx, pool, n, arr, &out);
    if (s == 0) bench_math(pool, n, arr, &out);
    for (int i = 0; i < 5; i++) bud_array_free(&arr[i]);
    bud_array_free(&out);
  }
  rt_pool_free(pool);
  bud_context_free(ctx);
  return 0;
}
