/* test_api_call.c — prepared calls (bud_call_*): the lean path gives bud_run's bits (element-wise,
 * reductions, float dots) and is taken only when the arrays allow it (counted in
 * BudStats.lean_runs); strided, misshaped, aliased, NULL-output and value-class-changing runs go
 * the general way with bud_run's results and errors; the float32 dot kernel stays within its
 * stated bound at every size. */
#include "check.h"
#include "bud.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t lean_runs(BudContext *ctx) {
  BudStats s;
  bud_stats(ctx, &s);
  return s.lean_runs;
}

/* Whether this run has the JIT (BUD_ISA=vm turns it off: then only dots take the lean path,
 * element-wise groups run in the VM through bud_run). */
static int has_jit;

static float frand(unsigned *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return (float)((int)(*seed >> 8) % 20001 - 10000) / 997.0f;
}

/* Runs src on x, y (n float32) through bud_run and a prepared call; both results must be equal
 * bit for bit and the call must have been lean. */
static void same_bits(BudContext *ctx, const char *src, const float *x, const float *y,
                      int64_t n, int64_t nout) {
  BudArray a, b;
  bud_array_view(ctx, &a, (void *)x, BUD_FLOAT32, 1, &n, NULL);
  bud_array_view(ctx, &b, (void *)y, BUD_FLOAT32, 1, &n, NULL);
  BudInput in[2] = {{"a", &a}, {"b", &b}};
  BudProgram *prog = NULL;
  BudCall *call = NULL;
  CHECK(bud_compile(ctx, src, 2, in, &prog) == BUD_OK);
  CHECK(prog && bud_call_new(ctx, prog, &call) == BUD_OK && bud_call_is_lean(call));
  float *r1 = calloc((size_t)nout + 1, 4), *r2 = calloc((size_t)nout + 1, 4);
  BudArray o1, o2, ins[2] = {a, b};
  bud_array_view(ctx, &o1, r1, BUD_FLOAT32, nout > 0 ? 1 : 0, &nout, NULL);
  bud_array_view(ctx, &o2, r2, BUD_FLOAT32, nout > 0 ? 1 : 0, &nout, NULL);
  CHECK(bud_run(ctx, prog, 2, ins, 1, &o1) == BUD_OK);
  uint64_t before = lean_runs(ctx);
  for (int rep = 0; rep < 2; rep++) CHECK(bud_call_run(ctx, call, 2, ins, 1, &o2) == BUD_OK);
  /* one element: every stride 0, the JIT leaves a broadcast store to the VM: general path */
  if (n > 1 && (has_jit || strncmp(src, "dot", 3) == 0))
    CHECK_MSG(lean_runs(ctx) == before + 2, "%s n=%lld: not lean", src, (long long)n);
  int64_t m = nout > 0 ? nout : 1;
  CHECK_MSG(memcmp(r1, r2, (size_t)m * 4) == 0, "%s n=%lld: %.9g vs %.9g", src, (long long)n,
            r1[0], r2[0]);
  free(r1);
  free(r2);
  bud_call_free(call);
  bud_program_free(prog);
}

