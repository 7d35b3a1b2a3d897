/* exec_dot.c — the dot product of two 1-D float vectors (exec_fast.h states the accuracy
 * contract): contiguous operands go through a vector kernel written once with GCC/Clang vector
 * extensions and compiled three times (baseline x86-64, AVX2+FMA, AVX-512F), chosen by CPUID and
 * BUD_ISA; strided operands through a plain loop with the same accumulation scheme per lane
 * group. Large dots split into static chunks on the context's pool, partials combined in chunk
 * order. Entry points: rt_dot_vec, rt_dot_nchunks.
 */
#include "rt/exec_fast.h"
#include "rt/cost.h"
#include "rt/kernel.h"
#include "rt/pool.h"
#include "x86/cpu.h"

#include <stdlib.h>
#include <string.h>

typedef float F32x16 __attribute__((vector_size(64)));
typedef float F32x8 __attribute__((vector_size(32)));
typedef double F64x8 __attribute__((vector_size(64)));

/* Work per extra chunk, as the fused executor's RT_PAR_MIN_BYTES (exec_fused.c): 1 MiB read;
 * and the least wake-up cost assumed for the roofline test (us). */
enum { RT_DOT_PAR_BYTES = 1024 * 1024, RT_DOT_WAKE_US = 200 };

/* Adds the 16 float lanes of v into the 8 double lanes of *d (lanes k and k + 8 into k). */
#define DOT_FOLD16(d, v)                                                                           \
  do {                                                                                             \
    F32x8 lo_, hi_;                                                                                \
    memcpy(&lo_, (const char *)&(v), 32);                                                          \
    memcpy(&hi_, (const char *)&(v) + 32, 32);                                                     \
    *(d) += __builtin_convertvector(lo_, F64x8);                                                   \
    *(d) += __builtin_convertvector(hi_, F64x8);                                                   \
  } while (0)

/* The float32 kernel body: 8 float vectors of 16 lanes (128 elements a step: two loads a cycle
 * keep 8 add chains of 4 cycles busy) over blocks of RT_DOT_BLOCK elements; products and sums
 * are separate statements so no compiler contracts them into FMAs (results then do not depend
 * on the compiler). The tail (< 128 elements) accumulates in double. */
#define DOT_F32_STEP(k)                                                                            \
  do {                                                                                             \
    F32x16 x_, y_;                                                                                 \
    memcpy(&x_, a + i + 16 * (k), 64);                                                             \
    memcpy(&y_, b + i + 16 * (k), 64);                                                             \
    F32x16 p_ = x_ * y_;                                                                           \
    s[k] += p_;                                                                                    \
  } while (0)
#define DOT_F32_BODY                                                                               \
  F64x8 d = {0};                                                                                   \
  int64_t i = 0;                                                                                   \
  while (n - i >= 128) {                                                                           \
    F32x16 s[8] = {{0}};                                                                           \
    int64_t end = i + RT_DOT_BLOCK < n ? i + RT_DOT_BLOCK : n;                                     \
    for (; end - i >= 128; i += 128) {                                                             \
      DOT_F32_STEP(0);                                                                             \
      DOT_F32_STEP(1);                                                                             \
      DOT_F32_STEP(2);                                                                             \
      DOT_F32_STEP(3);                                                                             \
      DOT_F32_STEP(4);                                                                             \
      DOT_F32_STEP(5);                                                                             \
      DOT_F32_STEP(6);                                                                             \
      DOT_F32_STEP(7);                                                                             \
    }                                                                                              \
    s[0] += s[1];                                                                                  \
    s[2] += s[3];                                                                                  \
    s[4] += s[5];                                                                                  \
    s[6] += s[7];                                                                                  \
    s[0] += s[2];                                                                                  \
    s[4] += s[6];                                                                                  \
    s[0] += s[4];                                                                                  \
    DOT_FOLD16(&d, s[0]);                                                                          \
  }                                                                                                \
  double t = 0.0;                                                                                  \
  for (; i < n; i++) t += (double)(a[i] * b[i]);                                                   \
  for (int k = 0; k < 8; k++) t += d[k];                                                           \
  return t;

static double dot_f32_base(const float *a, const float *b, int64_t n) { DOT_F32_BODY }
__attribute__((target("avx2,fma"))) static double dot_f32_avx2(const float *a, const float *b,
                                                                int64_t n) {
  DOT_F32_BODY
}
__attribute__((target("avx512f"))) static double dot_f32_avx512(const float *a, const float *b,
                                                                 int64_t n) {
  DOT_F32_BODY
}

