/* cost.h — the machine model and the cost model (a roofline per ISA).
 * The machine model holds what calibration measured once per machine (streaming bandwidth on 1
 * and N threads, float32 FMA peak per ISA, the cost of waking workers) plus the cache sizes of
 * x86_cpu(); it is cached in a small versioned text file (see cost.c). The cost model turns a
 * plan into bytes moved, weighted flops, arithmetic intensity, the bound and a predicted time,
 * and from those decides threads, store kind, prefetch distance and unroll.
 * Entry points: rt_machine (process-wide, lazily calibrated or loaded), rt_machine_defaults,
 * rt_machine_calibrate, rt_machine_load/save, rt_op_flops, rt_cost_plan, rt_cost_explain.
 */
#ifndef BUD_RT_COST_H
#define BUD_RT_COST_H

#include "plan/plan.h"

#define RT_MACHINE_VERSION 3

/* The executor's floor under thread advice (exec_fused.c): one more chunk needs this much work,
 * counted as bytes moved plus RT_OP_BYTES per arithmetic op and RT_TRANSC_BYTES per
 * transcendental, per element. The cost model caps its thread count by the same floor, so what
 * explain shows is what runs. */
enum { RT_PAR_MIN_BYTES = 1024 * 1024, RT_OP_BYTES = 2, RT_TRANSC_BYTES = 32 };

enum { RT_ISA_VM, RT_ISA_SSE2, RT_ISA_AVX2, RT_ISA_AVX512, RT_NISA }; /* == X86Isa's order */

typedef struct RtMachine {
  double bw1_gbs;                /* streaming bandwidth, one thread (triad, bytes read+written) */
  double bwn_gbs;                /* the same on nthreads threads */
  double bwnt1_gbs;              /* one thread with non-temporal stores (information) */
  int nthreads;                  /* online CPUs: the threads bwn_gbs was measured with */
  double gflops[RT_NISA];        /* float32 peak per ISA, one thread, GFLOP/s (FMA = 2 flops) */
  double wake_us;                /* one parallel call on nthreads (wake + join), minus serial */
  int64_t l2_bytes, llc_bytes;   /* from x86_cpu() (defaults when unknown) */
  const char *source;            /* "measured", "cache <path>", "defaults" (static strings) */
  double calib_ms;               /* time calibration took (0 when loaded or defaults) */
} RtMachine;

/* The process-wide model, computed on first call (thread-safe): BUD_NO_CALIBRATE=1 gives the
 * conservative defaults without measuring or touching files; otherwise the cache file when it
 * is intact and made for this CPU, else a calibration (a few tens of ms) written back to the
 * cache atomically. Never NULL. Like x86_cpu(), the only lazily initialised global. */
const RtMachine *rt_machine(void);

void rt_machine_defaults(RtMachine *m);
/* Measures bandwidth (1 and nthreads threads: a triad over 3 arrays of `mib`/3 MiB), FMA peaks
 * and the wake-up cost into m (cache sizes filled too). false when memory or threads fail (m
 * then keeps the defaults). */
bool rt_machine_calibrate(RtMachine *m, int nthreads, int mib);
/* The key a cache file must carry: CPU brand, features, cache sizes, online CPUs. */
void rt_machine_key(char *buf, size_t n);
/* The cache file path ($BUD_CACHE_DIR, $XDG_CACHE_HOME/bud or ~/.cache/bud + /machine-v3.txt);
 * false when no directory is known. */
bool rt_machine_path(char *buf, size_t n);
/* Reads the file at path into m when its version, key and checksum are right and every value is
 * plausible; false otherwise (m untouched). */
bool rt_machine_load(const char *path, const char *key, RtMachine *m);
/* Writes m with key to path atomically (temporary file + rename); creates the directory. */
bool rt_machine_save(const char *path, const char *key, const RtMachine *m);

/* Weighted flops of one element of op in dtype (1 for add/mul/compare, 2 for fma, ~4 for
 * divide and sqrt, ~20 for transcendental functions), in float32-lane units: float64 and 64-bit
 * integers cost twice (half the lanes per vector). */
double rt_op_flops(Op op, BudDType dt);

/* The decisions and their inputs for one fused plan. */
typedef struct PlanCost {
  int64_t elems;             /* iteration elements */
  int64_t load_bytes, store_bytes;
  double flops;              /* weighted, see rt_op_flops */
  double intensity;          /* flops / byte */
  bool compute_bound;
  double t1_us;              /* predicted time on one thread */
  double t_us;               /* predicted time with the chosen threads */
  int nthreads;
  uint8_t store;             /* StoreKind */
  int prefetch_bytes, unroll;
  int tile_cols;             /* > 0: axis-0 reduction accumulated over column tiles */
  char why[160];             /* the reasons, in words */
} PlanCost;

/* Cost of plan p (its operands index buffers) on machine m for ISA isa (RT_ISA_*);
 * outputs_reread: some buffer the plan stores is read by a later group. */
void rt_cost_plan(const RtMachine *m, int isa, const Plan *p, const Buffer *buffers,
                  bool outputs_reread, PlanCost *c);
/* Writes the decisions into p->sched (nthreads, store, prefetch_bytes, unroll). */
void rt_cost_apply(const PlanCost *c, Plan *p);
/* One "== machine ==" line block: what the model knows about the machine. */
void rt_machine_explain(const RtMachine *m, int isa, StrBuf *sb);
/* "group N: bytes ..., flops ..., intensity ..., bound ..., predicted ... us, threads ...". */
void rt_cost_explain(const PlanCost *c, int gid, StrBuf *sb);
/* The ISA plans will run on: ctx->isa when forced, else BUD_ISA, else the best the CPU has
 * (RT_ISA_SSE2 when BUD_ISA names nothing usable). */
int rt_cost_isa(const BudContext *ctx);
/* Predicted µs for moving `bytes` and doing `flops` on one thread (for fusion choices). */
double rt_cost_time_us(const RtMachine *m, int isa, double bytes, double flops);

#endif /* BUD_RT_COST_H */
