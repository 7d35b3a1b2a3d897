/* test_exec_fusion.c — the executor's fused kinds beyond one loop, through the public API:
 * reduction epilogues (sum(a*b) + 1 and (max - min) * 0.5 over an axis run in ONE group, the
 * epilogue inside its call) and the two-pass kernels a - sum(a)/n and where(a > mean(a), a, 0),
 * checked against independent answers; horizontal batches of small independent groups run as
 * one parallel job (counted in BudStats.parallel_batches) with results bit-identical to one
 * thread and to C, on 1-4 threads; axis-0 reductions run in column tiles (exact float64 column
 * sums in row order, any thread count) and a layout the tiles cannot take.
 */
#define _GNU_SOURCE
#include "base/base.h"
#include "bud.h"
#include "check.h"
#include "plan/plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static BudArray arr(BudContext *ctx, BudDType dt, int ndim, const int64_t *shape) {
  BudArray a;
  CHECK_EQ_INT(bud_array_alloc(ctx, &a, dt, ndim, shape), BUD_OK);
  return a;
}

static void fill_f32(float *p, int64_t n, unsigned seed) {
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (float)((seed >> 8) % 20001) / 1000.0f - 10.0f;
  }
}

/* Runs prog on nt threads (chunking forced on small arrays when force) into fresh outputs. */
static BudStatus run_t(BudContext *ctx, BudProgram *prog, int nt, bool force, int nin,
                       const BudArray *ins, int nout, BudArray *outs) {
  CHECK_EQ_INT(bud_set_num_threads(ctx, nt), BUD_OK);
  ctx->par_min_bytes = force ? 1 : 0;
  memset(outs, 0, sizeof *outs * (size_t)nout);
  BudStatus st = bud_run(ctx, prog, nin, ins, nout, outs);
  ctx->par_min_bytes = 0;
  return st;
}

static int nfused(const BudProgram *prog) {
  int n = 0;
  for (int g = 0; g < prog->ngroups; g++) n += prog->groups[g].kind == GROUP_FUSED;
  return n;
}

/* ---- reduction epilogues --------------------------------------------------------------------- */

static void test_sum_plus_one(BudContext *ctx) {
  static const int64_t sizes[] = {1, 17, 1000, 65537, 300001};
  const char *names[2] = {"a", "b"};
  for (size_t si = 0; si < BUD_ARRAY_LEN(sizes); si++) {
    int64_t n = sizes[si];
    BudArray in[2] = {arr(ctx, BUD_FLOAT32, 1, &n), arr(ctx, BUD_FLOAT32, 1, &n)};
    fill_f32(in[0].data, n, 3);
    fill_f32(in[1].data, n, 4);
    BudProgram *pe = compile(ctx, "sum(a*b) + 1", 2, names, in);
    BudProgram *ps = compile(ctx, "sum(a*b)", 2, names, in);
    CHECK(pe && ps);
    if (!pe || !ps) return;
    /* one group; the + 1 (with its cast to float64) is the group's epilogue */
    CHECK_EQ_INT(pe->ngroups, 1);
    CHECK(pe->groups[0].epilogue != NULL);
    CHECK_EQ_INT(pe->groups[0].plan.nreduces, 1);
    /* the lean call path (bud_call_run) gives the same answer: it leaves epilogues to bud_run */
    BudCall *call = NULL;
    CHECK_EQ_INT(bud_call_new(ctx, pe, &call), BUD_OK);
    if (call) {
      CHECK_EQ_INT(bud_set_num_threads(ctx, 1), BUD_OK);
      BudArray oc[1], ob[1]; /* outputs given, as the lean path wants them */
      oc[0] = arr(ctx, BUD_FLOAT64, 0, NULL);
      ob[0] = arr(ctx, BUD_FLOAT64, 0, NULL);
      *(double *)oc[0].data = NAN;
      CHECK_EQ_INT(bud_call_run(ctx, call, 2, in, 1, oc), BUD_OK);
      CHECK_EQ_INT(bud_run(ctx, pe, 2, in, 1, ob), BUD_OK);
      CHECK_MSG(*(double *)oc[0].data == *(double *)ob[0].data, "bud_call_run: %g, bud_run: %g",
                *(double *)oc[0].data, *(double *)ob[0].data);
      bud_array_free(&oc[0]);
      bud_array_free(&ob[0]);
      bud_call_free(call);
    }
    for (int t = 1; t <= MAXT; t++) {
      BudArray oe[1], os[1];
      if (run_t(ctx, pe, t, true, 2, in, 1, oe) != BUD_OK ||
          run_t(ctx, ps, t, true, 2, in, 1, os) != BUD_OK) {
        CHECK(0);
        continue;
      }
      CHECK_EQ_INT(oe[0].dtype, BUD_FLOAT64);
      double want = (double)*(const float *)os[0].data + 1.0, got = *(const double *)oe[0].data;
      CHECK_MSG(got == want, "sum(a*b)+1 n=%lld t=%d: %.17g, want %.17g", (long long)n, t, got,
                want);
      bud_array_free(&oe[0]);
      bud_array_free(&os[0]);
    }
    bud_program_free(pe);
    bud_program_free(ps);
    bud_array_free(&in[0]);
    bud_array_free(&in[1]);
  }
}

