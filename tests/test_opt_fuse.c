/* test_opt_fuse.c — fusion, recompute/materialize, buffer sharing and fast-math through the
 * public API, against a reference. Random Flow programs over 2-D float32/float64 inputs given
 * as non-contiguous views (a transposed Fortran-order buffer, a column slice, a reversed row
 * vector, a column (M,1)) with several outputs sharing a subexpression, reductions in the middle
 * (sum over axis 0 broadcast back as a row, mean over all axes) and at the end (axis 1).
 * The reference evaluates the same tree one op at a time on materialized (M,N) intermediates in
 * double, rounding every result to the dtype (for + - * / sqrt that is exactly the float32
 * operation: double has more than 2p+2 bits), so it equals the VM's element-wise loops bit for
 * bit. Tolerances: element-wise-only outputs must match bit for bit; outputs downstream of a
 * reduction within 1e-9 (float64) / 2e-4 (float32) relative to |ref| + 1 (the order of a float
 * sum differs); fast-math on: the same tolerances (affine folding and fma contraction round
 * differently, never by more).
 */
#define _GNU_SOURCE
#include "check.h"
#include "bud.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { SH_FULL, SH_ROW, SH_COL, SH_SCALAR };
static int sh_join(int a, int b) {
  if (a == b) return a;
  if (a == SH_SCALAR) return b;
  if (b == SH_SCALAR) return a;
  return SH_FULL; /* row x col, anything x full */
}

typedef struct Rng { uint64_t s; } Rng;
static uint32_t rnd(Rng *r) {
  r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(r->s >> 33);
}

static int M, N;
static bool is_f32;
static double *in_full[4]; /* a, b, c (row), d (col), each as an (M,N) broadcast matrix */

typedef struct Val {
  double *v; /* M*N, broadcast */
  int sh;
  bool reduced; /* a reduction upstream */
} Val;

static double rnd_dt(double x) { return is_f32 ? (double)(float)x : x; }

static Val val_new(int sh, bool reduced) {
  Val r = {calloc((size_t)(M * N), sizeof(double)), sh, reduced};
  return r;
}

/* Generates an expression of depth <= depth into text and evaluates it. */
static Val gen(Rng *r, int depth, char *text, size_t cap, const Val *shared) {
  int k = depth <= 0 ? (int)(rnd(r) % 3) : (int)(rnd(r) % 11);
  if (k == 0 || k == 1) { /* an input */
    int i = (int)(rnd(r) % 4);
    static const char *names[] = {"a", "b", "c", "d"};
    static const int shs[] = {SH_FULL, SH_FULL, SH_ROW, SH_COL};
    snprintf(text, cap, "%s", names[i]);
    Val o = val_new(shs[i], false);
    memcpy(o.v, in_full[i], sizeof(double) * (size_t)(M * N));
    return o;
  }
  if (k == 2) {
    if (shared) {
      snprintf(text, cap, "_t");
      Val o = val_new(shared->sh, shared->reduced);
      memcpy(o.v, shared->v, sizeof(double) * (size_t)(M * N));
      return o;
    }
    static const double cs[] = {0.5, 2.0, 3.0, 1.0, 0.25};
    double c = cs[rnd(r) % 5];
    snprintf(text, cap, "%g", c);
    Val o = val_new(SH_SCALAR, false);
    for (int e = 0; e < M * N; e++) o.v[e] = c;
    return o;
  }
  char *t1 = malloc(4096), *t2 = malloc(4096), *t3 = malloc(4096);
  Val x = gen(r, depth - 1, t1, 4096, shared), y = {0}, o;
  if (k >= 3 && k <= 7) { /* binary */
    y = gen(r, depth - 1, t2, 4096, shared);
    o = val_new(sh_join(x.sh, y.sh), x.reduced || y.reduced);
    for (int e = 0; e < M * N; e++) {
      double p = x.v[e], q = y.v[e];
      switch (k) {
      case 3: o.v[e] = rnd_dt(p + q); break;
      case 4: o.v[e] = rnd_dt(p - q); break;
      case 5: o.v[e] = rnd_dt(p * q); break;
      case 6: o.v[e] = rnd_dt(p / rnd_dt(fabs(q) + 1)); break;
      default: o.v[e] = p > q ? p : q; break;
      }
    }
    static const char *fmt[] = {"(%s + %s)", "(%s - %s)", "(%s * %s)", "(%s / (abs(%s) + 1))",
                                "maximum(%s, %s)"};
    snprintf(text, cap, fmt[k - 3], t1, t2);
  } else if (k == 8) { /* where */
    y = gen(r, depth - 1, t2, 4096, shared);
    o = val_new(sh_join(x.sh, y.sh), x.reduced || y.reduced);
    for (int e = 0; e < M * N; e++) o.v[e] = x.v[e] > y.v[e] ? x.v[e] : rnd_dt(y.v[e] * 0.5);
    snprintf(text, cap, "where(%s > %s, %s, %s * 0.5)", t1, t2, t1, t2);
  } else if (k == 9) { /* sqrt(abs(x)) */
    o = val_new(x.sh, x.reduced);
    for (int e = 0; e < M * N; e++) o.v[e] = rnd_dt(sqrt(fabs(x.v[e])));
    snprintf(text, cap, "sqrt(abs(%s))", t1);
  } else if (x.sh == SH_FULL && (rnd(r) & 1)) { /* sum over axis 0, broadcast back as a row */
    o = val_new(SH_ROW, true);
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int i = 0; i < M; i++) s += x.v[i * N + j];
      for (int i = 0; i < M; i++) o.v[i * N + j] = rnd_dt(s);
    }
    snprintf(text, cap, "sum(%s, axis=0)", t1);
  } else { /* mean over every axis of x's own shape */
    int cnt = x.sh == SH_FULL ? M * N : x.sh == SH_ROW ? N : x.sh == SH_COL ? M : 1;
    double s = 0;
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++)
        if ((x.sh == SH_FULL) || (x.sh == SH_ROW && i == 0) || (x.sh == SH_COL && j == 0) ||
            (i == 0 && j == 0))
          s += x.v[i * N + j];
    o = val_new(SH_SCALAR, true);
    for (int e = 0; e < M * N; e++) o.v[e] = rnd_dt(s / cnt);
    snprintf(text, cap, "mean(%s)", t1);
  }
  free(x.v);
  free(y.v);
  free(t1);
  free(t2);
  free(t3);
  return o;
}

