/* types.c — NumPy 1.24 type resolution as data and small rules: promote_types, legacy value-based
 * casting of 0-d operands, the loop search of each TypeSig (ops.def), and the one scalar
 * conversion function every module uses (the VM converts arrays the same way).
 * Entry points: dtype_promote, dtype_can_cast_safe, ir_resolve_dtypes, scalar_convert.
 */
#include "ir.h"

#include <float.h>
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
 * whose smallest type is uintN but which also fits intN (it then acts as intN next to a signed
 * type). Floats: float32 when the value fits (NumPy says float16 for small ones; with no float16
 * here float32 promotes identically against every dtype Bud has). */
static BudDType min_scalar_type(BudDType dt, Scalar v, bool *is_small_unsigned) {
  *is_small_unsigned = false;
  if (dt == BUD_BOOL) return BUD_BOOL;
  if (dtype_is_float(dt)) {
    if (isnan(v.f) || isinf(v.f) || fabs(v.f) <= FLT_MAX) return BUD_FLOAT32;
    return BUD_FLOAT64;
  }
  bool neg = !dtype_is_uint(dt) && v.i < 0;
  if (neg) {
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

/* The operands' common dtype under NumPy 1.24's rules (see the file comment of ir.h):
 * non-0-d operands promote by dtype; 0-d ("weak") operands contribute their min_scalar_type when
 * their highest category does not exceed the arrays' highest category, else their dtype. */
static BudDType common_dtype(int n, const BudDType *dts, const bool *weak,
                             const IrNode *const *operands) {
  int cat_arr = -1, cat_weak = -1;
  BudDType t = BUD_BOOL;
  bool have_arr = false;
  for (int i = 0; i < n; i++) {
    int c = dtype_category(dts[i]);
    if (weak && weak[i]) {
      if (c > cat_weak) cat_weak = c;
    } else {
      if (c > cat_arr) cat_arr = c;
      t = have_arr ? dtype_promote(t, dts[i]) : dts[i];
      have_arr = true;
    }
  }
  if (!have_arr) { /* all 0-d: plain promotion */
    t = dts[0];
    for (int i = 1; i < n; i++) t = dtype_promote(t, dts[i]);
    return t;
  }
  if (cat_weak < 0) return t;
  bool value_based = cat_weak <= cat_arr;
  for (int i = 0; i < n; i++) {
    if (!weak[i]) continue;
    if (!value_based) {
      t = dtype_promote(t, dts[i]);
      continue;
    }
    const IrNode *nd = operands ? operands[i] : NULL;
    BudDType m;
    bool small_unsigned = false;
    if (nd && nd->has_value) {
      m = min_scalar_type(dts[i], nd->value, &small_unsigned);
    } else {
      /* Deliberate approximation: a 0-d operand whose value is unknown at compile time (a
       * computed result such as sum(x), or an input without an example value) is assumed to fit
       * the array side's type: it contributes the smallest type of its category that t already
       * covers, so it never widens the result. NumPy would decide from the run-time value. */
      int c = dtype_category(dts[i]);
      m = c == CAT_BOOL ? BUD_BOOL : c == CAT_FLOAT ? BUD_FLOAT32
                                   : dtype_is_uint(t) ? BUD_UINT8 : BUD_INT8;
    }
    if (small_unsigned && (dtype_is_float(t) || (dtype_is_int(t) && !dtype_is_uint(t))))
      m = signed_of_size(dtype_size(m));
    t = dtype_promote(t, m);
  }
  return t;
}

/* ---- the loop search of each TypeSig ------------------------------------------------------------ */

static BudStatus no_loop(BudContext *ctx, Op op) {
  return bud_fail(ctx, BUD_ERR_DTYPE,
                  "ufunc '%s' not supported for the input types, and the inputs could not be "
                  "safely coerced to any supported types according to the casting rule ''safe''",
                  op_info(op)->name);
}

BudStatus ir_resolve_dtypes(BudContext *ctx, Op op, int nin, const BudDType *dts,
                            const bool *weak, const IrNode *const *operands, BudDType *loop_dt,
                            BudDType *out_dt) {
  const OpInfo *oi = op_info(op);
  if (nin < 1 || nin > IR_MAX_ARGS)
    return bud_fail(ctx, BUD_ERR_INTERNAL, "ir_resolve_dtypes: %s with %d operands", oi->name, nin);
  for (int i = 0; i < nin; i++)
    if (!dtype_valid((int)dts[i]))
      return bud_fail(ctx, BUD_ERR_INVALID, "%s: operand %d has an invalid dtype %d", oi->name, i,
                      (int)dts[i]);
  BudDType t;
  if (oi->tsig == TS_WHERE) {
    if (nin != 3) return bud_fail(ctx, BUD_ERR_INTERNAL, "where needs 3 operands");
    t = common_dtype(2, dts + 1, weak ? weak + 1 : NULL, operands ? operands + 1 : NULL);
  } else {
    t = common_dtype(nin, dts, weak, operands);
  }
  BudDType loop = t, out = t;
  switch (oi->tsig) {
  case TS_LEAF:
  case TS_CAST:
    return bud_fail(ctx, BUD_ERR_INTERNAL, "ir_resolve_dtypes: %s is not resolved by type", oi->name);
  case TS_ALL:
  case TS_CLIP:
  case TS_ABS:
  case TS_RSAME:
  case TS_DOT:
  case TS_WHERE:
    break;
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
    if (t == BUD_BOOL) loop = out = BUD_INT8;
    break;
  case TS_TRUEDIV:
    if (!dtype_is_float(t)) loop = out = BUD_FLOAT64;
    break;
  case TS_FLT:
    /* NumPy picks float16 for bool/int8/uint8; Bud has no float16 and uses float32. */
    if (!dtype_is_float(t)) loop = out = dtype_size(t) <= 2 ? BUD_FLOAT32 : BUD_FLOAT64;
    break;
  case TS_CMP:
    out = BUD_BOOL;
    break;
  case TS_BIT:
    if (dtype_is_float(t)) return no_loop(ctx, op);
    break;
  case TS_SHIFT:
    if (dtype_is_float(t)) return no_loop(ctx, op);
    if (t == BUD_BOOL) loop = out = BUD_INT8;
    break;
  case TS_PRED:
    out = BUD_BOOL;
    break;
  case TS_RSUM:
    if (t == BUD_BOOL || (dtype_is_int(t) && !dtype_is_uint(t) && t != BUD_INT64))
      out = BUD_INT64;
    else if (t == BUD_UINT8 || t == BUD_UINT16 || t == BUD_UINT32)
      out = BUD_UINT64;
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

/* float -> int64 as x86 cvttsd2si does it: NaN or out of range gives INT64_MIN. */
static int64_t float_to_i64(double x) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) return INT64_MIN;
  return (int64_t)x;
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
    } else if (to == BUD_UINT64 && v.f >= 9223372036854775808.0 && v.f < 18446744073709551616.0) {
      r.u = (uint64_t)(v.f - 9223372036854775808.0) ^ ((uint64_t)1 << 63);
    } else {
      r = wrap_int(to, (uint64_t)float_to_i64(v.f));
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
