/* test_vm.c — vm_elementwise against NumPy 1.24 for every element-wise op x dtype (tables in
 * test_vm_cases.h, generated once by src/vm/gen_vm_cases.py), at aligned and misaligned
 * addresses and one element at a time; plus the cases the tables cannot hold (errors, fma). */
#include "check.h"
#include "vm/vm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_vm_cases.h"

static void pack(BudDType dt, void *dst, const uint64_t *src, int n) {
  int sz = dtype_size(dt);
  for (int i = 0; i < n; i++)
    memcpy((char *)dst + (size_t)i * sz, &src[i], (size_t)sz);
}

static uint64_t unpack1(BudDType dt, const void *p) {
  uint64_t v = 0;
  memcpy(&v, p, (size_t)dtype_size(dt));
  return v;
}

/* Distance in units in the last place between two floats given as bits (same sign assumed
 * unless both are zero). */
static int64_t ulp_dist(BudDType dt, uint64_t a, uint64_t b) {
  if (dt == BUD_FLOAT32) {
    int32_t x = (int32_t)(uint32_t)a, y = (int32_t)(uint32_t)b;
    if (x < 0) x = INT32_MIN - x;
    if (y < 0) y = INT32_MIN - y;
    return llabs((int64_t)x - (int64_t)y);
  }
  int64_t x = (int64_t)a, y = (int64_t)b;
  if (x < 0) x = INT64_MIN - x;
  if (y < 0) y = INT64_MIN - y;
  if ((x < 0) != (y < 0)) return INT64_MAX;
  return llabs(x - y);
}

static bool is_nan_bits(BudDType dt, uint64_t v) {
  if (dt == BUD_FLOAT32) {
    float f;
    uint32_t u = (uint32_t)v;
    memcpy(&f, &u, 4);
    return isnan(f);
  }
  double d;
  memcpy(&d, &v, 8);
  return isnan(d);
}

static bool same(const VmCase *c, uint64_t got, uint64_t want) {
  if (got == want) return true;
  if (!dtype_is_float(c->out_dt)) return false;
  if (is_nan_bits(c->out_dt, got) && is_nan_bits(c->out_dt, want)) return true;
  if (c->ulps == 0 || is_nan_bits(c->out_dt, got) || is_nan_bits(c->out_dt, want)) return false;
  return ulp_dist(c->out_dt, got, want) <= c->ulps;
}

static void fmt_bits(char *buf, size_t n, BudDType dt, uint64_t v) {
  if (dt == BUD_FLOAT32) {
    float f;
    uint32_t u = (uint32_t)v;
    memcpy(&f, &u, 4);
    snprintf(buf, n, "%.9g", (double)f);
  } else if (dt == BUD_FLOAT64) {
    double d;
    memcpy(&d, &v, 8);
    snprintf(buf, n, "%.17g", d);
  } else if (dtype_info(dt)->is_signed) {
    int sh = 64 - 8 * dtype_size(dt);
    snprintf(buf, n, "%lld", (long long)((int64_t)(v << sh) >> sh));
  } else {
    snprintf(buf, n, "%llu", (unsigned long long)v);
  }
}

