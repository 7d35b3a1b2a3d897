/* pool.h — the executor's thread pool: a fixed set of pthreads that run one parallel job at a time
 * as static chunks (job(arg, chunk, nchunks) for chunk = 0..nchunks-1, chunk 0 on the caller).
 * Static chunks, not work stealing: fused kernels are uniform streaming loops, so equal ranges
 * finish together, and the fixed chunk -> thread mapping makes reductions deterministic.
 * Workers block in FUTEX_WAIT between jobs (none spins after a call returns; the caller spins a
 * bounded while for the join inside the call, see pool.c); the pool is fork-safe (a child process starts without workers and recreates them on first use).
 * Entry points: rt_pool_new, rt_pool_run, rt_pool_free, rt_pool_sleeping, rt_default_threads.
 */
#ifndef BUD_RT_POOL_H
#define BUD_RT_POOL_H

#include "base/base.h"

#define RT_MAX_THREADS 256

typedef struct RtPool RtPool;
typedef void (*RtJobFn)(void *arg, int chunk, int nchunks);

/* A pool able to run nthreads chunks at once (nthreads - 1 workers + the caller). NULL when out
 * of memory; workers are started lazily by the first rt_pool_run that needs them. */
RtPool *rt_pool_new(int nthreads);
void rt_pool_free(RtPool *p);        /* joins every worker */
int rt_pool_size(const RtPool *p);
/* Workers blocked in the kernel waiting for a job right now (tests: none is left spinning). */
int rt_pool_sleeping(RtPool *p);
/* Runs job for chunks 0..nchunks-1 (nchunks <= pool size) and returns when all have finished.
 * One job at a time per pool (the pool serialises concurrent callers). Returns BUD_OK, or
 * BUD_ERR_NOMEM when threads could not be started (then every chunk ran on the caller). */
BudStatus rt_pool_run(RtPool *p, int nchunks, RtJobFn job, void *arg);

/* Threads to use by default: BUD_NUM_THREADS when set to a positive number, else the number of
 * online CPUs (at most RT_MAX_THREADS). */
int rt_default_threads(void);

#endif
