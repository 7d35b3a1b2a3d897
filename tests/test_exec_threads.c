/* test_exec_threads.c — the executor on several threads, through the public API: results for 1,
 * 2, 3 and 4 threads (element-wise bit-identical to one thread and to C; reductions identical run
 * to run for a thread count, within tolerance across counts, min/max/argmin/argmax exact) at odd
 * sizes and around the chunking limits, strided, negative, transposed and broadcast inputs,
 * reductions over all axes and each axis, argmax ties and NaN across chunk boundaries (the FIRST
 * index), outputs allocated and given (also strided), an error raised by a later chunk, a fork,
 * many short runs, one program run from two threads with two contexts, idle workers after a run,
 * and bud_set_num_threads. Chunking is forced on small arrays with the context's test knob
 * par_min_bytes (work per extra chunk), and checked at the default threshold too.
 */
#define _GNU_SOURCE
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BUD_TEST_TSAN 1
#endif
#endif
#include "base/base.h"
#include "bud.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAXT = 4 };

static BudProgram *compile(BudContext *ctx, const char *src, int nin, const char *const *names,
                           const BudArray *ins) {
  BudInput bi[8];
  for (int i = 0; i < nin; i++) bi[i] = (BudInput){names[i], &ins[i]};
  BudProgram *prog = NULL;
  if (bud_compile(ctx, src, nin, bi, &prog) != BUD_OK) {
    fprintf(stderr, "compile '%s': %s\n", src, bud_last_error(ctx));
    return NULL;
  }
  return prog;
}

static size_t out_bytes(const BudArray *a) {
  return (size_t)bud_array_size(a) * (size_t)bud_dtype_size(a->dtype);
}

/* Runs prog with nt threads (forced chunking when force) into freshly allocated outputs. */
static BudStatus run_t(BudContext *ctx, BudProgram *prog, int nt, bool force, int nin,
                       const BudArray *ins, int nout, BudArray *outs) {
  CHECK_EQ_INT(bud_set_num_threads(ctx, nt), BUD_OK);
  ctx->par_min_bytes = force ? 1 : 0;
  memset(outs, 0, sizeof *outs * (size_t)nout);
  BudStats before, after;
  bud_stats(ctx, &before);
  BudStatus st = bud_run(ctx, prog, nin, ins, nout, outs);
  if (st != BUD_OK) fprintf(stderr, "run: %s\n", bud_last_error(ctx));
  bud_stats(ctx, &after); /* threads start here: no run may quietly go serial */
  CHECK_EQ_INT(after.serial_fallbacks, before.serial_fallbacks);
  return st;
}

static BudArray arr1(BudContext *ctx, BudDType dt, int64_t n) {
  BudArray a;
  CHECK_EQ_INT(bud_array_alloc(ctx, &a, dt, 1, &n), BUD_OK);
  return a;
}

static void fill_f32(float *p, int64_t n, unsigned seed) {
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (float)((seed >> 8) % 20001) / 1000.0f - 10.0f;
  }
}

/* Runs src over the inputs with 1..MAXT threads (forced chunking and default) and checks that
 * every output is bit-identical to the 1-thread result. Returns the 1-thread outputs. */
static void same_for_all_threads(BudContext *ctx, const char *src, int nin,
                                 const char *const *names, const BudArray *ins, const char *label) {
  BudProgram *prog = compile(ctx, src, nin, names, ins);
  CHECK(prog != NULL);
  if (!prog) return;
  BudArray ref[1], got[1];
  if (run_t(ctx, prog, 1, false, nin, ins, 1, ref) != BUD_OK) {
    CHECK(0);
    bud_program_free(prog);
    return;
  }
  for (int t = 2; t <= MAXT; t++)
    for (int force = 0; force <= 1; force++) {
      BudStatus st = run_t(ctx, prog, t, force, nin, ins, 1, got);
      CHECK_EQ_INT(st, BUD_OK);
      if (st != BUD_OK) continue;
      CHECK_MSG(memcmp(ref[0].data, got[0].data, out_bytes(&ref[0])) == 0,
                "%s: '%s' differs with %d threads (force %d)", label, src, t, force);
      CHECK(((uintptr_t)got[0].data & 63) == 0);
      bud_array_free(&got[0]);
    }
  bud_array_free(&ref[0]);
  bud_program_free(prog);
}

