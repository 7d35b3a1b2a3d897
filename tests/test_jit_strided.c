/* test_jit_strided.c — strided operands (row stride neither the element size nor 0) in the x86
 * JIT: loads gathered and stores scattered lane by lane. JIT vs VM bit for bit on every ISA path
 * this machine runs, float32/float64/int32/int64, load and store strides of 2, 3, -1, -5
 * elements, sizes 0..257 split at an odd begin, misaligned bases; the bytes between and around
 * the strided elements must stay untouched. Then the full pipeline: bud_run over strided views
 * (every other element, reversed) against a context forced to the VM.
 */
#define _GNU_SOURCE
#include "check.h"
#include "jit_util.h"

#include <math.h>
#include <stdio.h>

#include "jit_diff.h"

static const BudDType g_dts[] = {BUD_FLOAT32, BUD_FLOAT64, BUD_INT32, BUD_INT64};
static const int g_strides[] = {1, 2, 3, -1, -5}; /* in elements; 1 = contiguous */

/* o0 = a + b (stride so), o1 = a - c (contiguous), a strided by sa, b by sb, c contiguous */
static void build(TPlan *t, BudDType dt) {
  tp_init(t);
  int a = tp_operand(t, dt, false), b = tp_operand(t, dt, false), c = tp_operand(t, dt, false);
  int o0 = tp_operand(t, dt, true), o1 = tp_operand(t, dt, true);
  int va = tp_load(t, a), vb = tp_load(t, b), vc = tp_load(t, c);
  tp_store(t, o0, tp_op(t, OP_add, dt, 2, va, vb, -1));
  tp_store(t, o1, tp_op(t, OP_sub, dt, 2, va, vc, -1));
}

enum { NOPS = 5, MAXN = 257, PAD = 8 };

/* One operand's memory: room for MAXN elements at |stride| 5 plus guards, misaligned by one
 * element; ptr is where element 0 lives (the far end for negative strides). */
typedef struct Opnd {
  uint8_t *mem;
  size_t bytes;
  char *ptr;
  int64_t stride;
} Opnd;

static void place(Opnd *o, int z, int st_el, int64_t n) {
  int64_t span = n > 0 ? (n - 1) * (st_el < 0 ? -st_el : st_el) : 0;
  int64_t first = st_el < 0 ? span : 0;
  o->ptr = (char *)o->mem + (PAD + 1) * z + first * z;
  o->stride = (int64_t)st_el * z;
}

static int run_config(BudDType dt, const int *st, int64_t n, Opnd *ops, uint8_t **ref, X86Isa isa,
                      TKernel *k, TPlan *t) {
  int z = dtype_size(dt);
  BudKArgs args;
  memset(&args, 0, sizeof args);
  for (int s = 0; s < NOPS; s++) {
    place(&ops[s], z, st[s], n);
    args.ptr[s] = ops[s].ptr;
    args.stride[s] = ops[s].stride;
  }
  /* reference on the VM */
  for (int s = 0; s < NOPS; s++) {
    for (size_t i = 0; i < ops[s].bytes; i++) ops[s].mem[i] = (uint8_t)(0xA5 ^ (i * 7) ^ (unsigned)s);
    if (s < 3) { /* inputs: random values at the elements' places (no NaN: payloads may differ) */
      for (int64_t e = 0; e < n; e++) fill(dt, ops[s].ptr + e * ops[s].stride, 1, 2);
    }
  }
  int64_t mid = n / 2 | 1;
  if (mid > n) mid = n;
  VmScratch *vs = vm_scratch_new(&t->p);
  CHECK_EQ_INT(vm_run_row(&g_ctx, &t->p, vs, &args, 0, mid), BUD_OK);
  CHECK_EQ_INT(vm_run_row(&g_ctx, &t->p, vs, &args, mid, n), BUD_OK);
  vm_scratch_free(vs);
  for (int s = 3; s < NOPS; s++) {
    memcpy(ref[s], ops[s].mem, ops[s].bytes);
    for (size_t i = 0; i < ops[s].bytes; i++) ops[s].mem[i] = (uint8_t)(0xA5 ^ (i * 7) ^ (unsigned)s);
  }
  k->fn(&args, 0, mid);
  k->fn(&args, mid, n);
  int bad = 0;
  for (int s = 3; s < NOPS; s++)
    if (memcmp(ref[s], ops[s].mem, ops[s].bytes) != 0) {
      size_t i = 0;
      while (ref[s][i] == ops[s].mem[i]) i++;
      CHECK_MSG(0, "%s on %s strides a=%d b=%d o0=%d n=%lld: output %d differs at byte %zu",
                dtype_info(dt)->name, x86_isa_name(isa), st[0], st[1], st[3], (long long)n, s, i);
      bad++;
    }
  return bad;
}

