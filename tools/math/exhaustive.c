/* exhaustive.c — every float32 input (all 2^32 bit patterns) of one-operand math functions
 * through math_eval, against libm's float64 function (sigmoid: 1/(1+exp(-x)) in double), with
 * math_ulp_err_f32; prints the max ULP, where it occurs and how many results are not correctly
 * rounded, one JSON line per function. Parallel over all cores (pthreads).
 *   make math-exhaustive        (if the Makefile has the rule), or by hand:
 *   gcc -std=c11 -O2 -fno-math-errno -Iinclude -Isrc tools/math/exhaustive.c \
 *       build/release-gcc/libbud.a -lm -lpthread -o build/math-exhaustive
 *   build/math-exhaustive [fn ...]      (default: every one-operand function)
 *   build/math-exhaustive --f64 N [fn ...]   N random float64 inputs per function that has a
 *                                            float64 program (half random bits, half [-10, 10]
 *                                            scaled per function), against x87 long double libm */
#define _GNU_SOURCE
#include "math/math.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CHUNK = 1 << 14 };

typedef struct {
  MathFn fn;
  uint64_t lo, hi; /* bit patterns [lo, hi) */
  double max_ulp;
  uint32_t worst;
  uint64_t n_not_cr; /* results that differ from the correctly rounded reference */
} Job;

static double ref_of(MathFn fn, float x) {
  if (fn == MATH_sigmoid) return 1.0 / (1.0 + exp(-(double)x));
  return math_libm(fn, BUD_FLOAT64, x, 0.0);
}

static void *work(void *arg) {
  Job *j = arg;
  float *x = malloc(CHUNK * sizeof(float)), *r = malloc(CHUNK * sizeof(float));
  if (!x || !r) abort();
  for (uint64_t b = j->lo; b < j->hi; b += CHUNK) {
    int m = (int)(j->hi - b < CHUNK ? j->hi - b : CHUNK);
    for (int i = 0; i < m; i++) {
      uint32_t u = (uint32_t)(b + (uint64_t)i);
      memcpy(&x[i], &u, 4);
    }
    math_eval_fn(j->fn, BUD_FLOAT32, r, x, NULL, m);
    for (int i = 0; i < m; i++) {
      double ref = ref_of(j->fn, x[i]);
      double e = math_ulp_err_f32(r[i], ref);
      float rr = (float)ref;
      if (!(isnan(rr) && isnan(r[i])) && memcmp(&rr, &r[i], 4) != 0) j->n_not_cr++;
      if (e > j->max_ulp) {
        j->max_ulp = e;
        j->worst = (uint32_t)(b + (uint64_t)i);
      }
    }
  }
  free(x);
  free(r);
  return NULL;
}

static long double ref_f64(MathFn fn, double x) {
  long double l = x;
  switch (fn) {
  case MATH_exp: return expl(l);
  case MATH_exp2: return exp2l(l);
  case MATH_expm1: return expm1l(l);
  case MATH_log: return logl(l);
  case MATH_log2: return log2l(l);
  case MATH_log10: return log10l(l);
  case MATH_log1p: return log1pl(l);
  case MATH_sin: return sinl(l);
  case MATH_cos: return cosl(l);
  case MATH_tan: return tanl(l);
  case MATH_tanh: return tanhl(l);
  case MATH_sinh: return sinhl(l);
  case MATH_cosh: return coshl(l);
  case MATH_arcsin: return asinl(l);
  case MATH_arccos: return acosl(l);
  case MATH_arctan: return atanl(l);
  case MATH_arcsinh: return asinhl(l);
  case MATH_arccosh: return acoshl(l);
  case MATH_arctanh: return atanhl(l);
  case MATH_cbrt: return cbrtl(l);
  case MATH_erf: return erfl(l);
  case MATH_sigmoid: return 1.0L / (1.0L + expl(-l));
  default: return NAN;
  }
}

typedef struct {
  MathFn fn;
  uint64_t n, seed;
  double max_ulp, worst;
} Job64;

