/* test_opt_lowerdot.c — 1-D float dot products of >= 1024 elements run as fused sum(a*b)
 * reductions (lowerdot.c):
 * results as accurate as the exact dot rounded once, integer and 2-D dots unchanged (exact), and
 * the explain text shows the reduction instead of a dot group. */
#include "check.h"
#include "bud.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *explain_dot(BudContext *ctx, BudDType dt, int64_t n) {
  BudArray a, b;
  bud_array_alloc(ctx, &a, dt, 1, &n);
  bud_array_alloc(ctx, &b, dt, 1, &n);
  BudInput in[2] = {{"a", &a}, {"b", &b}};
  char *text = bud_explain(ctx, "dot(a, b)", 2, in);
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
    long double exact = 0, exactd = 0;
    for (int64_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      x[i] = (float)((int)(seed >> 8) % 20001 - 10000) / 997.0f;
      seed = seed * 1103515245u + 12345u;
      y[i] = (float)((int)(seed >> 8) % 20001 - 10000) / 991.0f;
      xd[i] = x[i] * 1.000000123, yd[i] = y[i];
      exact += (long double)x[i] * y[i];
      exactd += (long double)xd[i] * yd[i];
    }
    BudArray a, b, o = {0}, ad, bd, od = {0};
    bud_array_view(ctx, &a, x, BUD_FLOAT32, 1, &n, NULL);
    bud_array_view(ctx, &b, y, BUD_FLOAT32, 1, &n, NULL);
    BudInput in[2] = {{"a", &a}, {"b", &b}};
    CHECK(bud_eval(ctx, "dot(a, b)", 2, in, 1, &o) == BUD_OK);
    CHECK(o.dtype == BUD_FLOAT32 && o.ndim == 0);
    float got = o.data ? *(float *)o.data : NAN, want = (float)exact;
    /* products exact, double sum: within one float32 ulp of the exact dot, rounded once */
    CHECK_MSG(fabsf(got - want) <= nextafterf(fabsf(want), INFINITY) - fabsf(want), "n=%lld: %.9g vs %.9g",
              (long long)n, got, want);
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

  char *t = explain_dot(ctx, BUD_FLOAT32, 4096);
  CHECK_MSG(t && strstr(t, "== after lowerdot ==") && strstr(t, "sum") && !strstr(t, "dot group") &&
                strstr(t, "== code for group"), "%s", t ? t : bud_last_error(ctx));
  bud_free(t);
  t = explain_dot(ctx, BUD_INT64, 4096);
  CHECK(t && strstr(t, "dot/matmul runs as its own kernel"));
  bud_free(t);
  t = explain_dot(ctx, BUD_FLOAT32, 1000); /* below LOWER_DOT_MIN: the one-group dot kernel */
  CHECK(t && strstr(t, "dot/matmul runs as its own kernel"));
  bud_free(t);
  bud_context_free(ctx);
  return check_done("opt_lowerdot");
}
