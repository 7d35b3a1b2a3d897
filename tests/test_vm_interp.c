/* test_vm_interp.c — the blocked interpreter on plans built by hand (LInst arrays): loads with
 * contiguous, strided, negative, zero and misaligned strides over rows of 0..600 elements and
 * sub-ranges [begin, end); stores in place and scattered; an output that is the very same memory
 * as an input, with the input read again after the store; reductions across blocks and calls
 * (argmax ties and NaN with index_base, combine order, pairwise float32 sums). */
#include "check.h"
#include "vm/vm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAXI = 16 };

typedef struct HPlan {
  Plan p;
  LInst insts[MAXI];
  uint8_t vdt[MAXI];
  PlanOperand ops[8];
  PlanConst consts[4];
  PlanReduce reds[4];
} HPlan;

static void hp_init(HPlan *h) {
  memset(h, 0, sizeof *h);
  h->p.insts = h->insts;
  h->p.vreg_dtype = h->vdt;
  h->p.operands = h->ops;
  h->p.consts = h->consts;
  h->p.reduces = h->reds;
  h->p.sched.block = 256;
  h->p.reduce_axis = PLAN_NO_REDUCE;
}

static int hp_operand(HPlan *h, BudDType dt, bool out) {
  h->ops[h->p.noperands] = (PlanOperand){(uint8_t)dt, out, h->p.noperands};
  return h->p.noperands++;
}

static int hp_inst(HPlan *h, LKind k, BudDType dt, Op op, int nin, int a, int b, int slot) {
  LInst *in = &h->insts[h->p.ninsts++];
  memset(in, 0, sizeof *in);
  in->kind = (uint8_t)k;
  in->dtype = (uint8_t)dt;
  in->op = (uint16_t)op;
  in->nin = (uint8_t)nin;
  in->src[0] = (int16_t)a;
  in->src[1] = (int16_t)b;
  in->src[2] = -1;
  in->slot = slot;
  in->dst = -1;
  if (k == LK_LOAD || k == LK_CONST || k == LK_OP) {
    in->dst = (int16_t)h->p.nvregs;
    h->vdt[h->p.nvregs] = (uint8_t)dt;
    return h->p.nvregs++;
  }
  return -1;
}

static int hp_load(HPlan *h, int slot) {
  return hp_inst(h, LK_LOAD, (BudDType)h->ops[slot].dtype, OP_input, 0, -1, -1, slot);
}
static int hp_const_f64(HPlan *h, double v) {
  h->consts[h->p.nconsts] = (PlanConst){BUD_FLOAT64, {.f = v}};
  return hp_inst(h, LK_CONST, BUD_FLOAT64, OP_const, 0, -1, -1, h->p.nconsts++);
}
static int hp_op(HPlan *h, Op op, BudDType dt, int a, int b) {
  return hp_inst(h, LK_OP, dt, op, b >= 0 ? 2 : 1, a, b, 0);
}
static void hp_store(HPlan *h, int slot, int v) {
  hp_inst(h, LK_STORE, (BudDType)h->ops[slot].dtype, OP_input, 0, v, -1, slot);
}
static int hp_reduce(HPlan *h, Op op, BudDType in, BudDType out, int v) {
  h->reds[h->p.nreduces] = (PlanReduce){(uint16_t)op, (uint8_t)in, (uint8_t)out, (int16_t)v, 0};
  hp_inst(h, LK_REDUCE, in, OP_input, 0, v, -1, h->p.nreduces);
  return h->p.nreduces++;
}

/* out = (a + b) * 0.5 with a float64 at stride sa (elements, may be negative or 0), b float64
 * contiguous at a byte offset `skew`; out at stride so; also sum(a + b). Rows [begin, n). */