typedef struct Ref {
  Val v;
  bool axis1; /* sum over axis 1 of v (shape (M,)) */
} Ref;

static int64_t sh_dims(int sh, int64_t *shape) {
  switch (sh) {
  case SH_FULL: shape[0] = M, shape[1] = N; return 2;
  case SH_ROW: shape[0] = N; return 1;
  case SH_COL: shape[0] = M, shape[1] = 1; return 2;
  default: return 0;
  }
}

static double out_at(const BudArray *o, int64_t k) {
  /* element k in C order of a Bud-allocated (contiguous) output, by its own dtype (a tree of
   * 0-d values only follows NumPy's scalar promotion: `1` stays an int64, float32 * 0.5 a
   * float64) */
  switch (o->dtype) {
  case BUD_FLOAT32: return (double)((float *)o->data)[k];
  case BUD_FLOAT64: return ((double *)o->data)[k];
  case BUD_INT64: return (double)((int64_t *)o->data)[k];
  default: return NAN;
  }
}

/* Compares output o with reference ref; returns the number of mismatches. */
static int compare(const BudArray *o, const Ref *ref, bool exact, double tol) {
  int bad = 0;
  if (ref->axis1) {
    for (int i = 0; i < M; i++) {
      double s = 0;
      for (int j = 0; j < N; j++) s += ref->v.v[i * N + j];
      double want = rnd_dt(s), got = out_at(o, i);
      if (!(fabs(got - want) <= tol * (fabs(want) + 1))) bad++;
    }
    return bad;
  }
  int64_t shape[2];
  int nd = (int)sh_dims(ref->v.sh, shape);
  if (o->ndim != nd) return 1000;
  int64_t n = bud_array_size(o);
  for (int64_t k = 0; k < n; k++) {
    int i, j;
    switch (ref->v.sh) {
    case SH_FULL: i = (int)(k / N), j = (int)(k % N); break;
    case SH_ROW: i = 0, j = (int)k; break;
    case SH_COL: i = (int)k, j = 0; break;
    default: i = j = 0; break;
    }
    double want = ref->v.v[i * N + j], got = out_at(o, k);
    bool ok = exact ? memcmp(&want, &got, sizeof want) == 0 || (want == got)
                    : fabs(got - want) <= tol * (fabs(want) + 1);
    if (!ok) bad++;
  }
  return bad;
}

