/* vm_ops.c — the VM's element-wise loops with NumPy 1.24 semantics: arithmetic (integers wrap),
 * integer division family, comparisons, bit operations, min/max with NaN propagation, where and
 * clip; float functions and casts are in vm_math.c. Entry points: vm_elementwise (any alignment,
 * used by constant folding too) and vm_op_run (aligned buffers, used by the interpreter).
 * Each family is one function with a switch over the dtype and a small loop macro inside; the
 * loops are plain `out[i] = f(a[i], b[i])` so the compiler vectorises them.
 */
#include "vm/vm_ops.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif


/* ---- add, subtract, multiply, divide, minimum, maximum --------------------------------------- */

/* Integers: arithmetic in the unsigned type U (at least 32 bits, so nothing promotes to int and
 * overflows) wraps; the cast back to T keeps the low bits. */
#define ARITH_INT(T, U)                                                                           \
  switch (op) {                                                                                   \
  case OP_add: LOOP2(T, T, (U)x + (U)y); break;                                                   \
  case OP_sub: LOOP2(T, T, (U)x - (U)y); break;                                                   \
  case OP_mul: LOOP2(T, T, (U)x * (U)y); break;                                                   \
  case OP_minimum: LOOP2(T, T, x < y ? x : y); break;                                             \
  case OP_maximum: LOOP2(T, T, x > y ? x : y); break;                                             \
  default: assert(!"vm_op_arith: op"); break;                                                     \
  }

/* Floats: IEEE; minimum/maximum return the first operand when it is NaN or strictly better, else
 * the second (so NaN propagates and maximum(-0.0, 0.0) == 0.0, as NumPy). */
#define ARITH_FLT(T)                                                                              \
  switch (op) {                                                                                   \
  case OP_add: LOOP2(T, T, x + y); break;                                                         \
  case OP_sub: LOOP2(T, T, x - y); break;                                                         \
  case OP_mul: LOOP2(T, T, x * y); break;                                                         \
  case OP_div: LOOP2(T, T, x / y); break;                                                         \
  case OP_minimum: LOOP2(T, T, (x < y || x != x) ? x : y); break;                                 \
  case OP_maximum: LOOP2(T, T, (x > y || x != x) ? x : y); break;                                 \
  default: assert(!"vm_op_arith: op"); break;                                                     \
  }

VM_HOT static void vm_op_arith(Op op, BudDType dt, void *out, const void *a, const void *b,
                               int64_t n) {
  switch (dt) {
  case BUD_BOOL: /* add = or, multiply = and, minimum = and, maximum = or */
    switch (op) {
    case OP_add: case OP_maximum: LOOP2(uint8_t, uint8_t, (x | y) != 0); break;
    case OP_mul: case OP_minimum: LOOP2(uint8_t, uint8_t, (x & y) != 0); break;
    default: assert(!"vm_op_arith: bool op"); break;
    }
    break;
  case BUD_INT8: ARITH_INT(int8_t, uint32_t); break;
  case BUD_INT16: ARITH_INT(int16_t, uint32_t); break;
  case BUD_INT32: ARITH_INT(int32_t, uint32_t); break;
  case BUD_INT64: ARITH_INT(int64_t, uint64_t); break;
  case BUD_UINT8: ARITH_INT(uint8_t, uint32_t); break;
  case BUD_UINT16: ARITH_INT(uint16_t, uint32_t); break;
  case BUD_UINT32: ARITH_INT(uint32_t, uint32_t); break;
  case BUD_UINT64: ARITH_INT(uint64_t, uint64_t); break;
  case BUD_FLOAT32: ARITH_FLT(float); break;
  case BUD_FLOAT64: ARITH_FLT(double); break;
  default: assert(!"vm_op_arith: dtype"); break;
  }
}

/* ---- integer floor_divide, remainder, fmod, power -------------------------------------------- */

