/* test_api.c — the public C API (include/bud.h) end to end: arrays (views, allocation, overflow),
 * compile / run / eval / explain with every error path (NULL arguments, bad dtypes, wrong shapes
 * and counts at run time, outputs given or allocated, outputs aliasing inputs), value-based casting
 * of 0-d inputs (bud_run's guard, bud_eval's cache key), the program cache (hits, misses, LRU
 * bound), the node-by-node builder, and two contexts used from two threads at once.
 */
#define _GNU_SOURCE
#include "bud.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ERRHAS(ctx, s) CHECK_MSG(strstr(bud_last_error(ctx), (s)) != NULL, "message \"%s\" lacks \"%s\"", bud_last_error(ctx), (s))

static void test_basics(BudContext *ctx) {
  CHECK_EQ_STR(bud_version(), BUD_VERSION_STRING);
  CHECK_EQ_STR(bud_status_name(BUD_ERR_SHAPE), "BUD_ERR_SHAPE");
  CHECK_EQ_STR(bud_dtype_name(BUD_FLOAT32), "float32");
  CHECK(bud_dtype_name((BudDType)99) == NULL);
  CHECK_EQ_INT(bud_dtype_size(BUD_INT16), 2);
  BudDType dt;
  CHECK_EQ_INT(bud_dtype_from_name("uint64", &dt), BUD_OK);
  CHECK_EQ_INT(dt, BUD_UINT64);
  CHECK_EQ_STR(bud_last_error(ctx), "");
  BudStats st;
  bud_stats(ctx, &st);
  CHECK_EQ_INT(st.compiles, 0);
  bud_stats(NULL, &st);
  CHECK_EQ_INT(st.runs, 0);
  bud_context_free(NULL);
}

static void test_arrays(BudContext *ctx) {
  float buf[12];
  BudArray a;
  int64_t sh[2] = {3, 4};
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, 2, sh, NULL), BUD_OK);
  CHECK(a.data == buf && a.owner == NULL && a.strides[0] == 16 && a.strides[1] == 4);
  CHECK_EQ_INT(bud_array_size(&a), 12);
  bud_array_free(&a); /* a view: no-op */
  CHECK(a.data == buf);
  CHECK_EQ_INT(bud_array_view(ctx, NULL, buf, BUD_FLOAT32, 2, sh, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf, (BudDType)42, 2, sh, NULL), BUD_ERR_INVALID);
  ERRHAS(ctx, "invalid dtype");
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, -1, sh, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, BUD_MAX_DIMS + 1, sh, NULL),
               BUD_ERR_INVALID);
  ERRHAS(ctx, "ndim 9");
  int64_t neg[2] = {3, -1};
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, 2, neg, NULL), BUD_ERR_INVALID);
  ERRHAS(ctx, "negative");
  CHECK_EQ_INT(bud_array_view(ctx, &a, NULL, BUD_FLOAT32, 2, sh, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, 2, NULL, NULL), BUD_ERR_INVALID);
  int64_t huge[2] = {INT64_C(1) << 40, INT64_C(1) << 22};
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, 2, huge, NULL), BUD_ERR_OVERFLOW);
  ERRHAS(ctx, "array of shape (1099511627776, 4194304) and dtype float32 needs more than 2^63 bytes");
  int64_t zero[2] = {0, INT64_C(1) << 62};
  CHECK_EQ_INT(bud_array_view(ctx, &a, NULL, BUD_FLOAT64, 2, zero, NULL), BUD_OK); /* as NumPy */
  int64_t zero2[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 0};
  CHECK_EQ_INT(bud_array_view(ctx, &a, NULL, BUD_FLOAT64, 3, zero2, NULL), BUD_ERR_OVERFLOW);
  int64_t empty[1] = {0};
  CHECK_EQ_INT(bud_array_view(ctx, &a, NULL, BUD_FLOAT64, 1, empty, NULL), BUD_OK);
  CHECK_EQ_STR(bud_last_error(ctx), "");
  /* Strided and negative-stride views; strides whose extent overflows. */
  int64_t st[2] = {-16, 8};
  int64_t sh2[2] = {3, 2};
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf + 8, BUD_FLOAT32, 2, sh2, st), BUD_OK);
  CHECK(a.strides[0] == -16 && a.strides[1] == 8);
  int64_t bigst[2] = {INT64_C(1) << 62, 8};
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, 2, sh2, bigst), BUD_ERR_OVERFLOW);
  /* 0-d */
  double x = 2.5;
  CHECK_EQ_INT(bud_array_view(ctx, &a, &x, BUD_FLOAT64, 0, NULL, NULL), BUD_OK);
  CHECK_EQ_INT(bud_array_size(&a), 1);
  /* alloc */
  int64_t sh3[3] = {5, 7, 3};
  CHECK_EQ_INT(bud_array_alloc(ctx, &a, BUD_INT16, 3, sh3), BUD_OK);
  CHECK(a.owner != NULL && ((uintptr_t)a.data & 63) == 0);
  CHECK(a.strides[0] == 42 && a.strides[1] == 6 && a.strides[2] == 2);
  int nz = 0;
  for (int i = 0; i < 105; i++) nz += ((int16_t *)a.data)[i] != 0;
  CHECK_EQ_INT(nz, 0);
  bud_array_free(&a);
  CHECK(a.data == NULL && a.owner == NULL);
  bud_array_free(&a);
  bud_array_free(NULL);
  CHECK_EQ_INT(bud_array_alloc(ctx, &a, BUD_FLOAT32, 1, empty), BUD_OK);
  CHECK(a.owner != NULL && bud_array_size(&a) == 0);
  bud_array_free(&a);
  CHECK_EQ_INT(bud_array_alloc(ctx, &a, BUD_FLOAT32, 2, huge), BUD_ERR_OVERFLOW);
  CHECK_EQ_INT(bud_array_alloc(ctx, NULL, BUD_FLOAT32, 2, sh), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_array_size(NULL), 0);
}