#define DOT_F64_BODY                                                                               \
  F64x8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};                                                    \
  int64_t i = 0;                                                                                   \
  for (; n - i >= 32; i += 32) {                                                                   \
    F64x8 x0, x1, x2, x3, y0, y1, y2, y3;                                                          \
    memcpy(&x0, a + i, 64);                                                                        \
    memcpy(&x1, a + i + 8, 64);                                                                    \
    memcpy(&x2, a + i + 16, 64);                                                                   \
    memcpy(&x3, a + i + 24, 64);                                                                   \
    memcpy(&y0, b + i, 64);                                                                        \
    memcpy(&y1, b + i + 8, 64);                                                                    \
    memcpy(&y2, b + i + 16, 64);                                                                   \
    memcpy(&y3, b + i + 24, 64);                                                                   \
    F64x8 p0 = x0 * y0, p1 = x1 * y1, p2 = x2 * y2, p3 = x3 * y3;                                  \
    s0 += p0;                                                                                      \
    s1 += p1;                                                                                      \
    s2 += p2;                                                                                      \
    s3 += p3;                                                                                      \
  }                                                                                                \
  s0 += s1;                                                                                        \
  s2 += s3;                                                                                        \
  s0 += s2;                                                                                        \
  double t = 0.0;                                                                                  \
  for (; i < n; i++) {                                                                             \
    double p = a[i] * b[i];                                                                        \
    t += p;                                                                                        \
  }                                                                                                \
  for (int k = 0; k < 8; k++) t += s0[k];                                                          \
  return t;

static double dot_f64_base(const double *a, const double *b, int64_t n) { DOT_F64_BODY }
__attribute__((target("avx2,fma"))) static double dot_f64_avx2(const double *a, const double *b,
                                                                int64_t n) {
  DOT_F64_BODY
}
__attribute__((target("avx512f"))) static double dot_f64_avx512(const double *a, const double *b,
                                                                 int64_t n) {
  DOT_F64_BODY
}

/* Strided operands: the same per-block float32 accumulation, one lane. */
static double dot_strided(const char *a, int64_t sa, const char *b, int64_t sb, int64_t n,
                          bool f32) {
  double t = 0.0;
  if (!f32) {
    for (int64_t i = 0; i < n; i++) {
      double x, y;
      memcpy(&x, a + i * sa, 8);
      memcpy(&y, b + i * sb, 8);
      double p = x * y;
      t += p;
    }
    return t;
  }
  for (int64_t i = 0; i < n;) {
    float s = 0.0f;
    int64_t end = n - i > RT_DOT_BLOCK / 64 ? i + RT_DOT_BLOCK / 64 : n;
    for (; i < end; i++) {
      float x, y;
      memcpy(&x, a + i * sa, 4);
      memcpy(&y, b + i * sb, 4);
      float p = x * y;
      s += p;
    }
    t += (double)s;
  }
  return t;
}

/* The kernel path: 2 = AVX-512F, 1 = AVX2+FMA, 0 = baseline, following the JIT's ISA path on
 * ctx (BUD_ISA=avx2 takes the AVX2 kernel, vm and sse2 the baseline one). */
static int dot_path(BudContext *ctx) {
  int isa = rt_isa_path(ctx);
  uint32_t feat = x86_cpu()->feat;
  if (isa == X86_ISA_AVX512 && (feat & X86_FEAT_AVX512F)) return 2;
  if (isa >= X86_ISA_AVX2 && (feat & (X86_FEAT_AVX2 | X86_FEAT_FMA)) ==
                                 (X86_FEAT_AVX2 | X86_FEAT_FMA))
    return 1;
  return 0;
}

typedef struct DotJob {
  const char *a, *b;
  int64_t sa, sb, n;
  bool f32;
  int path;
  double part[RT_MAX_THREADS];
} DotJob;

static double dot_range(const DotJob *j, int64_t lo, int64_t hi) {
  const char *a = j->a + lo * j->sa, *b = j->b + lo * j->sb;
  int64_t n = hi - lo, z = j->f32 ? 4 : 8;
  if (j->sa != z || j->sb != z) return dot_strided(a, j->sa, b, j->sb, n, j->f32);
  if (j->f32) {
    const float *x = (const float *)(const void *)a, *y = (const float *)(const void *)b;
    return j->path == 2 ? dot_f32_avx512(x, y, n)
         : j->path == 1 ? dot_f32_avx2(x, y, n) : dot_f32_base(x, y, n);
  }
  const double *x = (const double *)(const void *)a, *y = (const double *)(const void *)b;
  return j->path == 2 ? dot_f64_avx512(x, y, n)
       : j->path == 1 ? dot_f64_avx2(x, y, n) : dot_f64_base(x, y, n);
}

