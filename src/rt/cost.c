/* cost.c — the machine model (calibration, its cache file) and the roofline cost of a plan.
 *
 * Calibration (rt_machine_calibrate), a few tens of milliseconds once per machine:
 *   bandwidth  a[i] = b[i] + 3*c[i] over three float arrays far larger than the caches (SSE2, the
 *              x86-64 baseline, is enough to saturate memory), on one thread and on every online
 *              CPU through the executor's pool (static chunks), interleaved, best of 4; bytes counted
 *              as the kernel moves them (2 loads + 1 store per element), as the plan costs are;
 *   peak       a register-blocked chain of multiply-adds per ISA (SSE2 mul+add, AVX2 FMA,
 *              AVX-512 FMA when the CPU and OS have them), float32, one thread;
 *   wake-up    an empty parallel job on every CPU through the pool (median of 31, back to back):
 *              what a parallel call costs beyond a serial one in a loop of calls. With the futex
 *              pool (pool.c) this is 1.7 us here (the condition-variable pool measured 59-87 us);
 *              a call after more than ~0.2 ms of idleness pays more (35-50 us on this KVM guest:
 *              the host must wake a halted vCPU), which the executor's RT_PAR_MIN_BYTES floor
 *              keeps away from small groups.
 * The result is cached in $BUD_CACHE_DIR (or $XDG_CACHE_HOME/bud, ~/.cache/bud)/machine-v3.txt:
 * a versioned text file with the CPU key (brand, features, cache sizes, CPUs) and a checksum
 * over the text; written to a temporary file and renamed into place, so readers never see a
 * partial file. A file that fails any check (version, key, checksum, a missing or implausible
 * value) is ignored and rewritten after a new calibration.
 *
 * The cost of a plan (rt_cost_plan): bytes = each loaded buffer once (a broadcast row is read
 * from cache, so it counts its own size) + each stored element; flops = rt_op_flops per
 * element over the iteration. Time on k threads = max(bytes / bw(k), flops / (peak * k)) plus
 * the wake-up cost when k > 1; bw(k) interpolates linearly between the 1- and N-thread
 * measurements. The thread count minimises that time (ties go to fewer threads).
 */
#define _GNU_SOURCE
#include "rt/cost.h"

#include "rt/pool.h"
#include "x86/cpu.h"

#include <emmintrin.h>
#include <errno.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- defaults -------------------------------------------------------------------------------- */

static int rt_online_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > RT_MAX_THREADS ? RT_MAX_THREADS : (int)n;
}

static void rt_machine_caches(RtMachine *m) {
  const X86Cpu *cpu = x86_cpu();
  m->l2_bytes = cpu->l2 ? (int64_t)cpu->l2 : 256 * 1024;
  m->llc_bytes = cpu->l3 ? (int64_t)cpu->l3 : cpu->l2 ? (int64_t)cpu->l2 : 8 << 20;
  /* The share of the last-level cache this process can hold: CPUID reports the whole chip's L3,
   * and a virtual machine reports its host's (480 MiB on the 2-vCPU guests here), which made
   * every output "fit" and non-temporal stores never trigger. Real chips give 1.5-4 MiB of L3
   * per core (Zen3 4, Sapphire Rapids 1.9), so count at most RT_LLC_PER_CPU per online CPU. */
  enum { RT_LLC_PER_CPU = 4 << 20 };
  int64_t share = (int64_t)RT_LLC_PER_CPU * rt_online_cpus();
  if (m->llc_bytes > share) m->llc_bytes = share;
}

/* Conservative: modest bandwidth, little gain from threads, a high wake-up cost. */
void rt_machine_defaults(RtMachine *m) {
  memset(m, 0, sizeof *m);
  m->nthreads = rt_online_cpus();
  m->bw1_gbs = 8.0;
  m->bwn_gbs = m->nthreads > 1 ? 12.0 : 8.0;
  m->bwnt1_gbs = 8.0;
  m->gflops[RT_ISA_VM] = 4.0;
  m->gflops[RT_ISA_SSE2] = 8.0;
  m->gflops[RT_ISA_AVX2] = 32.0;
  m->gflops[RT_ISA_AVX512] = 64.0;
  m->wake_us = 20.0;
  m->source = "defaults";
  rt_machine_caches(m);
}