static void fill_f32(float *p, int n, float base) {
  for (int i = 0; i < n; i++) p[i] = base + (float)i * 0.25f;
}

static void test_compile_errors(BudContext *ctx) {
  float a[4] = {0}, b[5] = {0};
  BudArray A, B, X;
  int64_t n4 = 4, n5 = 5;
  bud_array_view(ctx, &A, a, BUD_FLOAT32, 1, &n4, NULL);
  bud_array_view(ctx, &B, b, BUD_FLOAT32, 1, &n5, NULL);
  BudInput in[2] = {{"a", &A}, {"b", &B}};
  BudProgram *p = (BudProgram *)1;
  CHECK_EQ_INT(bud_compile(NULL, "a", 1, in, &p), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_compile(ctx, NULL, 1, in, &p), BUD_ERR_INVALID);
  ERRHAS(ctx, "source is NULL");
  CHECK_EQ_INT(bud_compile(ctx, "a", 1, in, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_compile(ctx, "a", 1, NULL, &p), BUD_ERR_INVALID);
  CHECK(p == NULL);
  CHECK_EQ_INT(bud_compile(ctx, "a", -1, in, &p), BUD_ERR_INVALID);
  BudInput dup[2] = {{"a", &A}, {"a", &B}};
  CHECK_EQ_INT(bud_compile(ctx, "a", 2, dup, &p), BUD_ERR_INVALID);
  ERRHAS(ctx, "given twice");
  BudInput noname[1] = {{NULL, &A}};
  CHECK_EQ_INT(bud_compile(ctx, "a", 1, noname, &p), BUD_ERR_INVALID);
  BudInput badname[1] = {{"2x", &A}};
  CHECK_EQ_INT(bud_compile(ctx, "a", 1, badname, &p), BUD_ERR_INVALID);
  BudInput noarr[1] = {{"a", NULL}};
  CHECK_EQ_INT(bud_compile(ctx, "a", 1, noarr, &p), BUD_ERR_INVALID);
  memset(&X, 0, sizeof X);
  X.dtype = BUD_FLOAT64;
  BudInput nodata[1] = {{"x", &X}};
  CHECK_EQ_INT(bud_compile(ctx, "x", 1, nodata, &p), BUD_ERR_INVALID);
  ERRHAS(ctx, "0-d input");
  BudArray bad = A;
  bad.dtype = (BudDType)77;
  BudInput baddt[1] = {{"a", &bad}};
  CHECK_EQ_INT(bud_compile(ctx, "a", 1, baddt, &p), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_compile(ctx, "a +", 1, in, &p), BUD_ERR_PARSE);
  CHECK_EQ_INT(bud_compile(ctx, "a + zz", 1, in, &p), BUD_ERR_NAME);
  ERRHAS(ctx, "zz");
  CHECK_EQ_INT(bud_compile(ctx, "sinn(a)", 1, in, &p), BUD_ERR_NAME);
  ERRHAS(ctx, "sinn");
  CHECK_EQ_INT(bud_compile(ctx, "a + b", 2, in, &p), BUD_ERR_SHAPE);
  CHECK(p == NULL);
  CHECK_EQ_INT(bud_last_status(ctx), BUD_ERR_SHAPE);
  /* A success clears the error. */
  CHECK_EQ_INT(bud_compile(ctx, "a * 2", 1, in, &p), BUD_OK);
  CHECK_EQ_STR(bud_last_error(ctx), "");
  CHECK_EQ_INT(bud_last_status(ctx), BUD_OK);
  bud_program_free(p);
  bud_program_free(NULL);
}

static void test_compile_run(BudContext *ctx) {
  enum { N = 1003 };
  static float a[N], b[N], out[N];
  fill_f32(a, N, 1.0f);
  fill_f32(b, N, -3.0f);
  BudArray A, B, O;
  int64_t n = N;
  bud_array_view(ctx, &A, a, BUD_FLOAT32, 1, &n, NULL);
  bud_array_view(ctx, &B, b, BUD_FLOAT32, 1, &n, NULL);
  BudInput in[2] = {{"a", &A}, {"b", &B}};
  BudProgram *p = NULL;
  CHECK_EQ_INT(bud_compile(ctx, "2*a + 3*b", 2, in, &p), BUD_OK);
  if (!p) return;
  CHECK_EQ_INT(bud_program_ninputs(p), 2);
  CHECK_EQ_STR(bud_program_input_name(p, 1), "b");
  CHECK(bud_program_input_name(p, 2) == NULL);
  CHECK_EQ_INT(bud_program_noutputs(p), 1);
  const char *oname;
  BudDType odt;
  int ond;
  int64_t osh[BUD_MAX_DIMS];
  CHECK_EQ_INT(bud_program_output(p, 0, &oname, &odt, &ond, osh), BUD_OK);
  CHECK_EQ_STR(oname, "out");
  CHECK_EQ_INT(odt, BUD_FLOAT32);
  CHECK(ond == 1 && osh[0] == N);
  CHECK_EQ_INT(bud_program_output(p, 1, &oname, &odt, &ond, osh), BUD_ERR_INVALID);

  /* Output allocated by Bud. */
  BudArray arr[2] = {A, B};
  BudArray res;
  memset(&res, 0, sizeof res);
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, &res), BUD_OK);
  CHECK(res.owner != NULL && res.dtype == BUD_FLOAT32 && res.ndim == 1 && res.shape[0] == N);
  int bad = 0;
  for (int i = 0; i < N && res.data; i++)
    bad += ((float *)res.data)[i] != 2 * a[i] + 3 * b[i];
  CHECK_EQ_INT(bad, 0);
  bud_array_free(&res);
  /* Output given. */
  bud_array_view(ctx, &O, out, BUD_FLOAT32, 1, &n, NULL);
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, &O), BUD_OK);
  bad = 0;
  for (int i = 0; i < N; i++) bad += out[i] != 2 * a[i] + 3 * b[i];
  CHECK_EQ_INT(bad, 0);
  /* Strided input: every other element of a longer buffer. */
  static float wide[2 * N];
  for (int i = 0; i < N; i++) wide[2 * i] = a[i], wide[2 * i + 1] = 1e9f;
  int64_t st2 = 8;
  BudArray W;
  CHECK_EQ_INT(bud_array_view(ctx, &W, wide, BUD_FLOAT32, 1, &n, &st2), BUD_OK);
  BudArray arr2[2] = {W, B};
  memset(out, 0, sizeof out);
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr2, 1, &O), BUD_OK);
  bad = 0;
  for (int i = 0; i < N; i++) bad += out[i] != 2 * a[i] + 3 * b[i];
  CHECK_EQ_INT(bad, 0);
  /* Aliasing: the output is input b's memory. */
  static float bcopy[N];
  memcpy(bcopy, b, sizeof b);
  BudArray Ob;
  bud_array_view(ctx, &Ob, b, BUD_FLOAT32, 1, &n, NULL);
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, &Ob), BUD_OK);
  bad = 0;
  for (int i = 0; i < N; i++) bad += b[i] != 2 * a[i] + 3 * bcopy[i];
  CHECK_EQ_INT(bad, 0);
  memcpy(b, bcopy, sizeof b);
  /* Partial overlap: the output is b's memory shifted by one element (both directions). */
  static float shifted[N + 1];
  for (int dir = 0; dir < 2; dir++) {
    memcpy(shifted + (dir ? 1 : 0), b, sizeof b);
    BudArray Bs, Os;
    bud_array_view(ctx, &Bs, shifted + (dir ? 1 : 0), BUD_FLOAT32, 1, &n, NULL);
    bud_array_view(ctx, &Os, shifted + (dir ? 0 : 1), BUD_FLOAT32, 1, &n, NULL);
    BudArray arr4[2] = {A, Bs};
    CHECK_EQ_INT(bud_run(ctx, p, 2, arr4, 1, &Os), BUD_OK);
    bad = 0;
    for (int i = 0; i < N; i++) bad += shifted[i + (dir ? 0 : 1)] != 2 * a[i] + 3 * b[i];
    CHECK_MSG(bad == 0, "overlap direction %d: %d wrong", dir, bad);
  }

  /* Errors at run time. */
  CHECK_EQ_INT(bud_run(NULL, p, 2, arr, 1, &O), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_run(ctx, NULL, 2, arr, 1, &O), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_run(ctx, p, 1, arr, 1, &O), BUD_ERR_INVALID);
  ERRHAS(ctx, "2 inputs, 1 given");
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 2, &O), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_run(ctx, p, 2, NULL, 1, &O), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, NULL), BUD_ERR_INVALID);
  BudArray wrong[2] = {A, B};
  wrong[1].dtype = BUD_FLOAT64;
  CHECK_EQ_INT(bud_run(ctx, p, 2, wrong, 1, &O), BUD_ERR_DTYPE);
  ERRHAS(ctx, "input 'b' has dtype float64, the program was compiled for float32");
  wrong[1] = B;
  wrong[1].shape[0] = N - 1;
  CHECK_EQ_INT(bud_run(ctx, p, 2, wrong, 1, &O), BUD_ERR_SHAPE);
  ERRHAS(ctx, "input 'b' has shape (1002,), the program was compiled for (1003,)");
  BudArray Obad = O;
  Obad.dtype = BUD_FLOAT64;
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, &Obad), BUD_ERR_DTYPE);
  ERRHAS(ctx, "output 'out'");
  Obad = O;
  Obad.ndim = 2;
  Obad.shape[1] = 1;
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, &Obad), BUD_ERR_SHAPE);
  wrong[1] = B;
  wrong[1].data = NULL;
  CHECK_EQ_INT(bud_run(ctx, p, 2, wrong, 1, &O), BUD_ERR_INVALID);
  bud_program_free(p);

  /* Several outputs, broadcasting, a reduction. */
  static float m[3 * 4];
  fill_f32(m, 12, 0.5f);
  BudArray M, R;
  int64_t sh[2] = {3, 4}, n4 = 4;
  float row[4] = {1, 2, 3, 4};
  bud_array_view(ctx, &M, m, BUD_FLOAT32, 2, sh, NULL);
  bud_array_view(ctx, &R, row, BUD_FLOAT32, 1, &n4, NULL);
  BudInput in2[2] = {{"m", &M}, {"r", &R}};
  CHECK_EQ_INT(bud_compile(ctx, "y = m * r; _t = m + 1; s = sum(_t)", 2, in2, &p), BUD_OK);
  if (!p) return;
  CHECK_EQ_INT(bud_program_noutputs(p), 2);
  CHECK_EQ_INT(bud_program_output(p, 1, &oname, &odt, &ond, osh), BUD_OK);
  CHECK_EQ_STR(oname, "s");
  CHECK_EQ_INT(ond, 0);
  BudArray outs[2];
  memset(outs, 0, sizeof outs);
  BudArray arr3[2] = {M, R};
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr3, 2, outs), BUD_OK);
  bad = 0;
  double want = 0;
  for (int i = 0; i < 3 && outs[0].data; i++)
    for (int j = 0; j < 4; j++) {
      bad += ((float *)outs[0].data)[i * 4 + j] != m[i * 4 + j] * row[j];
      want += m[i * 4 + j] + 1;
    }
  CHECK_EQ_INT(bad, 0);
  CHECK(outs[1].data && outs[1].dtype == BUD_FLOAT32 && *(float *)outs[1].data == (float)want);
  bud_array_free(&outs[0]);
  bud_array_free(&outs[1]);
  bud_program_free(p);
}