/* Runs one table case with every buffer at byte offset `skew` and checks each element. */
static void run_case(const VmCase *c, int skew, bool one_at_a_time) {
  char *ins[3] = {0};
  const void *inp[3];
  size_t cap = (size_t)c->n * 8 + 16;
  for (int k = 0; k < c->nin; k++) {
    ins[k] = malloc(cap);
    pack(c->in_dt[k], ins[k] + skew, &vm_pool[c->in_off[k]], c->n);
    inp[k] = ins[k] + skew;
  }
  char *out = malloc(cap);
  memset(out, 0xAB, cap);
  BudStatus st = BUD_OK;
  int osz = dtype_size(c->out_dt);
  if (one_at_a_time) {
    for (int i = 0; i < c->n && st == BUD_OK; i++) {
      const void *in1[3];
      for (int k = 0; k < c->nin; k++)
        in1[k] = (const char *)inp[k] + i * dtype_size(c->in_dt[k]);
      st = vm_elementwise(NULL, c->op, c->out_dt, c->nin, c->in_dt, out + skew + i * osz, in1, 1);
    }
  } else {
    st = vm_elementwise(NULL, c->op, c->out_dt, c->nin, c->in_dt, out + skew, inp, c->n);
  }
  CHECK_EQ_INT(st, BUD_OK);
  int nbad = 0;
  for (int i = 0; i < c->n; i++) {
    uint64_t got = unpack1(c->out_dt, out + skew + i * osz);
    uint64_t want = vm_pool[c->out_off + i];
    if (!same(c, got, want)) {
      if (nbad++ < 3) {
        char g[64], w[64], a0[64], a1[64] = "", a2[64] = "";
        fmt_bits(g, sizeof g, c->out_dt, got);
        fmt_bits(w, sizeof w, c->out_dt, want);
        fmt_bits(a0, sizeof a0, c->in_dt[0], vm_pool[c->in_off[0] + i]);
        if (c->nin > 1) fmt_bits(a1, sizeof a1, c->in_dt[1], vm_pool[c->in_off[1] + i]);
        if (c->nin > 2) fmt_bits(a2, sizeof a2, c->in_dt[2], vm_pool[c->in_off[2] + i]);
        fprintf(stderr, "  %s %s(%s %s %s) -> %s: got %s, NumPy %s (skew %d)\n",
                op_info(c->op)->name, dtype_info(c->in_dt[0])->name, a0, a1, a2,
                dtype_info(c->out_dt)->name, g, w, skew);
      }
    }
  }
  CHECK_MSG(nbad == 0, "%s in %s: %d of %d elements differ", op_info(c->op)->name,
            dtype_info(c->in_dt[c->op == OP_where ? 1 : 0])->name, nbad, c->n);
  for (int k = 0; k < c->nin; k++)
    free(ins[k]);
  free(out);
}

static void test_tables(void) {
  for (size_t i = 0; i < BUD_ARRAY_LEN(vm_cases); i++) {
    run_case(&vm_cases[i], 0, false);
    run_case(&vm_cases[i], 1, false);
    run_case(&vm_cases[i], 0, true);
  }
}

/* Every element-wise op of ops.def has at least one table case (or is tested by hand below). */
static void test_coverage(void) {
  bool seen[OP_COUNT] = {0};
  for (size_t i = 0; i < BUD_ARRAY_LEN(vm_cases); i++)
    seen[vm_cases[i].op] = true;
  seen[OP_fma] = true; /* test_fma */
  for (int op = 0; op < OP_COUNT; op++)
    if (op_info((Op)op)->pclass == PC_ELEMWISE)
      CHECK_MSG(seen[op], "no VM test for %s", op_info((Op)op)->name);
}

/* Constant folding casts with scalar_convert (ir/types.c); it must agree with the VM's casts (and
 * so with NumPy) on every table value. */
static void test_scalar_convert(void) {
  int nbad = 0;
  for (size_t i = 0; i < BUD_ARRAY_LEN(vm_cases); i++) {
    const VmCase *c = &vm_cases[i];
    if (c->op != OP_cast) continue;
    for (int k = 0; k < c->n; k++) {
      _Alignas(8) unsigned char in[8] = {0}, out[8] = {0};
      pack(c->in_dt[0], in, &vm_pool[c->in_off[0] + k], 1);
      Scalar v = scalar_convert(c->in_dt[0], c->out_dt, scalar_load(c->in_dt[0], in));
      scalar_store(c->out_dt, out, v);
      if (unpack1(c->out_dt, out) != vm_pool[c->out_off + k] &&
          !(dtype_is_float(c->out_dt) && is_nan_bits(c->out_dt, unpack1(c->out_dt, out)) &&
            is_nan_bits(c->out_dt, vm_pool[c->out_off + k]))) {
        if (nbad++ < 5) {
          char a[64], g[64], w[64];
          fmt_bits(a, sizeof a, c->in_dt[0], vm_pool[c->in_off[0] + k]);
          fmt_bits(g, sizeof g, c->out_dt, unpack1(c->out_dt, out));
          fmt_bits(w, sizeof w, c->out_dt, vm_pool[c->out_off + k]);
          fprintf(stderr, "  scalar_convert %s %s -> %s: %s, NumPy %s\n",
                  dtype_info(c->in_dt[0])->name, a, dtype_info(c->out_dt)->name, g, w);
        }
      }
    }
  }
  CHECK_MSG(nbad == 0, "scalar_convert differs from NumPy/the VM in %d casts", nbad);
}

