/* test_opt_lowerdot.c — 1-D float dot products of >= 1024 elements of computed operands run as
 * fused sum(a*b) reductions (lowerdot.c), results as accurate as the exact dot rounded once; a
 * float32 dot of two arrays stays a dot group on the vector kernel (rt/exec_dot.c) within its
 * stated bound (rt/exec_fast.h); integer and 2-D dots unchanged (exact); the explain text shows
 * which. */
#include "check.h"
#include "bud.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *explain_dot(BudContext *ctx, const char *src, BudDType dt, int64_t n) {
  BudArray a, b;
  bud_array_alloc(ctx, &a, dt, 1, &n);
  bud_array_alloc(ctx, &b, dt, 1, &n);
  BudInput in[2] = {{"a", &a}, {"b", &b}};
  char *text = bud_explain(ctx, src, 2, in);
  bud_array_free(&a);
  bud_array_free(&b);
  return text;
}

int main(void) {
  BudContext *ctx = bud_context_new();
  unsigned seed = 12345;
  for (int64_t n = 0; n <= 5000; n = n * 3 + 1) {
    float *x = malloc(sizeof(float) * (size_t)(n + 1)), *y = malloc(sizeof(float) * (size_t)(n + 1));
    double *xd = malloc(sizeof(double) * (size_t)(n + 1)), *yd = malloc(sizeof(double) * (size_t)(n + 1));
    long double exact = 0, exactd = 0, sumabs = 0;
    for (int64_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      x[i] = (float)((int)(seed >> 8) % 20001 - 10000) / 997.0f;
      seed = seed * 1103515245u + 12345u;
      y[i] = (float)((int)(seed >> 8) % 20001 - 10000) / 991.0f;
      xd[i] = x[i] * 1.000000123, yd[i] = y[i];
      exact += (long double)x[i] * y[i];
      sumabs += fabsl((long double)x[i] * y[i]);
      exactd += (long double)xd[i] * yd[i];
    }
    BudArray a, b, o = {0}, ad, bd, od = {0};
    bud_array_view(ctx, &a, x, BUD_FLOAT32, 1, &n, NULL);
    bud_array_view(ctx, &b, y, BUD_FLOAT32, 1, &n, NULL);
    BudInput in[2] = {{"a", &a}, {"b", &b}};
    CHECK(bud_eval(ctx, "dot(a, b)", 2, in, 1, &o) == BUD_OK);
    CHECK(o.dtype == BUD_FLOAT32 && o.ndim == 0);
    float got = o.data ? *(float *)o.data : NAN, want = (float)exact;
    /* the vector kernel: (1024 / 64 + 8) * 2^-24 * sum|a*b| + half an ulp */
    double bound = 24.0 * ldexp(1.0, -24) * (double)sumabs +
                   0.5 * (nextafterf(fabsf(want), INFINITY) - fabsf(want));
    CHECK_MSG(fabs((double)got - (double)exact) <= bound, "n=%lld: %.9g vs %.9Lg (bound %.3g)",
              (long long)n, got, exact, bound);
    bud_array_free(&o);
    /* computed operands are lowered: products exact, double sum: within one float32 ulp of the
     * exact dot (a*2 is exact), rounded once */
    memset(&o, 0, sizeof o);
    CHECK(bud_eval(ctx, "dot(a * 2, b)", 2, in, 1, &o) == BUD_OK);
    got = o.data ? *(float *)o.data : NAN;
    want = (float)(2 * exact);
    if (n < 1024) /* below LOWER_DOT_MIN: a dot group, the vector kernel's bound */
      CHECK_MSG(fabs((double)got - 2.0 * (double)exact) <= 2 * bound, "n=%lld: %.9g vs %.9g",
                (long long)n, got, want);
    else
      CHECK_MSG(fabsf(got - want) <= nextafterf(fabsf(want), INFINITY) - fabsf(want),
                "n=%lld: %.9g vs %.9g", (long long)n, got, want);
    bud_array_view(ctx, &ad, xd, BUD_FLOAT64, 1, &n, NULL);
    bud_array_view(ctx, &bd, yd, BUD_FLOAT64, 1, &n, NULL);
    BudInput ind[2] = {{"a", &ad}, {"b", &bd}};
    CHECK(bud_eval(ctx, "dot(a, b)", 2, ind, 1, &od) == BUD_OK);
    double gotd = od.data ? *(double *)od.data : NAN;
    CHECK_MSG(fabs(gotd - (double)exactd) <= 1e-13 * (fabs((double)exactd) + 1), "n=%lld f64: %.17g vs %.17Lg",
              (long long)n, gotd, exactd);
    bud_array_free(&o);
    bud_array_free(&od);
    free(x), free(y), free(xd), free(yd);
  }

  /* Integer dots keep their own dtype's wrap-around and stay dot groups. */
  int32_t xi[3] = {INT32_MAX, 2, 3}, yi[3] = {2, 5, 7};
  int64_t n3 = 3;
  BudArray ai, bi, oi = {0};
  bud_array_view(ctx, &ai, xi, BUD_INT32, 1, &n3, NULL);
  bud_array_view(ctx, &bi, yi, BUD_INT32, 1, &n3, NULL);
  BudInput ini[2] = {{"a", &ai}, {"b", &bi}};
  CHECK(bud_eval(ctx, "dot(a, b)", 2, ini, 1, &oi) == BUD_OK);
  CHECK(oi.dtype == BUD_INT32 && oi.data && *(int32_t *)oi.data == (int32_t)(UINT32_MAX - 1 + 10 + 21));
  bud_array_free(&oi);

  char *t = explain_dot(ctx, "dot(a * 2, b)", BUD_FLOAT32, 4096);
  CHECK_MSG(t && strstr(t, "== after lowerdot ==") && strstr(t, "sum") && !strstr(t, "dot group") &&
                strstr(t, "== code for group"), "%s", t ? t : bud_last_error(ctx));
  bud_free(t);
  t = explain_dot(ctx, "dot(a, b)", BUD_FLOAT64, 4096);
  CHECK(t && strstr(t, "sum") && !strstr(t, "dot/matmul runs as its own kernel"));
  bud_free(t);
  t = explain_dot(ctx, "dot(a, b)", BUD_FLOAT32, 4096); /* two arrays: the vector dot kernel */
  CHECK(t && strstr(t, "dot/matmul runs as its own kernel"));
  bud_free(t);
  t = explain_dot(ctx, "dot(a, b)", BUD_INT64, 4096);
  CHECK(t && strstr(t, "dot/matmul runs as its own kernel"));
  bud_free(t);
  t = explain_dot(ctx, "dot(a, b)", BUD_FLOAT32, 1000); /* below LOWER_DOT_MIN: the one-group dot kernel */
  CHECK(t && strstr(t, "dot/matmul runs as its own kernel"));
  bud_free(t);
  bud_context_free(ctx);
  return check_done("opt_lowerdot");
}
