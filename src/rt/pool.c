/* pool.c — a static-chunk thread pool (see pool.h for why static chunks). Worker w runs chunk w of
 * each job; the caller runs chunk 0. Synchronisation is two futex words and atomics, no mutex or
 * condition variable on the job path:
 *   gen      bumped (release) once per job after the job is published; a worker that has seen
 *            every generation blocks in FUTEX_WAIT on it at once (no spinning), the caller wakes
 *            them all with one FUTEX_WAKE;
 *   pending  workers yet to finish the job; the caller, after its own chunk, spins on it for at
 *            most RT_POOL_SPIN_NS (the workers' chunks are as long as its own, so they are
 *            usually about to finish), then sleeps on it; the worker that brings it to 0 wakes
 *            the caller only when the caller said it sleeps (caller_waits).
 * Why not the mutex + condition variables of the first version: on this KVM guest every blocking
 * hand-over (worker wakes on cv_start, then contends for the mutex the broadcaster holds, then
 * the caller sleeps on cv_done and must be woken too) can cost an inter-processor interrupt to a
 * halted vCPU, 15-40 us each; an empty 2-thread job measured 59 us median back to back. With
 * this scheme the same job is one wake of a sleeping worker and no sleep of the caller
 * (measured with tools in the commit message; see also cost.c's wake-up calibration).
 * No worker spins after a call: the caller's bounded spin happens inside rt_pool_run, before it
 * returns, and every worker goes straight from its chunk to FUTEX_WAIT.
 * Entry points: rt_pool_new, rt_pool_run, rt_pool_free, rt_pool_size, rt_pool_sleeping,
 * rt_default_threads.
 */
#define _GNU_SOURCE
#include "rt/pool.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The caller's spin on `pending` after its own chunk, before it sleeps. Bounded so that a worker
 * descheduled by another process costs at most this much CPU; long enough to cover the usual
 * difference between equal chunks and the wake-up of a worker (a few us to ~40 us here). */
enum { RT_POOL_SPIN_NS = 50 * 1000 };

typedef struct Worker {
  RtPool *pool;
  int id;
  uint32_t seen; /* the generation the worker has handled; set before it starts */
} Worker;

struct RtPool {
  pthread_mutex_t run_lock; /* one job at a time */
  int size;
  int nstarted;             /* workers running (ids 1..nstarted); only under run_lock */
  pthread_t *threads;
  Worker *workers;
  /* the job: written by the caller before it bumps gen, read by workers after they see it */
  RtJobFn job;
  void *arg;
  int nchunks;
  bool stop;
  /* atomics (futex words are 32-bit) */
  uint32_t gen;
  uint32_t pending;
  uint32_t caller_waits;
  uint32_t nsleeping;
  pid_t pid; /* the process whose threads these are */
};