/* ---- calibration kernels --------------------------------------------------------------------- */

/* a[lo..hi) = b + 3*c; lo and hi multiples of 8; arrays 64-byte aligned. */
static void rt_triad(float *a, const float *b, const float *c, int64_t lo, int64_t hi, bool nt) {
  const __m128 k = _mm_set1_ps(3.0f);
  for (int64_t i = lo; i < hi; i += 8) {
    __m128 x0 = _mm_add_ps(_mm_load_ps(b + i), _mm_mul_ps(k, _mm_load_ps(c + i)));
    __m128 x1 = _mm_add_ps(_mm_load_ps(b + i + 4), _mm_mul_ps(k, _mm_load_ps(c + i + 4)));
    if (nt) {
      _mm_stream_ps(a + i, x0);
      _mm_stream_ps(a + i + 4, x1);
    } else {
      _mm_store_ps(a + i, x0);
      _mm_store_ps(a + i + 4, x1);
    }
  }
  if (nt) _mm_sfence();
}

typedef struct TriadJob {
  float *a, *b, *c;
  int64_t n; /* multiple of 8 * chunks */
  bool nt;
} TriadJob;

static void rt_triad_job(void *arg, int chunk, int nchunks) {
  TriadJob *j = arg;
  int64_t per = j->n / nchunks / 8 * 8;
  int64_t lo = per * chunk, hi = chunk == nchunks - 1 ? j->n : lo + per;
  rt_triad(j->a, j->b, j->c, lo, hi, j->nt);
}

static void rt_empty_job(void *arg, int chunk, int nchunks) {
  BUD_UNUSED(arg), BUD_UNUSED(chunk), BUD_UNUSED(nchunks);
}

/* GB/s of the best of `reps` triads on nchunks threads (pool == NULL: the caller alone). */
static double rt_triad_gbs(RtPool *pool, int nchunks, TriadJob *j, int reps) {
  uint64_t best = UINT64_MAX;
  for (int r = 0; r < reps; r++) {
    uint64_t t0 = now_ns();
    if (pool && nchunks > 1)
      rt_pool_run(pool, nchunks, rt_triad_job, j);
    else
      rt_triad_job(j, 0, 1);
    uint64_t dt = now_ns() - t0;
    if (dt < best) best = dt;
  }
  return best ? 12.0 * (double)j->n / (double)best : 0.0;
}

#define RT_FMA_ITERS 20000

/* Each returns a value that depends on every accumulator, so nothing is optimised away. */
static float rt_peak_sse2(int64_t iters) {
  __m128 m = _mm_set1_ps(0.9999999f), a = _mm_set1_ps(1e-3f);
  __m128 x[12];
  for (int k = 0; k < 12; k++) x[k] = _mm_set1_ps((float)k);
  for (int64_t i = 0; i < iters; i++)
    for (int k = 0; k < 12; k++) x[k] = _mm_add_ps(_mm_mul_ps(x[k], m), a);
  for (int k = 1; k < 12; k++) x[0] = _mm_add_ps(x[0], x[k]);
  return _mm_cvtss_f32(x[0]);
}

__attribute__((target("avx2,fma"))) static float rt_peak_avx2(int64_t iters) {
  __m256 m = _mm256_set1_ps(0.9999999f), a = _mm256_set1_ps(1e-3f);
  __m256 x[12];
  for (int k = 0; k < 12; k++) x[k] = _mm256_set1_ps((float)k);
  for (int64_t i = 0; i < iters; i++)
    for (int k = 0; k < 12; k++) x[k] = _mm256_fmadd_ps(x[k], m, a);
  for (int k = 1; k < 12; k++) x[0] = _mm256_add_ps(x[0], x[k]);
  return _mm_cvtss_f32(_mm256_castps256_ps128(x[0]));
}

__attribute__((target("avx512f"))) static float rt_peak_avx512(int64_t iters) {
  __m512 m = _mm512_set1_ps(0.9999999f), a = _mm512_set1_ps(1e-3f);
  __m512 x[16];
  for (int k = 0; k < 16; k++) x[k] = _mm512_set1_ps((float)k);
  for (int64_t i = 0; i < iters; i++)
    for (int k = 0; k < 16; k++) x[k] = _mm512_fmadd_ps(x[k], m, a);
  for (int k = 1; k < 16; k++) x[0] = _mm512_add_ps(x[0], x[k]);
  return _mm512_cvtss_f32(x[0]);
}