/* Input storage as non-contiguous views. */
typedef struct Inputs {
  void *abuf, *bbuf, *cbuf, *dbuf;
  BudArray arr[4];
} Inputs;

static void put(void *buf, int64_t k, double v) {
  if (is_f32) ((float *)buf)[k] = (float)v;
  else ((double *)buf)[k] = v;
}

static void make_inputs(BudContext *ctx, Rng *r, Inputs *in) {
  int es = is_f32 ? 4 : 8;
  BudDType dt = is_f32 ? BUD_FLOAT32 : BUD_FLOAT64;
  for (int i = 0; i < 4; i++) {
    free(in_full[i]);
    in_full[i] = calloc((size_t)(M * N), sizeof(double));
  }
  in->abuf = calloc((size_t)(M * N), (size_t)es);     /* a: Fortran order (transposed storage) */
  in->bbuf = calloc((size_t)(M * 2 * N), (size_t)es); /* b: every other column of (M, 2N) */
  in->cbuf = calloc((size_t)N, (size_t)es);           /* c: reversed (negative stride) */
  in->dbuf = calloc((size_t)M, (size_t)es);           /* d: (M,1) contiguous */
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double va = rnd_dt(((int)(rnd(r) % 4001) - 2000) / 1000.0);
      double vb = rnd_dt(((int)(rnd(r) % 4001) - 2000) / 997.0);
      put(in->abuf, j * M + i, va);
      put(in->bbuf, i * 2 * N + 2 * j, vb);
      in_full[0][i * N + j] = va;
      in_full[1][i * N + j] = vb;
    }
  for (int j = 0; j < N; j++) {
    double vc = rnd_dt(((int)(rnd(r) % 2001) - 1000) / 300.0);
    put(in->cbuf, N - 1 - j, vc);
    for (int i = 0; i < M; i++) in_full[2][i * N + j] = vc;
  }
  for (int i = 0; i < M; i++) {
    double vd = rnd_dt(((int)(rnd(r) % 2001) - 1000) / 700.0);
    put(in->dbuf, i, vd);
    for (int j = 0; j < N; j++) in_full[3][i * N + j] = vd;
  }
  int64_t sa[2] = {M, N}, sta[2] = {es, (int64_t)es * M};
  int64_t stb[2] = {(int64_t)es * 2 * N, 2 * es};
  int64_t sc[1] = {N}, stc[1] = {-es};
  int64_t sd[2] = {M, 1};
  CHECK(bud_array_view(ctx, &in->arr[0], in->abuf, dt, 2, sa, sta) == BUD_OK);
  CHECK(bud_array_view(ctx, &in->arr[1], in->bbuf, dt, 2, sa, stb) == BUD_OK);
  CHECK(bud_array_view(ctx, &in->arr[2], (char *)in->cbuf + (int64_t)es * (N - 1), dt, 1, sc,
                       stc) == BUD_OK);
  CHECK(bud_array_view(ctx, &in->arr[3], in->dbuf, dt, 2, sd, NULL) == BUD_OK);
}

static void free_inputs(Inputs *in) {
  free(in->abuf);
  free(in->bbuf);
  free(in->cbuf);
  free(in->dbuf);
}

/* Compiles and runs source with the given fast-math setting; compares the outputs. */
static void run_case(BudContext *ctx, Inputs *in, const char *src, Ref *refs, int nref,
                     int fast, int *nprog_bad) {
  BudInput bi[4] = {{"a", &in->arr[0]}, {"b", &in->arr[1]}, {"c", &in->arr[2]},
                    {"d", &in->arr[3]}};
  CHECK(bud_set_fast_math(ctx, fast) == BUD_OK);
  BudProgram *p = NULL;
  BudStatus st = bud_compile(ctx, src, 4, bi, &p);
  CHECK_MSG(st == BUD_OK, "%s: %s", src, bud_last_error(ctx));
  if (st != BUD_OK) return;
  BudArray out[4];
  memset(out, 0, sizeof out);
  st = bud_run(ctx, p, 4, in->arr, nref, out);
  CHECK_MSG(st == BUD_OK, "%s: run: %s", src, bud_last_error(ctx));
  for (int k = 0; st == BUD_OK && k < nref; k++) {
    bool exact = !refs[k].v.reduced && !refs[k].axis1 && !fast && refs[k].v.sh != SH_SCALAR;
    double tol = is_f32 ? 2e-4 : 1e-9;
    int bad = compare(&out[k], &refs[k], exact, tol);
    if (bad) (*nprog_bad)++;
    CHECK_MSG(bad == 0, "%s (%s, fast-math %d, output %d): %d elements differ", src,
              is_f32 ? "float32" : "float64", fast, k, bad);
  }
  for (int k = 0; k < nref; k++) bud_array_free(&out[k]);
  bud_program_free(p);
}

