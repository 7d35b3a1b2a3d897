/* types.c — NumPy 1.24 type resolution as data and small rules: promote_types, legacy value-based
 * casting of 0-d operands, the loop search of each TypeSig (ops.def), and the one scalar
 * conversion function every module uses (the VM converts arrays the same way).
 * Entry points: dtype_promote, dtype_can_cast_safe, ir_resolve_dtypes, scalar_convert.
 */
#include "ir.h"

#include <math.h>

/* ---- promote_types ----------------------------------------------------------------------------- */

enum { CAT_BOOL, CAT_INT, CAT_FLOAT };

static int dtype_category(BudDType dt) {
  return dt == BUD_BOOL ? CAT_BOOL : dtype_is_float(dt) ? CAT_FLOAT : CAT_INT;
}

static BudDType signed_of_size(int size) {
  switch (size) {
  case 1: return BUD_INT8;
  case 2: return BUD_INT16;
  case 4: return BUD_INT32;
  default: return BUD_INT64;
  }
}

/* np.promote_types over Bud's dtypes. */
BudDType dtype_promote(BudDType a, BudDType b) {
  if (a == b) return a;
  if (a == BUD_BOOL) return b;
  if (b == BUD_BOOL) return a;
  int sa = dtype_size(a), sb = dtype_size(b);
  if (dtype_is_float(a) || dtype_is_float(b)) {
    if (a == BUD_FLOAT64 || b == BUD_FLOAT64) return BUD_FLOAT64;
    /* float32 with an integer: float32 holds int8/uint8/int16/uint16 exactly, not wider ones */
    int isize = dtype_is_float(a) ? sb : sa;
    return isize <= 2 ? BUD_FLOAT32 : BUD_FLOAT64;
  }
  bool ua = dtype_is_uint(a), ub = dtype_is_uint(b);
  if (ua == ub) return sa >= sb ? a : b;
  int ssize = ua ? sb : sa, usize = ua ? sa : sb; /* signed S(ssize) with unsigned U(usize) */
  if (usize < ssize) return signed_of_size(ssize);
  if (usize == 8) return BUD_FLOAT64;
  return signed_of_size(2 * usize);
}

bool dtype_can_cast_safe(BudDType from, BudDType to) { return dtype_promote(from, to) == to; }

/* ---- value-based casting (legacy, NumPy < 2) ---------------------------------------------------- */

/* np.min_scalar_type of a known value, plus NumPy's "small unsigned" flag: a non-negative integer
 * whose smallest type is uintN but which also fits intN (it then acts as intN next to a type that
 * is not unsigned). Floats: NumPy's own bounds (|v| < 3.4e38, or inf/nan, is float32 — NumPy says
 * float16 below 65000; with no float16 here float32 promotes identically against every dtype Bud
 * has, and the loop searches below skip float16 loops for the same reason). */
static BudDType min_scalar_type(BudDType dt, Scalar v, bool *is_small_unsigned) {
  *is_small_unsigned = false;
  if (dt == BUD_BOOL) return BUD_BOOL;
  if (dt == BUD_FLOAT32) return BUD_FLOAT32;
  if (dt == BUD_FLOAT64) {
    if (isnan(v.f) || isinf(v.f) || (v.f > -3.4e38 && v.f < 3.4e38)) return BUD_FLOAT32;
    return BUD_FLOAT64;
  }
  if (!dtype_is_uint(dt) && v.i < 0) {
    int64_t x = v.i;
    if (x >= INT8_MIN) return BUD_INT8;
    if (x >= INT16_MIN) return BUD_INT16;
    if (x >= INT32_MIN) return BUD_INT32;
    return BUD_INT64;
  }
  uint64_t x = dtype_is_uint(dt) ? v.u : (uint64_t)v.i;
  BudDType r;
  uint64_t smax;
  if (x <= UINT8_MAX) r = BUD_UINT8, smax = INT8_MAX;
  else if (x <= UINT16_MAX) r = BUD_UINT16, smax = INT16_MAX;
  else if (x <= UINT32_MAX) r = BUD_UINT32, smax = INT32_MAX;
  else r = BUD_UINT64, smax = INT64_MAX;
  *is_small_unsigned = x <= smax;
  return r;
}