static void test_plans(void) {
  Opnd ops[NOPS];
  uint8_t *ref[NOPS];
  for (int s = 0; s < NOPS; s++) {
    ops[s].bytes = (size_t)(MAXN * 5 + 2 * PAD + 2) * 8;
    ops[s].mem = malloc(ops[s].bytes);
    ref[s] = malloc(ops[s].bytes);
  }
  TPlan t;
  int compiled = 0;
  for (size_t di = 0; di < BUD_ARRAY_LEN(g_dts); di++)
    for (int ii = 0; ii < g_nisa; ii++)
      for (size_t ai = 0; ai < BUD_ARRAY_LEN(g_strides); ai++)
        for (size_t oi = 0; oi < BUD_ARRAY_LEN(g_strides); oi++) {
          BudDType dt = g_dts[di];
          int st[NOPS] = {g_strides[ai], g_strides[(ai + 2) % 5], 1, g_strides[oi], 1};
          uint8_t lay[BUD_MAX_OPERANDS] = {0};
          for (int s = 0; s < NOPS; s++) lay[s] = st[s] == 1 ? LAYOUT_CONTIG : LAYOUT_STRIDED;
          build(&t, dt);
          t.p.sched.unroll = 1 + (int)((ai + oi) % 4);
          TKernel k;
          char why[256];
          int rc = tk_compile(&g_cm, &t.p, lay, g_isas[ii], &k, why, sizeof why);
          CHECK_MSG(rc == 0, "%s on %s strides %d/%d: %s", dtype_info(dt)->name,
                    x86_isa_name(g_isas[ii]), st[0], st[3], why);
          if (rc != 0) continue;
          compiled++;
          for (int64_t n = 0; n <= MAXN; n++)
            if (run_config(dt, st, n, ops, ref, g_isas[ii], &k, &t) > 0) break;
          tk_free(&g_cm, &k);
        }
  printf("test_jit_strided: %d strided kernels compared with the VM\n", compiled);
  /* bool stays refused when strided */
  build(&t, BUD_FLOAT32);
  t.ops[0].dtype = BUD_BOOL;
  uint8_t lay[BUD_MAX_OPERANDS] = {LAYOUT_STRIDED};
  char why[256];
  CHECK(x86_jit_check(&t.p, lay, g_isas[0], why, sizeof why) < 0);
  for (int s = 0; s < NOPS; s++) {
    free(ops[s].mem);
    free(ref[s]);
  }
}

/* Code for contiguous plans must not depend on whether layouts is NULL or all LAYOUT_CONTIG,
 * and must not grow the strided scratch. */
static void test_contig_unchanged(void) {
  TPlan t;
  build(&t, BUD_FLOAT32);
  uint8_t lay[BUD_MAX_OPERANDS] = {0};
  for (int ii = 0; ii < g_nisa; ii++) {
    JitOut a, b;
    CHECK_EQ_INT(x86_jit_compile(&t.p, NULL, g_isas[ii], &a, NULL, 0), 0);
    CHECK_EQ_INT(x86_jit_compile(&t.p, lay, g_isas[ii], &b, NULL, 0), 0);
    CHECK(a.buf.len == b.buf.len && memcmp(a.buf.code, b.buf.code, a.buf.len) == 0);
    x86_jit_out_free(&a);
    x86_jit_out_free(&b);
  }
}

/* ---- the full pipeline ---- */