static void test_random(BudContext *ctx) {
  Rng r = {12345};
  int nbad = 0;
  for (int iter = 0; iter < 160; iter++) {
    M = 3 + (int)(rnd(&r) % 30);
    N = 2 + (int)(rnd(&r) % 40);
    is_f32 = iter & 1;
    Inputs in;
    make_inputs(ctx, &r, &in);
    char *src = malloc(65536), *t = malloc(4096);
    Ref refs[3];
    Val shared = gen(&r, 3, t, 4096, NULL);
    int w = snprintf(src, 65536, "_t = %s", t);
    int nout = 2 + (int)(rnd(&r) % 2);
    for (int k = 0; k < nout; k++) {
      refs[k].v = gen(&r, 3, t, 4096, &shared);
      refs[k].axis1 = false;
      if (k == nout - 1 && refs[k].v.sh == SH_FULL && (rnd(&r) & 1)) {
        refs[k].axis1 = true;
        w += snprintf(src + w, (size_t)(65536 - w), "; o%d = sum(%s, axis=1)", k, t);
      } else {
        w += snprintf(src + w, (size_t)(65536 - w), "; o%d = %s", k, t);
      }
    }
    run_case(ctx, &in, src, refs, nout, 0, &nbad);
    run_case(ctx, &in, src, refs, nout, 1, &nbad);
    for (int k = 0; k < nout; k++) free(refs[k].v.v);
    free(shared.v);
    free(src);
    free(t);
    free_inputs(&in);
  }
  CHECK_EQ_INT(nbad, 0);
}

/* The expressions: reductions anywhere, over all axes and over one axis of 2-D data. */
static void test_named(BudContext *ctx) {
  static const char *srcs[] = {
      "o = a - sum(a)/12",         "o = sum(a*b) + 1",          "o = where(a > mean(a), a, 0)",
      "o = a - sum(a, axis=0)/4",  "o = b * c + d",             "o = sum(a*b, axis=1)",
      "o = where(b > mean(b, axis=0), b, c)",
  };
  M = 4, N = 3, is_f32 = false;
  Rng r = {7};
  Inputs in;
  make_inputs(ctx, &r, &in);
  BudInput bi[4] = {{"a", &in.arr[0]}, {"b", &in.arr[1]}, {"c", &in.arr[2]}, {"d", &in.arr[3]}};
  for (size_t s = 0; s < sizeof srcs / sizeof *srcs; s++) {
    BudArray out[1];
    memset(out, 0, sizeof out);
    BudStatus st = bud_eval(ctx, srcs[s], 4, bi, 1, out);
    CHECK_MSG(st == BUD_OK, "%s: %s", srcs[s], bud_last_error(ctx));
    if (st != BUD_OK) continue;
    double *a = in_full[0], *b = in_full[1], *c = in_full[2], *d = in_full[3];
    double sa = 0, sab = 0, sb0[3] = {0};
    for (int e = 0; e < 12; e++) sa += a[e], sab += a[e] * b[e], sb0[e % 3] += b[e];
    double *o = out[0].data;
    int bad = 0;
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 3; j++) {
        int e = i * 3 + j;
        double want;
        switch (s) {
        case 0: want = a[e] - sa / 12; break;
        case 1: want = sab + 1; break;
        case 2: want = a[e] > sa / 12 ? a[e] : 0; break;
        case 3: {
          double col = 0;
          for (int k = 0; k < 4; k++) col += a[k * 3 + j];
          want = a[e] - col / 4;
          break;
        }
        case 4: want = b[e] * c[e] + d[e]; break;
        case 5: {
          double row = 0;
          for (int k = 0; k < 3; k++) row += a[i * 3 + k] * b[i * 3 + k];
          want = row;
          break;
        }
        default: want = b[e] > sb0[j] / 4 ? b[e] : c[e]; break;
        }
        int64_t n = bud_array_size(&out[0]);
        int64_t k = n == 1 ? 0 : n == 4 ? i : e;
        if (s == 5 && j > 0) continue;
        if (fabs(o[k] - want) > 1e-12 * (fabs(want) + 1)) {
          bad++;
          fprintf(stderr, "%s [%d,%d]: got %g want %g\n", srcs[s], i, j, o[k], want);
        }
      }
    CHECK_MSG(bad == 0, "%s: %d elements differ", srcs[s], bad);
    bud_array_free(&out[0]);
  }
  free_inputs(&in);
}