/* What a 0-d operand stands for under value-based casting: its min_scalar_type and the small
 * unsigned flag.
 * Deliberate approximation: a 0-d operand whose value is unknown at compile time (a computed
 * result such as sum(x), or a 0-d input without an example value) is assumed to fit whatever the
 * other operands need: it stands for the smallest type of its category (bool; a small unsigned
 * integer, which acts as int8 or uint8; float32), so it never widens the result. NumPy would
 * decide from the value at run time. */
static BudDType weak_type(const IrNode *nd, BudDType dt, bool *is_small_unsigned) {
  if (nd && nd->has_value) return min_scalar_type(dt, nd->value, is_small_unsigned);
  *is_small_unsigned = dtype_is_int(dt);
  return dt == BUD_BOOL ? BUD_BOOL : dtype_is_float(dt) ? BUD_FLOAT32 : BUD_UINT8;
}

/* NumPy's should_use_min_scalar: 0-d operands are judged by value when some operand is not 0-d
 * and the highest category (bool < int < float) of the 0-d ones does not exceed the others'. */
static bool use_min_scalar(int n, const BudDType *dts, const bool *weak) {
  int cat_arr = -1, cat_weak = -1;
  for (int i = 0; i < n; i++) {
    int c = dtype_category(dts[i]);
    if (weak && weak[i]) cat_weak = c > cat_weak ? c : cat_weak;
    else cat_arr = c > cat_arr ? c : cat_arr;
  }
  return cat_arr >= 0 && cat_weak >= 0 && cat_weak <= cat_arr;
}

/* NumPy's type numbers order the dtypes: bool, int8, uint8, int16, uint16, int32, uint32, int64,
 * uint64, float32, float64. */
static int npy_order(BudDType dt) {
  static const int8_t order[BUD_NDTYPES] = {
      [BUD_BOOL] = 0,   [BUD_INT8] = 1,   [BUD_UINT8] = 2,   [BUD_INT16] = 3,
      [BUD_UINT16] = 4, [BUD_INT32] = 5,  [BUD_UINT32] = 6,  [BUD_INT64] = 7,
      [BUD_UINT64] = 8, [BUD_FLOAT32] = 9, [BUD_FLOAT64] = 10,
  };
  return order[dt];
}

/* np.result_type of the operands (the "simple uniform" type resolvers of add, subtract, multiply,
 * minimum, maximum, comparisons, clip, where, ...). Dtypes (not judged by value) promote starting
 * from the one with the highest NumPy type number (PyArray_PromoteDTypeSequence first finds that
 * "most knowledgeable" DType: result_type(int8, uint16, float32) is float32, not the float64 of a
 * left fold). With value-based casting each 0-d operand then contributes its min_scalar_type, a
 * small unsigned one as the signed type of its size when the type so far is signed or float. */
static BudDType common_dtype(int n, const BudDType *dts, const bool *weak,
                             const IrNode *const *operands) {
  bool by_value = use_min_scalar(n, dts, weak);
  int first = -1;
  for (int i = 0; i < n; i++) {
    if (by_value && weak[i]) continue;
    if (first < 0 || npy_order(dts[i]) > npy_order(dts[first])) first = i;
  }
  BudDType t = dts[first];
  for (int i = 0; i < n; i++)
    if (!(by_value && weak[i])) t = dtype_promote(t, dts[i]);
  if (!by_value) return t;
  for (int i = 0; i < n; i++) {
    if (!weak[i]) continue;
    bool small_unsigned;
    BudDType m = weak_type(operands ? operands[i] : NULL, dts[i], &small_unsigned);
    if (small_unsigned && (dtype_is_float(t) || (dtype_is_int(t) && !dtype_is_uint(t))))
      m = signed_of_size(dtype_size(m));
    t = dtype_promote(t, m);
  }
  return t;
}