static void test_axis_epilogue(BudContext *ctx) {
  int64_t shape[2] = {1001, 7};
  const char *names[1] = {"x"};
  BudArray x = arr(ctx, BUD_FLOAT64, 2, shape);
  double *px = x.data;
  for (int64_t i = 0; i < shape[0] * shape[1]; i++) px[i] = sin((double)i * 0.37) * 100.0;
  BudProgram *p = compile(ctx, "r = (max(x, axis=0) - min(x, axis=0)) * 0.5; y = x * 2", 1, names,
                          &x);
  CHECK(p != NULL);
  if (!p) return;
  CHECK_EQ_INT(p->ngroups, 1);
  CHECK(p->groups[0].epilogue != NULL);
  double want[7];
  for (int j = 0; j < 7; j++) {
    double mx = -INFINITY, mn = INFINITY;
    for (int64_t i = 0; i < shape[0]; i++) {
      double v = px[i * 7 + j];
      mx = v > mx ? v : mx;
      mn = v < mn ? v : mn;
    }
    want[j] = (mx - mn) * 0.5;
  }
  for (int t = 1; t <= MAXT; t++)
    for (int force = 0; force <= 1; force++) {
      BudArray o[2];
      if (run_t(ctx, p, t, force, 1, &x, 2, o) != BUD_OK) {
        CHECK(0);
        continue;
      }
      CHECK(memcmp(o[0].data, want, sizeof want) == 0);
      int bad = 0;
      for (int64_t i = 0; i < shape[0] * shape[1]; i++) bad += ((double *)o[1].data)[i] != px[i] * 2;
      CHECK_EQ_INT(bad, 0);
      bud_array_free(&o[0]);
      bud_array_free(&o[1]);
    }
  bud_program_free(p);
  bud_array_free(&x);
}

/* a - sum(a)/n and where(a > mean(a), a, 0): two passes (the reduction, then one element-wise
 * pass that reads the 0-d result), equal bit for bit to the same element-wise expression over
 * the reduction's value given as an input. */