/* NumPy's value-based casting: int8 array + 2 stays int8; + 300 becomes int16. */
static void test_scalars(BudContext *ctx) {
  int8_t a[4] = {1, 2, 3, 100};
  int64_t x = 2;
  BudArray A, X;
  int64_t n = 4;
  bud_array_view(ctx, &A, a, BUD_INT8, 1, &n, NULL);
  bud_array_view(ctx, &X, &x, BUD_INT64, 0, NULL, NULL);
  BudInput in[2] = {{"a", &A}, {"x", &X}};
  BudProgram *p = NULL;
  CHECK_EQ_INT(bud_compile(ctx, "a + x", 2, in, &p), BUD_OK);
  if (!p) return;
  BudDType odt;
  bud_program_output(p, 0, NULL, &odt, NULL, NULL);
  CHECK_EQ_INT(odt, BUD_INT8);
  BudArray arr[2] = {A, X}, o;
  memset(&o, 0, sizeof o);
  x = 5; /* same class (uint8): fine */
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, &o), BUD_OK);
  CHECK(o.data && ((int8_t *)o.data)[0] == 6 && ((int8_t *)o.data)[3] == 105);
  bud_array_free(&o);
  x = 300; /* uint16: NumPy would give int16 */
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, &o), BUD_ERR_VALUE);
  ERRHAS(ctx, "input 'x'");
  ERRHAS(ctx, "300");
  bud_program_free(p);
  /* bud_eval recompiles for the new class. */
  BudStats s0, s1;
  bud_stats(ctx, &s0);
  x = 2;
  CHECK_EQ_INT(bud_eval(ctx, "a + x", 2, in, 1, &o), BUD_OK);
  CHECK(o.dtype == BUD_INT8);
  bud_array_free(&o);
  x = 300;
  CHECK_EQ_INT(bud_eval(ctx, "a + x", 2, in, 1, &o), BUD_OK);
  CHECK(o.dtype == BUD_INT16 && o.data && ((int16_t *)o.data)[3] == 400);
  bud_array_free(&o);
  x = 7;
  CHECK_EQ_INT(bud_eval(ctx, "a + x", 2, in, 1, &o), BUD_OK);
  CHECK(o.dtype == BUD_INT8 && o.data && ((int8_t *)o.data)[0] == 8);
  bud_array_free(&o);
  bud_stats(ctx, &s1);
  CHECK_EQ_INT(s1.program_cache_misses - s0.program_cache_misses, 2);
  CHECK_EQ_INT(s1.program_cache_hits - s0.program_cache_hits, 1);
  /* NumPy's "small unsigned": int8 + 100 is int8, int8 + 200 is int16 (both are uint8 values). */
  x = 100;
  CHECK_EQ_INT(bud_compile(ctx, "a + x", 2, in, &p), BUD_OK);
  x = 120;
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, &o), BUD_OK);
  CHECK(o.dtype == BUD_INT8);
  bud_array_free(&o);
  x = 200;
  CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 1, &o), BUD_ERR_VALUE);
  ERRHAS(ctx, "class uint8, the program was compiled for a value of class uint8 (fits int8)");
  bud_program_free(p);
  CHECK_EQ_INT(bud_eval(ctx, "a + x", 2, in, 1, &o), BUD_OK);
  CHECK(o.dtype == BUD_INT16 && o.data && ((int16_t *)o.data)[3] == 300);
  bud_array_free(&o);
  x = -1;
  CHECK_EQ_INT(bud_eval(ctx, "a + x", 2, in, 1, &o), BUD_OK);
  CHECK(o.dtype == BUD_INT8 && o.data && ((int8_t *)o.data)[3] == 99);
  bud_array_free(&o);
  /* float32 array * python-float-like scalar stays float32. */
  float f[3] = {1, 2, 3};
  double y = 2.5;
  BudArray F, Y;
  n = 3;
  bud_array_view(ctx, &F, f, BUD_FLOAT32, 1, &n, NULL);
  bud_array_view(ctx, &Y, &y, BUD_FLOAT64, 0, NULL, NULL);
  BudInput in2[2] = {{"f", &F}, {"y", &Y}};
  CHECK_EQ_INT(bud_eval(ctx, "f * y", 2, in2, 1, &o), BUD_OK);
  CHECK(o.dtype == BUD_FLOAT32 && o.data && ((float *)o.data)[2] == 7.5f);
  bud_array_free(&o);
  /* ... unless it is at least 3.4e38 (NumPy's limit, below FLT_MAX): then float64. */
  y = 3.401e38;
  CHECK_EQ_INT(bud_eval(ctx, "f * y", 2, in2, 1, &o), BUD_OK);
  CHECK(o.dtype == BUD_FLOAT64);
  bud_array_free(&o);
  y = -INFINITY;
  CHECK_EQ_INT(bud_eval(ctx, "f * y", 2, in2, 1, &o), BUD_OK);
  CHECK(o.dtype == BUD_FLOAT32 && o.data && isinf(((float *)o.data)[0]));
  bud_array_free(&o);
}

