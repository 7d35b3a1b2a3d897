/* test_cost.c — the machine model and the cost model (src/rt/cost.c): a short calibration gives
 * plausible figures; the cache file round-trips and every damaged, foreign or old file is
 * refused; rt_machine() loads an intact file instead of measuring; plan costs (bytes, flops,
 * threads, store kind) on a fixed synthetic machine, checked against hand-computed values.
 */
#define _GNU_SOURCE
#include "check.h"
#include "opt/opt.h"
#include "plan/plan.h"
#include "rt/cost.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *s = calloc(1, 8192);
  size_t n = fread(s, 1, 8191, f);
  s[n] = 0;
  fclose(f);
  return s;
}

static void spit(const char *path, const char *s) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fputs(s, f);
  fclose(f);
}

static void test_calibrate(void) {
  RtMachine m;
  CHECK(rt_machine_calibrate(&m, 2, 8)); /* 8 MiB: quick; figures need only be plausible */
  CHECK(m.bw1_gbs > 0.1 && m.bw1_gbs < 1e4);
  CHECK(m.bwn_gbs >= m.bw1_gbs);
  CHECK(m.nthreads == 2);
  for (int i = 0; i < RT_NISA; i++) CHECK(m.gflops[i] > 0.1 && isfinite(m.gflops[i]));
  CHECK(m.gflops[RT_ISA_AVX2] > 0.5 * m.gflops[RT_ISA_SSE2]);
  CHECK(m.wake_us >= 0 && m.wake_us < 1e5);
  CHECK(m.llc_bytes > 0 && m.l2_bytes > 0);
  CHECK(!strcmp(m.source, "measured"));
  printf("calibration (8 MiB): %.1f GB/s 1 thread, %.1f GB/s 2 threads, sse2 %.1f avx2 %.1f "
         "GFLOP/s, wake-up %.1f us, %.1f ms\n",
         m.bw1_gbs, m.bwn_gbs, m.gflops[RT_ISA_SSE2], m.gflops[RT_ISA_AVX2], m.wake_us,
         m.calib_ms);
}

static RtMachine synthetic(void) {
  RtMachine m;
  rt_machine_defaults(&m);
  m.bw1_gbs = 10, m.bwn_gbs = 20, m.bwnt1_gbs = 15, m.nthreads = 2;
  m.gflops[RT_ISA_VM] = 5, m.gflops[RT_ISA_SSE2] = 10, m.gflops[RT_ISA_AVX2] = 40;
  m.gflops[RT_ISA_AVX512] = 80;
  m.wake_us = 10;
  m.l2_bytes = 1 << 20, m.llc_bytes = 4 << 20;
  return m;
}

static void test_cache_file(void) {
  char dir[] = "/tmp/bud_test_cost_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[512], key[512], text[8192];
  snprintf(path, sizeof path, "%s/sub/machine-v%d.txt", dir, RT_MACHINE_VERSION);
  rt_machine_key(key, sizeof key);
  RtMachine m = synthetic(), r;
  m.nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN); /* a file must match the CPUs online */
  CHECK(rt_machine_save(path, key, &m)); /* creates sub/ */
  CHECK(rt_machine_load(path, key, &r));
  CHECK(r.bw1_gbs == 10 && r.bwn_gbs == 20 && r.gflops[RT_ISA_AVX2] == 40 && r.wake_us == 10);
  CHECK(!rt_machine_load(path, "another CPU", &r)); /* foreign */
  char *orig = slurp(path);
  CHECK(orig != NULL);
  if (orig) {
    /* a changed value without a matching checksum */
    snprintf(text, sizeof text, "%s", orig);
    char *p = strstr(text, "bw1_gbs 10");
    CHECK(p != NULL);
    if (p) p[8] = '9';
    spit(path, text);
    CHECK(!rt_machine_load(path, key, &r));
    /* truncated */
    snprintf(text, sizeof text, "%.*s", (int)(strlen(orig) / 2), orig);
    spit(path, text);
    CHECK(!rt_machine_load(path, key, &r));
    /* garbage */
    spit(path, "\x7f" "ELF\x01\x02 not a machine file\nchecksum 0000000000000000\n");
    CHECK(!rt_machine_load(path, key, &r));
    /* an implausible value with a valid checksum is refused too */
    RtMachine bad = m;
    bad.bw1_gbs = -3;
    CHECK(rt_machine_save(path, key, &bad));
    CHECK(!rt_machine_load(path, key, &r));
    free(orig);
  }
  CHECK(!rt_machine_load("/nonexistent/bud/machine.txt", key, &r));
  /* rt_machine() takes an intact file for this CPU without measuring */
  snprintf(path, sizeof path, "%s/machine-v%d.txt", dir, RT_MACHINE_VERSION);
  CHECK(rt_machine_save(path, key, &m));
  setenv("BUD_CACHE_DIR", dir, 1);
  unsetenv("BUD_NO_CALIBRATE");
  char got[512];
  CHECK(rt_machine_path(got, sizeof got) && !strcmp(got, path));
  const RtMachine *pm = rt_machine();
  CHECK(!strcmp(pm->source, "cache file"));
  CHECK(pm->bw1_gbs == 10 && pm->gflops[RT_ISA_SSE2] == 10);
  CHECK(rt_machine() == pm);
  unlink(path);
  snprintf(path, sizeof path, "%s/sub/machine-v%d.txt", dir, RT_MACHINE_VERSION);
  unlink(path);
  snprintf(path, sizeof path, "%s/sub", dir);
  rmdir(path);
  rmdir(dir);
}