/* Division by zero gives 0; divisor -1 is done as a wrapping negation (MIN // -1 == MIN,
 * MIN % -1 == 0) so no C division overflows. floor_divide rounds toward -inf and remainder
 * takes the divisor's sign (Python); fmod is C's %. */
#define IDIV_SIGNED(T, U)                                                                         \
  switch (op) {                                                                                   \
  case OP_floordiv:                                                                               \
    LOOP2(T, T,                                                                                   \
          y == 0 ? 0                                                                              \
          : y == -1 ? (T)(0u - (U)x)                                                              \
                    : x / y - ((x % y != 0) & ((x < 0) != (y < 0))));                             \
    break;                                                                                        \
  case OP_mod:                                                                                    \
    LOOP2(T, T,                                                                                   \
          (y == 0 || y == -1) ? 0 : x % y + (((x % y != 0) & ((x % y < 0) != (y < 0))) ? y : 0)); \
    break;                                                                                        \
  case OP_fmod: LOOP2(T, T, (y == 0 || y == -1) ? 0 : x % y); break;                              \
  default: assert(!"vm_op_intdiv: op"); break;                                                    \
  }

#define IDIV_UNSIGNED(T)                                                                          \
  switch (op) {                                                                                   \
  case OP_floordiv: LOOP2(T, T, y == 0 ? 0 : x / y); break;                                       \
  case OP_mod: case OP_fmod: LOOP2(T, T, y == 0 ? 0 : x % y); break;                              \
  default: assert(!"vm_op_intdiv: op"); break;                                                    \
  }

static void vm_op_intdiv(Op op, BudDType dt, void *out, const void *a, const void *b, int64_t n) {
  switch (dt) {
  case BUD_INT8: IDIV_SIGNED(int8_t, uint32_t); break;
  case BUD_INT16: IDIV_SIGNED(int16_t, uint32_t); break;
  case BUD_INT32: IDIV_SIGNED(int32_t, uint32_t); break;
  case BUD_INT64: IDIV_SIGNED(int64_t, uint64_t); break;
  case BUD_UINT8: IDIV_UNSIGNED(uint8_t); break;
  case BUD_UINT16: IDIV_UNSIGNED(uint16_t); break;
  case BUD_UINT32: IDIV_UNSIGNED(uint32_t); break;
  case BUD_UINT64: IDIV_UNSIGNED(uint64_t); break;
  default: assert(!"vm_op_intdiv: dtype"); break;
  }
}

/* x ** e for e >= 0 by square-and-multiply, wrapping in 64 bits (the low bits are those of any
 * narrower width). */
static inline uint64_t vm_ipow(uint64_t x, uint64_t e) {
  uint64_t r = 1;
  while (e) {
    if (e & 1) r *= x;
    x *= x;
    e >>= 1;
  }
  return r;
}

#define IPOW_SIGNED(T)                                                                            \
  do {                                                                                            \
    const T *pe_ = b;                                                                             \
    for (int64_t i = 0; i < n; i++)                                                               \
      if (pe_[i] < 0) return false;                                                               \
    LOOP2(T, T, vm_ipow((uint64_t)(int64_t)x, (uint64_t)(int64_t)y));                             \
  } while (0)

/* false (nothing written) when an exponent is negative. */
static bool vm_op_ipow(BudDType dt, void *out, const void *a, const void *b, int64_t n) {
  switch (dt) {
  case BUD_INT8: IPOW_SIGNED(int8_t); break;
  case BUD_INT16: IPOW_SIGNED(int16_t); break;
  case BUD_INT32: IPOW_SIGNED(int32_t); break;
  case BUD_INT64: IPOW_SIGNED(int64_t); break;
  case BUD_UINT8: LOOP2(uint8_t, uint8_t, vm_ipow(x, y)); break;
  case BUD_UINT16: LOOP2(uint16_t, uint16_t, vm_ipow(x, y)); break;
  case BUD_UINT32: LOOP2(uint32_t, uint32_t, vm_ipow(x, y)); break;
  case BUD_UINT64: LOOP2(uint64_t, uint64_t, vm_ipow(x, y)); break;
  default: assert(!"vm_op_ipow: dtype"); break;
  }
  return true;
}