/* explain shows the cost model, the recompute decision and the shared temp slots. */
static void test_explain(BudContext *ctx) {
  M = 64, N = 64, is_f32 = true;
  Rng r = {9};
  Inputs in;
  make_inputs(ctx, &r, &in);
  BudInput bi[4] = {{"a", &in.arr[0]}, {"b", &in.arr[1]}, {"c", &in.arr[2]}, {"d", &in.arr[3]}};
  CHECK(bud_set_fast_math(ctx, 0) == BUD_OK);
  /* t = a*2 is read by sum(t)'s group and by t + sum(t): recomputing it reads a (already
   * needed) instead of storing and loading t */
  char *x = bud_explain(ctx, "_t = a * 2; o = _t - sum(_t)", 4, bi);
  CHECK(x != NULL);
  if (x) {
    CHECK(strstr(x, "== cost model ==") != NULL);
    CHECK(strstr(x, "multiply: recomputed in 1 more group") != NULL);
    CHECK(strstr(x, "peak temporary memory 4 bytes") != NULL);
    bud_free(x);
  }
  /* t = exp(a) is costlier to recompute than to store once and load */
  x = bud_explain(ctx, "_t = exp(a) * b; o = _t - sum(_t); p = _t * sum(_t, axis=0)", 4, bi);
  CHECK(x != NULL);
  if (x) {
    CHECK(strstr(x, ": materialized: recompute costs") != NULL);
    bud_free(x);
  }
  /* a chain of temps, each read by the next group only: s3 reuses s1's slot */
  x = bud_explain(ctx,
                  "_s1 = sum(a, axis=0); _s2 = sum(a - _s1, axis=0); _s3 = sum(b - _s2, axis=0); "
                  "o = a - _s3",
                  4, bi);
  CHECK(x != NULL);
  if (x) {
    const char *p = strstr(x, "temporaries:");
    CHECK(p != NULL);
    int ntemp = 0, nslots = 0;
    long long peak = 0, unshared = 0;
    if (p)
      CHECK(sscanf(p, "temporaries: %d in %d slots, peak temporary memory %lld bytes (%lld", &ntemp,
                   &nslots, &peak, &unshared) == 4);
    CHECK(nslots < ntemp);
    CHECK(peak < unshared);
    bud_free(x);
  }
  /* fast-math shows in the IR: the affine chain folds */
  CHECK(bud_set_fast_math(ctx, 1) == BUD_OK);
  CHECK_EQ_INT(bud_get_fast_math(ctx), 1);
  x = bud_explain(ctx, "o = (a*0.5 + 1)*2 - 0.5", 4, bi);
  CHECK(x != NULL);
  if (x) {
    const char *after = strstr(x, "== after fastmath ==");
    CHECK(after != NULL);
    CHECK(after && strstr(after, "const 1.5") != NULL);
    bud_free(x);
  }
  CHECK(bud_set_fast_math(ctx, 2) == BUD_ERR_INVALID);
  CHECK(bud_set_fast_math(ctx, 0) == BUD_OK);
  free_inputs(&in);
}

int main(void) {
  setenv("BUD_NO_CALIBRATE", "1", 1); /* fixed machine model: decisions do not vary */
  BudContext *ctx = bud_context_new();
  test_named(ctx);
  test_random(ctx);
  test_explain(ctx);
  bud_context_free(ctx);
  for (int i = 0; i < 4; i++) free(in_full[i]);
  return check_done("test_opt_fuse");
}