/* GFLOP/s of the best of 5 runs; flops_per_iter counts every lane (mul+add or FMA = 2). */
static double rt_peak_gflops(float (*fn)(int64_t), double flops_per_iter) {
  uint64_t best = UINT64_MAX;
  volatile float sink = 0;
  for (int r = 0; r < 5; r++) {
    uint64_t t0 = now_ns();
    sink += fn(RT_FMA_ITERS);
    uint64_t dt = now_ns() - t0;
    if (dt < best) best = dt;
  }
  BUD_UNUSED(sink);
  return best ? flops_per_iter * RT_FMA_ITERS / (double)best : 0.0;
}

static int rt_cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

bool rt_machine_calibrate(RtMachine *m, int nthreads, int mib) {
  rt_machine_defaults(m);
  uint64_t t_start = now_ns();
  if (nthreads < 1) nthreads = 1;
  m->nthreads = nthreads;
  const X86Cpu *cpu = x86_cpu();
  /* peaks */
  m->gflops[RT_ISA_SSE2] = rt_peak_gflops(rt_peak_sse2, 12 * 4 * 2);
  m->gflops[RT_ISA_VM] = m->gflops[RT_ISA_SSE2] / 2; /* portable C blocks: an estimate */
  uint32_t avx2 = X86_FEAT_AVX | X86_FEAT_AVX2 | X86_FEAT_FMA;
  m->gflops[RT_ISA_AVX2] = (cpu->feat & avx2) == avx2 ? rt_peak_gflops(rt_peak_avx2, 12 * 8 * 2)
                                                      : m->gflops[RT_ISA_SSE2];
  m->gflops[RT_ISA_AVX512] = (cpu->feat & X86_FEAT_AVX512F) && cpu->has_os_zmm
                                 ? rt_peak_gflops(rt_peak_avx512, 16 * 16 * 2)
                                 : m->gflops[RT_ISA_AVX2];
  /* bandwidth: `mib` MiB in all (the spec's few-ms budget; larger than most per-core shares of
   * a last-level cache, though not of every server's whole L3) */
  int64_t bytes = (int64_t)(mib > 0 ? mib : 64) << 20;
  TriadJob j;
  j.n = bytes / 3 / 4 / (8 * RT_MAX_THREADS) * (8 * RT_MAX_THREADS);
  j.nt = false;
  j.a = bud_aligned_alloc((size_t)j.n * 4);
  j.b = bud_aligned_alloc((size_t)j.n * 4);
  j.c = bud_aligned_alloc((size_t)j.n * 4);
  RtPool *pool = nthreads > 1 ? rt_pool_new(nthreads) : NULL;
  bool ok = j.a && j.b && j.c && j.n > 0 && (nthreads == 1 || pool);
  if (ok) {
    for (int64_t i = 0; i < j.n; i++) j.a[i] = 0, j.b[i] = (float)(i & 7), j.c[i] = 1.0f;
    /* interleaved, best of 4 each: on a shared machine a neighbour's burst then hurts one
     * run of each kind rather than every run of one kind */
    m->bw1_gbs = m->bwn_gbs = 0;
    for (int r = 0; r < 4; r++) {
      double b1 = rt_triad_gbs(NULL, 1, &j, 1);
      double bn = pool ? rt_triad_gbs(pool, nthreads, &j, 1) : b1;
      if (b1 > m->bw1_gbs) m->bw1_gbs = b1;
      if (bn > m->bwn_gbs) m->bwn_gbs = bn;
    }
    j.nt = true;
    m->bwnt1_gbs = rt_triad_gbs(NULL, 1, &j, 2);
    j.nt = false;
    if (m->bwn_gbs < m->bw1_gbs) m->bwn_gbs = m->bw1_gbs;
  }
  if (ok && pool) {
    uint64_t t[31];
    rt_pool_run(pool, nthreads, rt_empty_job, NULL); /* starts the workers */
    for (int r = 0; r < 31; r++) {
      uint64_t t0 = now_ns();
      rt_pool_run(pool, nthreads, rt_empty_job, NULL);
      t[r] = now_ns() - t0;
    }
    qsort(t, 31, sizeof t[0], rt_cmp_u64);
    m->wake_us = (double)t[15] / 1000.0;
  } else if (ok) {
    m->wake_us = 0;
  }
  if (pool) rt_pool_free(pool);
  bud_aligned_free(j.a);
  bud_aligned_free(j.b);
  bud_aligned_free(j.c);
  if (!ok || !(m->bw1_gbs > 0) || !(m->gflops[RT_ISA_SSE2] > 0)) {
    rt_machine_defaults(m);
    return false;
  }
  m->source = "measured";
  m->calib_ms = (double)(now_ns() - t_start) / 1e6;
  return true;
}