/* ---- comparisons ----------------------------------------------------------------------------- */

#define CMP(T)                                                                                    \
  switch (op) {                                                                                   \
  case OP_eq: LOOP2(T, uint8_t, x == y); break;                                                   \
  case OP_ne: LOOP2(T, uint8_t, x != y); break;                                                   \
  case OP_lt: LOOP2(T, uint8_t, x < y); break;                                                    \
  case OP_le: LOOP2(T, uint8_t, x <= y); break;                                                   \
  case OP_gt: LOOP2(T, uint8_t, x > y); break;                                                    \
  case OP_ge: LOOP2(T, uint8_t, x >= y); break;                                                   \
  default: assert(!"vm_op_cmp: op"); break;                                                       \
  }

/* Operands of dtype dt (IEEE for floats: NaN compares false except !=); out is bool. */
VM_HOT static void vm_op_cmp(Op op, BudDType dt, void *out, const void *a, const void *b,
                             int64_t n) {
  switch (dt) {
  case BUD_BOOL: CMP(uint8_t); break;
  case BUD_INT8: CMP(int8_t); break;
  case BUD_INT16: CMP(int16_t); break;
  case BUD_INT32: CMP(int32_t); break;
  case BUD_INT64: CMP(int64_t); break;
  case BUD_UINT8: CMP(uint8_t); break;
  case BUD_UINT16: CMP(uint16_t); break;
  case BUD_UINT32: CMP(uint32_t); break;
  case BUD_UINT64: CMP(uint64_t); break;
  case BUD_FLOAT32: CMP(float); break;
  case BUD_FLOAT64: CMP(double); break;
  default: assert(!"vm_op_cmp: dtype"); break;
  }
}

/* ---- bit operations -------------------------------------------------------------------------- */

/* Shift counts are taken as unsigned of T's width (negative counts are huge); a count >= the
 * width shifts everything out: left -> 0, right -> 0 or -1 (negative signed values). */
#define BITS(T, UT, U, BITS_)                                                                     \
  switch (op) {                                                                                   \
  case OP_and: LOOP2(T, T, x & y); break;                                                         \
  case OP_or: LOOP2(T, T, x | y); break;                                                          \
  case OP_xor: LOOP2(T, T, x ^ y); break;                                                         \
  case OP_shl: LOOP2(T, T, (UT)y >= (BITS_) ? 0 : (U)x << (UT)y); break;                          \
  case OP_shr: LOOP2(T, T, (UT)y >= (BITS_) ? (x < 0 ? -1 : 0) : x >> (UT)y); break;              \
  default: assert(!"vm_op_bits: op"); break;                                                      \
  }

VM_HOT static void vm_op_bits(Op op, BudDType dt, void *out, const void *a, const void *b,
                              int64_t n) {
  switch (dt) {
  case BUD_BOOL:
    switch (op) {
    case OP_and: LOOP2(uint8_t, uint8_t, (x & y) != 0); break;
    case OP_or: LOOP2(uint8_t, uint8_t, (x | y) != 0); break;
    case OP_xor: LOOP2(uint8_t, uint8_t, (x != 0) ^ (y != 0)); break;
    default: assert(!"vm_op_bits: bool op"); break;
    }
    break;
#ifdef __GNUC__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtype-limits"
#endif
  case BUD_INT8: BITS(int8_t, uint8_t, uint32_t, 8); break;
  case BUD_INT16: BITS(int16_t, uint16_t, uint32_t, 16); break;
  case BUD_INT32: BITS(int32_t, uint32_t, uint32_t, 32); break;
  case BUD_INT64: BITS(int64_t, uint64_t, uint64_t, 64); break;
  case BUD_UINT8: BITS(uint8_t, uint8_t, uint32_t, 8); break;
  case BUD_UINT16: BITS(uint16_t, uint16_t, uint32_t, 16); break;
  case BUD_UINT32: BITS(uint32_t, uint32_t, uint32_t, 32); break;
  case BUD_UINT64: BITS(uint64_t, uint64_t, uint64_t, 64); break;
#ifdef __GNUC__
#pragma GCC diagnostic pop
#endif
  default: assert(!"vm_op_bits: dtype"); break;
  }
}