/* NumPy's default type resolver (linear_search_type_resolver): the first loop dtype, in the ufunc's
 * loop order, that every operand casts to safely; a 0-d operand judged by value casts when its
 * min_scalar_type does (a small unsigned one as signed unless the loop is unsigned). Returns
 * -1 when no loop fits. Loop lists are NumPy's (b, B, h, H, i, I, l, L, q, Q, e, f, d) without
 * float16, whose absence changes no answer here (what fits float16 fits float32 and nothing
 * between them). */
static int linear_search(int n, const BudDType *dts, const bool *weak,
                         const IrNode *const *operands, const BudDType *loops, int nloops) {
  bool by_value = use_min_scalar(n, dts, weak);
  for (int l = 0; l < nloops; l++) {
    BudDType L = loops[l];
    bool fits = true;
    for (int i = 0; i < n && fits; i++) {
      if (by_value && weak[i]) {
        bool small_unsigned;
        BudDType m = weak_type(operands ? operands[i] : NULL, dts[i], &small_unsigned);
        if (small_unsigned && !dtype_is_uint(L)) m = signed_of_size(dtype_size(m));
        fits = dtype_can_cast_safe(m, L);
      } else {
        fits = dtype_can_cast_safe(dts[i], L);
      }
    }
    if (fits) return (int)L;
  }
  return -1;
}

#define INT_LOOPS BUD_INT8, BUD_UINT8, BUD_INT16, BUD_UINT16, BUD_INT32, BUD_UINT32, BUD_INT64, BUD_UINT64
static const BudDType loops_bit[] = {BUD_BOOL, INT_LOOPS};
static const BudDType loops_shift[] = {INT_LOOPS};
static const BudDType loops_intflt[] = {INT_LOOPS, BUD_FLOAT32, BUD_FLOAT64};
static const BudDType loops_flt[] = {BUD_FLOAT32, BUD_FLOAT64};
#undef INT_LOOPS

/* ---- the loop search of each TypeSig ------------------------------------------------------------ */

static BudStatus no_loop(BudContext *ctx, Op op) {
  return bud_fail(ctx, BUD_ERR_DTYPE,
                  "ufunc '%s' not supported for the input types, and the inputs could not be "
                  "safely coerced to any supported types according to the casting rule ''safe''",
                  op_info(op)->name);
}

/* Which TypeSigs NumPy 1.24 resolves with result_type (then maps), and which by linear search:
 *   result_type: ALL (add, multiply, minimum, maximum), NUM (subtract, negative), ABS, CMP, CLIP,
 *                WHERE (its two value operands), DOT, reductions, and sign (INTFLT, but NumPy
 *                uses the uniform resolver: sign of bool has no loop);
 *   linear search: INTFLT (floor_divide, remainder, power, fmod), TRUEDIV (int/int -> float64,
 *                else float32 or float64), FLT, BIT, SHIFT, PRED (unary).
 * The two differ: arctan2(int8, uint16) is float32 (result_type would give int32 -> float64);
 * bitwise_and(uint8, 300) is int16 where add(uint8, 300) is uint16. */