static void test_eval_cache(BudContext *ctx) {
  double a[3] = {1, 2, 3};
  BudArray A, o;
  int64_t n = 3;
  bud_array_view(ctx, &A, a, BUD_FLOAT64, 1, &n, NULL);
  BudInput in[1] = {{"a", &A}};
  BudStats s0, s1;
  bud_stats(ctx, &s0);
  memset(&o, 0, sizeof o);
  for (int k = 0; k < 3; k++) {
    CHECK_EQ_INT(bud_eval(ctx, "a * a - 1", 1, in, 1, &o), BUD_OK);
    CHECK(o.data && ((double *)o.data)[2] == 8.0);
    bud_array_free(&o);
  }
  bud_stats(ctx, &s1);
  CHECK_EQ_INT(s1.program_cache_misses - s0.program_cache_misses, 1);
  CHECK_EQ_INT(s1.program_cache_hits - s0.program_cache_hits, 2);
  CHECK_EQ_INT(s1.compiles - s0.compiles, 1);
  CHECK_EQ_INT(s1.runs - s0.runs, 3);
  /* A different shape is a different program. */
  n = 2;
  bud_array_view(ctx, &A, a, BUD_FLOAT64, 1, &n, NULL);
  CHECK_EQ_INT(bud_eval(ctx, "a * a - 1", 1, in, 1, &o), BUD_OK);
  CHECK(o.shape[0] == 2);
  bud_array_free(&o);
  bud_stats(ctx, &s0);
  CHECK_EQ_INT(s0.program_cache_misses - s1.program_cache_misses, 1);
  /* The cache is bounded (LRU): after 300 other programs the first one is compiled again. */
  char src[64];
  for (int k = 0; k < 300; k++) {
    snprintf(src, sizeof src, "a + %d", k);
    CHECK_MSG(bud_eval(ctx, src, 1, in, 1, &o) == BUD_OK, "%s: %s", src, bud_last_error(ctx));
    bud_array_free(&o);
  }
  bud_stats(ctx, &s1);
  CHECK_EQ_INT(bud_eval(ctx, "a * a - 1", 1, in, 1, &o), BUD_OK);
  bud_array_free(&o);
  bud_stats(ctx, &s0);
  CHECK_EQ_INT(s0.program_cache_misses - s1.program_cache_misses, 1);
  /* Errors through bud_eval. */
  CHECK_EQ_INT(bud_eval(NULL, "a", 1, in, 1, &o), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_eval(ctx, NULL, 1, in, 1, &o), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_eval(ctx, "a", 1, NULL, 1, &o), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_eval(ctx, "a +* 2", 1, in, 1, &o), BUD_ERR_PARSE);
  CHECK_EQ_INT(bud_eval(ctx, "a", 1, in, 2, &o), BUD_ERR_INVALID);
  BudInput noarr[1] = {{"a", NULL}};
  CHECK_EQ_INT(bud_eval(ctx, "a", 1, noarr, 1, &o), BUD_ERR_INVALID);
}

