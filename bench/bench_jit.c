/* bench_jit.c — the x86 JIT's figures, one JSON line per case (medians): compile time of 1-, 5-,
 * 10- and 30-op fused kernels; ADD c=a+b, SCALE c=a*s, 2*a+3*b, a*b+c*d-e, sqrt(a*b+c) in float32
 * at 4K, 64K, 1M, 4M (2048x2048), 16M elements on one core, each beside a plain C loop compiled
 * -O3 -march=native in this file; and a streaming probe (copy and add with non-temporal stores)
 * that measures this machine's one-core bandwidth in the same run. Kernels are driven directly
 * (hand-built plans, the kernel ABI). BUD_ISA picks the path; BUD_BENCH_QUICK=1 for a short run.
 */
#define _GNU_SOURCE
#include "../tests/jit_util.h"
#include "bench_peers.h"

#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static RtCodeMem g_cm;
static X86Isa g_isa;
static bool g_quick;

/* ---- plans ---- */

typedef enum { K_ADD, K_SCALE, K_AXPBY, K_ABCDE, K_SQRT, K_NK } KCase;
static const char *k_names[] = {"ADD", "SCALE", "2*a+3*b", "a*b+c*d-e", "sqrt(a*b+c)"};
static const int k_nin[] = {2, 1, 2, 5, 3};
static const int k_flops[] = {1, 1, 3, 4, 3};

static void build(TPlan *t, KCase kc, bool nt) {
  tp_init(t);
  t->p.sched.store = nt ? STORE_NONTEMPORAL : STORE_NORMAL;
  int v[5];
  for (int i = 0; i < k_nin[kc]; i++) v[i] = tp_load(t, tp_operand(t, BUD_FLOAT32, false));
  int so = tp_operand(t, BUD_FLOAT32, true), r;
  switch (kc) {
  case K_ADD: r = tp_op(t, OP_add, BUD_FLOAT32, 2, v[0], v[1], -1); break;
  case K_SCALE: r = tp_op(t, OP_mul, BUD_FLOAT32, 2, v[0], tp_const(t, BUD_FLOAT32, 1.0001, 0), -1); break;
  case K_AXPBY: {
    int x = tp_op(t, OP_mul, BUD_FLOAT32, 2, tp_const(t, BUD_FLOAT32, 2, 0), v[0], -1);
    int y = tp_op(t, OP_mul, BUD_FLOAT32, 2, tp_const(t, BUD_FLOAT32, 3, 0), v[1], -1);
    r = tp_op(t, OP_add, BUD_FLOAT32, 2, x, y, -1);
    break;
  }
  case K_ABCDE: {
    int x = tp_op(t, OP_mul, BUD_FLOAT32, 2, v[0], v[1], -1);
    int y = tp_op(t, OP_mul, BUD_FLOAT32, 2, v[2], v[3], -1);
    r = tp_op(t, OP_sub, BUD_FLOAT32, 2, tp_op(t, OP_add, BUD_FLOAT32, 2, x, y, -1), v[4], -1);
    break;
  }
  default: {
    int x = tp_op(t, OP_mul, BUD_FLOAT32, 2, v[0], v[1], -1);
    r = tp_op(t, OP_sqrt, BUD_FLOAT32, 1, tp_op(t, OP_add, BUD_FLOAT32, 2, x, v[2], -1), -1, -1);
    break;
  }
  }
  tp_store(t, so, r);
}

/* the C peers: what the plans compute, as a C programmer writes them */
__attribute__((noinline)) static void c_loop(KCase kc, float **p, int64_t n) {
  float *restrict o = p[k_nin[kc]];
  const float *restrict a = p[0], *restrict b = p[1], *restrict c = p[2], *restrict d = p[3],
                        *restrict e = p[4];
  switch (kc) {
  case K_ADD: for (int64_t i = 0; i < n; i++) o[i] = a[i] + b[i]; break;
  case K_SCALE: for (int64_t i = 0; i < n; i++) o[i] = a[i] * 1.0001f; break;
  case K_AXPBY: c_axpby(o, a, b, n); break;
  case K_ABCDE: c_muladd(o, a, b, c, d, e, n); break;
  default: c_sqrt(o, a, b, c, n); break;
  }
}