static void test_two_pass(BudContext *ctx) {
  int64_t n = 100003;
  BudArray in[2] = {arr(ctx, BUD_FLOAT32, 1, &n), arr(ctx, BUD_FLOAT32, 0, NULL)};
  fill_f32(in[0].data, n, 9);
  const char *names[2] = {"a", "s"};
  static const struct { const char *expr, *red, *given; } cases[] = {
      {"a - sum(a)/100003", "sum(a)", "a - s/100003"},
      {"where(a > mean(a), a, 0)", "mean(a)", "where(a > s, a, 0)"},
  };
  for (size_t k = 0; k < BUD_ARRAY_LEN(cases); k++) {
    BudProgram *pe = compile(ctx, cases[k].expr, 1, names, in);
    BudProgram *pr = compile(ctx, cases[k].red, 1, names, in);
    BudProgram *pg = compile(ctx, cases[k].given, 2, names, in);
    CHECK(pe && pr && pg);
    if (!pe || !pr || !pg) return;
    CHECK_EQ_INT(nfused(pe), 2);
    for (int t = 1; t <= MAXT; t++) {
      BudArray oe[1], orr[1], og[1];
      if (run_t(ctx, pe, t, true, 1, in, 1, oe) != BUD_OK ||
          run_t(ctx, pr, t, true, 1, in, 1, orr) != BUD_OK) {
        CHECK(0);
        continue;
      }
      CHECK_EQ_INT(orr[0].dtype, BUD_FLOAT32);
      *(float *)in[1].data = *(const float *)orr[0].data;
      if (run_t(ctx, pg, 1, false, 2, in, 1, og) != BUD_OK) {
        CHECK(0);
        continue;
      }
      CHECK_MSG(memcmp(oe[0].data, og[0].data, (size_t)n * 4) == 0, "%s differs (t=%d)",
                cases[k].expr, t);
      bud_array_free(&oe[0]);
      bud_array_free(&orr[0]);
      bud_array_free(&og[0]);
    }
    bud_program_free(pe);
    bud_program_free(pr);
    bud_program_free(pg);
  }
  bud_array_free(&in[0]);
  bud_array_free(&in[1]);
}

/* ---- horizontal batches ---------------------------------------------------------------------- */

/* Four small independent groups (four shapes: no loop can hold two of them), one a reduction
 * with an epilogue: a batch. With threads it runs as one parallel job (the test knob forces it
 * at these sizes; the cost model's own choice is checked on a larger case), results equal to
 * one thread and to C. */
static void test_batch(BudContext *ctx) {
  int64_t na = 3001, nb = 2000, nc = 1501, nd = 777;
  BudArray in[4] = {arr(ctx, BUD_FLOAT32, 1, &na), arr(ctx, BUD_FLOAT32, 1, &nb),
                    arr(ctx, BUD_FLOAT64, 1, &nc), arr(ctx, BUD_FLOAT32, 1, &nd)};
  fill_f32(in[0].data, na, 1);
  fill_f32(in[1].data, nb, 2);
  fill_f32(in[3].data, nd, 4);
  for (int64_t i = 0; i < nc; i++) ((double *)in[2].data)[i] = 1.0 / (double)(i + 3);
  const char *names[4] = {"a", "b", "c", "d"};
  BudProgram *p =
      compile(ctx, "x = a*2 + 1; y = sqrt(b*b + 1); z = sum(c*c) * 2; w = where(d > 0, d, -d)", 4,
              names, in);
  CHECK(p != NULL);
  if (!p) return;
  CHECK_EQ_INT(p->ngroups, 4);
  int nbatched = 0;
  for (int g = 0; g < p->ngroups; g++) nbatched += p->groups[g].batch == 0;
  CHECK_EQ_INT(nbatched, 4);
  BudArray ref[4];
  CHECK_EQ_INT(run_t(ctx, p, 1, false, 4, in, 4, ref), BUD_OK);
  /* against C */
  int bad = 0;
  for (int64_t i = 0; i < na; i++) bad += ((float *)ref[0].data)[i] != ((float *)in[0].data)[i] * 2 + 1;
  for (int64_t i = 0; i < nb; i++) {
    float b = ((float *)in[1].data)[i];
    bad += ((float *)ref[1].data)[i] != sqrtf(b * b + 1);
  }
  for (int64_t i = 0; i < nd; i++) {
    float d = ((float *)in[3].data)[i];
    bad += ((float *)ref[3].data)[i] != (d > 0 ? d : -d);
  }
  double zc = 0;
  for (int64_t i = 0; i < nc; i++) zc += ((double *)in[2].data)[i] * ((double *)in[2].data)[i];
  CHECK(fabs(*(double *)ref[2].data - zc * 2) < 1e-12);
  CHECK_EQ_INT(bad, 0);
  for (int t = 2; t <= MAXT; t++) {
    BudStats before, after;
    bud_stats(ctx, &before);
    BudArray got[4];
    CHECK_EQ_INT(run_t(ctx, p, t, true, 4, in, 4, got), BUD_OK);
    bud_stats(ctx, &after);
    CHECK_EQ_INT(after.parallel_batches - before.parallel_batches, 1);
    CHECK_EQ_INT(after.serial_fallbacks, before.serial_fallbacks);
    for (int o = 0; o < 4; o++) {
      size_t bytes = (size_t)bud_array_size(&got[o]) * (size_t)bud_dtype_size(got[o].dtype);
      CHECK_MSG(memcmp(got[o].data, ref[o].data, bytes) == 0, "batch output %d differs, t=%d", o,
                t);
      bud_array_free(&got[o]);
    }
  }
  /* without the knob, these tiny groups are not worth a parallel job */
  BudStats before, after;
  bud_stats(ctx, &before);
  BudArray got[4];
  CHECK_EQ_INT(run_t(ctx, p, 2, false, 4, in, 4, got), BUD_OK);
  bud_stats(ctx, &after);
  CHECK_EQ_INT(p->groups[0].batch_threads, 1);
  CHECK_EQ_INT(after.parallel_batches, before.parallel_batches);
  for (int o = 0; o < 4; o++) {
    bud_array_free(&got[o]);
    bud_array_free(&ref[o]);
  }
  bud_program_free(p);
  for (int k = 0; k < 4; k++) bud_array_free(&in[k]);
}

