/* jit_diff.h — the JIT-vs-VM differential harness shared by the JIT tests: corner-case input
 * fills, diff_plan (one plan on the VM and on every ISA path, outputs compared bit for bit, bytes
 * past the end untouched) and diff_sizes (sizes 0..257, offsets, misalignment, large sizes).
 * Include once per test program, after check.h and jit_util.h; main() fills g_isas/g_nisa. */
#ifndef BUD_TESTS_JIT_DIFF_H
#define BUD_TESTS_JIT_DIFF_H

#include <math.h>
#include <stdio.h>

static BudContext g_ctx;
static RtCodeMem g_cm;
static int g_nisa;
static X86Isa g_isas[3];
static int g_verbose;
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static bool g_nan_lenient;      /* random graphs: NaN vs NaN with another payload is counted */
static long g_nan_payload_diffs;

/* Sets up the differential suites: code memory, the ISA paths this CPU can run (g_isas), and
 * BUD_TEST_VERBOSE; prints them. Paths the CPU lacks are skipped, never failed. */
static void diff_init(const char *suite) {
  g_verbose = getenv("BUD_TEST_VERBOSE") != NULL;
  CHECK_EQ_INT(rt_codemem_init(&g_cm, 0), RT_CODE_OK);
  const X86Cpu *cpu = x86_cpu();
  static const X86Isa all[] = {X86_ISA_SSE2, X86_ISA_AVX2, X86_ISA_AVX512};
  for (int i = 0; i < 3; i++)
    if ((cpu->feat & x86_isa_needs(all[i])) == x86_isa_needs(all[i])) g_isas[g_nisa++] = all[i];
  printf("%s: ISA paths tested:", suite);
  for (int i = 0; i < g_nisa; i++) printf(" %s", x86_isa_name(g_isas[i]));
  printf("\n");
}

static bool is_nan_elem(BudDType dt, const uint8_t *p) {
  if (dt == BUD_FLOAT32) {
    float f;
    memcpy(&f, p, 4);
    return f != f;
  }
  if (dt == BUD_FLOAT64) {
    double f;
    memcpy(&f, p, 8);
    return f != f;
  }
  return false;
}

static uint64_t rnd(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}

/* Fills n elements of dt with values that exercise the corners: NaN, +-inf, +-0, tiny, huge,
 * INT_MIN, small shift counts. */
static void fill(BudDType dt, void *p, int64_t n, int flavour) {
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = rnd();
    int pick = (int)(r % 16);
    double f = ((double)(r >> 11) / 9007199254740992.0) * 20.0 - 10.0;
    if (flavour == 1) f = fabs(f) + 0.5; /* positive, for divisors */
    if (flavour == 0 && pick == 0) f = NAN;
    if (flavour == 0 && pick == 1) f = (r & 64) ? INFINITY : -INFINITY;
    if (pick == 2) f = (r & 64) ? 0.0 : -0.0;
    if (pick == 3) f = 2.5;
    if (pick == 4) f = -3.5;
    if (flavour == 0 && pick == 5) f = 1e30;
    int64_t iv = (int64_t)(r >> 3) - (int64_t)(r >> 4);
    if (pick == 6) iv = (int64_t)(r % 70) - 3; /* shift counts incl. out of range */
    if (pick == 7) iv = dt == BUD_INT64 || dt == BUD_UINT64 ? INT64_MIN : INT32_MIN;
    if (pick == 8) iv = 0;
    if (pick == 9) iv = -1;
    switch (dt) {
    case BUD_FLOAT32: ((float *)p)[i] = (float)f; break;
    case BUD_FLOAT64: ((double *)p)[i] = f; break;
    case BUD_INT32: case BUD_UINT32: ((int32_t *)p)[i] = (int32_t)iv; break;
    case BUD_INT64: case BUD_UINT64: ((int64_t *)p)[i] = iv; break;
    case BUD_INT16: case BUD_UINT16: ((int16_t *)p)[i] = (int16_t)iv; break;
    case BUD_INT8: case BUD_UINT8: ((int8_t *)p)[i] = (int8_t)iv; break;
    default: ((uint8_t *)p)[i] = (uint8_t)(r & 1); break;
    }
  }
}

/* Runs plan t on the VM and on each ISA over the same inputs; compares outputs bit for bit
 * (and the bytes after the end, which must stay untouched). Returns how many ISAs compiled. */