/* Chunk c of n: a multiple of RT_DOT_BLOCK elements, so blocks do not depend on the chunking
 * more than the chunk count says. */
static void dot_chunk(void *arg, int c, int nchunks) {
  DotJob *j = arg;
  int64_t nb = (j->n + RT_DOT_BLOCK - 1) / RT_DOT_BLOCK;
  int64_t lo = nb / nchunks * c + nb % nchunks * c / nchunks;
  int64_t hi = nb / nchunks * (c + 1) + nb % nchunks * (c + 1) / nchunks;
  lo *= RT_DOT_BLOCK;
  hi = hi * RT_DOT_BLOCK < j->n ? hi * RT_DOT_BLOCK : j->n;
  j->part[c] = lo < hi ? dot_range(j, lo, hi) : 0.0;
}

int rt_dot_nchunks(BudContext *ctx, int64_t n, int elsize) {
  if (ctx->nthreads <= 0) ctx->nthreads = rt_default_threads();
  if (ctx->nthreads <= 1) return 1;
  int64_t min = ctx->par_min_bytes > 0 ? ctx->par_min_bytes : RT_DOT_PAR_BYTES, bytes;
  if (!size_mul_ok(n, 2 * (int64_t)elsize, &bytes)) bytes = INT64_MAX;
  int64_t k = 1 + bytes / min, blocks = (n + RT_DOT_BLOCK - 1) / RT_DOT_BLOCK;
  if (k > ctx->nthreads) k = ctx->nthreads;
  if (k > blocks) k = blocks;
  if (k > 1 && ctx->par_min_bytes <= 0) {
    /* the roofline, as the cost model does for fused groups: a dot streams its bytes; more
     * chunks only when the machine's bandwidth on them beats one thread by more than the
     * wake-up (at least RT_DOT_WAKE_US: in bench_py, beside NumPy/Numba/numexpr threads, 2 chunks
     * took 740 us at 1M elements where one took 350-400 us) */
    const RtMachine *m = rt_machine();
    double wake = m->wake_us > RT_DOT_WAKE_US ? m->wake_us : RT_DOT_WAKE_US;
    double t1 = (double)bytes / (m->bw1_gbs * 1e3);
    double tk = (double)bytes / ((m->nthreads > 1 ? m->bwn_gbs : m->bw1_gbs) * 1e3) + wake;
    if (!(tk < t1 * 0.97)) k = 1;
  }
  return k < 1 ? 1 : (int)k;
}

bool rt_dot_vec(BudContext *ctx, const View *a, const View *b, const View *o, int nchunks) {
  if (a->ndim != 1 || b->ndim != 1 || o->ndim != 0 || a->shape[0] != b->shape[0]) return false;
  if (o->dtype != BUD_FLOAT32 && o->dtype != BUD_FLOAT64) return false;
  if (a->dtype != o->dtype || b->dtype != o->dtype) return false;
  DotJob j;
  j.a = a->data;
  j.b = b->data;
  j.sa = a->strides[0];
  j.sb = b->strides[0];
  j.n = a->shape[0];
  j.f32 = o->dtype == BUD_FLOAT32;
  j.path = dot_path(ctx);
  if (nchunks < 1) nchunks = 1;
  if (nchunks > RT_MAX_THREADS) nchunks = RT_MAX_THREADS;
  if (nchunks > 1 && !ctx->pool) ctx->pool = rt_pool_new(ctx->nthreads);
  if (nchunks > 1 && ctx->pool && rt_pool_size(ctx->pool) >= nchunks) {
    if (rt_pool_run(ctx->pool, nchunks, dot_chunk, &j) != BUD_OK) ctx->stats.serial_fallbacks++;
  } else {
    if (nchunks > 1) ctx->stats.serial_fallbacks++;
    for (int c = 0; c < nchunks; c++) dot_chunk(&j, c, nchunks);
  }
  double t = 0.0;
  for (int c = 0; c < nchunks; c++) t += j.part[c];
  if (j.f32) {
    float r = (float)t;
    memcpy(o->data, &r, 4);
  } else {
    memcpy(o->data, &t, 8);
  }
  return true;
}