int main(void) {
  BudContext *ctx = bud_context_new();
  unsigned seed = 7;
  enum { N = 5000 };
  float *x = malloc(4 * (N + 8)), *y = malloc(4 * (N + 8)), *r = malloc(4 * (N + 8));
  for (int i = 0; i < N + 8; i++) x[i] = frand(&seed), y[i] = frand(&seed);
  {
    int64_t n8 = 64;
    BudArray a, o = {0};
    bud_array_view(ctx, &a, x, BUD_FLOAT32, 1, &n8, NULL);
    BudInput in[1] = {{"a", &a}};
    BudStats s;
    CHECK(bud_eval(ctx, "a + 1", 1, in, 1, &o) == BUD_OK);
    bud_array_free(&o);
    bud_stats(ctx, &s);
    has_jit = s.kernels_jit > 0;
  }

  /* lean results are bud_run's bits: element-wise, reductions, dots, every size class */
  int64_t sizes[] = {1, 3, 16, 17, 255, 1024, 4099};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    int64_t n = sizes[k];
    same_bits(ctx, "a * 2 + b", x, y, n, n);
    same_bits(ctx, "sqrt(abs(a * b)) - a", x, y, n, n);
    same_bits(ctx, "sum(a * b)", x, y, n, 0);
    same_bits(ctx, "dot(a, b)", x, y, n, 0);
    same_bits(ctx, "max(a - b)", x, y, n, 0);
  }

  /* the float32 dot kernel's bound at sizes around its blocks and vectors */
  int64_t dsizes[] = {0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 4096, 4999};
  for (size_t k = 0; k < sizeof dsizes / sizeof *dsizes; k++) {
    int64_t n = dsizes[k];
    long double exact = 0, sumabs = 0;
    for (int64_t i = 0; i < n; i++) {
      exact += (long double)x[i + 1] * y[i];
      sumabs += fabsl((long double)x[i + 1] * y[i]);
    }
    BudArray a, b, o = {0};
    bud_array_view(ctx, &a, x + 1, BUD_FLOAT32, 1, &n, NULL); /* misaligned on purpose */
    bud_array_view(ctx, &b, y, BUD_FLOAT32, 1, &n, NULL);
    BudInput in[2] = {{"a", &a}, {"b", &b}};
    CHECK(bud_eval(ctx, "dot(a, b)", 2, in, 1, &o) == BUD_OK);
    float got = o.data ? *(float *)o.data : NAN, want = (float)exact;
    double bound = 24.0 * ldexp(1.0, -24) * (double)sumabs +
                   0.5 * (nextafterf(fabsf(want), INFINITY) - fabsf(want));
    CHECK_MSG(fabs((double)got - (double)exact) <= bound, "dot n=%lld: %.9g vs %.9Lg",
              (long long)n, got, exact);
    bud_array_free(&o);
  }

  /* the general path when the arrays are not the common case, with bud_run's results */
  int64_t n = 64, two = 2 * 64;
  BudArray a, b, o;
  bud_array_view(ctx, &a, x, BUD_FLOAT32, 1, &n, NULL);
  bud_array_view(ctx, &b, y, BUD_FLOAT32, 1, &n, NULL);
  BudInput in[2] = {{"a", &a}, {"b", &b}};
  BudProgram *prog = NULL;
  BudCall *call = NULL;
  CHECK(bud_compile(ctx, "a * 2 + b", 2, in, &prog) == BUD_OK);
  CHECK(bud_call_new(ctx, prog, &call) == BUD_OK && bud_call_is_lean(call));
  uint64_t before = lean_runs(ctx);
  /* strided input (every other element) */
  int64_t st8 = 8;
  BudArray as;
  bud_array_view(ctx, &as, x, BUD_FLOAT32, 1, &n, &st8);
  bud_array_view(ctx, &o, r, BUD_FLOAT32, 1, &n, NULL);
  BudArray ins[2] = {as, b};
  CHECK(bud_call_run(ctx, call, 2, ins, 1, &o) == BUD_OK);
  int bad = 0;
  for (int i = 0; i < n; i++) bad += r[i] != x[2 * i] * 2 + y[i];
  CHECK_EQ_INT(bad, 0);
  CHECK(lean_runs(ctx) == before);
  /* wrong shape and dtype: bud_run's errors */
  BudArray wrong;
  bud_array_view(ctx, &wrong, x, BUD_FLOAT32, 1, &two, NULL);
  ins[0] = wrong;
  CHECK(bud_call_run(ctx, call, 2, ins, 1, &o) == BUD_ERR_SHAPE);
  bud_array_view(ctx, &wrong, x, BUD_INT32, 1, &n, NULL);
  ins[0] = wrong;
  CHECK(bud_call_run(ctx, call, 2, ins, 1, &o) == BUD_ERR_DTYPE);
  CHECK(strstr(bud_last_error(ctx), "dtype") != NULL);
  /* output left NULL: allocated by the general path */
  BudArray none = {0};
  ins[0] = a;
  CHECK(bud_call_run(ctx, call, 2, ins, 1, &none) == BUD_OK);
  CHECK(none.data && ((float *)none.data)[5] == x[5] * 2 + y[5]);
  bud_array_free(&none);
  CHECK(lean_runs(ctx) == before);
  /* in place: out is input a itself (element-wise, so lean), and shifted by one (general) */
  float *w = malloc(4 * (N + 8));
  memcpy(w, x, 4 * (N + 8));
  BudArray wa, wo;
  bud_array_view(ctx, &wa, w, BUD_FLOAT32, 1, &n, NULL);
  ins[0] = wa;
  CHECK(bud_call_run(ctx, call, 2, ins, 1, &wa) == BUD_OK);
  bad = 0;
  for (int i = 0; i < n; i++) bad += w[i] != x[i] * 2 + y[i];
  CHECK_EQ_INT(bad, 0);
  CHECK(lean_runs(ctx) == before + (has_jit ? 1 : 0));
  memcpy(w, x, 4 * (N + 8));
  bud_array_view(ctx, &wo, w + 1, BUD_FLOAT32, 1, &n, NULL);
  CHECK(bud_call_run(ctx, call, 2, ins, 1, &wo) == BUD_OK); /* as if a were copied first */
  bad = 0;
  for (int i = 0; i < n; i++) bad += w[i + 1] != x[i] * 2 + y[i];
  CHECK_EQ_INT(bad, 0);
  CHECK(lean_runs(ctx) == before + (has_jit ? 1 : 0));
  /* a run from another context: general path (bud_run), still right */
  BudContext *other = bud_context_new();
  ins[0] = a;
  CHECK(bud_call_run(other, call, 2, ins, 1, &o) == BUD_OK);
  CHECK(r[3] == x[3] * 2 + y[3]);
  bud_context_free(other);
  bud_call_free(call);
  bud_program_free(prog);

  /* 0-d inputs: the value class is checked as bud_run does */
  double c2 = 2;
  BudArray sc;
  bud_array_view(ctx, &sc, &c2, BUD_FLOAT64, 0, NULL, NULL);
  BudInput in2[2] = {{"a", &a}, {"k", &sc}};
  CHECK(bud_compile(ctx, "a * k", 2, in2, &prog) == BUD_OK);
  CHECK(bud_call_new(ctx, prog, &call) == BUD_OK);
  BudArray ins2[2] = {a, sc};
  before = lean_runs(ctx);
  c2 = 3;
  CHECK(bud_call_run(ctx, call, 2, ins2, 1, &o) == BUD_OK);
  CHECK(r[7] == x[7] * 3.0f);
  CHECK(lean_runs(ctx) == before + (has_jit ? 1 : 0));
  c2 = 1e300; /* another class (float64): refused like bud_run */
  CHECK(bud_call_run(ctx, call, 2, ins2, 1, &o) == BUD_ERR_VALUE);
  bud_call_free(call);
  bud_program_free(prog);

  /* misuse */
  CHECK(bud_call_new(ctx, NULL, &call) == BUD_ERR_INVALID);
  CHECK(bud_call_run(ctx, NULL, 0, NULL, 0, NULL) == BUD_ERR_INVALID);
  CHECK(!bud_call_is_lean(NULL));
  bud_call_free(NULL);

  free(w);
  free(x);
  free(y);
  free(r);
  bud_context_free(ctx);
  return check_done("api_call");
}