/* ---- element-wise ---------------------------------------------------------------------------- */

static void test_elementwise_sizes(BudContext *ctx) {
  static const int64_t sizes[] = {0, 1, 7, 15, 16, 17, 63, 64, 65, 127, 1000, 4097, 16383,
                                  16384, 32769, 65536 + 7, 300001};
  const char *names[3] = {"a", "b", "c"};
  for (size_t si = 0; si < BUD_ARRAY_LEN(sizes); si++) {
    int64_t n = sizes[si];
    BudArray in[3] = {arr1(ctx, BUD_FLOAT32, n), arr1(ctx, BUD_FLOAT32, n),
                      arr1(ctx, BUD_FLOAT64, n)};
    fill_f32(in[0].data, n, 1);
    fill_f32(in[1].data, n, 2);
    for (int64_t i = 0; i < n; i++) ((double *)in[2].data)[i] = (double)i * 0.25 - 7.0;
    char label[64];
    snprintf(label, sizeof label, "n=%lld", (long long)n);
    same_for_all_threads(ctx, "2*a + 3*b", 2, names, in, label);
    same_for_all_threads(ctx, "sqrt(a*b + 100)", 2, names, in, label);
    same_for_all_threads(ctx, "a * 2.0 - c", 3, names, in, label);
    same_for_all_threads(ctx, "where(a > b, a*2, b - 1)", 2, names, in, label);
    /* and against C with 3 threads, forced */
    BudProgram *prog = compile(ctx, "2*a + 3*b", 2, names, in);
    BudArray out[1];
    if (prog && run_t(ctx, prog, 3, true, 2, in, 1, out) == BUD_OK) {
      const float *a = in[0].data, *b = in[1].data, *o = out[0].data;
      int bad = 0;
      for (int64_t i = 0; i < n; i++) bad += o[i] != 2 * a[i] + 3 * b[i];
      CHECK_MSG(bad == 0, "n=%lld: %d elements differ from C", (long long)n, bad);
      bud_array_free(&out[0]);
    }
    bud_program_free(prog);
    for (int k = 0; k < 3; k++) bud_array_free(&in[k]);
  }
}

/* strided, negative, transposed and broadcast 2-D views */
static void test_elementwise_views(BudContext *ctx) {
  static const int64_t shapes[][2] = {{3, 1001}, {1001, 3}, {257, 129}, {1, 50001}, {50001, 1}};
  const char *names[2] = {"a", "b"};
  for (size_t k = 0; k < BUD_ARRAY_LEN(shapes); k++) {
    int64_t r = shapes[k][0], c = shapes[k][1];
    int64_t n = r * c * 2 + 8;
    float *buf = bud_aligned_alloc((size_t)n * 4), *bbuf = bud_aligned_alloc((size_t)(r + c) * 4);
    fill_f32(buf, n, 7);
    fill_f32(bbuf, r + c, 9);
    int64_t sh[2] = {r, c};
    BudArray a, b;
    char label[80];
    /* a: every other element, rows reversed; b: a column (r, 1) broadcast along rows */
    int64_t st_a[2] = {-2 * c * 4, 8};
    CHECK_EQ_INT(bud_array_view(ctx, &a, buf + (r - 1) * 2 * c, BUD_FLOAT32, 2, sh, st_a), BUD_OK);
    int64_t shb[2] = {r, 1};
    CHECK_EQ_INT(bud_array_view(ctx, &b, bbuf, BUD_FLOAT32, 2, shb, NULL), BUD_OK);
    BudArray in[2] = {a, b};
    snprintf(label, sizeof label, "(%lld,%lld) reversed/strided + column", (long long)r,
             (long long)c);
    same_for_all_threads(ctx, "a*b - a", 2, names, in, label);
    /* a transposed (Fortran order), b a row (c,) broadcast down the rows */
    int64_t st_t[2] = {4, r * 4};
    CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, 2, sh, st_t), BUD_OK);
    CHECK_EQ_INT(bud_array_view(ctx, &b, bbuf, BUD_FLOAT32, 1, &c, NULL), BUD_OK);
    in[0] = a;
    in[1] = b;
    snprintf(label, sizeof label, "(%lld,%lld) transposed + row", (long long)r, (long long)c);
    same_for_all_threads(ctx, "a + b*b", 2, names, in, label);
    bud_aligned_free(buf);
    bud_aligned_free(bbuf);
  }
}

