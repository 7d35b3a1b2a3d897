/* pool.c — a static-chunk thread pool (see pool.h for why static chunks). Worker w runs chunk w of
 * each job; the caller runs chunk 0. A job is published under the mutex with a new generation
 * number; workers sleep on cv_start until the generation changes and report on cv_done.
 * Entry points: rt_pool_new, rt_pool_run, rt_pool_free, rt_pool_size, rt_default_threads.
 */
#define _GNU_SOURCE
#include "rt/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct Worker {
  RtPool *pool;
  int id;
  uint64_t seen; /* the generation the worker has handled; set before it starts */
} Worker;

struct RtPool {
  pthread_mutex_t run_lock; /* one job at a time */
  pthread_mutex_t mu;       /* guards everything below */
  pthread_cond_t cv_start, cv_done;
  int size;
  int nstarted;
  pthread_t *threads;
  Worker *workers;
  uint64_t generation;
  RtJobFn job;
  void *arg;
  int nchunks;
  int pending;
  bool stop;
  pid_t pid; /* the process whose threads these are */
};

static void pool_init_sync(RtPool *p) {
  pthread_mutex_init(&p->run_lock, NULL);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv_start, NULL);
  pthread_cond_init(&p->cv_done, NULL);
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
  pool_init_sync(p);
  return p;
}

int rt_pool_size(const RtPool *p) { return p->size; }

static void *pool_worker(void *argp) {
  Worker *w = argp;
  RtPool *p = w->pool;
  pthread_mutex_lock(&p->mu);
  uint64_t seen = w->seen;
  for (;;) {
    while (p->generation == seen && !p->stop) pthread_cond_wait(&p->cv_start, &p->mu);
    if (p->stop) break;
    seen = p->generation;
    if (w->id < p->nchunks) {
      RtJobFn job = p->job;
      void *arg = p->arg;
      int n = p->nchunks;
      pthread_mutex_unlock(&p->mu);
      job(arg, w->id, n);
      pthread_mutex_lock(&p->mu);
    }
    if (--p->pending == 0) pthread_cond_signal(&p->cv_done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Starts workers 1..size-1 that are not running yet; called with run_lock held. */
static bool pool_start(RtPool *p) {
  bool ok = true;
  pthread_mutex_lock(&p->mu);
  while (p->nstarted < p->size - 1) {
    int id = p->nstarted + 1;
    p->workers[id].pool = p;
    p->workers[id].id = id;
    p->workers[id].seen = p->generation; /* a job published after this must wake it */
    if (pthread_create(&p->threads[id], NULL, pool_worker, &p->workers[id]) != 0) {
      ok = false;
      break;
    }
    p->nstarted++;
  }
  pthread_mutex_unlock(&p->mu);
  return ok;
}

BudStatus rt_pool_run(RtPool *p, int nchunks, RtJobFn job, void *arg) {
  if (nchunks > p->size) nchunks = p->size;
  if (nchunks <= 1) {
    if (nchunks == 1) job(arg, 0, 1);
    return BUD_OK;
  }
  if (p->pid != getpid()) {
    /* A forked child: the parent's workers do not exist here, and the locks may have been held
     * at fork time. Start afresh. */
    p->nstarted = 0;
    p->stop = false;
    p->pending = 0;
    pool_init_sync(p);
    p->pid = getpid();
  }
  pthread_mutex_lock(&p->run_lock);
  bool started = pool_start(p);
  pthread_mutex_lock(&p->mu);
  int nworkers = p->nstarted;
  if (!started && nworkers + 1 < nchunks) {
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->run_lock);
    for (int c = 0; c < nchunks; c++) job(arg, c, nchunks);
    return BUD_ERR_NOMEM;
  }
  p->job = job;
  p->arg = arg;
  p->nchunks = nchunks;
  p->pending = nworkers;
  p->generation++;
  pthread_cond_broadcast(&p->cv_start);
  pthread_mutex_unlock(&p->mu);

  job(arg, 0, nchunks);

  pthread_mutex_lock(&p->mu);
  while (p->pending > 0) pthread_cond_wait(&p->cv_done, &p->mu);
  p->job = NULL;
  p->arg = NULL;
  pthread_mutex_unlock(&p->mu);
  pthread_mutex_unlock(&p->run_lock);
  return BUD_OK;
}

void rt_pool_free(RtPool *p) {
  if (!p) return;
  if (p->pid == getpid()) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv_start);
    int n = p->nstarted;
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i <= n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->run_lock);
    pthread_cond_destroy(&p->cv_start);
    pthread_cond_destroy(&p->cv_done);
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
