/* bench_peers.h — what the benchmark programs share: the clock, a sort comparator for medians,
 * and the plain C peers of the chains (what a C programmer writes; the Makefile compiles the bench programs
 * with -O3 -march=native), so every benchmark measures Bud against the same loops. */
#ifndef BUD_BENCH_PEERS_H
#define BUD_BENCH_PEERS_H

#include <math.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

/* o = 2a + 3b */
static __attribute__((noinline, unused)) void c_axpby(float *restrict o, const float *restrict a,
                                                      const float *restrict b, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = 2.0f * a[i] + 3.0f * b[i];
}

/* o = a*b + c*d - e */
static __attribute__((noinline, unused)) void
c_muladd(float *restrict o, const float *restrict a, const float *restrict b,
         const float *restrict c, const float *restrict d, const float *restrict e, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = a[i] * b[i] + c[i] * d[i] - e[i];
}

/* o = sqrt(a*b + c) */
static __attribute__((noinline, unused)) void c_sqrt(float *restrict o, const float *restrict a,
                                                     const float *restrict b,
                                                     const float *restrict c, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = sqrtf(a[i] * b[i] + c[i]);
}

#endif
