/* test_jit_cache.c — the kernel cache and the runtime entry points (rt/kernel.h): hits and misses,
 * layouts in the key, cached refusals with reasons, LRU eviction under a small bound that never
 * touches pinned kernels, rt_state_free with kernels still pinned, BUD_ISA=vm and a bad BUD_ISA,
 * explain output (disassembly or the fallback reason). */
#define _GNU_SOURCE
#include "check.h"
#include "jit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void build_axpb(TPlan *t, float c) {
  tp_init(t);
  int sa = tp_operand(t, BUD_FLOAT32, false), sb = tp_operand(t, BUD_FLOAT32, false);
  int so = tp_operand(t, BUD_FLOAT32, true);
  int a = tp_load(t, sa), b = tp_load(t, sb), k = tp_const(t, BUD_FLOAT32, c, 0);
  tp_store(t, so, tp_op(t, OP_add, BUD_FLOAT32, 2, tp_op(t, OP_mul, BUD_FLOAT32, 2, a, k, -1), b, -1));
}

static bool run_axpb(BudKernelFn fn, float c, int n) {
  float a[300], b[300], o[300];
  for (int i = 0; i < n; i++) {
    a[i] = (float)i;
    b[i] = 1.0f;
  }
  BudKArgs args;
  memset(&args, 0, sizeof args);
  args.ptr[0] = (char *)a;
  args.ptr[1] = (char *)b;
  args.ptr[2] = (char *)o;
  args.stride[0] = args.stride[1] = args.stride[2] = 4;
  fn(&args, 0, n);
  for (int i = 0; i < n; i++)
    if (o[i] != (float)i * c + 1.0f) return false;
  return true;
}

static BudContext *ctx_new(void) {
  BudContext *ctx = bud_context_new();
  return ctx;
}

static void test_hits_and_layouts(void) {
  BudContext *ctx = ctx_new();
  TPlan t;
  build_axpb(&t, 2.0f);
  Group g;
  memset(&g, 0, sizeof g);
  g.kind = GROUP_FUSED;
  g.plan = t.p;
  uint8_t lay[3] = {LAYOUT_CONTIG, LAYOUT_CONTIG, LAYOUT_CONTIG};
  BudKernelFn f1 = rt_kernel_get(ctx, &g, lay);
  CHECK(f1 != NULL);
  CHECK(f1 && run_axpb(f1, 2.0f, 257));
  CHECK_EQ_INT(ctx->stats.cache_misses, 1);
  CHECK_EQ_INT(ctx->stats.kernels_jit, 1);
  CHECK(ctx->stats.code_bytes > 0);
  CHECK(ctx->stats.compile_ns > 0);
  BudKernelFn f2 = rt_kernel_get(ctx, &g, lay);
  CHECK(f1 == f2);
  CHECK_EQ_INT(ctx->stats.cache_hits, 1);
  /* another group with the same plan shares the kernel */
  Group g2 = g;
  g2.kernel = NULL;
  CHECK(rt_kernel_get(ctx, &g2, lay) == f1);
  CHECK_EQ_INT(ctx->stats.cache_hits, 2);
  /* a broadcast operand is another kernel */
  uint8_t lay2[3] = {LAYOUT_CONTIG, LAYOUT_BCAST, LAYOUT_CONTIG};
  BudKernelFn f3 = rt_kernel_get(ctx, &g, lay2);
  CHECK(f3 != NULL && f3 != f1);
  CHECK_EQ_INT(ctx->stats.cache_misses, 2);
  /* a strided input is another kernel (lanes gathered one by one; right for any stride) */
  uint8_t lay4[3] = {LAYOUT_STRIDED, LAYOUT_CONTIG, LAYOUT_CONTIG};
  BudKernelFn f4 = rt_kernel_get(ctx, &g, lay4);
  CHECK(f4 != NULL && f4 != f1 && f4 != f3);
  CHECK(f4 && run_axpb(f4, 2.0f, 257));
  CHECK_EQ_INT(ctx->stats.cache_misses, 3);
  /* an output with stride 0: the VM, with the reason kept for explain */
  uint8_t lay3[3] = {LAYOUT_CONTIG, LAYOUT_CONTIG, LAYOUT_BCAST};
  CHECK(rt_kernel_get(ctx, &g, lay3) == NULL);
  CHECK_EQ_INT(ctx->stats.jit_fallbacks, 1);
  CHECK(rt_kernel_get(ctx, &g, lay3) == NULL); /* cached refusal: no second count */
  CHECK_EQ_INT(ctx->stats.jit_fallbacks, 1);
  StrBuf sb;
  sb_init(&sb);
  rt_kernel_explain(ctx, &g, &sb);
  CHECK_MSG(sb.data && strstr(sb.data, "stride 0"), "explain: %s", sb.data ? sb.data : "");
  sb_free(&sb);
  rt_kernel_get(ctx, &g, lay);
  sb_init(&sb);
  rt_kernel_explain(ctx, &g, &sb);
  CHECK_MSG(sb.data && strstr(sb.data, "bytes of code"), "explain: %s", sb.data ? sb.data : "");
  if (access("/usr/bin/objdump", X_OK) == 0)
    CHECK_MSG(sb.data && strstr(sb.data, "ret"), "disassembly: %s", sb.data ? sb.data : "");
  sb_free(&sb);
  rt_kernel_release(&g);
  rt_kernel_release(&g2);
  CHECK(g.kernel == NULL);
  bud_context_free(ctx);
}