/* ---- negative, absolute, sign, invert -------------------------------------------------------- */

#define UNARY_SIGNED(T, U)                                                                        \
  switch (op) {                                                                                   \
  case OP_neg: LOOP1(T, T, 0u - (U)x); break;                                                     \
  case OP_abs: LOOP1(T, T, x < 0 ? 0u - (U)x : (U)x); break;                                      \
  case OP_sign: LOOP1(T, T, (x > 0) - (x < 0)); break;                                            \
  case OP_not: LOOP1(T, T, ~x); break;                                                            \
  default: assert(!"vm_op_unary: op"); break;                                                     \
  }

#define UNARY_UNSIGNED(T, U)                                                                      \
  switch (op) {                                                                                   \
  case OP_neg: LOOP1(T, T, 0u - (U)x); break;                                                     \
  case OP_abs: LOOP1(T, T, x); break;                                                             \
  case OP_sign: LOOP1(T, T, x > 0); break;                                                        \
  case OP_not: LOOP1(T, T, ~x); break;                                                            \
  default: assert(!"vm_op_unary: op"); break;                                                     \
  }

/* sign of a float: NaN stays NaN, zeros (either sign) give +0.0. */
#define UNARY_FLT(T, FABS)                                                                        \
  switch (op) {                                                                                   \
  case OP_neg: LOOP1(T, T, -x); break;                                                            \
  case OP_abs: LOOP1(T, T, FABS(x)); break;                                                       \
  case OP_sign: LOOP1(T, T, x > 0 ? (T)1 : x < 0 ? (T)-1 : x == 0 ? (T)0 : x); break;             \
  default: assert(!"vm_op_unary: op"); break;                                                     \
  }

VM_HOT static void vm_op_unary(Op op, BudDType dt, void *out, const void *a, int64_t n) {
  switch (dt) {
  case BUD_BOOL: /* abs: identity; invert: logical not */
    switch (op) {
    case OP_abs: LOOP1(uint8_t, uint8_t, x != 0); break;
    case OP_not: LOOP1(uint8_t, uint8_t, x == 0); break;
    default: assert(!"vm_op_unary: bool op"); break;
    }
    break;
  case BUD_INT8: UNARY_SIGNED(int8_t, uint32_t); break;
  case BUD_INT16: UNARY_SIGNED(int16_t, uint32_t); break;
  case BUD_INT32: UNARY_SIGNED(int32_t, uint32_t); break;
  case BUD_INT64: UNARY_SIGNED(int64_t, uint64_t); break;
  case BUD_UINT8: UNARY_UNSIGNED(uint8_t, uint32_t); break;
  case BUD_UINT16: UNARY_UNSIGNED(uint16_t, uint32_t); break;
  case BUD_UINT32: UNARY_UNSIGNED(uint32_t, uint32_t); break;
  case BUD_UINT64: UNARY_UNSIGNED(uint64_t, uint64_t); break;
  case BUD_FLOAT32: UNARY_FLT(float, fabsf); break;
  case BUD_FLOAT64: UNARY_FLT(double, fabs); break;
  default: assert(!"vm_op_unary: dtype"); break;
  }
}

/* ---- where, clip ----------------------------------------------------------------------------- */

/* A select copies bits, so it only needs the element size. */
VM_HOT static void vm_op_where(BudDType dt, void *out, const void *a, const void *b,
                               const void *c, int64_t n) {
  switch (dtype_size(dt)) {
  case 1: LOOP3(uint8_t, uint8_t, uint8_t, x ? y : z); break;
  case 2: LOOP3(uint8_t, uint16_t, uint16_t, x ? y : z); break;
  case 4: LOOP3(uint8_t, uint32_t, uint32_t, x ? y : z); break;
  case 8: LOOP3(uint8_t, uint64_t, uint64_t, x ? y : z); break;
  default: assert(!"vm_op_where: size"); break;
  }
}