/* Builds `out = a*b + c` over n float32 elements and returns the program (NULL on failure). */
static BudProgram *build(BudContext *ctx, const char *text) {
  IrGraph *g = ir_parse(ctx, text);
  CHECK_MSG(g != NULL, "%s", ctx->errmsg);
  if (!g) return NULL;
  IrGraph *opt = NULL;
  BudProgram *p = NULL;
  BudStatus st = opt_pipeline(ctx, g, &opt, NULL);
  ir_graph_free(g);
  if (st == BUD_OK) st = program_build(ctx, opt, &p, NULL);
  CHECK_MSG(st == BUD_OK, "%s", ctx->errmsg);
  if (st != BUD_OK && opt) ir_graph_free(opt);
  return st == BUD_OK ? p : NULL;
}

static void test_plan_cost(BudContext *ctx) {
  CHECK(rt_op_flops(OP_add, BUD_FLOAT32) == 1);
  CHECK(rt_op_flops(OP_exp, BUD_FLOAT32) == 20);
  CHECK(rt_op_flops(OP_exp, BUD_FLOAT64) == 40);
  CHECK(rt_op_flops(OP_fma, BUD_FLOAT32) == 2);
  RtMachine m = synthetic();
  char text[1024];
  for (int big = 0; big < 2; big++) {
    long n = big ? 4 << 20 : 256; /* 4M float32: 16 MiB per array, past the 4 MiB LLC */
    snprintf(text, sizeof text,
             "%%0 = input \"a\" : float32[%ld]\n%%1 = input \"b\" : float32[%ld]\n"
             "%%2 = input \"c\" : float32[%ld]\n%%3 = multiply %%0, %%1 : float32[%ld]\n"
             "%%4 = add %%3, %%2 : float32[%ld]\noutput \"o\" = %%4\n",
             n, n, n, n, n);
    BudProgram *p = build(ctx, text);
    if (!p) continue;
    CHECK_EQ_INT(p->ngroups, 1);
    PlanCost c;
    rt_cost_plan(&m, RT_ISA_AVX2, &p->groups[0].plan, p->buffers, false, &c);
    CHECK_EQ_INT(c.elems, n);
    CHECK_EQ_INT(c.load_bytes, 12 * n);
    CHECK_EQ_INT(c.store_bytes, 4 * n);
    CHECK(c.flops == 2.0 * n);
    CHECK(fabs(c.intensity - 0.125) < 1e-12);
    CHECK(!c.compute_bound);
    /* one thread: 16n bytes at 10 GB/s; two: at 20 GB/s plus 10 us of wake-up */
    CHECK(fabs(c.t1_us - 16.0 * n / 10 / 1000) < 1e-6);
    CHECK_EQ_INT(c.nthreads, big ? 2 : 1);
    CHECK_EQ_INT(c.store, big ? STORE_NONTEMPORAL : STORE_NORMAL);
    CHECK_EQ_INT(c.prefetch_bytes, 0); /* contiguous streams: the hardware prefetches (cost.c) */
    rt_cost_plan(&m, RT_ISA_AVX2, &p->groups[0].plan, p->buffers, true, &c);
    CHECK_EQ_INT(c.store, STORE_NORMAL); /* re-read by a later group: keep it in cache */
    StrBuf sb;
    sb_init(&sb);
    rt_cost_explain(&c, 0, &sb);
    CHECK(sb.data && strstr(sb.data, "memory-bound") && strstr(sb.data, "intensity 0.125"));
    sb_free(&sb);
    program_free(p);
  }
  /* compute-bound: exp(a) on one CPU of 1 GFLOP/s is limited by flops */
  m.nthreads = 1;
  m.gflops[RT_ISA_AVX2] = 1;
  BudProgram *p = build(ctx, "%0 = input \"a\" : float32[1000]\n"
                             "%1 = exp %0 : float32[1000]\noutput \"o\" = %1\n");
  if (p) {
    PlanCost c;
    rt_cost_plan(&m, RT_ISA_AVX2, &p->groups[0].plan, p->buffers, false, &c);
    CHECK(c.compute_bound);
    CHECK(fabs(c.t_us - 20.0) < 1e-9); /* 20000 flops at 1 GFLOP/s */
    CHECK_EQ_INT(c.nthreads, 1);
    CHECK_EQ_INT(c.unroll, 4);
    program_free(p);
  }
}

int main(void) {
  BudContext ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.isa = -1;
  test_calibrate();
  test_cache_file(); /* fixes rt_machine() for the rest of the process */
  test_plan_cost(&ctx);
  return check_done("test_cost");
}
