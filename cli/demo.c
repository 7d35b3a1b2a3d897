/* demo.c — `bud demo`: compiles a handful of typical expressions for 1M float32 elements of
 * generated data (fixed seed), runs each several times and prints a few result elements, a
 * checksum, the compile time, the median run time, the bandwidth and how many kernels (fusion
 * groups) each expression became. Entry point: cli_cmd_demo.
 */
#include "cli.h"
#include "plan/plan.h"

#include <stdlib.h>
#include <string.h>

#define DEMO_N (1 << 20)
#define DEMO_RUNS 9

static const char cli_demo_help[] =
    "usage: bud demo [-n N]\n"
    "\n"
    "Compiles and runs a few expressions on N (default 1048576) float32 elements of generated\n"
    "data and prints results, checksums, compile time, median run time, GB/s and fusion groups.\n";

typedef struct DemoCase {
  const char *expr;
  const char *inputs; /* names of the array inputs used, one letter each */
  bool uses_n;
} DemoCase;

static const DemoCase demo_cases[] = {
    {"2*a + 3*b", "ab", false},
    {"a*b + c*d - e", "abcde", false},
    {"sqrt(a*b + c)", "abc", false},
    {"where(a > b, a*2, b - 1)", "ab", false},
    {"sum(a*b)", "ab", false},
    {"a - sum(a)/n", "a", true},
};

static int demo_cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

static double demo_checksum(const BudArray *o) {
  double s = 0;
  int64_t n = bud_array_size(o);
  const char *p = o->data;
  int64_t st = o->ndim ? o->strides[o->ndim - 1] : 0;
  for (int64_t i = 0; i < n; i++) {
    Scalar v = scalar_load(o->dtype, p + i * st);
    s += dtype_is_float(o->dtype) ? v.f : dtype_is_uint(o->dtype) ? (double)v.u : (double)v.i;
  }
  return s;
}

static int demo_one(BudContext *ctx, const DemoCase *dc, BudArray *data, int64_t n) {
  BudInput ins[8];
  BudArray arrs[8], nval;
  int nin = 0;
  for (const char *c = dc->inputs; *c; c++) {
    static const char *names[] = {"a", "b", "c", "d", "e"};
    ins[nin].name = names[*c - 'a'];
    ins[nin].array = &data[*c - 'a'];
    arrs[nin] = data[*c - 'a'];
    nin++;
  }
  if (dc->uses_n) {
    if (bud_array_alloc(ctx, &nval, BUD_INT64, 0, NULL) != BUD_OK) return CLI_ERROR;
    *(int64_t *)nval.data = n;
    ins[nin].name = "n";
    ins[nin].array = &nval;
    arrs[nin] = nval;
    nin++;
  }
  int rc = CLI_ERROR;
  BudProgram *prog = NULL;
  BudArray out;
  memset(&out, 0, sizeof out);
  uint64_t t0 = now_ns();
  if (bud_compile(ctx, dc->expr, nin, ins, &prog) != BUD_OK) {
    cli_error("%s: %s", dc->expr, bud_last_error(ctx));
    goto done;
  }
  uint64_t tcompile = now_ns() - t0;
  BudDType odt;
  int ond;
  int64_t osh[BUD_MAX_DIMS];
  bud_program_output(prog, 0, NULL, &odt, &ond, osh);
  if (bud_array_alloc(ctx, &out, odt, ond, osh) != BUD_OK) goto fail;
  uint64_t times[DEMO_RUNS];
  if (bud_run(ctx, prog, nin, arrs, 1, &out) != BUD_OK) goto fail; /* warm-up */
  for (int r = 0; r < DEMO_RUNS; r++) {
    t0 = now_ns();
    if (bud_run(ctx, prog, nin, arrs, 1, &out) != BUD_OK) goto fail;
    times[r] = now_ns() - t0;
  }
  qsort(times, DEMO_RUNS, sizeof times[0], demo_cmp_u64);
  uint64_t med = times[DEMO_RUNS / 2];
  double bytes = (double)strlen(dc->inputs) * (double)n * 4 +
                 (double)bud_array_size(&out) * bud_dtype_size(odt);
  int nfused = 0, nother = 0;
  for (int g = 0; g < prog->ngroups; g++) {
    if (prog->groups[g].kind == GROUP_FUSED) nfused++;
    else nother++;
  }
  printf("%s\n", dc->expr);
  printf("  result:   %s ", bud_dtype_name(odt));
  if (ond == 0) {
    printf("scalar ");
    cli_print_array(stdout, &out);
  } else {
    BudArray head = out;
    head.shape[0] = out.shape[0] < 3 ? out.shape[0] : 3;
    printf("(%lld,) starts ", (long long)out.shape[0]);
    cli_print_array(stdout, &head);
  }
  printf("  checksum: %.9g\n", demo_checksum(&out));
  printf("  compile:  %.3f ms   run: %.3f ms (median of %d)   %.2f GB/s\n", tcompile / 1e6,
         med / 1e6, DEMO_RUNS, med ? bytes / (double)med : 0.0);
  printf("  kernels:  %d fused group%s", nfused, nfused == 1 ? "" : "s");
  if (nother) printf(" + %d other", nother);
  printf(" (%d IR nodes after passes)\n\n", prog->graph ? prog->graph->nnodes : 0);
  rc = CLI_OK;
  goto done;
fail:
  cli_error("%s: %s", dc->expr, bud_last_error(ctx));
done:
  bud_array_free(&out);
  bud_program_free(prog);
  if (dc->uses_n) bud_array_free(&nval);
  return rc;
}