static int diff_plan(TPlan *t, const char *name, int64_t n, int64_t begin, int misalign,
                     const uint8_t *layouts, const int *flavours, bool quiet_refusal) {
  Plan *p = &t->p;
  enum { PAD = 8 };
  void *mem[TP_MAXO], *vmout[TP_MAXO];
  BudKArgs args;
  memset(&args, 0, sizeof args);
  int64_t total = n + PAD;
  for (int s = 0; s < p->noperands; s++) {
    int z = dtype_size((BudDType)p->operands[s].dtype);
    mem[s] = bud_aligned_alloc((size_t)(total + 1) * (size_t)z + 64);
    vmout[s] = bud_aligned_alloc((size_t)(total + 1) * (size_t)z + 64);
    char *base = (char *)mem[s] + (misalign ? z : 0);
    args.ptr[s] = base;
    bool bc = layouts && layouts[s] == LAYOUT_BCAST;
    args.stride[s] = bc ? 0 : z;
    if (!p->operands[s].is_output) fill((BudDType)p->operands[s].dtype, base, total, flavours ? flavours[s] : 0);
    else memset(base, 0xA5, (size_t)total * (size_t)z);
  }
  VmScratch *vs = vm_scratch_new(p);
  CHECK(vs != NULL);
  BudStatus stv = vm_run_row(&g_ctx, p, vs, &args, begin, n);
  CHECK_EQ_INT(stv, BUD_OK);
  vm_scratch_free(vs);
  for (int s = 0; s < p->noperands; s++) {
    int z = dtype_size((BudDType)p->operands[s].dtype);
    if (p->operands[s].is_output) {
      memcpy(vmout[s], args.ptr[s], (size_t)total * (size_t)z);
      memset(args.ptr[s], 0xA5, (size_t)total * (size_t)z);
    }
  }
  int ncompiled = 0;
  for (int ii = 0; ii < g_nisa; ii++) {
    TKernel k;
    char why[256];
    int rc = tk_compile(&g_cm, p, layouts, g_isas[ii], &k, why, sizeof why);
    if (rc == -1) {
      CHECK_MSG(why[0] != 0, "%s: refusal without a reason", name);
      if (g_verbose && !quiet_refusal) printf("  %s on %s: VM (%s)\n", name, x86_isa_name(g_isas[ii]), why);
      continue;
    }
    CHECK_EQ_INT(rc, 0);
    if (rc) continue;
    ncompiled++;
    k.fn(&args, begin, n);
    for (int s = 0; s < p->noperands; s++) {
      if (!p->operands[s].is_output) continue;
      int z = dtype_size((BudDType)p->operands[s].dtype);
      const uint8_t *a = (const uint8_t *)args.ptr[s], *bvm = vmout[s];
      int64_t bad = -1;
      for (int64_t i = 0; i < total * z; i++)
        if (a[i] != bvm[i]) {
          int64_t e = i / z;
          if (g_nan_lenient && is_nan_elem((BudDType)p->operands[s].dtype, a + e * z) &&
              is_nan_elem((BudDType)p->operands[s].dtype, bvm + e * z)) {
            g_nan_payload_diffs++;
            i = (e + 1) * z - 1;
            continue;
          }
          bad = e;
          break;
        }
      CHECK_MSG(bad < 0, "%s on %s: n=%lld begin=%lld mis=%d: element %lld differs", name,
                x86_isa_name(g_isas[ii]), (long long)n, (long long)begin, misalign, (long long)bad);
      if (bad >= 0 && g_verbose) {
        if (p->operands[s].dtype == BUD_FLOAT32)
          printf("   jit %a vm %a\n", ((float *)args.ptr[s])[bad], ((float *)vmout[s])[bad]);
        else if (p->operands[s].dtype == BUD_FLOAT64)
          printf("   jit %a vm %a\n", ((double *)args.ptr[s])[bad], ((double *)vmout[s])[bad]);
        else
          printf("   jit %llx vm %llx\n", (unsigned long long)((int64_t *)args.ptr[s])[bad],
                 (unsigned long long)((int64_t *)vmout[s])[bad]);
      }
      memset(args.ptr[s], 0xA5, (size_t)total * (size_t)z);
    }
    tk_free(&g_cm, &k);
  }
  for (int s = 0; s < p->noperands; s++) {
    bud_aligned_free(mem[s]);
    bud_aligned_free(vmout[s]);
  }
  return ncompiled;
}

/* Sizes 0..257, some begin offsets, misalignment, a few large sizes. */
static int diff_sizes(TPlan *t, const char *name, const uint8_t *layouts, const int *flavours) {
  int nc = 0;
  for (int64_t n = 0; n <= 257; n++) nc += diff_plan(t, name, n, 0, 0, layouts, flavours, n > 0);
  for (int64_t n = 5; n <= 70; n += 13) nc += diff_plan(t, name, n, 3, 1, layouts, flavours, true);
  for (int r = 0; r < 2; r++) {
    int64_t n = 1000 + (int64_t)(rnd() % 5000);
    nc += diff_plan(t, name, n, (int64_t)(rnd() % 9), r, layouts, flavours, true);
  }
  return nc;
}


#endif