static void check_strides(int64_t n, int64_t begin, int64_t sa, int skew, int64_t so) {
  HPlan h;
  hp_init(&h);
  int A = hp_operand(&h, BUD_FLOAT64, false), B = hp_operand(&h, BUD_FLOAT64, false);
  int O = hp_operand(&h, BUD_FLOAT64, true);
  int va = hp_load(&h, A), vb = hp_load(&h, B);
  int s = hp_op(&h, OP_add, BUD_FLOAT64, va, vb);
  hp_store(&h, O, hp_op(&h, OP_mul, BUD_FLOAT64, s, hp_const_f64(&h, 0.5)));
  int r = hp_reduce(&h, OP_sum, BUD_FLOAT64, BUD_FLOAT64, s);
  int64_t span = n * 4 + 8;
  double *abuf = calloc((size_t)span, sizeof(double));
  char *bbuf = calloc((size_t)span * 8 + 16, 1);
  double *obuf = calloc((size_t)span, sizeof(double));
  for (int64_t i = 0; i < span; i++) abuf[i] = (double)(i * 3 % 17) - 4;
  double *a0 = abuf + (sa < 0 ? (n > 0 ? (n - 1) * -sa : 0) : 0);
  double *o0 = obuf + (so < 0 ? (n > 0 ? (n - 1) * -so : 0) : 0);
  for (int64_t i = 0; i < n; i++) {
    double v = (double)(i % 23) * 0.25;
    memcpy(bbuf + skew + i * 8, &v, 8);
  }
  BudKArgs args;
  memset(&args, 0, sizeof args);
  RedAcc acc;
  vm_reduce_init(&h.reds[r], &acc);
  args.ptr[A] = (char *)a0;
  args.stride[A] = sa * 8;
  args.ptr[B] = bbuf + skew;
  args.stride[B] = 8;
  args.ptr[O] = (char *)o0;
  args.stride[O] = so * 8;
  args.acc = &acc;
  VmScratch *vs = vm_scratch_new(&h.p);
  CHECK(vs != NULL);
  CHECK_EQ_INT(vm_run_row(NULL, &h.p, vs, &args, begin, n), BUD_OK);
  vm_scratch_free(vs);
  int bad = 0;
  double want_sum = 0;
  for (int64_t i = begin; i < n; i++) {
    double b;
    memcpy(&b, bbuf + skew + i * 8, 8);
    double w = (a0[i * sa] + b) * 0.5;
    want_sum += a0[i * sa] + b;
    bad += o0[i * so] != w;
  }
  CHECK_MSG(bad == 0, "n=%lld begin=%lld sa=%lld skew=%d so=%lld: %d wrong", (long long)n,
            (long long)begin, (long long)sa, skew, (long long)so, bad);
  double got;
  vm_reduce_finish(&h.reds[r], &acc, &got);
  CHECK_MSG(got == want_sum, "sum %g != %g", got, want_sum); /* small integers/4: exact */
  CHECK_EQ_INT(acc.count, n > begin ? n - begin : 0);
  free(abuf);
  free(bbuf);
  free(obuf);
}

static void test_strides(void) {
  static const int64_t sizes[] = {0, 1, 5, 8, 255, 256, 257, 600};
  static const int64_t sa[] = {1, 3, -1, -2, 0};
  static const int64_t so[] = {1, 2, -1};
  for (size_t i = 0; i < BUD_ARRAY_LEN(sizes); i++)
    for (size_t j = 0; j < BUD_ARRAY_LEN(sa); j++)
      for (size_t k = 0; k < BUD_ARRAY_LEN(so); k++)
        for (int skew = 0; skew <= 3; skew += 3) {
          check_strides(sizes[i], 0, sa[j], skew, so[k]);
          if (sizes[i] > 3) check_strides(sizes[i], 3, sa[j], skew, so[k]);
        }
}

/* The output is the input's memory (the same view): out = a + 1 is stored, then a * 2 (to out2)
 * and a second load of b (also that memory) must still see the old values. */
static void test_same_view(void) {
  HPlan h;
  hp_init(&h);
  int A = hp_operand(&h, BUD_FLOAT64, false), O = hp_operand(&h, BUD_FLOAT64, true);
  int O2 = hp_operand(&h, BUD_FLOAT64, true), B = hp_operand(&h, BUD_FLOAT64, false);
  int O3 = hp_operand(&h, BUD_FLOAT64, true);
  int va = hp_load(&h, A);
  hp_store(&h, O, hp_op(&h, OP_add, BUD_FLOAT64, va, hp_const_f64(&h, 1.0)));
  hp_store(&h, O2, hp_op(&h, OP_mul, BUD_FLOAT64, va, hp_const_f64(&h, 2.0)));
  int vb = hp_load(&h, B); /* listed after the first store */
  hp_store(&h, O3, vb);
  enum { N = 700 };
  double *x = malloc(sizeof(double) * N), *o2 = malloc(sizeof(double) * N);
  double *o3 = malloc(sizeof(double) * N);
  for (int i = 0; i < N; i++) x[i] = i;
  BudKArgs args;
  memset(&args, 0, sizeof args);
  args.ptr[A] = args.ptr[O] = args.ptr[B] = (char *)x;
  args.ptr[O2] = (char *)o2;
  args.ptr[O3] = (char *)o3;
  for (int s = 0; s < 5; s++) args.stride[s] = 8;
  VmScratch *vs = vm_scratch_new(&h.p);
  CHECK_EQ_INT(vm_run_row(NULL, &h.p, vs, &args, 0, N), BUD_OK);
  vm_scratch_free(vs);
  int bad = 0;
  for (int i = 0; i < N; i++) bad += x[i] != i + 1.0 || o2[i] != 2.0 * i || o3[i] != i;
  CHECK_EQ_INT(bad, 0);
  free(x);
  free(o2);
  free(o3);
}