static void *work64(void *arg) {
  Job64 *j = arg;
  double *x = malloc(CHUNK * sizeof(double)), *r = malloc(CHUNK * sizeof(double));
  if (!x || !r) abort();
  uint64_t s = j->seed;
  double scale = j->fn == MATH_exp || j->fn == MATH_exp2 || j->fn == MATH_expm1 ? 70.0
                 : j->fn == MATH_sin || j->fn == MATH_cos || j->fn == MATH_tan  ? 100.0
                 : j->fn == MATH_arcsin || j->fn == MATH_arccos                 ? 1.0
                                                                                 : 10.0;
  for (uint64_t b = 0; b < j->n; b += CHUNK) {
    int m = (int)(j->n - b < CHUNK ? j->n - b : CHUNK);
    for (int i = 0; i < m; i++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      uint64_t u = s ^ (s >> 29) * 0xbf58476d1ce4e5b9ull;
      if (i & 1) memcpy(&x[i], &u, 8);
      else x[i] = scale * ((double)(u >> 11) * 0x1p-52 - 1.0);
    }
    math_eval_fn(j->fn, BUD_FLOAT64, r, x, NULL, m);
    for (int i = 0; i < m; i++) {
      double e = math_ulp_err_f64(r[i], ref_f64(j->fn, x[i]));
      if (e > j->max_ulp) j->max_ulp = e, j->worst = x[i];
    }
  }
  free(x);
  free(r);
  return NULL;
}

static int run_f64(long nth, uint64_t n, int argc, char **argv) {
  for (int f = 0; f < MATH_FN_COUNT; f++) {
    MathFn fn = (MathFn)f;
    if (math_fn_nin(fn) != 1 || !math_prog(fn, BUD_FLOAT64)) continue;
    int want = argc < 1;
    for (int a = 0; a < argc; a++) want |= strcmp(argv[a], math_fn_name(fn)) == 0;
    if (!want) continue;
    Job64 jobs[256];
    pthread_t th[256];
    uint64_t t0 = now_ns();
    for (long t = 0; t < nth; t++) {
      jobs[t] = (Job64){fn, n / (uint64_t)nth, 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1) + (uint64_t)f, 0, 0};
      pthread_create(&th[t], NULL, work64, &jobs[t]);
    }
    double mx = 0, wx = 0;
    for (long t = 0; t < nth; t++) {
      pthread_join(th[t], NULL);
      if (jobs[t].max_ulp > mx) mx = jobs[t].max_ulp, wx = jobs[t].worst;
    }
    printf("{\"fn\": \"%s\", \"dtype\": \"float64\", \"inputs\": %llu, \"max_ulp\": %.4f, "
           "\"worst_x\": \"%a\", \"reference\": \"x87 long double libm\", \"threads\": %ld, "
           "\"seconds\": %.1f}\n",
           math_fn_name(fn), (unsigned long long)(n / (uint64_t)nth * (uint64_t)nth), mx, wx, nth,
           (double)(now_ns() - t0) * 1e-9);
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  long nth = sysconf(_SC_NPROCESSORS_ONLN);
  if (nth < 1) nth = 1;
  if (nth > 256) nth = 256;
  if (argc >= 3 && strcmp(argv[1], "--f64") == 0)
    return run_f64(nth, (uint64_t)strtoull(argv[2], NULL, 10), argc - 3, argv + 3);
  for (int f = 0; f < MATH_FN_COUNT; f++) {
    MathFn fn = (MathFn)f;
    if (math_fn_nin(fn) != 1) continue;
    int want = argc < 2;
    for (int a = 1; a < argc; a++) want |= strcmp(argv[a], math_fn_name(fn)) == 0;
    if (!want) continue;
    Job jobs[256];
    pthread_t th[256];
    uint64_t total = (uint64_t)1 << 32, per = total / (uint64_t)nth;
    uint64_t t0 = now_ns();
    for (long t = 0; t < nth; t++) {
      jobs[t] = (Job){fn, per * (uint64_t)t, t == nth - 1 ? total : per * (uint64_t)(t + 1), 0, 0, 0};
      pthread_create(&th[t], NULL, work, &jobs[t]);
    }
    Job all = {fn, 0, total, 0, 0, 0};
    for (long t = 0; t < nth; t++) {
      pthread_join(th[t], NULL);
      if (jobs[t].max_ulp > all.max_ulp) all.max_ulp = jobs[t].max_ulp, all.worst = jobs[t].worst;
      all.n_not_cr += jobs[t].n_not_cr;
    }
    float wx;
    memcpy(&wx, &all.worst, 4);
    printf("{\"fn\": \"%s\", \"dtype\": \"float32\", \"inputs\": %llu, \"max_ulp\": %.4f, "
           "\"worst_x\": \"%a\", \"not_correctly_rounded\": %llu, \"program\": %s, \"threads\": %ld, "
           "\"seconds\": %.1f}\n",
           math_fn_name(fn), (unsigned long long)total, all.max_ulp, (double)wx,
           (unsigned long long)all.n_not_cr, math_prog(fn, BUD_FLOAT32) ? "true" : "false", nth,
           (double)(now_ns() - t0) * 1e-9);
    fflush(stdout);
  }
  return 0;
}