/* outputs given by the caller: contiguous and every other element of a bigger buffer */
static void test_outputs_given(BudContext *ctx) {
  int64_t n = 20011;
  const char *names[2] = {"a", "b"};
  BudArray in[2] = {arr1(ctx, BUD_FLOAT32, n), arr1(ctx, BUD_FLOAT32, n)};
  fill_f32(in[0].data, n, 3);
  fill_f32(in[1].data, n, 4);
  BudProgram *prog = compile(ctx, "a*b + a", 2, names, in);
  CHECK(prog != NULL);
  float *big = calloc((size_t)(2 * n + 1), 4);
  for (int t = 1; t <= MAXT && prog; t++) {
    BudArray out[1];
    int64_t st2 = 8;
    CHECK_EQ_INT(bud_array_view(ctx, &out[0], big + 1, BUD_FLOAT32, 1, &n, &st2), BUD_OK);
    CHECK_EQ_INT(bud_set_num_threads(ctx, t), BUD_OK);
    ctx->par_min_bytes = 1;
    CHECK_EQ_INT(bud_run(ctx, prog, 2, in, 1, out), BUD_OK);
    const float *a = in[0].data, *b = in[1].data;
    int bad = 0;
    for (int64_t i = 0; i < n; i++) bad += big[1 + 2 * i] != a[i] * b[i] + a[i] || big[2 * i] != 0;
    CHECK_MSG(bad == 0, "strided output, %d threads: %d wrong", t, bad);
    memset(big, 0, (size_t)(2 * n + 1) * 4);
    /* the output is the input a itself */
    float *save = malloc((size_t)n * 4);
    memcpy(save, a, (size_t)n * 4);
    out[0] = in[0];
    CHECK_EQ_INT(bud_run(ctx, prog, 2, in, 1, out), BUD_OK);
    bad = 0;
    for (int64_t i = 0; i < n; i++) bad += a[i] != save[i] * b[i] + save[i];
    CHECK_MSG(bad == 0, "output aliasing input, %d threads: %d wrong", t, bad);
    memcpy(in[0].data, save, (size_t)n * 4);
    free(save);
  }
  free(big);
  bud_program_free(prog);
  bud_array_free(&in[0]);
  bud_array_free(&in[1]);
}

/* ---- reductions ------------------------------------------------------------------------------ */

static double scalar_of(const BudArray *a) {
  switch (a->dtype) {
  case BUD_FLOAT32: return *(const float *)a->data;
  case BUD_FLOAT64: return *(const double *)a->data;
  case BUD_INT64: return (double)*(const int64_t *)a->data;
  case BUD_BOOL: return *(const uint8_t *)a->data;
  default: return NAN;
  }
}