/* argmax/argmin over several calls with index_base: ties keep the first, NaN wins; combining
 * two partial accumulators gives the single-pass answer. */
static void test_arg_reductions(void) {
  enum { N = 1000 };
  float x[N];
  for (int i = 0; i < N; i++) x[i] = (float)(i % 97);
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) x[613] = NAN, x[880] = NAN;
    for (Op op = OP_argmin; op <= OP_argmax; op = (Op)(op + 1)) {
      HPlan h;
      hp_init(&h);
      int A = hp_operand(&h, BUD_FLOAT32, false);
      int r = hp_reduce(&h, op, BUD_FLOAT32, BUD_INT64, hp_load(&h, A));
      VmScratch *vs = vm_scratch_new(&h.p);
      RedAcc acc[3];
      vm_reduce_init(&h.reds[r], &acc[0]);
      vm_reduce_init(&h.reds[r], &acc[1]);
      vm_reduce_init(&h.reds[r], &acc[2]);
      BudKArgs args;
      memset(&args, 0, sizeof args);
      args.stride[A] = 4;
      /* one accumulator over rows of 300, 300, 400; then halves combined */
      int64_t starts[4] = {0, 300, 600, N};
      for (int k = 0; k < 3; k++) {
        args.ptr[A] = (char *)(x + starts[k]);
        args.index_base = starts[k];
        args.acc = &acc[0];
        CHECK_EQ_INT(vm_run_row(NULL, &h.p, vs, &args, 0, starts[k + 1] - starts[k]), BUD_OK);
        args.acc = &acc[k == 2 ? 2 : 1];
        CHECK_EQ_INT(vm_run_row(NULL, &h.p, vs, &args, 0, starts[k + 1] - starts[k]), BUD_OK);
      }
      vm_reduce_combine(&h.reds[r], &acc[1], &acc[2]);
      int64_t got0, got1, want = pass ? 613 : (op == OP_argmax ? 96 : 0);
      vm_reduce_finish(&h.reds[r], &acc[0], &got0);
      vm_reduce_finish(&h.reds[r], &acc[1], &got1);
      CHECK_EQ_INT(got0, want);
      CHECK_EQ_INT(got1, want);
      vm_scratch_free(vs);
    }
  }
}

/* float32 sums: 10^6 values in [0, 1) summed through the VM in rows of 1000 must be within a few
 * float32 ulps of the exact sum (a sequential float32 loop is off by hundreds). */
static void test_sum_accuracy(void) {
  enum { N = 1000000, ROW = 1000 };
  float *x = malloc(sizeof(float) * N);
  uint64_t seed = 12345;
  long double exact = 0;
  for (int i = 0; i < N; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)(seed >> 40) / (float)(1 << 24);
    exact += x[i];
  }
  HPlan h;
  hp_init(&h);
  int A = hp_operand(&h, BUD_FLOAT32, false);
  int r = hp_reduce(&h, OP_sum, BUD_FLOAT32, BUD_FLOAT32, hp_load(&h, A));
  int rm = hp_reduce(&h, OP_mean, BUD_FLOAT32, BUD_FLOAT32, h.insts[0].dst);
  VmScratch *vs = vm_scratch_new(&h.p);
  RedAcc acc[2];
  vm_reduce_init(&h.reds[r], &acc[0]);
  vm_reduce_init(&h.reds[rm], &acc[1]);
  BudKArgs args;
  memset(&args, 0, sizeof args);
  args.stride[A] = 4;
  args.acc = acc;
  for (int i = 0; i < N; i += ROW) {
    args.ptr[A] = (char *)(x + i);
    CHECK(vm_run_row(NULL, &h.p, vs, &args, 0, ROW) == BUD_OK);
  }
  float got, mean;
  vm_reduce_finish(&h.reds[r], &acc[0], &got);
  vm_reduce_finish(&h.reds[rm], &acc[1], &mean);
  CHECK_MSG(fabsl((long double)got - exact) <= 0.04L, "sum %.9g vs %.9Lg", (double)got, exact);
  CHECK_MSG(fabs((double)mean - (double)(exact / N)) <= 6e-8, "mean %.9g", (double)mean);
  vm_scratch_free(vs);
  free(x);
}