/* ---- column tiles: axis-0 reductions accumulated row by row -------------------------------- */

/* sum and mean over axis 0 (with a producer, a broadcast row, an element-wise output stored by
 * the same pass and an epilogue): the tiled schedule accumulates each column in float64 in row
 * order, so the results equal that C loop exactly, on any thread count. */
static void test_tiled(BudContext *ctx) {
  static const int64_t shapes[][2] = {{1, 16}, {3, 17}, {1001, 100}, {257, 5000}, {0, 40},
                                      {40, 20000}};
  const char *names[2] = {"x", "w"};
  for (int dt = 0; dt < 2; dt++)
    for (size_t si = 0; si < BUD_ARRAY_LEN(shapes); si++) {
      int64_t R = shapes[si][0], C = shapes[si][1];
      BudDType t = dt ? BUD_FLOAT64 : BUD_FLOAT32;
      BudArray in[2] = {arr(ctx, t, 2, shapes[si]), arr(ctx, t, 1, &C)};
      double *xs = malloc(sizeof *xs * (size_t)(R * C + 1)), *ws = malloc(sizeof *ws * (size_t)C);
      for (int64_t i = 0; i < R * C; i++) xs[i] = sin((double)i * 0.7) * 10.0;
      for (int64_t j = 0; j < C; j++) ws[j] = 1.0 + (double)(j % 7) * 0.25;
      for (int64_t i = 0; i < R * C; i++)
        dt ? (void)(((double *)in[0].data)[i] = xs[i]) : (void)(((float *)in[0].data)[i] = (float)xs[i]);
      for (int64_t j = 0; j < C; j++)
        dt ? (void)(((double *)in[1].data)[j] = ws[j]) : (void)(((float *)in[1].data)[j] = (float)ws[j]);
      BudProgram *p = compile(ctx, "s = sum(x*w, axis=0); m = mean(x, axis=0); y = x*2; "
                                   "h = sum(x, axis=0) * 0.5", 2, names, in);
      CHECK(p != NULL);
      if (!p) continue;
      CHECK(p->groups[0].tiled != NULL);
      /* the answers: float64 column sums in row order of the values as the plan computes them */
      double *ss = calloc((size_t)C, sizeof *ss), *sm = calloc((size_t)C, sizeof *sm);
      for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++) {
          double x = dt ? xs[i * C + j] : (double)(float)xs[i * C + j];
          double w = dt ? ws[j] : (double)(float)ws[j];
          ss[j] += dt ? x * w : (double)((float)x * (float)w);
          sm[j] += x;
        }
      for (int nt = 1; nt <= MAXT; nt++)
        for (int force = 0; force <= 1; force++) {
          BudArray o[4];
          if (run_t(ctx, p, nt, force, 2, in, 4, o) != BUD_OK) {
            CHECK(0);
            continue;
          }
          int bad = 0;
          for (int64_t j = 0; j < C; j++) {
            double ws_ = ss[j], wm = sm[j] / (double)R, wh;
            if (dt) {
              wh = ws_ * 0.5;
              bad += ((double *)o[0].data)[j] != ws_;
              bad += memcmp(&((double *)o[1].data)[j], &wm, 8) != 0;
              wh = sm[j] * 0.5;
              bad += ((double *)o[3].data)[j] != wh;
            } else {
              float fm = (float)wm;
              bad += ((float *)o[0].data)[j] != (float)ws_;
              bad += memcmp(&((float *)o[1].data)[j], &fm, 4) != 0;
              bad += ((float *)o[3].data)[j] != (float)sm[j] * 0.5f;
            }
          }
          for (int64_t i = 0; i < R * C; i++)
            bad += dt ? ((double *)o[2].data)[i] != xs[i] * 2
                      : ((float *)o[2].data)[i] != (float)xs[i] * 2;
          CHECK_MSG(bad == 0, "tiled (%lld,%lld) %s, %d threads (force %d): %d wrong", (long long)R,
                    (long long)C, dt ? "float64" : "float32", nt, force, bad);
          for (int k = 0; k < 4; k++) bud_array_free(&o[k]);
        }
      free(ss);
      free(sm);
      free(xs);
      free(ws);
      bud_program_free(p);
      bud_array_free(&in[0]);
      bud_array_free(&in[1]);
    }
}

