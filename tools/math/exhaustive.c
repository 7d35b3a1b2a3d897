/* exhaustive.c — every float32 input (all 2^32 bit patterns) of one-operand math functions
 * through math_eval, against libm's float64 function (sigmoid: 1/(1+exp(-x)) in double), with
 * math_ulp_err_f32; prints the max ULP, where it occurs and how many results are not correctly
 * rounded, one JSON line per function. Parallel over all cores (pthreads).
 *   make math-exhaustive        (if the Makefile has the rule), or by hand:
 *   gcc -std=c11 -O2 -fno-math-errno -Iinclude -Isrc tools/math/exhaustive.c \
 *       build/release-gcc/libbud.a -lm -lpthread -o build/math-exhaustive
 *   build/math-exhaustive [fn ...]      (default: every one-operand function) */
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

int main(int argc, char **argv) {
  long nth = sysconf(_SC_NPROCESSORS_ONLN);
  if (nth < 1) nth = 1;
  if (nth > 256) nth = 256;
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