static void test_fallback_reason(void) {
  BudContext *ctx = ctx_new();
  TPlan t;
  tp_init(&t);
  int sa = tp_operand(&t, BUD_FLOAT32, false), so = tp_operand(&t, BUD_FLOAT32, true);
  int xa = tp_load(&t, sa);
  tp_store(&t, so, tp_op(&t, OP_fmod, BUD_FLOAT32, 2, xa, xa, -1));
  Group g;
  memset(&g, 0, sizeof g);
  g.kind = GROUP_FUSED;
  g.plan = t.p;
  /* fmod compiles with an external call (the VM's loop, one vector per call), counted and named;
   * by default the VM runs it (per-vector calls are slower than its blocks) */
  CHECK(rt_kernel_get(ctx, &g, NULL) == NULL);
  StrBuf sb0;
  sb_init(&sb0);
  rt_kernel_explain(ctx, &g, &sb0);
  CHECK_MSG(sb0.data && strstr(sb0.data, "fmod") && strstr(sb0.data, "BUD_JIT_EXT"), "explain: %s",
            sb0.data ? sb0.data : "");
  sb_free(&sb0);
  rt_kernel_release(&g);
  bud_context_free(ctx);
  ctx = ctx_new();
  setenv("BUD_JIT_EXT", "1", 1);
  memset(&g, 0, sizeof g);
  g.kind = GROUP_FUSED;
  g.plan = t.p;
  CHECK(rt_kernel_get(ctx, &g, NULL) != NULL || x86_cpu()->feat == 0);
  unsetenv("BUD_JIT_EXT");
  CHECK_EQ_INT(ctx->stats.jit_fallbacks, 1);
  StrBuf sb;
  sb_init(&sb);
  rt_kernel_explain(ctx, &g, &sb);
  CHECK_MSG(sb.data && strstr(sb.data, "fmod") && strstr(sb.data, "external call"), "explain: %s",
            sb.data ? sb.data : "");
  sb_free(&sb);
  rt_kernel_release(&g);
  /* integer power can fail at run time (negative exponents): the whole plan stays in the VM */
  tp_init(&t);
  sa = tp_operand(&t, BUD_INT32, false);
  so = tp_operand(&t, BUD_INT32, true);
  int x = tp_load(&t, sa);
  tp_store(&t, so, tp_op(&t, OP_pow, BUD_INT32, 2, x, x, -1));
  memset(&g, 0, sizeof g);
  g.kind = GROUP_FUSED;
  g.plan = t.p;
  CHECK(rt_kernel_get(ctx, &g, NULL) == NULL);
  CHECK_EQ_INT(ctx->stats.jit_fallbacks, 2);
  sb_init(&sb);
  rt_kernel_explain(ctx, &g, &sb);
  CHECK_MSG(sb.data && strstr(sb.data, "pow") && strstr(sb.data, "VM"), "explain: %s",
            sb.data ? sb.data : "");
  sb_free(&sb);
  rt_kernel_release(&g);
  bud_context_free(ctx);
}