static void test_full_reductions(BudContext *ctx) {
  static const int64_t sizes[] = {1, 17, 1000, 65537, 1000003};
  static const struct { const char *src; bool exact; } cases[] = {
      {"sum(a*b)", false}, {"mean(a)", false}, {"max(a*b)", true}, {"min(a)", true},
      {"argmax(a)", true}, {"argmin(a*b)", true}, {"any(a > 9.99)", true}, {"sum(c)", false}};
  const char *names[3] = {"a", "b", "c"};
  for (size_t si = 0; si < BUD_ARRAY_LEN(sizes); si++) {
    int64_t n = sizes[si];
    BudArray in[3] = {arr1(ctx, BUD_FLOAT32, n), arr1(ctx, BUD_FLOAT32, n),
                      arr1(ctx, BUD_FLOAT64, n)};
    fill_f32(in[0].data, n, 11);
    fill_f32(in[1].data, n, 12);
    for (int64_t i = 0; i < n; i++) ((double *)in[2].data)[i] = 1.0 / (double)(i + 1);
    for (size_t k = 0; k < BUD_ARRAY_LEN(cases); k++) {
      BudProgram *prog = compile(ctx, cases[k].src, 3, names, in);
      CHECK(prog != NULL);
      if (!prog) continue;
      double v1 = 0;
      for (int t = 1; t <= MAXT; t++) {
        BudArray o1[1], o2[1];
        if (run_t(ctx, prog, t, true, 3, in, 1, o1) != BUD_OK ||
            run_t(ctx, prog, t, true, 3, in, 1, o2) != BUD_OK) {
          CHECK(0);
          continue;
        }
        double x = scalar_of(&o1[0]), y = scalar_of(&o2[0]);
        CHECK_MSG(memcmp(&x, &y, sizeof x) == 0, "%s n=%lld t=%d: %.17g then %.17g",
                  cases[k].src, (long long)n, t, x, y);
        if (t == 1) v1 = x;
        else if (cases[k].exact)
          CHECK_MSG(x == v1, "%s n=%lld: %.17g with %d threads, %.17g with 1", cases[k].src,
                    (long long)n, x, t, v1);
        else
          CHECK_MSG(fabs(x - v1) <= 1e-5 * (fabs(v1) + 1.0), "%s n=%lld: %.17g (t=%d) vs %.17g",
                    cases[k].src, (long long)n, x, t, v1);
        bud_array_free(&o1[0]);
        bud_array_free(&o2[0]);
      }
      bud_program_free(prog);
    }
    for (int k = 0; k < 3; k++) bud_array_free(&in[k]);
  }
}

/* argmax/argmin ties and NaN placed in different chunks: always the first index */
static void test_arg_ties(BudContext *ctx) {
  const char *names[1] = {"a"};
  /* 1-D, and 2-D (2, n/2) with padded rows (not coalesced) so that flat chunks cut rows */
  int64_t n = 8000, pad = 1;
  float *buf = bud_aligned_alloc((size_t)(n + 2 * pad) * 4);
  static const struct { int64_t pos[3]; int np; bool nan; } cases[] = {
      {{2500, 6500, -1}, 2, false}, {{7999, 7998, -1}, 2, false}, {{0, 7999, 4000}, 3, false},
      {{6001, 2001, 4001}, 3, false}, {{7000, 3000, -1}, 2, true}, {{1999, 2000, 2001}, 3, false}};
  for (int nd = 1; nd <= 2; nd++)
    for (size_t k = 0; k < BUD_ARRAY_LEN(cases); k++) {
      int64_t rs = nd == 1 ? 0 : n / 2 + pad; /* row stride in elements */
      for (int64_t i = 0; i < n + 2 * pad; i++) buf[i] = (float)(i % 100) * 0.01f;
      int64_t first = n;
      for (int j = 0; j < cases[k].np; j++) {
        int64_t f = cases[k].pos[j];
        buf[nd == 1 ? f : f / (n / 2) * rs + f % (n / 2)] = cases[k].nan ? NAN : 5.0f;
        if (f < first) first = f;
      }
      BudArray a;
      int64_t sh[2] = {nd == 1 ? n : 2, n / 2}, st[2] = {rs * 4, 4};
      CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, nd, sh, nd == 1 ? NULL : st),
                   BUD_OK);
      for (int w = 0; w < 2; w++) {
        const char *src = w == 0 ? "argmax(a)" : "argmin(-a)";
        BudProgram *prog = compile(ctx, src, 1, names, &a);
        CHECK(prog != NULL);
        for (int t = 1; t <= MAXT && prog; t++) {
          BudArray o[1];
          if (run_t(ctx, prog, t, true, 1, &a, 1, o) != BUD_OK) {
            CHECK(0);
            continue;
          }
          int64_t got = *(int64_t *)o[0].data;
          CHECK_MSG(got == first, "%s %d-d case %zu, %d threads: %lld, want %lld", src, nd, k,
                    t, (long long)got, (long long)first);
          bud_array_free(&o[0]);
        }
        bud_program_free(prog);
      }
    }
  /* one long row reduced along its axis (flat chunks of a single result row) */
  for (int64_t i = 0; i < n; i++) buf[i] = 1.0f;
  buf[5000] = buf[3000] = 2.0f;
  BudArray a;
  int64_t sh[2] = {1, n};
  CHECK_EQ_INT(bud_array_view(ctx, &a, buf, BUD_FLOAT32, 2, sh, NULL), BUD_OK);
  BudProgram *prog = compile(ctx, "argmax(a, axis=1)", 1, names, &a);
  CHECK(prog != NULL);
  for (int t = 1; t <= MAXT && prog; t++) {
    BudArray o[1];
    if (run_t(ctx, prog, t, true, 1, &a, 1, o) != BUD_OK) continue;
    CHECK_EQ_INT(*(int64_t *)o[0].data, 3000);
    bud_array_free(&o[0]);
  }
  bud_program_free(prog);
  bud_aligned_free(buf);
}