BudStatus ir_resolve_dtypes(BudContext *ctx, Op op, int nin, const BudDType *dts,
                            const bool *weak, const IrNode *const *operands, BudDType *loop_dt,
                            BudDType *out_dt) {
  const OpInfo *oi = op_info(op);
  bool noweak[IR_MAX_ARGS] = {false, false, false};
  if (nin < 1 || nin > IR_MAX_ARGS)
    return bud_fail(ctx, BUD_ERR_INTERNAL, "ir_resolve_dtypes: %s with %d operands", oi->name, nin);
  if (!weak) weak = noweak;
  for (int i = 0; i < nin; i++)
    if (!dtype_valid((int)dts[i]))
      return bud_fail(ctx, BUD_ERR_INVALID, "%s: operand %d has an invalid dtype %d", oi->name, i,
                      (int)dts[i]);
  BudDType t = BUD_BOOL, loop, out;
  int found = -1;
  switch (oi->tsig) {
  case TS_WHERE:
    if (nin != 3) return bud_fail(ctx, BUD_ERR_INTERNAL, "where needs 3 operands");
    t = common_dtype(2, dts + 1, weak + 1, operands ? operands + 1 : NULL);
    break;
  case TS_ALL: case TS_NUM: case TS_ABS: case TS_CMP: case TS_CLIP: case TS_DOT:
  case TS_RSUM: case TS_RSAME: case TS_RBOOL: case TS_RMEAN: case TS_RARG:
    t = common_dtype(nin, dts, weak, operands);
    break;
  case TS_INTFLT:
    if (op == OP_sign) {
      t = common_dtype(nin, dts, weak, operands);
      break;
    }
    found = linear_search(nin, dts, weak, operands, loops_intflt, (int)BUD_ARRAY_LEN(loops_intflt));
    break;
  case TS_TRUEDIV: {
    bool all_int = true;
    for (int i = 0; i < nin; i++) all_int = all_int && !dtype_is_float(dts[i]);
    found = all_int ? (int)BUD_FLOAT64
                    : linear_search(nin, dts, weak, operands, loops_flt, (int)BUD_ARRAY_LEN(loops_flt));
    break;
  }
  case TS_FLT:
    found = linear_search(nin, dts, weak, operands, loops_flt, (int)BUD_ARRAY_LEN(loops_flt));
    break;
  case TS_BIT:
    found = linear_search(nin, dts, weak, operands, loops_bit, (int)BUD_ARRAY_LEN(loops_bit));
    break;
  case TS_SHIFT:
    found = linear_search(nin, dts, weak, operands, loops_shift, (int)BUD_ARRAY_LEN(loops_shift));
    break;
  case TS_PRED:
    t = dts[0];
    break;
  case TS_LEAF:
  case TS_CAST:
    return bud_fail(ctx, BUD_ERR_INTERNAL, "ir_resolve_dtypes: %s is not resolved by type", oi->name);
  }
  switch (oi->tsig) {
  case TS_INTFLT: case TS_TRUEDIV: case TS_FLT: case TS_BIT: case TS_SHIFT:
    if (op == OP_sign) break;
    if (found < 0) return no_loop(ctx, op);
    t = (BudDType)found;
    break;
  default:
    break;
  }
  loop = out = t;
  switch (oi->tsig) {
  case TS_NUM:
    if (t == BUD_BOOL) {
      if (op == OP_neg)
        return bud_fail(ctx, BUD_ERR_DTYPE,
                        "The numpy boolean negative, the `-` operator, is not supported, use the "
                        "`~` operator or the logical_not function instead.");
      return bud_fail(ctx, BUD_ERR_DTYPE,
                      "numpy boolean %s, the `-` operator, is not supported, use the bitwise_xor, "
                      "the `^` operator, or the logical_xor function instead.",
                      oi->name);
    }
    break;
  case TS_INTFLT:
    if (op == OP_sign && t == BUD_BOOL)
      return bud_fail(ctx, BUD_ERR_DTYPE,
                      "ufunc 'sign' did not contain a loop with signature matching types <class "
                      "'numpy.dtype[bool_]'> -> None");
    break;
  case TS_CMP:
  case TS_PRED:
    out = BUD_BOOL;
    break;
  case TS_RSUM:
    if (t == BUD_BOOL || (dtype_is_int(t) && !dtype_is_uint(t))) out = BUD_INT64;
    else if (dtype_is_uint(t)) out = BUD_UINT64;
    break;
  case TS_RBOOL:
    loop = out = BUD_BOOL;
    break;
  case TS_RMEAN:
    if (!dtype_is_float(t)) loop = out = BUD_FLOAT64;
    break;
  case TS_RARG:
    out = BUD_INT64;
    break;
  default:
    break;
  }
  *loop_dt = loop;
  *out_dt = out;
  return BUD_OK;
}