/* A small bound: 40 distinct kernels, each group released but one; the pinned one survives. */
static void test_eviction_and_pins(void) {
  BudContext *ctx = ctx_new();
  rt_kernel_cache_limit(ctx, 16384);
  TPlan keep_t;
  build_axpb(&keep_t, 3.0f);
  Group keep;
  memset(&keep, 0, sizeof keep);
  keep.kind = GROUP_FUSED;
  keep.plan = keep_t.p;
  BudKernelFn fk = rt_kernel_get(ctx, &keep, NULL);
  CHECK(fk != NULL);
  for (int i = 0; i < 40; i++) {
    TPlan t;
    build_axpb(&t, 10.0f + (float)i);
    Group g;
    memset(&g, 0, sizeof g);
    g.kind = GROUP_FUSED;
    g.plan = t.p;
    BudKernelFn f = rt_kernel_get(ctx, &g, NULL);
    CHECK(f && run_axpb(f, 10.0f + (float)i, 100));
    rt_kernel_release(&g);
  }
  CHECK_MSG(ctx->stats.code_bytes <= 16384 + 8192, "code bytes %llu", (unsigned long long)ctx->stats.code_bytes);
  CHECK(run_axpb(fk, 3.0f, 200)); /* pinned: still valid */
  /* the context goes first; the pinned kernel stays valid until released */
  bud_context_free(ctx);
  CHECK(run_axpb(fk, 3.0f, 64));
  rt_kernel_release(&keep);
}

static void test_isa_env(void) {
  const char *old = getenv("BUD_ISA");
  setenv("BUD_ISA", "vm", 1);
  BudContext *ctx = ctx_new();
  TPlan t;
  build_axpb(&t, 2.0f);
  Group g;
  memset(&g, 0, sizeof g);
  g.kind = GROUP_FUSED;
  g.plan = t.p;
  CHECK(rt_isa_check(ctx) == BUD_OK);
  CHECK(rt_kernel_get(ctx, &g, NULL) == NULL);
  rt_kernel_release(&g);
  bud_context_free(ctx);
  setenv("BUD_ISA", "pentium", 1);
  ctx = ctx_new();
  CHECK_EQ_INT(rt_isa_check(ctx), BUD_ERR_CPU);
  CHECK(strlen(bud_last_error(ctx)) > 0);
  CHECK(rt_kernel_get(ctx, &g, NULL) == NULL);
  rt_kernel_release(&g);
  bud_context_free(ctx);
  if ((x86_cpu()->feat & x86_isa_needs(X86_ISA_AVX512)) != x86_isa_needs(X86_ISA_AVX512)) {
    setenv("BUD_ISA", "avx512", 1);
    ctx = ctx_new();
    CHECK_EQ_INT(rt_isa_check(ctx), BUD_ERR_CPU);
    bud_context_free(ctx);
  }
  setenv("BUD_ISA", "sse2", 1);
  ctx = ctx_new();
  CHECK(rt_isa_check(ctx) == BUD_OK);
  BudKernelFn f = rt_kernel_get(ctx, &g, NULL);
  CHECK(f && run_axpb(f, 2.0f, 77));
  rt_kernel_release(&g);
  bud_context_free(ctx);
  if (old) setenv("BUD_ISA", old, 1);
  else unsetenv("BUD_ISA");
}

int main(void) {
  /* These tests need the JIT on and set BUD_ISA themselves: a BUD_ISA from outside (a run of the
   * whole suite under BUD_ISA=vm) must not turn it off. */
  unsetenv("BUD_ISA");
  test_hits_and_layouts();
  test_fallback_reason();
  test_eviction_and_pins();
  test_isa_env();
  return check_done("test_jit_cache");
}