static void test_errors(void) {
  BudContext ctx;
  memset(&ctx, 0, sizeof ctx);
  int32_t a[3] = {2, 3, 4}, b[3] = {1, -1, 2}, o[3];
  BudDType dts[2] = {BUD_INT32, BUD_INT32};
  const void *in[2] = {a, b};
  CHECK_EQ_INT(vm_elementwise(&ctx, OP_pow, BUD_INT32, 2, dts, o, in, 3), BUD_ERR_VALUE);
  CHECK_EQ_STR(ctx.errmsg, "Integers to negative integer powers are not allowed.");
  uint32_t ua[2] = {2, 3}, ub[2] = {0xFFFFFFFFu, 2}, uo[2];
  BudDType udts[2] = {BUD_UINT32, BUD_UINT32};
  const void *uin[2] = {ua, ub};
  CHECK_EQ_INT(vm_elementwise(&ctx, OP_pow, BUD_UINT32, 2, udts, uo, uin, 2), BUD_OK);
  CHECK_EQ_INT(uo[1], 9);
  /* an op in a dtype the IR never resolves it to is an internal error, not a crash */
  BudDType bdts[2] = {BUD_BOOL, BUD_BOOL};
  CHECK_EQ_INT(vm_elementwise(&ctx, OP_sub, BUD_BOOL, 2, bdts, o, in, 1), BUD_ERR_INTERNAL);
  BudDType fdts[1] = {BUD_INT32};
  CHECK_EQ_INT(vm_elementwise(&ctx, OP_sin, BUD_INT32, 1, fdts, o, in, 1), BUD_ERR_INTERNAL);
  /* n == 0 writes nothing */
  CHECK_EQ_INT(vm_elementwise(&ctx, OP_add, BUD_INT32, 2, dts, NULL, in, 0), BUD_OK);
}

static void test_fma(void) {
  double a[3] = {0.1, 1e16, -2.0}, b[3] = {10.0, 1.0 + 0x1p-52, 3.0}, c[3] = {-1.0, -1e16, 1.0};
  double o[3];
  BudDType dts[3] = {BUD_FLOAT64, BUD_FLOAT64, BUD_FLOAT64};
  const void *in[3] = {a, b, c};
  CHECK_EQ_INT(vm_elementwise(NULL, OP_fma, BUD_FLOAT64, 3, dts, o, in, 3), BUD_OK);
  CHECK(o[0] == 0x1p-54);        /* 0.1*10 - 1 exactly: 5.55e-17, not 0 */
  CHECK(o[1] == 1e16 * 0x1p-52); /* the product's low part survives */
  CHECK(o[2] == -5.0);
  float fa[2] = {0.1f, 3.0f}, fb[2] = {10.0f, 0.5f}, fc[2] = {-1.0f, 1.0f}, fo[2];
  BudDType fdts[3] = {BUD_FLOAT32, BUD_FLOAT32, BUD_FLOAT32};
  const void *fin[3] = {fa, fb, fc};
  CHECK_EQ_INT(vm_elementwise(NULL, OP_fma, BUD_FLOAT32, 3, fdts, fo, fin, 2), BUD_OK);
  CHECK(fo[0] == (float)((double)0.1f * 10.0 - 1.0)); /* exact in double, one float rounding */
  CHECK(fo[1] == 2.5f);
}

/* out may be the same buffer as an input. */
static void test_inplace(void) {
  float a[1000], b[1000];
  for (int i = 0; i < 1000; i++)
    a[i] = (float)i, b[i] = 0.5f;
  BudDType dts[2] = {BUD_FLOAT32, BUD_FLOAT32};
  const void *in[2] = {a, b};
  CHECK_EQ_INT(vm_elementwise(NULL, OP_mul, BUD_FLOAT32, 2, dts, a, in, 1000), BUD_OK);
  int bad = 0;
  for (int i = 0; i < 1000; i++)
    bad += a[i] != (float)i * 0.5f;
  CHECK_EQ_INT(bad, 0);
}

int main(void) {
  test_tables();
  test_coverage();
  test_scalar_convert();
  test_errors();
  test_fma();
  test_inplace();
  return check_done("vm");
}