/* ---- conversions --------------------------------------------------------------------------------- */

/* Wraps the low bits of x to dtype `to` (an integer dtype), two's complement. */
static Scalar wrap_int(BudDType to, uint64_t x) {
  Scalar r = {.u = 0};
  int bits = dtype_info(to)->bits;
  uint64_t mask = bits == 64 ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
  x &= mask;
  if (dtype_is_uint(to)) {
    r.u = x;
  } else {
    if (bits < 64 && (x >> (bits - 1)) & 1) x |= ~mask; /* sign-extend */
    r.i = (int64_t)x;
  }
  return r;
}

/* float -> int32 / int64 as x86 cvttsd2si does it: NaN or out of range gives INT_MIN. */
static int64_t cvt_i32(double x) {
  if (!(x > -2147483649.0 && x < 2147483648.0)) return INT32_MIN;
  return (int64_t)x;
}
static int64_t cvt_i64(double x) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) return INT64_MIN;
  return (int64_t)x;
}

/* float -> integer exactly as NumPy 1.24 on x86-64 casts arrays (measured with astype): int8,
 * int16, uint8, uint16 through a 32-bit cvttsd2si, then wrap (1e10 -> 0, 70000.0 -> int16 4464);
 * int32 and int64 by cvttsd2si (out of range or NaN -> INT_MIN); uint32 through the 64-bit
 * conversion, then wrap; uint64 by the compilers' unsigned sequence:
 * x >= 2^63 ? cvt64(x - 2^63) ^ 2^63 : cvt64(x), so x >= 2^64 and +inf give 0, NaN gives 2^63.
 * NumPy's own SIMD loops disagree with its scalar loop for out-of-range uint32 (an 8-element
 * array of 5e9+7 gives 0, a 1-element one 0x2a05f207); Bud follows the scalar loop, always. */
static Scalar float_to_int(BudDType to, double x) {
  Scalar r = {.u = 0};
  switch (to) {
  case BUD_INT32: r.i = cvt_i32(x); break;
  case BUD_INT64: r.i = cvt_i64(x); break;
  case BUD_UINT32: r.u = (uint32_t)cvt_i64(x); break;
  case BUD_UINT64:
    if (x >= 9223372036854775808.0)
      r.u = (uint64_t)cvt_i64(x - 9223372036854775808.0) ^ ((uint64_t)1 << 63);
    else r.u = (uint64_t)cvt_i64(x);
    break;
  default: r = wrap_int(to, (uint64_t)cvt_i32(x)); break; /* int8, int16, uint8, uint16 */
  }
  return r;
}

Scalar scalar_convert(BudDType from, BudDType to, Scalar v) {
  Scalar r = {.u = 0};
  if (from == to) return v;
  if (to == BUD_BOOL) {
    if (dtype_is_float(from)) r.i = v.f != 0; /* NaN != 0 is true */
    else if (dtype_is_uint(from)) r.i = v.u != 0;
    else r.i = v.i != 0;
    return r;
  }
  if (from == BUD_BOOL) {
    int64_t b = v.i != 0;
    if (dtype_is_float(to)) r.f = (double)b;
    else if (dtype_is_uint(to)) r.u = (uint64_t)b;
    else r.i = b;
    return r;
  }
  if (dtype_is_float(from)) {
    if (to == BUD_FLOAT64) {
      r.f = v.f;
    } else if (to == BUD_FLOAT32) {
      r.f = (double)(float)v.f;
    } else {
      r = float_to_int(to, v.f);
    }
    return r;
  }
  /* from an integer */
  bool from_u = dtype_is_uint(from);
  if (to == BUD_FLOAT64) {
    r.f = from_u ? (double)v.u : (double)v.i;
  } else if (to == BUD_FLOAT32) {
    r.f = from_u ? (double)(float)v.u : (double)(float)v.i; /* one rounding, straight to float */
  } else {
    r = wrap_int(to, from_u ? v.u : (uint64_t)v.i);
  }
  return r;
}