/* ---- the cache file -------------------------------------------------------------------------- */

void rt_machine_key(char *buf, size_t n) {
  const X86Cpu *cpu = x86_cpu();
  char brand[49];
  snprintf(brand, sizeof brand, "%s", cpu->brand);
  for (char *p = brand; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  snprintf(buf, n, "%s|%s|feat=%x|l1d=%u|l2=%u|l3=%u|cpus=%d", cpu->vendor, brand, cpu->feat,
           cpu->l1d, cpu->l2, cpu->l3, rt_online_cpus());
}

bool rt_machine_path(char *buf, size_t n) {
  const char *dir = getenv("BUD_CACHE_DIR");
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int w;
  if (dir && *dir)
    w = snprintf(buf, n, "%s/machine-v%d.txt", dir, RT_MACHINE_VERSION);
  else if (xdg && *xdg)
    w = snprintf(buf, n, "%s/bud/machine-v%d.txt", xdg, RT_MACHINE_VERSION);
  else if (home && *home)
    w = snprintf(buf, n, "%s/.cache/bud/machine-v%d.txt", home, RT_MACHINE_VERSION);
  else
    return false;
  return w > 0 && (size_t)w < n;
}

#define RT_CK_SEED 0x6275642d6d616368ull

static void rt_machine_text(const RtMachine *m, const char *key, StrBuf *sb) {
  sb_printf(sb, "bud-machine %d\nkey %s\n", RT_MACHINE_VERSION, key);
  sb_printf(sb, "bw1_gbs %.6g\nbwn_gbs %.6g\nbwnt1_gbs %.6g\nnthreads %d\n", m->bw1_gbs,
            m->bwn_gbs, m->bwnt1_gbs, m->nthreads);
  sb_printf(sb, "gflops %.6g %.6g %.6g %.6g\nwake_us %.6g\n", m->gflops[0], m->gflops[1],
            m->gflops[2], m->gflops[3], m->wake_us);
}

static bool rt_plausible(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

bool rt_machine_load(const char *path, const char *key, RtMachine *out) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  char text[4096];
  size_t n = fread(text, 1, sizeof text - 1, f);
  bool too_long = !feof(f);
  fclose(f);
  if (too_long) return false;
  text[n] = 0;
  if (strlen(text) != n) return false; /* NUL bytes: damaged */
  char *ck = strstr(text, "checksum ");
  if (!ck || (ck != text && ck[-1] != '\n')) return false;
  unsigned long long want;
  if (sscanf(ck, "checksum %16llx", &want) != 1) return false;
  if (hash_bytes(text, (size_t)(ck - text), RT_CK_SEED) != (uint64_t)want) return false;
  *ck = 0;
  RtMachine m;
  rt_machine_defaults(&m);
  int version = 0, have = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (sscanf(line, "bud-machine %d", &version) == 1) have |= 1;
    else if (!strncmp(line, "key ", 4)) have |= strcmp(line + 4, key) == 0 ? 2 : 0;
    else if (sscanf(line, "bw1_gbs %lf", &m.bw1_gbs) == 1) have |= 4;
    else if (sscanf(line, "bwn_gbs %lf", &m.bwn_gbs) == 1) have |= 8;
    else if (sscanf(line, "bwnt1_gbs %lf", &m.bwnt1_gbs) == 1) have |= 16;
    else if (sscanf(line, "nthreads %d", &m.nthreads) == 1) have |= 32;
    else if (sscanf(line, "gflops %lf %lf %lf %lf", &m.gflops[0], &m.gflops[1], &m.gflops[2],
                    &m.gflops[3]) == 4)
      have |= 64;
    else if (sscanf(line, "wake_us %lf", &m.wake_us) == 1) have |= 128;
    else return false; /* an unknown line: not ours */
  }
  if (have != 255 || version != RT_MACHINE_VERSION || m.nthreads != rt_online_cpus()) return false;
  if (!rt_plausible(m.bw1_gbs, 0.1, 1e4) || !rt_plausible(m.bwn_gbs, 0.1, 1e5) ||
      !rt_plausible(m.bwnt1_gbs, 0.01, 1e4) || !rt_plausible(m.wake_us, 0, 1e5))
    return false;
  for (int i = 0; i < RT_NISA; i++)
    if (!rt_plausible(m.gflops[i], 0.01, 1e6)) return false;
  m.source = "cache";
  *out = m;
  return true;
}

