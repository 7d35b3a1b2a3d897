/* test_jit_pipeline.c — the JIT through the whole pipeline (bud_compile / bud_run): expressions
 * over float32/float64/int32/int64 arrays (contiguous, stride-0 broadcast rows, sliced), run on a
 * context with the best ISA and on one forced to the VM; outputs must be identical bit for bit
 * and the JIT context must really have compiled kernels. */
#define _GNU_SOURCE
#include "check.h"
#include "plan/plan.h"
#include "rt/kernel.h"

#include <math.h>
#include <stdlib.h>

static uint64_t g_rng = 88172645463325252ull;
static uint64_t rnd(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}

static void fill(BudArray *a) {
  int64_t n = bud_array_size(a);
  for (int64_t i = 0; i < n; i++) {
    double f = (double)(rnd() % 20001) / 1000.0 - 10.0;
    if (rnd() % 50 == 0) f = NAN;
    switch (a->dtype) {
    case BUD_FLOAT32: ((float *)a->data)[i] = (float)f; break;
    case BUD_FLOAT64: ((double *)a->data)[i] = f; break;
    case BUD_INT32: ((int32_t *)a->data)[i] = (int32_t)(rnd() >> 40) - (1 << 23); break;
    case BUD_INT64: ((int64_t *)a->data)[i] = (int64_t)(rnd() >> 8) - (1ll << 55); break;
    default: break;
    }
  }
}

typedef struct Case {
  const char *src;
  BudDType dt;
} Case;

static const Case cases[] = {
    {"a + b", BUD_FLOAT32},
    {"2*a + 3*b", BUD_FLOAT32},
    {"sqrt(a*b + c)", BUD_FLOAT32},
    {"a*b + c*b - a", BUD_FLOAT64},
    {"where(a > b, a, b) - minimum(a, c)", BUD_FLOAT32},
    {"maximum(a, b) * abs(c) + floor(a)", BUD_FLOAT64},
    {"a * 2.5 - b / 3", BUD_FLOAT64},
    {"(a + b) ^ c", BUD_INT32},
    {"(a - b) * c + (a & b)", BUD_INT32},
    {"where(a < c, a + b, c - b)", BUD_INT64},
    {"copysign(a, b - c) + trunc(c)", BUD_FLOAT32},
    {"sum(a*b)", BUD_FLOAT32},
    {"mean(a - c) + sum(b)", BUD_FLOAT64},
};

/* Reductions are within a tolerance (both sum in double, in different orders). */
static bool close_enough(const BudArray *x, const BudArray *y) {
  int64_t n = bud_array_size(x);
  for (int64_t i = 0; i < n; i++) {
    double a = x->dtype == BUD_FLOAT32 ? ((float *)x->data)[i] : ((double *)x->data)[i];
    double b = y->dtype == BUD_FLOAT32 ? ((float *)y->data)[i] : ((double *)y->data)[i];
    if (a != a || b != b) {
      if (!(a != a && b != b)) return false;
      continue;
    }
    if (fabs(a - b) > 1e-6 * (fabs(a) + fabs(b)) + 1e-30) return false;
  }
  return true;
}

/* shape: 0 = (n,), 1 = (rows, cols) with b a broadcast row (1, cols) */
static void run_case(const Case *c, int shape, int64_t n, int *njit) {
  BudContext *cj = bud_context_new(), *cv = bud_context_new();
  cv->isa = 0; /* X86_ISA_VM: the JIT off */
  int64_t rows = shape ? 7 : 1, cols = shape ? n : n;
  BudArray in[3];
  for (int i = 0; i < 3; i++) {
    int64_t sh[2] = {rows, cols};
    if (shape && i == 1) sh[0] = 1;
    CHECK_EQ_INT(bud_array_alloc(cj, &in[i], c->dt, shape ? 2 : 1, shape ? sh : &sh[1]), BUD_OK);
    fill(&in[i]);
  }
  BudInput bi[3] = {{"a", &in[0]}, {"b", &in[1]}, {"c", &in[2]}};
  BudArray oj = {0}, ov = {0};
  BudStatus sj = bud_eval(cj, c->src, 3, bi, 1, &oj), sv = bud_eval(cv, c->src, 3, bi, 1, &ov);
  CHECK_MSG(sj == BUD_OK && sv == BUD_OK, "%s: %s / %s", c->src, bud_last_error(cj), bud_last_error(cv));
  if (sj == BUD_OK && sv == BUD_OK) {
    int64_t bytes = bud_array_size(&oj) * bud_dtype_size(oj.dtype);
    bool is_red = strstr(c->src, "sum(") || strstr(c->src, "mean(");
    CHECK_MSG(bytes == bud_array_size(&ov) * bud_dtype_size(ov.dtype) &&
                  (is_red ? close_enough(&oj, &ov) : memcmp(oj.data, ov.data, (size_t)bytes) == 0),
              "%s (shape %d, n=%lld): JIT and VM differ", c->src, shape, (long long)n);
  }
  BudStats st;
  bud_stats(cj, &st);
  *njit += (int)st.kernels_jit;
  bud_stats(cv, &st);
  CHECK_EQ_INT(st.kernels_jit, 0);
  bud_array_free(&oj);
  bud_array_free(&ov);
  for (int i = 0; i < 3; i++) bud_array_free(&in[i]);
  bud_context_free(cj);
  bud_context_free(cv);
}

int main(void) {
  const char *isa = getenv("BUD_ISA");
  bool jit_on = !(isa && strcmp(isa, "vm") == 0);
  int njit = 0;
  static const int64_t sizes[] = {1, 7, 33, 1000, 4099};
  for (size_t ci = 0; ci < BUD_ARRAY_LEN(cases); ci++)
    for (size_t si = 0; si < BUD_ARRAY_LEN(sizes); si++)
      for (int shape = 0; shape < 2; shape++) run_case(&cases[ci], shape, sizes[si], &njit);
  printf("test_jit_pipeline: %d kernels compiled by the JIT\n", njit);
  if (jit_on) CHECK(njit > 0);
  return check_done("test_jit_pipeline");
}