static void test_explain(BudContext *ctx) {
  float a[8];
  BudArray A;
  int64_t n = 8;
  bud_array_view(ctx, &A, a, BUD_FLOAT32, 1, &n, NULL);
  BudInput in[1] = {{"a", &A}};
  char *t = bud_explain(ctx, "sqrt(a*a + 1)", 1, in);
  CHECK(t != NULL);
  if (t) {
    CHECK(strstr(t, "== input ==") != NULL);
    CHECK(strstr(t, "sqrt") != NULL);
    CHECK(strstr(t, "group") != NULL);
    bud_free(t);
  }
  CHECK(bud_explain(ctx, "sqrt(", 1, in) == NULL);
  CHECK_EQ_INT(bud_last_status(ctx), BUD_ERR_PARSE);
  CHECK(bud_explain(NULL, "a", 1, in) == NULL);
  CHECK(bud_explain(ctx, NULL, 1, in) == NULL);
  CHECK_EQ_INT(bud_last_status(ctx), BUD_ERR_INVALID);
}

static void test_graph(BudContext *ctx) {
  CHECK(bud_graph_new(NULL) == NULL);
  BudGraph *g = bud_graph_new(ctx);
  CHECK(g != NULL);
  if (!g) return;
  int64_t n = 5;
  int a = bud_graph_input(g, "a", BUD_FLOAT32, 1, &n);
  int b = bud_graph_input(g, "b", BUD_FLOAT32, 1, &n);
  CHECK(a >= 0 && b >= 0);
  CHECK_EQ_INT(bud_graph_input(g, "a", BUD_FLOAT32, 1, &n), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_input(g, NULL, BUD_FLOAT32, 1, &n), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_input(g, "c", (BudDType)-3, 1, &n), BUD_ERR_INVALID);
  int two = bud_graph_const_f64(g, 2.0), three = bud_graph_const_i64(g, 3);
  CHECK(two >= 0 && three >= 0);
  int t1 = bud_graph_op(g, "multiply", 2, (int[]){two, a});
  int t2 = bud_graph_op(g, "multiply", 2, (int[]){three, b});
  int sum = bud_graph_op(g, "add", 2, (int[]){t1, t2});
  CHECK(t1 >= 0 && t2 >= 0 && sum >= 0);
  CHECK_EQ_INT(bud_graph_op(g, "frobnicate", 1, (int[]){a}), BUD_ERR_NAME);
  ERRHAS(ctx, "frobnicate");
  CHECK_EQ_INT(bud_graph_op(g, "fma", 3, (int[]){a, a, a}), BUD_ERR_NAME); /* internal */
  CHECK_EQ_INT(bud_graph_op(g, "add", 1, (int[]){a}), BUD_ERR_INVALID);
  ERRHAS(ctx, "'add' takes 2 arguments, 1 given");
  CHECK_EQ_INT(bud_graph_op(g, "add", 2, (int[]){a, 999}), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_op(g, "add", 2, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_op(g, NULL, 1, (int[]){a}), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_op(g, "sum", 1, (int[]){a}), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_op(g, "float64", 2, (int[]){a, b}), BUD_ERR_INVALID);
  int c64 = bud_graph_op(g, "float64", 1, (int[]){sum});
  CHECK(c64 >= 0);
  int red = bud_graph_reduce(g, "max", sum, BUD_AXIS_ALL);
  CHECK(red >= 0);
  CHECK_EQ_INT(bud_graph_reduce(g, "add", sum, 0), BUD_ERR_NAME);
  CHECK_EQ_INT(bud_graph_reduce(g, "sum", -1, 0), BUD_ERR_INVALID);
  CHECK(bud_graph_reduce(g, "sum", sum, 3) < 0); /* axis out of range */
  BudProgram *p = NULL;
  CHECK_EQ_INT(bud_graph_compile(g, &p), BUD_ERR_INVALID); /* no outputs yet */
  ERRHAS(ctx, "no outputs");
  CHECK_EQ_INT(bud_graph_output(g, "y", sum), BUD_OK);
  CHECK_EQ_INT(bud_graph_output(g, "y", sum), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_output(g, "z", 12345), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_output(g, "m", red), BUD_OK);
  CHECK_EQ_INT(bud_graph_output(g, "d", c64), BUD_OK);
  CHECK_EQ_INT(bud_graph_compile(g, NULL), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_compile(g, &p), BUD_OK);
  if (p) {
    float av[5] = {1, 2, 3, 4, 5}, bv[5] = {10, 20, 30, 40, -50};
    BudArray arr[2], outs[3];
    bud_array_view(ctx, &arr[0], av, BUD_FLOAT32, 1, &n, NULL);
    bud_array_view(ctx, &arr[1], bv, BUD_FLOAT32, 1, &n, NULL);
    memset(outs, 0, sizeof outs);
    CHECK_EQ_INT(bud_run(ctx, p, 2, arr, 3, outs), BUD_OK);
    if (outs[0].data && outs[1].data && outs[2].data) {
      CHECK(outs[0].dtype == BUD_FLOAT32 && ((float *)outs[0].data)[4] == 10 - 150);
      CHECK(*(float *)outs[1].data == 128);
      CHECK(outs[2].dtype == BUD_FLOAT64 && ((double *)outs[2].data)[1] == 64);
    }
    for (int k = 0; k < 3; k++) bud_array_free(&outs[k]);
    bud_program_free(p);
  }
  /* The graph stays usable: add another output, compile again. */
  int neg = bud_graph_op(g, "negative", 1, (int[]){a});
  CHECK(neg >= 0);
  CHECK_EQ_INT(bud_graph_output(g, "n", neg), BUD_OK);
  p = NULL;
  CHECK_EQ_INT(bud_graph_compile(g, &p), BUD_OK);
  CHECK_EQ_INT(bud_program_noutputs(p), 4);
  bud_program_free(p);
  bud_graph_free(g);
  bud_graph_free(NULL);
  CHECK_EQ_INT(bud_graph_input(NULL, "a", BUD_FLOAT32, 1, &n), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_output(NULL, "a", 0), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_graph_compile(NULL, &p), BUD_ERR_INVALID);
}

/* Two contexts in two threads, each compiling and running its own programs at the same time. */
typedef struct ThreadJob {
  int id;
  int failures;
} ThreadJob;

static void *thread_main(void *arg) {
  ThreadJob *job = arg;
  BudContext *ctx = bud_context_new();
  if (!ctx) {
    job->failures++;
    return NULL;
  }
  enum { N = 4096 };
  float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
  for (int i = 0; i < N; i++) a[i] = (float)(i % 97) + job->id, b[i] = (float)(i % 13);
  BudArray A, B, o;
  int64_t n = N;
  bud_array_view(ctx, &A, a, BUD_FLOAT32, 1, &n, NULL);
  bud_array_view(ctx, &B, b, BUD_FLOAT32, 1, &n, NULL);
  BudInput in[2] = {{"a", &A}, {"b", &B}};
  char src[64];
  for (int k = 0; k < 200; k++) {
    snprintf(src, sizeof src, "a*b + %d", k % 20 + job->id * 100);
    memset(&o, 0, sizeof o);
    if (bud_eval(ctx, src, 2, in, 1, &o) != BUD_OK) {
      job->failures++;
      continue;
    }
    float c = (float)(k % 20 + job->id * 100);
    for (int i = 0; i < N; i += 101)
      if (((float *)o.data)[i] != a[i] * b[i] + c) job->failures++;
    bud_array_free(&o);
  }
  BudStats st;
  bud_stats(ctx, &st);
  if (st.runs != 200 || st.program_cache_misses != 20) job->failures++;
  free(a);
  free(b);
  bud_context_free(ctx);
  return NULL;
}

static void test_threads(void) {
  pthread_t t[2];
  ThreadJob jobs[2] = {{1, 0}, {2, 0}};
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, thread_main, &jobs[i]) == 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  CHECK_EQ_INT(jobs[0].failures, 0);
  CHECK_EQ_INT(jobs[1].failures, 0);
}

int main(void) {
  BudContext *ctx = bud_context_new();
  CHECK(ctx != NULL);
  test_basics(ctx);
  test_arrays(ctx);
  test_compile_errors(ctx);
  test_compile_run(ctx);
  test_scalars(ctx);
  test_eval_cache(ctx);
  test_explain(ctx);
  test_graph(ctx);
  BudStats st;
  bud_stats(ctx, &st);
  CHECK(st.compiles > 300 && st.runs > 300 && st.compile_ns > 0);
  bud_context_free(ctx);
  test_threads();
  return check_done("api");
}