/* Reductions' identities and integer kinds through vm_reduce_* directly. */
static void test_identities(void) {
  static const struct { Op op; BudDType in, out; double want; } cases[] = {
      {OP_sum, BUD_FLOAT32, BUD_FLOAT32, 0.0}, {OP_prod, BUD_FLOAT64, BUD_FLOAT64, 1.0},
      {OP_mean, BUD_FLOAT64, BUD_FLOAT64, NAN}, {OP_any, BUD_BOOL, BUD_BOOL, 0},
      {OP_all, BUD_BOOL, BUD_BOOL, 1}, {OP_sum, BUD_INT8, BUD_INT64, 0},
      {OP_prod, BUD_UINT16, BUD_UINT64, 1}};
  for (size_t i = 0; i < BUD_ARRAY_LEN(cases); i++) {
    PlanReduce r = {(uint16_t)cases[i].op, (uint8_t)cases[i].in, (uint8_t)cases[i].out, 0, 0};
    RedAcc acc;
    vm_reduce_init(&r, &acc);
    _Alignas(8) unsigned char out[8] = {0};
    vm_reduce_finish(&r, &acc, out);
    Scalar v = scalar_load(cases[i].out, out);
    double got = dtype_is_float(cases[i].out) ? v.f : dtype_is_uint(cases[i].out) ? (double)v.u
                                                                                  : (double)v.i;
    CHECK_MSG((isnan(got) && isnan(cases[i].want)) || got == cases[i].want, "case %zu: %g", i, got);
  }
  /* int8 sum widens to int64; uint8 max; int16 min */
  int8_t a[300];
  for (int i = 0; i < 300; i++) a[i] = (int8_t)(i * 7);
  PlanReduce rs = {OP_sum, BUD_INT8, BUD_INT64, 0, 0}, rmin = {OP_min, BUD_INT8, BUD_INT8, 0, 0};
  RedAcc acc, accm;
  vm_reduce_init(&rs, &acc);
  vm_reduce_init(&rmin, &accm);
  BudKArgs args;
  memset(&args, 0, sizeof args);
  HPlan h;
  hp_init(&h);
  int A = hp_operand(&h, BUD_INT8, false);
  int v = hp_load(&h, A);
  h.reds[0] = rs;
  h.reds[0].src = (int16_t)v;
  hp_inst(&h, LK_REDUCE, BUD_INT8, OP_input, 0, v, -1, 0);
  h.reds[1] = rmin;
  hp_inst(&h, LK_REDUCE, BUD_INT8, OP_input, 0, v, -1, 1);
  h.p.nreduces = 2;
  RedAcc accs[2] = {acc, accm};
  args.acc = accs;
  args.ptr[A] = (char *)a;
  args.stride[A] = 1;
  VmScratch *vs = vm_scratch_new(&h.p);
  CHECK_EQ_INT(vm_run_row(NULL, &h.p, vs, &args, 0, 300), BUD_OK);
  vm_scratch_free(vs);
  int64_t want = 0, s;
  int8_t mn = 127, m;
  for (int i = 0; i < 300; i++) want += a[i], mn = a[i] < mn ? a[i] : mn;
  vm_reduce_finish(&h.reds[0], &accs[0], &s);
  vm_reduce_finish(&h.reds[1], &accs[1], &m);
  CHECK_EQ_INT(s, want);
  CHECK_EQ_INT(m, mn);
}

int main(void) {
  test_strides();
  test_same_view();
  test_arg_reductions();
  test_sum_accuracy();
  test_identities();
  return check_done("vm_interp");
}
