/* test_pool.c — the thread pool: every chunk runs exactly once per job, jobs see each other's
 * writes in order, many short jobs in a row, no worker left running after a call, a pool used
 * after fork(), and clean shutdown. */
#define _GNU_SOURCE
#include "check.h"
#include "rt/pool.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct Job {
  atomic_int runs[RT_MAX_THREADS];
  int64_t n;
  const int64_t *data;
  int64_t partial[RT_MAX_THREADS];
} Job;

static void sum_chunk(void *arg, int chunk, int nchunks) {
  Job *j = arg;
  atomic_fetch_add(&j->runs[chunk], 1);
  int64_t lo = j->n * chunk / nchunks, hi = j->n * (chunk + 1) / nchunks, s = 0;
  for (int64_t i = lo; i < hi; i++) s += j->data[i];
  j->partial[chunk] = s;
}

static int64_t run_sum(RtPool *p, Job *j, int nchunks) {
  for (int c = 0; c < RT_MAX_THREADS; c++) atomic_store(&j->runs[c], 0);
  CHECK(rt_pool_run(p, nchunks, sum_chunk, j) == BUD_OK);
  int64_t s = 0;
  int eff = nchunks > rt_pool_size(p) ? rt_pool_size(p) : nchunks;
  for (int c = 0; c < eff; c++) {
    CHECK_EQ_INT(atomic_load(&j->runs[c]), 1);
    s += j->partial[c];
  }
  for (int c = eff; c < RT_MAX_THREADS; c++) CHECK_EQ_INT(atomic_load(&j->runs[c]), 0);
  return s;
}

int main(void) {
  enum { N = 100003 };
  int64_t *data = malloc(sizeof(int64_t) * N);
  int64_t want = 0;
  for (int64_t i = 0; i < N; i++) {
    data[i] = (i * 7919) % 1000 - 500;
    want += data[i];
  }
  Job *j = calloc(1, sizeof *j);
  j->n = N;
  j->data = data;

  for (int size = 1; size <= 4; size++) {
    RtPool *p = rt_pool_new(size);
    CHECK(p != NULL);
    CHECK_EQ_INT(rt_pool_size(p), size);
    for (int nch = 1; nch <= 5; nch++) CHECK_EQ_INT(run_sum(p, j, nch), want);
    rt_pool_free(p);
  }

  /* Many short jobs back to back: no lost wake-ups, no chunk run twice. */
  RtPool *p = rt_pool_new(3);
  int bad = 0;
  for (int rep = 0; rep < 2000; rep++) {
    int64_t s = 0;
    for (int c = 0; c < RT_MAX_THREADS; c++) atomic_store(&j->runs[c], 0);
    rt_pool_run(p, 3, sum_chunk, j);
    for (int c = 0; c < 3; c++) {
      if (atomic_load(&j->runs[c]) != 1) bad++;
      s += j->partial[c];
    }
    if (s != want) bad++;
  }
  CHECK_EQ_INT(bad, 0);

  /* No worker is left spinning after a call: within a second of rt_pool_run returning, every
   * started worker is blocked in the kernel (they go from their chunk straight to FUTEX_WAIT),
   * and each such thread's state in /proc is 'S'. */
  {
    int sleeping = 0;
    for (int t = 0; t < 1000 && (sleeping = rt_pool_sleeping(p)) < 2; t++) usleep(1000);
    CHECK_EQ_INT(sleeping, 2);
    /* a worker counts itself sleeping just before its futex call: give it a moment to enter */
    int nrun = 0;
    for (int t = 0; t < 1000; t++) {
      nrun = 0;
      DIR *d = opendir("/proc/self/task");
      struct dirent *e;
      while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *rp = strrchr(buf, ')'); /* state follows the command name */
        if (rp && rp[1] == ' ' && rp[2] == 'R') nrun++;
      }
      if (d) closedir(d);
      if (nrun == 1) break;
      usleep(1000);
    }
    CHECK_EQ_INT(nrun, 1); /* this thread only */
  }

  /* After fork the child has no workers; the pool must start new ones and still be right.
   * (ThreadSanitizer cannot start threads after a multi-threaded fork: not run there.) */
#if !defined(__SANITIZE_THREAD__)
  pid_t pid = fork();
  if (pid == 0) {
    int64_t s = 0;
    if (rt_pool_run(p, 3, sum_chunk, j) != BUD_OK) _exit(2);
    for (int c = 0; c < 3; c++) s += j->partial[c];
    _exit(s == want ? 0 : 1);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
  CHECK_EQ_INT(run_sum(p, j, 3), want); /* the parent's pool is unaffected */
  rt_pool_free(p);

  setenv("BUD_NUM_THREADS", "3", 1);
  CHECK_EQ_INT(rt_default_threads(), 3);
  setenv("BUD_NUM_THREADS", "zero", 1);
  CHECK(rt_default_threads() >= 1);
  unsetenv("BUD_NUM_THREADS");

  free(j);
  free(data);
  return check_done("pool");
}