static void pool_futex_wait(uint32_t *addr, uint32_t val) {
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void pool_futex_wake(uint32_t *addr, int n) {
  syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static uint64_t pool_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

RtPool *rt_pool_new(int nthreads) {
  if (nthreads < 1) nthreads = 1;
  if (nthreads > RT_MAX_THREADS) nthreads = RT_MAX_THREADS;
  RtPool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->threads = calloc((size_t)nthreads, sizeof *p->threads);
  p->workers = calloc((size_t)nthreads, sizeof *p->workers);
  if (!p->threads || !p->workers) {
    free(p->threads);
    free(p->workers);
    free(p);
    return NULL;
  }
  p->size = nthreads;
  p->pid = getpid();
  pthread_mutex_init(&p->run_lock, NULL);
  return p;
}

int rt_pool_size(const RtPool *p) { return p->size; }

int rt_pool_sleeping(RtPool *p) { return (int)__atomic_load_n(&p->nsleeping, __ATOMIC_SEQ_CST); }

static void *pool_worker(void *argp) {
  Worker *w = argp;
  RtPool *p = w->pool;
  uint32_t seen = w->seen;
  for (;;) {
    uint32_t g;
    while ((g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE)) == seen) {
      __atomic_add_fetch(&p->nsleeping, 1, __ATOMIC_SEQ_CST);
      pool_futex_wait(&p->gen, seen); /* returns at once when gen moved meanwhile */
      __atomic_sub_fetch(&p->nsleeping, 1, __ATOMIC_SEQ_CST);
    }
    seen = g;
    if (p->stop) break;
    if (w->id < p->nchunks) p->job(p->arg, w->id, p->nchunks);
    if (__atomic_sub_fetch(&p->pending, 1, __ATOMIC_SEQ_CST) == 0 &&
        __atomic_load_n(&p->caller_waits, __ATOMIC_SEQ_CST))
      pool_futex_wake(&p->pending, 1);
  }
  return NULL;
}

/* Starts workers 1..size-1 that are not running yet; called with run_lock held and no job out. */
static bool pool_start(RtPool *p) {
  while (p->nstarted < p->size - 1) {
    int id = p->nstarted + 1;
    p->workers[id].pool = p;
    p->workers[id].id = id;
    p->workers[id].seen = __atomic_load_n(&p->gen, __ATOMIC_RELAXED); /* the next job wakes it */
    if (pthread_create(&p->threads[id], NULL, pool_worker, &p->workers[id]) != 0) return false;
    p->nstarted++;
  }
  return true;
}

BudStatus rt_pool_run(RtPool *p, int nchunks, RtJobFn job, void *arg) {
  if (nchunks > p->size) nchunks = p->size;
  if (nchunks <= 1) {
    if (nchunks == 1) job(arg, 0, 1);
    return BUD_OK;
  }
  if (p->pid != getpid()) {
    /* A forked child: the parent's workers do not exist here, and the lock may have been held
     * at fork time. Start afresh. */
    p->nstarted = 0;
    p->stop = false;
    p->pending = p->caller_waits = p->nsleeping = 0;
    pthread_mutex_init(&p->run_lock, NULL);
    p->pid = getpid();
  }
  pthread_mutex_lock(&p->run_lock);
  bool started = pool_start(p);
  int nworkers = p->nstarted;
  if (!started && nworkers + 1 < nchunks) {
    pthread_mutex_unlock(&p->run_lock);
    for (int c = 0; c < nchunks; c++) job(arg, c, nchunks);
    return BUD_ERR_NOMEM;
  }
  p->job = job;
  p->arg = arg;
  p->nchunks = nchunks;
  __atomic_store_n(&p->pending, (uint32_t)nworkers, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&p->gen, 1, __ATOMIC_SEQ_CST); /* publishes the job */
  if (__atomic_load_n(&p->nsleeping, __ATOMIC_SEQ_CST) > 0) pool_futex_wake(&p->gen, INT_MAX);

  job(arg, 0, nchunks);

  if (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) != 0) {
    uint64_t t0 = pool_now_ns();
    for (int k = 1; __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) != 0; k++) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (k % 64 == 0 && pool_now_ns() - t0 > RT_POOL_SPIN_NS) break;
    }
    __atomic_store_n(&p->caller_waits, 1, __ATOMIC_SEQ_CST);
    uint32_t v;
    while ((v = __atomic_load_n(&p->pending, __ATOMIC_SEQ_CST)) != 0) pool_futex_wait(&p->pending, v);
    __atomic_store_n(&p->caller_waits, 0, __ATOMIC_RELAXED);
  }
  p->job = NULL;
  p->arg = NULL;
  pthread_mutex_unlock(&p->run_lock);
  return BUD_OK;
}

void rt_pool_free(RtPool *p) {
  if (!p) return;
  if (p->pid == getpid()) {
    pthread_mutex_lock(&p->run_lock);
    p->stop = true;
    __atomic_add_fetch(&p->gen, 1, __ATOMIC_SEQ_CST);
    pool_futex_wake(&p->gen, INT_MAX);
    for (int i = 1; i <= p->nstarted; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_unlock(&p->run_lock);
    pthread_mutex_destroy(&p->run_lock);
  }
  free(p->threads);
  free(p->workers);
  free(p);
}

int rt_default_threads(void) {
  const char *s = getenv("BUD_NUM_THREADS");
  if (s && *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == '\0' && v > 0) return v > RT_MAX_THREADS ? RT_MAX_THREADS : (int)v;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  return n > RT_MAX_THREADS ? RT_MAX_THREADS : (int)n;
}