/* A layout the tiles cannot take (a transposed view: columns are not contiguous) runs the plain
 * schedule: still the column sums. */
static void test_tiled_fallback(BudContext *ctx) {
  int64_t R = 64, C = 48, shape[2] = {C, R};
  BudArray base = arr(ctx, BUD_FLOAT64, 2, shape);
  for (int64_t i = 0; i < R * C; i++) ((double *)base.data)[i] = (double)(i % 13) - 6.0;
  BudArray x = base; /* x = base.T: shape (R, C), strides (8, 8R) */
  x.shape[0] = R;
  x.shape[1] = C;
  x.strides[0] = 8;
  x.strides[1] = 8 * R;
  const char *names[1] = {"x"};
  BudProgram *p = compile(ctx, "sum(x, axis=0)", 1, names, &x);
  CHECK(p != NULL);
  if (!p) return;
  CHECK(p->groups[0].tiled != NULL);
  BudArray o[1];
  CHECK_EQ_INT(run_t(ctx, p, 2, true, 1, &x, 1, o), BUD_OK);
  int bad = 0;
  for (int64_t j = 0; j < C; j++) {
    double want = 0;
    for (int64_t i = 0; i < R; i++) want += ((double *)base.data)[j * R + i];
    bad += fabs(((double *)o[0].data)[j] - want) > 1e-9;
  }
  CHECK_EQ_INT(bad, 0);
  bud_array_free(&o[0]);
  bud_program_free(p);
  bud_array_free(&base);
}

int main(void) {
  BudContext *ctx = bud_context_new();
  test_sum_plus_one(ctx);
  test_axis_epilogue(ctx);
  test_two_pass(ctx);
  test_batch(ctx);
  test_tiled(ctx);
  test_tiled_fallback(ctx);
  bud_context_free(ctx);
  return check_done("exec_fusion");
}