int cli_cmd_demo(int argc, char **argv) {
  int64_t n = DEMO_N;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(cli_demo_help, stdout);
      return CLI_OK;
    }
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      char *end;
      long long v = strtoll(argv[++i], &end, 10);
      if (*end || v < 1 || v > (1LL << 30)) {
        fprintf(stderr, "bud demo: -n takes a size in [1, 2^30]\n\n%s", cli_demo_help);
        return CLI_USAGE;
      }
      n = v;
      continue;
    }
    fprintf(stderr, "bud demo: unexpected argument '%s'\n\n%s", argv[i], cli_demo_help);
    return CLI_USAGE;
  }
  BudContext *ctx = bud_context_new();
  if (!ctx) {
    cli_error("out of memory");
    return CLI_ERROR;
  }
  BudArray data[5];
  memset(data, 0, sizeof data);
  int rc = CLI_OK;
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (int k = 0; k < 5 && rc == CLI_OK; k++) {
    if (bud_array_alloc(ctx, &data[k], BUD_FLOAT32, 1, &n) != BUD_OK) {
      cli_error("%s", bud_last_error(ctx));
      rc = CLI_ERROR;
      break;
    }
    float *p = data[k].data;
    for (int64_t i = 0; i < n; i++) {
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      p[i] = 0.5f + (float)(seed >> 40) / (float)(1 << 24); /* [0.5, 1.5) */
    }
  }
  if (rc == CLI_OK) {
    printf("bud %s demo: %lld float32 elements per array, seed fixed\n\n", bud_version(),
           (long long)n);
    for (size_t c = 0; c < BUD_ARRAY_LEN(demo_cases) && rc == CLI_OK; c++)
      rc = demo_one(ctx, &demo_cases[c], data, n);
  }
  if (rc == CLI_OK) {
    BudStats st;
    bud_stats(ctx, &st);
    printf("stats: %llu compiles (%.3f ms), %llu runs, kernels: %llu jit, %llu vm\n",
           (unsigned long long)st.compiles, st.compile_ns / 1e6, (unsigned long long)st.runs,
           (unsigned long long)st.kernels_jit, (unsigned long long)st.kernels_vm);
  }
  for (int k = 0; k < 5; k++) bud_array_free(&data[k]);
  bud_context_free(ctx);
  return rc;
}
