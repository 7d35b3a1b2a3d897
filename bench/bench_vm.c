/* bench_vm.c — benchmark (not a test) of the blocked VM: `2*a + 3*b` and `a*b + c*d - e` over 1M
 * and 16M float32 elements, against the same loops in plain C built with -O3 -march=native, in the
 * same run. Each case runs in a forked child (so its peak RSS is its own): median of BENCH_RUNS
 * runs after a warm-up, one JSON line per case with the time, GB/s, the ratio to the C loop, the
 * peak RSS and the RSS the VM runs added beyond the arrays (fused chains need no full-size
 * temporaries, so this stays near 0). The VM is forced with BUD_ISA=vm, one thread.
 * Usage: bench_vm [runs]   (make bench; build/release-gcc/bench/bench_vm)
 */
#define _GNU_SOURCE
#include "bud.h"
#include "bench_peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double rss_now_mb(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static double rss_peak_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

typedef struct BenchCase {
  const char *expr;
  int ninputs;
  int64_t n;
} BenchCase;

static int bench_case(const BenchCase *bc, int runs) {
  BudContext *ctx = bud_context_new();
  if (!ctx) return 1;
  int64_t n = bc->n;
  BudArray in[5], out, ref;
  BudInput inputs[5];
  static const char *names[5] = {"a", "b", "c", "d", "e"};
  uint32_t seed = 12345;
  for (int k = 0; k < bc->ninputs; k++) {
    if (bud_array_alloc(ctx, &in[k], BUD_FLOAT32, 1, &n)) goto fail;
    float *p = in[k].data;
    for (int64_t i = 0; i < n; i++) {
      seed = seed * 1664525u + 1013904223u;
      p[i] = (float)(seed >> 8) / (float)(1 << 24) - 0.5f;
    }
    inputs[k].name = names[k];
    inputs[k].array = &in[k];
  }
  if (bud_array_alloc(ctx, &out, BUD_FLOAT32, 1, &n) || bud_array_alloc(ctx, &ref, BUD_FLOAT32, 1, &n))
    goto fail;
  memset(out.data, 1, (size_t)n * 4); /* touch every page before measuring RSS */
  memset(ref.data, 1, (size_t)n * 4);
  double rss_base = rss_now_mb();

  uint64_t t0 = bench_now();
  BudProgram *prog;
  if (bud_compile(ctx, bc->expr, bc->ninputs, inputs, &prog)) goto fail;
  uint64_t compile_ns = bench_now() - t0;
  uint64_t *vm_t = malloc(sizeof(uint64_t) * (size_t)runs), *c_t = malloc(sizeof(uint64_t) * (size_t)runs);
  if (bud_run(ctx, prog, bc->ninputs, in, 1, &out)) goto fail; /* warm-up */
  for (int r = 0; r < runs; r++) {
    t0 = bench_now();
    if (bud_run(ctx, prog, bc->ninputs, in, 1, &out)) goto fail;
    vm_t[r] = bench_now() - t0;
  }
  double vm_extra = rss_peak_mb() - rss_base;
  for (int r = -1; r < runs; r++) {
    t0 = bench_now();
    if (bc->ninputs == 2)
      c_axpby(ref.data, in[0].data, in[1].data, n);
    else
      c_muladd(ref.data, in[0].data, in[1].data, in[2].data, in[3].data, in[4].data, n);
    if (r >= 0) c_t[r] = bench_now() - t0;
  }
  int64_t mismatches = 0;
  for (int64_t i = 0; i < n; i++) mismatches += ((float *)out.data)[i] != ((float *)ref.data)[i];
  qsort(vm_t, (size_t)runs, sizeof *vm_t, bench_cmp_u64);
  qsort(c_t, (size_t)runs, sizeof *c_t, bench_cmp_u64);
  uint64_t vm_med = vm_t[runs / 2], c_med = c_t[runs / 2];
  double bytes = (double)(bc->ninputs + 1) * (double)n * 4;
  BudStats st;
  bud_stats(ctx, &st);
  printf("{\"bench\":\"vm\",\"expr\":\"%s\",\"dtype\":\"float32\",\"n\":%lld,\"isa\":\"vm\","
         "\"threads\":1,\"compile_us\":%.1f,\"median_ns\":%llu,\"gbps\":%.2f,"
         "\"peer\":\"c_loop_O3_native\",\"peer_median_ns\":%llu,\"peer_gbps\":%.2f,"
         "\"ratio\":%.3f,\"peak_rss_mb\":%.1f,\"arrays_mb\":%.1f,\"vm_extra_rss_mb\":%.1f,"
         "\"runs\":%d,\"kernels_vm\":%llu,\"kernels_jit\":%llu,\"mismatches\":%lld}\n",
         bc->expr, (long long)n, compile_ns / 1e3, (unsigned long long)vm_med,
         bytes / (double)vm_med, (unsigned long long)c_med, bytes / (double)c_med,
         (double)vm_med / (double)c_med, rss_peak_mb(), bytes / (1024.0 * 1024.0) + n * 4 / (1024.0 * 1024.0),
         vm_extra > 0 ? vm_extra : 0.0, runs, (unsigned long long)st.kernels_vm,
         (unsigned long long)st.kernels_jit, (long long)mismatches);
  fflush(stdout);
  free(vm_t);
  free(c_t);
  bud_program_free(prog);
  for (int k = 0; k < bc->ninputs; k++) bud_array_free(&in[k]);
  bud_array_free(&out);
  bud_array_free(&ref);
  bud_context_free(ctx);
  return 0;
fail:
  fprintf(stderr, "bench_vm: %s: %s\n", bc->expr, bud_last_error(ctx));
  bud_context_free(ctx);
  return 1;
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 15;
  if (runs < 1) runs = 15;
  setenv("BUD_ISA", "vm", 1);
  setenv("BUD_NUM_THREADS", "1", 1);
  const BenchCase cases[] = {
      {"2*a + 3*b", 2, INT64_C(1) << 20},
      {"a*b + c*d - e", 5, INT64_C(1) << 20},
      {"2*a + 3*b", 2, INT64_C(1) << 24},
      {"a*b + c*d - e", 5, INT64_C(1) << 24},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(bench_case(&cases[i], runs));
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) failures++;
  }
  return failures != 0;
}
