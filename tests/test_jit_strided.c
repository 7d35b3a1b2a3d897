/* test_jit_strided.c — strided operands (row stride neither the element size nor 0) in the x86
 * JIT: loads gathered and stores scattered lane by lane. JIT vs VM bit for bit on every ISA path
 * this machine runs, float32/float64/int32/int64, load and store strides of 2, 3, -1, -5
 * elements, sizes 0..257 split at an odd begin, misaligned bases; the bytes between and around
 * the strided elements must stay untouched. Strided operands mixed with the rest of the JIT
 * (mixed lane widths, where, unsigned, 12 operands, reductions, stride 0, external calls); code
 * of contiguous plans independent of the layouts argument. Then the full pipeline: bud_run over
 * strided views (every other element, reversed) against a context forced to the VM.
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

/* Any plan t with operand s at st[s] elements apart (0: stride 0), reductions included: the JIT
 * on isa against the VM over n elements split at an odd index. Outputs compare bytewise over
 * their whole buffers; float sums within a rounding tolerance (both sum in double, in different
 * orders), other reductions exactly. */
static int g_nmixed, g_nrefused;

static void diff_general(TPlan *t, const int *st, int64_t n, X86Isa isa, const char *name) {
  Plan *p = &t->p;
  uint8_t lay[BUD_MAX_OPERANDS] = {0};
  for (int s = 0; s < p->noperands; s++)
    lay[s] = st[s] == 0 ? LAYOUT_BCAST : st[s] == 1 ? LAYOUT_CONTIG : LAYOUT_STRIDED;
  TKernel k;
  char why[256];
  int rc = tk_compile(&g_cm, p, lay, isa, &k, why, sizeof why);
  if (rc) { /* only when the plan is refused with contiguous operands too (an op, not a layout) */
    char why2[256];
    CHECK_MSG(x86_jit_check(p, NULL, isa, why2, sizeof why2) < 0, "%s on %s: %s", name,
              x86_isa_name(isa), why);
    g_nrefused++;
    return;
  }
  g_nmixed++;
  uint8_t *mem[TP_MAXO], *ref[TP_MAXO];
  size_t bytes[TP_MAXO];
  BudKArgs args;
  memset(&args, 0, sizeof args);
  for (int s = 0; s < p->noperands; s++) {
    int z = dtype_size((BudDType)p->operands[s].dtype);
    int a = st[s] < 0 ? -st[s] : st[s];
    int64_t span = n > 0 ? (n - 1) * a : 0;
    bytes[s] = (size_t)(span + 2 * PAD + 2) * (size_t)z;
    mem[s] = malloc(bytes[s]);
    ref[s] = malloc(bytes[s]);
    for (size_t i = 0; i < bytes[s]; i++) mem[s][i] = (uint8_t)(0x3C ^ (i * 13) ^ (unsigned)s);
    args.ptr[s] = (char *)mem[s] + (PAD + 1) * z + (st[s] < 0 ? span * z : 0);
    args.stride[s] = (int64_t)st[s] * z;
    if (!p->operands[s].is_output)
      for (int64_t e = 0; e < (n > 0 ? n : 0); e++)
        fill((BudDType)p->operands[s].dtype, args.ptr[s] + e * args.stride[s], 1, 2);
  }
  int64_t mid = n / 2 | 1;
  if (mid > n) mid = n;
  RedAcc vacc[8], jacc[8];
  for (int r = 0; r < p->nreduces; r++) {
    vm_reduce_init(&p->reduces[r], &vacc[r]);
    vm_reduce_init(&p->reduces[r], &jacc[r]);
  }
  args.acc = vacc;
  VmScratch *vs = vm_scratch_new(p);
  CHECK_EQ_INT(vm_run_row(&g_ctx, p, vs, &args, 0, mid), BUD_OK);
  CHECK_EQ_INT(vm_run_row(&g_ctx, p, vs, &args, mid, n), BUD_OK);
  vm_scratch_free(vs);
  for (int s = 0; s < p->noperands; s++) {
    memcpy(ref[s], mem[s], bytes[s]);
    if (p->operands[s].is_output)
      for (size_t i = 0; i < bytes[s]; i++) mem[s][i] = (uint8_t)(0x3C ^ (i * 13) ^ (unsigned)s);
  }
  args.acc = jacc;
  k.fn(&args, 0, mid);
  k.fn(&args, mid, n);
  for (int s = 0; s < p->noperands; s++)
    CHECK_MSG(memcmp(ref[s], mem[s], bytes[s]) == 0, "%s on %s n=%lld: operand %d differs", name,
              x86_isa_name(isa), (long long)n, s);
  for (int r = 0; r < p->nreduces; r++) {
    double vo = 0, jo = 0;
    if (p->reduces[r].out_dtype == BUD_FLOAT32) {
      float f1, f2;
      vm_reduce_finish(&p->reduces[r], &vacc[r], &f1);
      vm_reduce_finish(&p->reduces[r], &jacc[r], &f2);
      vo = f1, jo = f2;
    } else if (p->reduces[r].out_dtype == BUD_FLOAT64) {
      vm_reduce_finish(&p->reduces[r], &vacc[r], &vo);
      vm_reduce_finish(&p->reduces[r], &jacc[r], &jo);
    } else {
      int64_t i1 = 0, i2 = 0;
      vm_reduce_finish(&p->reduces[r], &vacc[r], &i1);
      vm_reduce_finish(&p->reduces[r], &jacc[r], &i2);
      vo = (double)i1, jo = (double)i2;
    }
    bool fsum = p->reduces[r].op == OP_sum || p->reduces[r].op == OP_mean;
    CHECK_MSG(fsum ? fabs(vo - jo) <= 1e-5 * (fabs(vo) + 1) : vo == jo,
              "%s on %s n=%lld: reduction %d %.17g vs %.17g", name, x86_isa_name(isa), (long long)n, r, jo, vo);
    CHECK_EQ_INT(jacc[r].count, vacc[r].count);
  }
  for (int s = 0; s < p->noperands; s++) {
    free(mem[s]);
    free(ref[s]);
  }
  tk_free(&g_cm, &k);
}