/* mkdir -p of the directory part of path. */
static void rt_mkdirs(const char *path) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) return;
  *slash = 0;
  for (char *p = dir + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir(dir, 0755);
      *p = '/';
    }
  mkdir(dir, 0755);
}

bool rt_machine_save(const char *path, const char *key, const RtMachine *m) {
  StrBuf sb;
  sb_init(&sb);
  rt_machine_text(m, key, &sb);
  if (sb.oom || !sb.data) {
    sb_free(&sb);
    return false;
  }
  sb_printf(&sb, "checksum %016llx\n",
            (unsigned long long)hash_bytes(sb.data, sb.len, RT_CK_SEED));
  rt_mkdirs(path);
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  bool ok = f && !sb.oom;
  if (ok) ok = fwrite(sb.data, 1, sb.len, f) == sb.len;
  if (f && fclose(f) != 0) ok = false;
  if (ok) ok = rename(tmp, path) == 0;
  if (!ok && f) unlink(tmp);
  sb_free(&sb);
  return ok;
}

/* ---- the process-wide model ------------------------------------------------------------------ */

static RtMachine the_machine;
static pthread_once_t the_machine_once = PTHREAD_ONCE_INIT;

static void rt_machine_init(void) {
  const char *no = getenv("BUD_NO_CALIBRATE");
  RtMachine m;
  rt_machine_defaults(&m);
  if (no && *no && strcmp(no, "0") != 0) {
    m.source = "defaults (BUD_NO_CALIBRATE)";
    the_machine = m;
    return;
  }
  char key[512], path[1024];
  rt_machine_key(key, sizeof key);
  bool has_path = rt_machine_path(path, sizeof path);
  if (has_path && rt_machine_load(path, key, &m)) {
    m.source = "cache file";
    rt_machine_caches(&m);
    the_machine = m;
    return;
  }
  if (rt_machine_calibrate(&m, rt_online_cpus(), 64) && has_path) rt_machine_save(path, key, &m);
  the_machine = m;
}

const RtMachine *rt_machine(void) {
  pthread_once(&the_machine_once, rt_machine_init);
  return &the_machine;
}

/* ---- the cost of a plan ---------------------------------------------------------------------- */

enum { RT_TILE_COLS = 16384, RT_TILE_MIN_COLS = 16 };

double rt_op_flops(Op op, BudDType dt) {
  double w;
  unsigned flags = op_info(op)->flags;
  switch (op) {
  case OP_fma: w = 2; break;
  case OP_div: case OP_sqrt: w = dtype_is_float(dt) ? 4 : 20; break;
  case OP_floordiv: case OP_mod: case OP_fmod: w = dtype_is_float(dt) ? 8 : 20; break;
  case OP_pow: w = 30; break;
  default: w = (flags & F_TRANSC) ? 20 : 1; break;
  }
  return dtype_size(dt) >= 8 ? 2 * w : w;
}

int rt_cost_isa(const BudContext *ctx) {
  if (ctx && ctx->isa >= RT_ISA_VM && ctx->isa < RT_NISA) return ctx->isa;
  X86Isa isa;
  char msg[256];
  if (x86_isa_select(getenv("BUD_ISA"), x86_cpu(), &isa, msg, sizeof msg) != 0) return RT_ISA_SSE2;
  return (int)isa;
}