static void test_axis_reductions(BudContext *ctx) {
  static const int64_t shapes[][2] = {{1, 100003}, {1000, 37}, {37, 1000}, {3, 5}, {2, 40001}};
  static const char *srcs[] = {"sum(a, axis=0)", "sum(a, axis=1)", "max(a*a, axis=1)",
                               "argmax(a, axis=0)", "mean(a, axis=1)", "argmin(a, axis=1)"};
  const char *names[1] = {"a"};
  for (size_t k = 0; k < BUD_ARRAY_LEN(shapes); k++) {
    int64_t sh[2] = {shapes[k][0], shapes[k][1]};
    BudArray a;
    CHECK_EQ_INT(bud_array_alloc(ctx, &a, BUD_FLOAT32, 2, sh), BUD_OK);
    fill_f32(a.data, sh[0] * sh[1], 21);
    for (size_t s = 0; s < BUD_ARRAY_LEN(srcs); s++) {
      BudProgram *prog = compile(ctx, srcs[s], 1, names, &a);
      CHECK(prog != NULL);
      if (!prog) continue;
      BudArray ref[1];
      if (run_t(ctx, prog, 1, false, 1, &a, 1, ref) != BUD_OK) {
        bud_program_free(prog);
        continue;
      }
      int64_t m = bud_array_size(&ref[0]);
      bool is_arg = srcs[s][0] == 'a' && srcs[s][1] == 'r';
      for (int t = 2; t <= MAXT; t++) {
        BudArray o[1];
        if (run_t(ctx, prog, t, true, 1, &a, 1, o) != BUD_OK) continue;
        int bad = 0;
        for (int64_t i = 0; i < m; i++) {
          if (is_arg) {
            bad += ((int64_t *)o[0].data)[i] != ((int64_t *)ref[0].data)[i];
          } else {
            double x = o[0].dtype == BUD_FLOAT32 ? ((float *)o[0].data)[i]
                                                 : ((double *)o[0].data)[i];
            double y = o[0].dtype == BUD_FLOAT32 ? ((float *)ref[0].data)[i]
                                                 : ((double *)ref[0].data)[i];
            /* several rows: each row is reduced whole by one chunk, so results are exact */
            bad += sh[0] > 1 || strstr(srcs[s], "axis=0") ? x != y
                                                          : fabs(x - y) > 1e-5 * (fabs(y) + 1);
          }
        }
        CHECK_MSG(bad == 0, "%s on (%lld,%lld), %d threads: %d differ", srcs[s],
                  (long long)sh[0], (long long)sh[1], t, bad);
        bud_array_free(&o[0]);
      }
      bud_array_free(&ref[0]);
      bud_program_free(prog);
    }
    bud_array_free(&a);
  }
}

/* ---- errors, API, fork, repetition, concurrency, idleness ------------------------------------ */