static void pipe_case(const char *src, BudDType dt, int64_t n, int st_a, int st_o) {
  BudContext *cj = bud_context_new(), *cv = bud_context_new();
  cv->isa = 0; /* the VM */
  int z = dtype_size(dt);
  int64_t m = n * 5 + 2;
  BudArray base[2], views[2];
  for (int i = 0; i < 2; i++) {
    CHECK_EQ_INT(bud_array_alloc(cj, &base[i], dt, 1, &m), BUD_OK);
    for (int64_t e = 0; e < m; e++) fill(dt, (char *)base[i].data + e * z, 1, 2);
    views[i] = base[i];
    views[i].shape[0] = n;
  }
  /* a: every st_a-th element (from the end when negative), b: contiguous from element 1 */
  views[0].strides[0] = (int64_t)st_a * z;
  if (st_a < 0) views[0].data = (char *)base[0].data + (n - 1) * (int64_t)(-st_a) * z;
  views[1].data = (char *)base[1].data + z;
  BudInput bi[2] = {{"a", &views[0]}, {"b", &views[1]}};
  BudProgram *pj = NULL, *pv = NULL;
  CHECK_EQ_INT(bud_compile(cj, src, 2, bi, &pj), BUD_OK);
  CHECK_EQ_INT(bud_compile(cv, src, 2, bi, &pv), BUD_OK);
  if (pj && pv) {
    /* outputs: strided views into zeroed buffers */
    BudArray ob[2], ov[2];
    for (int i = 0; i < 2; i++) {
      CHECK_EQ_INT(bud_array_alloc(cj, &ob[i], dt, 1, &m), BUD_OK);
      memset(ob[i].data, 0x5A, (size_t)(m * z));
      ov[i] = ob[i];
      ov[i].shape[0] = n;
      ov[i].strides[0] = (int64_t)st_o * z;
      if (st_o < 0) ov[i].data = (char *)ob[i].data + (n - 1) * (int64_t)(-st_o) * z;
    }
    CHECK_EQ_INT(bud_run(cj, pj, 2, views, 1, &ov[0]), BUD_OK);
    CHECK_EQ_INT(bud_run(cv, pv, 2, views, 1, &ov[1]), BUD_OK);
    CHECK_MSG(memcmp(ob[0].data, ob[1].data, (size_t)(m * z)) == 0,
              "pipeline %s (%s) n=%lld a stride %d out stride %d: JIT and VM differ", src,
              dtype_info(dt)->name, (long long)n, st_a, st_o);
    for (int i = 0; i < 2; i++) bud_array_free(&ob[i]);
  }
  bud_program_free(pj);
  bud_program_free(pv);
  for (int i = 0; i < 2; i++) bud_array_free(&base[i]);
  bud_context_free(cj);
  bud_context_free(cv);
}

static void test_pipeline(void) {
  static const int64_t sizes[] = {1, 7, 33, 1000, 4099};
  static const int st[][2] = {{2, 1}, {-1, 1}, {3, 2}, {2, -1}, {-5, 3}};
  static const struct { const char *src; BudDType dt; } cs[] = {
      {"a * 2 + b", BUD_FLOAT32}, {"a - b * a", BUD_FLOAT64},
      {"(a + b) ^ a", BUD_INT32}, {"a + b - 7", BUD_INT64}};
  for (size_t c = 0; c < BUD_ARRAY_LEN(cs); c++)
    for (size_t s = 0; s < BUD_ARRAY_LEN(sizes); s++)
      for (size_t k = 0; k < BUD_ARRAY_LEN(st); k++) pipe_case(cs[c].src, cs[c].dt, sizes[s], st[k][0], st[k][1]);
  /* the JIT really compiled a strided kernel: every other element of a float32 array */
  BudContext *cj = bud_context_new();
  const char *isa = getenv("BUD_ISA");
  if (!(isa && strcmp(isa, "vm") == 0) && g_nisa > 0) {
    int64_t m = 2000;
    BudArray a;
    CHECK_EQ_INT(bud_array_alloc(cj, &a, BUD_FLOAT32, 1, &m), BUD_OK);
    for (int64_t e = 0; e < m; e++) ((float *)a.data)[e] = (float)e;
    BudArray v = a;
    v.shape[0] = 1000;
    v.strides[0] = 8;
    BudInput bi[1] = {{"a", &v}};
    BudArray o = {0};
    CHECK_EQ_INT(bud_eval(cj, "a * 3 + 1", 1, bi, 1, &o), BUD_OK);
    if (o.data) CHECK(((float *)o.data)[999] == (float)(1998 * 3 + 1));
    BudStats stt;
    bud_stats(cj, &stt);
    CHECK_MSG(stt.kernels_jit > 0 && stt.jit_fallbacks == 0, "strided view: %llu JIT kernels, %llu fallbacks",
              (unsigned long long)stt.kernels_jit, (unsigned long long)stt.jit_fallbacks);
    bud_array_free(&o);
    bud_array_free(&a);
  }
  bud_context_free(cj);
}

int main(void) {
  (void)diff_sizes; /* jit_diff.h's size sweep: this suite sweeps its own layouts */
  g_verbose = getenv("BUD_TEST_VERBOSE") != NULL;
  CHECK_EQ_INT(rt_codemem_init(&g_cm, 0), RT_CODE_OK);
  const X86Cpu *cpu = x86_cpu();
  static const X86Isa all[] = {X86_ISA_SSE2, X86_ISA_AVX2, X86_ISA_AVX512};
  for (int i = 0; i < 3; i++)
    if ((cpu->feat & x86_isa_needs(all[i])) == x86_isa_needs(all[i])) g_isas[g_nisa++] = all[i];
  printf("test_jit_strided: ISA paths tested:");
  for (int i = 0; i < g_nisa; i++) printf(" %s", x86_isa_name(g_isas[i]));
  printf("\n");
  if (g_nisa > 0) {
    test_plans();
    test_contig_unchanged();
  }
  test_pipeline();
  rt_codemem_destroy(&g_cm);
  return check_done("test_jit_strided");
}