/* Strided operands next to everything else the JIT does: mixed lane widths, comparisons and
 * where, unsigned, more operands than pointer registers, reductions (native and through the
 * VM's blocks), stride-0 operands, external calls. */
static void test_mixed(void) {
  static const int64_t ns[] = {0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 100, 257, 1031};
  for (int ii = 0; ii < g_nisa; ii++)
    for (size_t ni = 0; ni < BUD_ARRAY_LEN(ns); ni++) {
      int64_t n = ns[ni];
      X86Isa isa = g_isas[ii];
      TPlan t;
      { /* float32 strided and float64 strided: f32 values in half-width vectors */
        tp_init(&t);
        int a = tp_operand(&t, BUD_FLOAT32, false), b = tp_operand(&t, BUD_FLOAT64, false);
        int o = tp_operand(&t, BUD_FLOAT64, true), o2 = tp_operand(&t, BUD_FLOAT32, true);
        int va = tp_load(&t, a), vb = tp_load(&t, b);
        int ca = tp_op(&t, OP_cast, BUD_FLOAT64, 1, va, -1, -1);
        tp_store(&t, o, tp_op(&t, OP_mul, BUD_FLOAT64, 2, ca, vb, -1));
        tp_store(&t, o2, tp_op(&t, OP_add, BUD_FLOAT32, 2, va, va, -1));
        int st[] = {3, -2, -1, 2};
        diff_general(&t, st, n, isa, "f32/f64 mixed");
      }
      { /* where(a < b, a, b) with a stride-0 operand and unsigned ints */
        static const BudDType dts[] = {BUD_INT32, BUD_UINT32, BUD_INT64, BUD_UINT64};
        for (int d = 0; d < 4; d++) {
          tp_init(&t);
          int a = tp_operand(&t, dts[d], false), b = tp_operand(&t, dts[d], false);
          int c = tp_operand(&t, dts[d], false), o = tp_operand(&t, dts[d], true);
          int va = tp_load(&t, a), vb = tp_load(&t, b), vc = tp_load(&t, c);
          int w; /* unsigned compares are not native: a subtraction instead */
          if (d % 2 == 0) w = tp_op(&t, OP_where, dts[d], 3, tp_op(&t, OP_lt, BUD_BOOL, 2, va, vb, -1), va, vb);
          else w = tp_op(&t, OP_sub, dts[d], 2, va, vb, -1);
          tp_store(&t, o, tp_op(&t, OP_add, dts[d], 2, w, vc, -1));
          int st[] = {-3, 2, 0, 5};
          diff_general(&t, st, n, isa, "where/unsigned");
        }
      }
      { /* 12 strided inputs: more operands than pointer registers */
        tp_init(&t);
        int sl[12], acc = -1;
        for (int i = 0; i < 12; i++) sl[i] = tp_operand(&t, BUD_FLOAT64, false);
        int o = tp_operand(&t, BUD_FLOAT64, true);
        for (int i = 0; i < 12; i++) {
          int v = tp_load(&t, sl[i]);
          acc = acc < 0 ? v : tp_op(&t, OP_add, BUD_FLOAT64, 2, acc, v, -1);
        }
        tp_store(&t, o, acc);
        int st[13];
        for (int i = 0; i < 13; i++) st[i] = (int[]){2, -1, 3, 1, -5, 4, 2, -2, 1, 6, -1, 2, -3}[i];
        diff_general(&t, st, n, isa, "12 operands");
      }
      { /* reductions of strided values: native float sums and max through the VM's blocks */
        tp_init(&t);
        int a = tp_operand(&t, BUD_FLOAT32, false), b = tp_operand(&t, BUD_FLOAT64, false);
        int o = tp_operand(&t, BUD_FLOAT64, true);
        int va = tp_load(&t, a), vb = tp_load(&t, b);
        tp_reduce(&t, OP_sum, va);
        tp_reduce(&t, OP_max, vb);
        int ca = tp_op(&t, OP_cast, BUD_FLOAT64, 1, va, -1, -1);
        int s = tp_op(&t, OP_sub, BUD_FLOAT64, 2, vb, ca, -1);
        tp_reduce(&t, OP_sum, s);
        tp_store(&t, o, s);
        t.p.reduce_axis = BUD_AXIS_ALL;
        int st[] = {-2, 3, 2};
        diff_general(&t, st, n, isa, "reductions");
      }
      { /* an op the VM computes for the kernel (pow of float64), strided around it */
        tp_init(&t);
        int a = tp_operand(&t, BUD_FLOAT64, false), b = tp_operand(&t, BUD_FLOAT64, false);
        int o = tp_operand(&t, BUD_FLOAT64, true);
        int va = tp_load(&t, a), vb = tp_load(&t, b);
        int pw = tp_op(&t, OP_pow, BUD_FLOAT64, 2, va, vb, -1);
        tp_store(&t, o, tp_op(&t, OP_add, BUD_FLOAT64, 2, pw, va, -1));
        int st[] = {2, -1, -3};
        diff_general(&t, st, n, isa, "pow (external call)");
      }
    }
  printf("test_jit_strided: %d mixed kernels compared, %d refused for their ops\n", g_nmixed, g_nrefused);
  CHECK(g_nmixed > g_nrefused * 4);
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
  diff_init("test_jit_strided");
  if (g_nisa > 0) {
    test_plans();
    test_contig_unchanged();
    test_mixed();
  }
  test_pipeline();
  rt_codemem_destroy(&g_cm);
  return check_done("test_jit_strided");
}