static void test_chunk_error(BudContext *ctx) {
  int64_t n = 10000;
  const char *names[2] = {"a", "b"};
  BudArray in[2] = {arr1(ctx, BUD_INT64, n), arr1(ctx, BUD_INT64, n)};
  for (int64_t i = 0; i < n; i++) ((int64_t *)in[0].data)[i] = 2, ((int64_t *)in[1].data)[i] = 3;
  ((int64_t *)in[1].data)[n - 3] = -1; /* only the last chunk meets it */
  BudProgram *prog = compile(ctx, "a ** b", 2, names, in);
  CHECK(prog != NULL);
  for (int t = 1; t <= MAXT && prog; t++) {
    BudArray o[1];
    CHECK_EQ_INT(bud_set_num_threads(ctx, t), BUD_OK);
    ctx->par_min_bytes = 1;
    memset(o, 0, sizeof o);
    CHECK_EQ_INT(bud_run(ctx, prog, 2, in, 1, o), BUD_ERR_VALUE);
    CHECK_EQ_STR(bud_last_error(ctx), "Integers to negative integer powers are not allowed.");
    CHECK(o[0].data == NULL); /* the output Bud allocated was released */
  }
  bud_program_free(prog);
  bud_array_free(&in[0]);
  bud_array_free(&in[1]);
}

static void test_api(void) {
  BudContext *c = bud_context_new();
  CHECK(bud_get_num_threads(c) >= 1);
  CHECK_EQ_INT(bud_set_num_threads(c, 3), BUD_OK);
  CHECK_EQ_INT(bud_get_num_threads(c), 3);
  CHECK_EQ_INT(bud_set_num_threads(c, -1), BUD_ERR_INVALID);
  CHECK(strstr(bud_last_error(c), "-1 threads") != NULL);
  CHECK_EQ_INT(bud_set_num_threads(c, 257), BUD_ERR_INVALID);
  CHECK_EQ_INT(bud_get_num_threads(c), 3);
  CHECK_EQ_INT(bud_set_num_threads(NULL, 2), BUD_ERR_INVALID);
  setenv("BUD_NUM_THREADS", "3", 1);
  CHECK_EQ_INT(bud_set_num_threads(c, 0), BUD_OK);
  CHECK_EQ_INT(bud_get_num_threads(c), 3);
  BudContext *c2 = bud_context_new();
  CHECK_EQ_INT(bud_get_num_threads(c2), 3);
  setenv("BUD_NUM_THREADS", "junk", 1);
  CHECK_EQ_INT(bud_get_num_threads(c2), (int)sysconf(_SC_NPROCESSORS_ONLN));
  unsetenv("BUD_NUM_THREADS");
  bud_context_free(c2);
  bud_context_free(c);
}

/* a + b over n floats, forced onto nt chunks; true when every element is right */
static bool add_ok(BudContext *ctx, BudProgram *prog, const BudArray *in, BudArray *out) {
  if (bud_run(ctx, prog, 2, in, 1, out) != BUD_OK) return false;
  const float *a = in[0].data, *b = in[1].data, *o = out[0].data;
  for (int64_t i = 0; i < bud_array_size(&in[0]); i++)
    if (o[i] != a[i] + b[i]) return false;
  return true;
}