/* streaming probe: copy and add with non-temporal stores (AVX) */
__attribute__((noinline)) static void nt_copy(float *restrict o, const float *restrict a, int64_t n) {
  int64_t i = 0;
#ifdef __AVX__
  for (; i + 8 <= n; i += 8) _mm256_stream_ps(o + i, _mm256_loadu_ps(a + i));
  _mm_sfence();
#endif
  for (; i < n; i++) o[i] = a[i];
}
__attribute__((noinline)) static void nt_add(float *restrict o, const float *restrict a,
                                             const float *restrict b, int64_t n) {
  int64_t i = 0;
#ifdef __AVX__
  for (; i + 8 <= n; i += 8)
    _mm256_stream_ps(o + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  _mm_sfence();
#endif
  for (; i < n; i++) o[i] = a[i] + b[i];
}

/* median ns of fn over reps chosen to take ~0.2 s */
typedef struct Runner {
  int kind; /* 0 jit, 1 C, 2 nt copy, 3 nt add */
  BudKernelFn fn;
  BudKArgs *args;
  KCase kc;
  float **p;
  int64_t n;
} Runner;

static void run_once(const Runner *r) {
  switch (r->kind) {
  case 0: r->fn(r->args, 0, r->n); break;
  case 1: c_loop(r->kc, r->p, r->n); break;
  case 2: nt_copy(r->p[1], r->p[0], r->n); break;
  default: nt_add(r->p[2], r->p[0], r->p[1], r->n); break;
  }
}

static double median_ns(const Runner *r) {
  run_once(r);
  uint64_t t0 = now_ns();
  run_once(r);
  uint64_t one = now_ns() - t0 + 1;
  int reps = (int)(2e8 / (double)one);
  if (g_quick) reps /= 10;
  if (reps < 5) reps = 5;
  if (reps > 2001) reps = 2001;
  int inner = one < 20000 ? (int)(20000 / one) + 1 : 1;
  uint64_t *ts = malloc(sizeof *ts * (size_t)reps);
  for (int i = 0; i < reps; i++) {
    t0 = now_ns();
    for (int j = 0; j < inner; j++) run_once(r);
    ts[i] = (now_ns() - t0) / (uint64_t)inner;
  }
  qsort(ts, (size_t)reps, sizeof *ts, bench_cmp_u64);
  double m = (double)ts[reps / 2];
  free(ts);
  return m;
}

static void bench_compile(void) {
  static const int sizes[] = {1, 5, 10, 30};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    TPlan t;
    tp_init(&t);
    int sa = tp_operand(&t, BUD_FLOAT32, false), sb = tp_operand(&t, BUD_FLOAT32, false);
    int so = tp_operand(&t, BUD_FLOAT32, true);
    int a = tp_load(&t, sa), b = tp_load(&t, sb), c = tp_const(&t, BUD_FLOAT32, 1.5, 0), r = a;
    static const Op ops[] = {OP_add, OP_mul, OP_sub, OP_fma, OP_maximum};
    for (int k = 0; k < sizes[si]; k++) {
      Op o = ops[k % 5];
      r = o == OP_fma ? tp_op(&t, o, BUD_FLOAT32, 3, r, b, c)
                      : tp_op(&t, o, BUD_FLOAT32, 2, r, k & 1 ? b : c, -1);
    }
    tp_store(&t, so, r);
    enum { N = 301 };
    uint64_t gen[N], full[N];
    size_t nbytes = 0;
    for (int i = 0; i < N; i++) {
      JitOut o;
      uint64_t t0 = now_ns();
      if (x86_jit_compile(&t.p, NULL, g_isa, &o, NULL, 0) != 0) {
        printf("{\"bench\":\"jit_compile\",\"error\":\"refused\"}\n");
        return;
      }
      gen[i] = now_ns() - t0;
      nbytes = o.buf.len + o.npool;
      x86_jit_out_free(&o);
      TKernel k;
      t0 = now_ns();
      tk_compile(&g_cm, &t.p, NULL, g_isa, &k, NULL, 0);
      full[i] = now_ns() - t0;
      tk_free(&g_cm, &k);
    }
    qsort(gen, N, sizeof gen[0], bench_cmp_u64);
    qsort(full, N, sizeof full[0], bench_cmp_u64);
    printf("{\"bench\":\"jit_compile\",\"ops\":%d,\"isa\":\"%s\",\"codegen_us\":%.2f,"
           "\"compile_and_map_us\":%.2f,\"bytes\":%zu}\n",
           sizes[si], x86_isa_name(g_isa), (double)gen[N / 2] / 1e3, (double)full[N / 2] / 1e3,
           nbytes);
    fflush(stdout);
  }
}