static double rt_isa_peak(const RtMachine *m, int isa) {
  if (isa < 0 || isa >= RT_NISA) isa = RT_ISA_SSE2;
  return m->gflops[isa] > 0 ? m->gflops[isa] : 1.0;
}

static double rt_bw(const RtMachine *m, int k) {
  if (k <= 1 || m->nthreads <= 1) return m->bw1_gbs;
  return m->bw1_gbs + (m->bwn_gbs - m->bw1_gbs) * (double)(k - 1) / (double)(m->nthreads - 1);
}

double rt_cost_time_us(const RtMachine *m, int isa, double bytes, double flops) {
  double tm = bytes / m->bw1_gbs, tc = flops / rt_isa_peak(m, isa);
  return (tm > tc ? tm : tc) / 1000.0;
}

static int64_t rt_buffer_bytes(const Buffer *b) {
  int64_t n = 1;
  for (int d = 0; d < b->shape.ndim; d++) n *= b->shape.dim[d];
  return n * dtype_size((BudDType)b->dtype);
}

void rt_cost_plan(const RtMachine *m, int isa, const Plan *p, const Buffer *buffers,
                  bool outputs_reread, PlanCost *c) {
  memset(c, 0, sizeof *c);
  int64_t n = 1;
  for (int d = 0; d < p->iter.ndim; d++) n *= p->iter.dim[d];
  c->elems = n;
  for (int k = 0; k < p->noperands; k++) {
    int64_t b = rt_buffer_bytes(&buffers[p->operands[k].buffer]);
    if (p->operands[k].is_output) c->store_bytes += b;
    else c->load_bytes += b;
  }
  for (int r = 0; r < p->nreduces; r++) c->store_bytes += rt_buffer_bytes(&buffers[p->reduces[r].buffer]);
  double lane_flops = 0;
  for (int i = 0; i < p->ninsts; i++) {
    const LInst *in = &p->insts[i];
    if (in->kind == LK_OP) lane_flops += rt_op_flops((Op)in->op, (BudDType)in->dtype);
    if (in->kind == LK_REDUCE) lane_flops += rt_op_flops(OP_add, (BudDType)in->dtype);
  }
  c->flops = lane_flops * (double)n;
  double bytes = (double)(c->load_bytes + c->store_bytes);
  c->intensity = bytes > 0 ? c->flops / bytes : 0;
  double peak = rt_isa_peak(m, isa);
  c->compute_bound = c->flops / peak > bytes / m->bw1_gbs;
  /* threads: minimise max(bytes/bw(k), flops/(peak k)) + wake-up, at most one per
   * RT_PAR_MIN_BYTES of work (the executor's floor) */
  double work = bytes;
  for (int i = 0; i < p->ninsts; i++)
    if (p->insts[i].kind == LK_OP)
      work += (double)n * ((op_info((Op)p->insts[i].op)->flags & F_TRANSC) ? RT_TRANSC_BYTES
                                                                             : RT_OP_BYTES);
  int kmax = 1 + (int)(work / RT_PAR_MIN_BYTES < RT_MAX_THREADS ? work / RT_PAR_MIN_BYTES
                                                                 : RT_MAX_THREADS);
  int best = 1;
  double best_t = 0;
  for (int k = 1; k <= m->nthreads && k <= kmax; k++) {
    double tm = bytes / rt_bw(m, k), tc = c->flops / (peak * k);
    double t = (tm > tc ? tm : tc) / 1000.0;
    if (k > 1) t += m->wake_us * (m->nthreads > 1 ? (double)(k - 1) / (m->nthreads - 1) : 1);
    if (k == 1) c->t1_us = t;
    if (k == 1 || t < best_t * 0.97) best = k, best_t = t; /* 3%: ties go to fewer threads */
  }
  c->nthreads = best;
  c->t_us = best_t;
  /* store kind: non-temporal only when the stores overflow the LLC and nobody re-reads them */
  const char *store_why;
  c->store = STORE_NORMAL;
  if (c->store_bytes == 0)
    store_why = "no stores";
  else if (outputs_reread)
    store_why = "stores normal: a later group reads them";
  else if (c->store_bytes <= m->llc_bytes)
    store_why = "stores normal: they fit the last-level cache";
  else {
    c->store = STORE_NONTEMPORAL;
    store_why = "stores nontemporal: larger than the last-level cache, not re-read";
  }
  /* prefetch and unroll: no software prefetch for the contiguous streams a plan reads (the
   * hardware prefetcher follows them; measured, 2*a+3*b at 16M float32, one thread, aligned
   * non-temporal output: 13.1 ms with a 1024-byte prefetch distance, 8.7 ms without, the
   * latter 23 GB/s as the kernel alone); compute-bound loops unroll more to cover the FMA
   * latency, tiny ones do not unroll */
  c->prefetch_bytes = 0;
  c->unroll = n < 64 ? 1 : c->compute_bound ? 4 : 2;
  /* axis-0 reductions of 2-D data with rows of at least a vector: accumulate rows into column
   * tiles (contiguous loads) instead of walking columns with a row-sized stride; the tile's
   * float64 accumulators (128 KiB: whole rows up to 16K columns, so rows stream contiguously) stay
   * in L2; measured, 4096x4096 float32, 1 thread: 223 ms before (columns gathered), 10.6 ms with
   * 2048-column tiles, 4.5 ms with whole rows (the C row loop: 3.5 ms; a loaded machine) */
  c->tile_cols = plan_tile_qualifies(p) && p->iter.dim[1] >= RT_TILE_MIN_COLS ? RT_TILE_COLS : 0;
  /* why: compare one thread with all of them, without and with the wake-up cost */
  double tn = 0;
  if (m->nthreads > 1) {
    double tm = bytes / m->bwn_gbs, tc = c->flops / (peak * m->nthreads);
    tn = (tm > tc ? tm : tc) / 1000.0;
  }
  const char *thr_why = best > 1                   ? "threads pay off"
                        : m->nthreads == 1         ? "serial: one CPU"
                        : kmax == 1                ? "serial: under the executor's floor of work "
                                                     "per extra thread"
                        : tn >= c->t1_us * 0.97    ? "serial: memory-bound and the measured "
                                                     "bandwidth does not grow with threads"
                                                   : "serial: wake-up cost exceeds the gain";
  snprintf(c->why, sizeof c->why, "%s; %s", thr_why, store_why);
}