static void test_fork(BudContext *ctx) {
  int64_t n = 100000;
  const char *names[2] = {"a", "b"};
  BudArray in[2] = {arr1(ctx, BUD_FLOAT32, n), arr1(ctx, BUD_FLOAT32, n)}, out[1];
  fill_f32(in[0].data, n, 5);
  fill_f32(in[1].data, n, 6);
  BudProgram *prog = compile(ctx, "a + b", 2, names, in);
  CHECK(prog != NULL);
  if (!prog) return;
  out[0] = arr1(ctx, BUD_FLOAT32, n);
  CHECK_EQ_INT(bud_set_num_threads(ctx, 2), BUD_OK);
  ctx->par_min_bytes = 1;
  CHECK(add_ok(ctx, prog, in, out)); /* the pool's workers exist now */
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    bool ok = true;
#if defined(__SANITIZE_THREAD__) || defined(BUD_TEST_TSAN)
    /* ThreadSanitizer cannot start threads after a multi-threaded fork: the child checks that
     * it runs serially with the pool it inherited, then without it */
    ctx->par_min_bytes = 0;
    CHECK_EQ_INT(bud_set_num_threads(ctx, 1), BUD_OK);
    for (int i = 0; i < 3; i++) ok = ok && add_ok(ctx, prog, in, out);
#else
    for (int i = 0; i < 20; i++) ok = ok && add_ok(ctx, prog, in, out);
    CHECK_EQ_INT(bud_set_num_threads(ctx, 3), BUD_OK); /* frees the pool inherited */
    ok = ok && add_ok(ctx, prog, in, out);
#endif
    _exit(ok ? 0 : 1);
  }
  CHECK(pid > 0);
  int status = -1;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  CHECK(add_ok(ctx, prog, in, out));
  bud_program_free(prog);
  bud_array_free(&out[0]);
  bud_array_free(&in[0]);
  bud_array_free(&in[1]);
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* many short runs on the pool, then the workers must sleep */
static void test_many_runs_then_idle(BudContext *ctx) {
  int64_t n = 1000;
  const char *names[2] = {"a", "b"};
  BudArray in[2] = {arr1(ctx, BUD_FLOAT32, n), arr1(ctx, BUD_FLOAT32, n)}, out[1];
  fill_f32(in[0].data, n, 8);
  fill_f32(in[1].data, n, 9);
  BudProgram *prog = compile(ctx, "a + b", 2, names, in);
  CHECK(prog != NULL);
  if (!prog) return;
  out[0] = arr1(ctx, BUD_FLOAT32, n);
  CHECK_EQ_INT(bud_set_num_threads(ctx, 3), BUD_OK);
  ctx->par_min_bytes = 1;
  int bad = 0;
  for (int i = 0; i < 3000; i++) bad += !add_ok(ctx, prog, in, out);
  CHECK_EQ_INT(bad, 0);
  double c0 = cpu_seconds();
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, NULL);
  double used = cpu_seconds() - c0;
  CHECK_MSG(used < 0.03, "%.3f s of CPU while idle for 0.1 s: a worker spins", used);
  bud_program_free(prog);
  bud_array_free(&out[0]);
  bud_array_free(&in[0]);
  bud_array_free(&in[1]);
}

typedef struct Shared {
  BudProgram *prog;
  const BudArray *in;
  int seed;
  int bad;
} Shared;

static void *concurrent_runner(void *arg) {
  Shared *sh = arg;
  BudContext *c = bud_context_new();
  bud_set_num_threads(c, 2);
  int64_t n = bud_array_size(&sh->in[0]);
  for (int i = 0; i < 300; i++) {
    c->par_min_bytes = (i + sh->seed) % 3 == 0 ? 0 : 1; /* serial and chunked runs interleave */
    BudArray out[1];
    memset(out, 0, sizeof out);
    if (bud_run(c, sh->prog, 2, sh->in, 1, out) != BUD_OK) {
      sh->bad++;
      continue;
    }
    const float *a = sh->in[0].data, *b = sh->in[1].data, *o = out[0].data;
    for (int64_t k = 0; k < n; k++)
      if (o[k] != a[k] * b[k] - a[k]) {
        sh->bad++;
        break;
      }
    bud_array_free(&out[0]);
  }
  bud_context_free(c);
  return NULL;
}

static void test_concurrent_contexts(BudContext *ctx) {
  int64_t n = 5003;
  const char *names[2] = {"a", "b"};
  BudArray in[2] = {arr1(ctx, BUD_FLOAT32, n), arr1(ctx, BUD_FLOAT32, n)};
  fill_f32(in[0].data, n, 13);
  fill_f32(in[1].data, n, 14);
  BudProgram *prog = compile(ctx, "a*b - a", 2, names, in);
  CHECK(prog != NULL);
  if (!prog) return;
  Shared sh[2] = {{prog, in, 0, 0}, {prog, in, 1, 0}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&th[i], NULL, concurrent_runner, &sh[i]) == 0);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  CHECK_EQ_INT(sh[0].bad, 0);
  CHECK_EQ_INT(sh[1].bad, 0);
  bud_program_free(prog);
  bud_array_free(&in[0]);
  bud_array_free(&in[1]);
}

int main(void) {
  BudContext *ctx = bud_context_new();
  test_api();
  test_elementwise_sizes(ctx);
  test_elementwise_views(ctx);
  test_outputs_given(ctx);
  test_full_reductions(ctx);
  test_arg_ties(ctx);
  test_axis_reductions(ctx);
  test_chunk_error(ctx);
  test_fork(ctx);
  test_many_runs_then_idle(ctx);
  test_concurrent_contexts(ctx);
  bud_context_free(ctx);
  return check_done("exec_threads");
}