/* clip(x, lo, hi) = minimum(maximum(x, lo), hi), with NumPy's NaN rule for floats. */
#define CLIP_INT(T) LOOP3(T, T, T, (x > y ? x : y) < z ? (x > y ? x : y) : z)
#define CLIP_FLT(T)                                                                               \
  do {                                                                                            \
    const T *px_ = a, *plo_ = b, *phi_ = c;                                                       \
    T *po_ = out;                                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                             \
      T x = px_[i], lo = plo_[i], hi = phi_[i];                                                   \
      T t = (x > lo || x != x) ? x : lo;                                                          \
      po_[i] = (t < hi || t != t) ? t : hi;                                                       \
    }                                                                                             \
  } while (0)

VM_HOT static void vm_op_clip(BudDType dt, void *out, const void *a, const void *b, const void *c,
                              int64_t n) {
  switch (dt) {
  case BUD_BOOL: CLIP_INT(uint8_t); break;
  case BUD_INT8: CLIP_INT(int8_t); break;
  case BUD_INT16: CLIP_INT(int16_t); break;
  case BUD_INT32: CLIP_INT(int32_t); break;
  case BUD_INT64: CLIP_INT(int64_t); break;
  case BUD_UINT8: CLIP_INT(uint8_t); break;
  case BUD_UINT16: CLIP_INT(uint16_t); break;
  case BUD_UINT32: CLIP_INT(uint32_t); break;
  case BUD_UINT64: CLIP_INT(uint64_t); break;
  case BUD_FLOAT32: CLIP_FLT(float); break;
  case BUD_FLOAT64: CLIP_FLT(double); break;
  default: assert(!"vm_op_clip: dtype"); break;
  }
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static BudStatus vm_bad(BudContext *ctx, Op op, BudDType dt) {
  return bud_fail(ctx, BUD_ERR_INTERNAL, "vm: no loop for %s in %s", op_info(op)->name,
                  dtype_valid(dt) ? dtype_info(dt)->name : "?");
}

BudStatus vm_op_run(BudContext *ctx, Op op, BudDType out_dt, int nin, const BudDType *in_dts,
                    void *out, const void *const *in, int64_t n) {
  if (n <= 0) return BUD_OK;
  if (nin != op_info(op)->nargs || !dtype_valid(out_dt)) return vm_bad(ctx, op, out_dt);
  for (int k = 0; k < nin; k++)
    if (!dtype_valid(in_dts[k])) return vm_bad(ctx, op, in_dts[k]);
  BudDType dt = nin > 0 ? in_dts[0] : out_dt;
  bool is_flt = dtype_is_float(dt), is_int = dtype_is_int(dt);
  switch (op) {
  case OP_add: case OP_mul: case OP_minimum: case OP_maximum:
    vm_op_arith(op, dt, out, in[0], in[1], n);
    return BUD_OK;
  case OP_sub:
    if (dt == BUD_BOOL) break;
    vm_op_arith(op, dt, out, in[0], in[1], n);
    return BUD_OK;
  case OP_div:
    if (!is_flt) break;
    vm_op_arith(op, dt, out, in[0], in[1], n);
    return BUD_OK;
  case OP_floordiv: case OP_mod: case OP_fmod:
    if (is_flt) vm_op_float2(op, dt, out, in[0], in[1], n);
    else if (is_int) vm_op_intdiv(op, dt, out, in[0], in[1], n);
    else break;
    return BUD_OK;
  case OP_pow:
    if (is_flt) vm_op_float2(op, dt, out, in[0], in[1], n);
    else if (!is_int) break;
    else if (!vm_op_ipow(dt, out, in[0], in[1], n))
      return bud_fail(ctx, BUD_ERR_VALUE, "Integers to negative integer powers are not allowed.");
    return BUD_OK;
  case OP_arctan2: case OP_hypot: case OP_copysign:
    if (!is_flt) break;
    vm_op_float2(op, dt, out, in[0], in[1], n);
    return BUD_OK;
  case OP_neg: case OP_sign:
    if (dt == BUD_BOOL) break;
    vm_op_unary(op, dt, out, in[0], n);
    return BUD_OK;
  case OP_abs:
    vm_op_unary(op, dt, out, in[0], n);
    return BUD_OK;
  case OP_not:
    if (is_flt) break;
    vm_op_unary(op, dt, out, in[0], n);
    return BUD_OK;
  case OP_fma:
    if (!is_flt) break;
    vm_op_fma(dt, out, in[0], in[1], in[2], n);
    return BUD_OK;
  case OP_eq: case OP_ne: case OP_lt: case OP_le: case OP_gt: case OP_ge:
    if (out_dt != BUD_BOOL) break;
    vm_op_cmp(op, dt, out, in[0], in[1], n);
    return BUD_OK;
  case OP_and: case OP_or: case OP_xor:
    if (is_flt) break;
    vm_op_bits(op, dt, out, in[0], in[1], n);
    return BUD_OK;
  case OP_shl: case OP_shr:
    if (!is_int) break;
    vm_op_bits(op, dt, out, in[0], in[1], n);
    return BUD_OK;
  case OP_where:
    if (in_dts[0] != BUD_BOOL || in_dts[1] != out_dt) break;
    vm_op_where(out_dt, out, in[0], in[1], in[2], n);
    return BUD_OK;
  case OP_clip:
    vm_op_clip(dt, out, in[0], in[1], in[2], n);
    return BUD_OK;
  case OP_isnan: case OP_isinf: case OP_isfinite:
    if (out_dt != BUD_BOOL) break;
    vm_op_pred(op, dt, out, in[0], n);
    return BUD_OK;
  case OP_cast:
    vm_op_cast(out_dt, dt, out, in[0], n);
    return BUD_OK;
  default:
    if (op_info(op)->pclass != PC_ELEMWISE || nin != 1 || !is_flt) break;
    vm_op_float1(op, dt, out, in[0], n);
    return BUD_OK;
  }
  return vm_bad(ctx, op, dt);
}

/* Runs vm_op_run on aligned copies when a pointer is not aligned to its element size. */
BudStatus vm_elementwise(BudContext *ctx, Op op, BudDType out_dt, int nin, const BudDType *in_dts,
                         void *out, const void *const *in, int64_t n) {
  if (!dtype_valid(out_dt) || nin < 0 || nin > 3) return vm_bad(ctx, op, out_dt);
  bool aligned = ((uintptr_t)out % (uintptr_t)dtype_size(out_dt)) == 0;
  for (int k = 0; k < nin; k++) {
    if (!dtype_valid(in_dts[k])) return vm_bad(ctx, op, in_dts[k]);
    if ((uintptr_t)in[k] % (uintptr_t)dtype_size(in_dts[k]) != 0) aligned = false;
  }
  if (aligned) return vm_op_run(ctx, op, out_dt, nin, in_dts, out, in, n);
  enum { CHUNK = 256 };
  _Alignas(64) uint64_t bufs[4][CHUNK];
  for (int64_t i = 0; i < n; i += CHUNK) {
    int64_t m = n - i < CHUNK ? n - i : CHUNK;
    const void *ins[3];
    for (int k = 0; k < nin; k++) {
      int sz = dtype_size(in_dts[k]);
      memcpy(bufs[k], (const char *)in[k] + i * sz, (size_t)(m * sz));
      ins[k] = bufs[k];
    }
    BudStatus st = vm_op_run(ctx, op, out_dt, nin, in_dts, bufs[3], ins, m);
    if (st != BUD_OK) return st;
    int osz = dtype_size(out_dt);
    memcpy((char *)out + i * osz, bufs[3], (size_t)(m * osz));
  }
  return BUD_OK;
}