void rt_cost_apply(const PlanCost *c, Plan *p) {
  p->sched.tile_cols = c->tile_cols;
  p->sched.nthreads = c->nthreads;
  p->sched.store = c->store;
  p->sched.prefetch_bytes = c->prefetch_bytes;
  p->sched.unroll = c->unroll;
  p->sched.predicted_us = (float)c->t_us;
}

void rt_machine_explain(const RtMachine *m, int isa, StrBuf *sb) {
  sb_printf(sb,
            "machine: %s; bandwidth %.1f GB/s (1 thread), %.1f GB/s (%d threads); peak %.1f "
            "GFLOP/s/thread (%s); wake-up %.1f us; L2 %lld KiB, LLC %lld KiB\n",
            m->source, m->bw1_gbs, m->bwn_gbs, m->nthreads, rt_isa_peak(m, isa),
            x86_isa_name((X86Isa)isa), m->wake_us, (long long)(m->l2_bytes >> 10),
            (long long)(m->llc_bytes >> 10));
}

void rt_cost_explain(const PlanCost *c, int gid, StrBuf *sb) {
  sb_printf(sb,
            "group %d: %lld elements, bytes %lld (load %lld, store %lld), flops %.0f, intensity "
            "%.3f flop/byte, %s-bound, predicted %.2f us (1 thread %.2f us), threads %d, store "
            "%s, prefetch %d, unroll %d%s\n  why: %s\n",
            gid, (long long)c->elems, (long long)(c->load_bytes + c->store_bytes),
            (long long)c->load_bytes, (long long)c->store_bytes, c->flops, c->intensity,
            c->compute_bound ? "compute" : "memory", c->t_us, c->t1_us, c->nthreads,
            c->store == STORE_NORMAL ? "normal" : "nontemporal", c->prefetch_bytes, c->unroll,
            c->tile_cols > 0 ? ", column tiles (axis-0 reduction)" : "", c->why);
}