static void bench_kernels(void) {
  static const int64_t sizes[] = {4096, 65536, 1 << 20, 2048 * 2048, 16 << 20};
  int nsizes = g_quick ? 3 : 5;
  int64_t maxn = sizes[nsizes - 1];
  float *p[6];
  for (int i = 0; i < 6; i++) {
    p[i] = bud_aligned_alloc((size_t)maxn * 4);
    for (int64_t j = 0; j < maxn; j++) p[i][j] = 1.0f + (float)(j % 1000) * 0.001f;
  }
  for (int kc = 0; kc < K_NK; kc++)
    for (int si = 0; si < nsizes; si++) {
      int64_t n = sizes[si];
      if (kc != K_SCALE && n == 2048 * 2048) continue; /* the 2048x2048 case is SCALE's */
      bool nt = n >= (8 << 20) / 4 * 4 && n >= (4 << 20); /* outputs beyond the caches */
      TPlan t;
      build(&t, (KCase)kc, nt);
      TKernel k;
      char why[256];
      if (tk_compile(&g_cm, &t.p, NULL, g_isa, &k, why, sizeof why) != 0) {
        printf("{\"bench\":\"%s\",\"error\":\"%s\"}\n", k_names[kc], why);
        continue;
      }
      BudKArgs args;
      memset(&args, 0, sizeof args);
      for (int s = 0; s <= k_nin[kc]; s++) {
        args.ptr[s] = (char *)p[s];
        args.stride[s] = 4;
      }
      Runner rj = {0, k.fn, &args, (KCase)kc, p, n}, rc = {1, NULL, NULL, (KCase)kc, p, n};
      double tj = median_ns(&rj), tc = median_ns(&rc);
      double bytes = (double)(k_nin[kc] + 1) * 4.0 * (double)n;
      printf("{\"bench\":\"%s\",\"dtype\":\"float32\",\"n\":%lld,\"isa\":\"%s\",\"threads\":1,"
             "\"nt_stores\":%s,\"median_ns\":%.0f,\"GBps\":%.2f,\"GFLOPs\":%.2f,"
             "\"c_loop_ns\":%.0f,\"c_loop_GBps\":%.2f,\"speedup_vs_c\":%.2f}\n",
             k_names[kc], (long long)n, x86_isa_name(g_isa), nt ? "true" : "false", tj,
             bytes / tj, (double)k_flops[kc] * (double)n / tj, tc, bytes / tc, tc / tj);
      fflush(stdout);
      tk_free(&g_cm, &k);
    }
  /* streaming probe at the largest size */
  int64_t n = maxn;
  Runner r2 = {2, NULL, NULL, K_ADD, p, n}, r3 = {3, NULL, NULL, K_ADD, p, n};
  double tcopy = median_ns(&r2), tadd = median_ns(&r3);
  printf("{\"bench\":\"stream_probe\",\"n\":%lld,\"copy_nt_GBps\":%.2f,\"add_nt_GBps\":%.2f}\n",
         (long long)n, 8.0 * (double)n / tcopy, 12.0 * (double)n / tadd);
  for (int i = 0; i < 6; i++) bud_aligned_free(p[i]);
}

int main(void) {
  g_quick = getenv("BUD_BENCH_QUICK") != NULL;
  char msg[256];
  if (x86_isa_select(getenv("BUD_ISA"), x86_cpu(), &g_isa, msg, sizeof msg) != 0 ||
      g_isa == X86_ISA_VM) {
    printf("{\"bench\":\"jit\",\"error\":\"no JIT path: %s\"}\n", msg);
    return 0;
  }
  rt_codemem_init(&g_cm, 0);
  bench_compile();
  bench_kernels();
  rt_codemem_destroy(&g_cm);
  return 0;
}
