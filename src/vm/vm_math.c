/* vm_math.c — the VM's float functions (the transcendentals through src/math's programs, which
 * the JIT emits from the same tables, so both agree bit for bit; libm where src/math has no
 * program for the dtype: sin, pow, ... in the dtype's own precision),
 * NumPy's float floor_divide/remainder (npy_divmod), fma, the isnan/isinf/isfinite predicates
 * and casts between every pair of dtypes with NumPy 1.24's x86-64 results.
 * Entry points: vm_op_float1, vm_op_float2, vm_op_fma, vm_op_pred, vm_op_cast (vm_ops.h); each
 * calls a static target-cloned *_loops function (clang resolves clones only within a file).
 */
#include "vm/vm_ops.h"

#include "math/math.h"

#include <assert.h>
#include <math.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif


/* Whether src/math has a program for op in dt: then the VM runs it (the JIT emits the same
 * program, so both agree bit for bit); otherwise the VM calls libm, as NumPy does. */
static bool vm_has_math_prog(Op op, BudDType dt) {
  if (!(op_info(op)->flags & F_TRANSC)) return false;
  MathFn fn = math_fn_of_op(op);
  return fn != MATH_FN_COUNT && math_prog(fn, dt) != NULL;
}

/* ---- one-operand float functions ------------------------------------------------------------- */

/* F: the float32 function, D: the float64 one. */
#define FUNC1(F, D)                                                                               \
  do {                                                                                            \
    if (dt == BUD_FLOAT32) LOOP1(float, float, F(x));                                             \
    else LOOP1(double, double, D(x));                                                             \
  } while (0)

VM_HOT static void vm_op_float1_loops(Op op, BudDType dt, void *out, const void *a, int64_t n) {
  assert(dtype_is_float(dt));
  switch (op) {
  case OP_sin: FUNC1(sinf, sin); break;
  case OP_cos: FUNC1(cosf, cos); break;
  case OP_tan: FUNC1(tanf, tan); break;
  case OP_arcsin: FUNC1(asinf, asin); break;
  case OP_arccos: FUNC1(acosf, acos); break;
  case OP_arctan: FUNC1(atanf, atan); break;
  case OP_sinh: FUNC1(sinhf, sinh); break;
  case OP_cosh: FUNC1(coshf, cosh); break;
  case OP_tanh: FUNC1(tanhf, tanh); break;
  case OP_arcsinh: FUNC1(asinhf, asinh); break;
  case OP_arccosh: FUNC1(acoshf, acosh); break;
  case OP_arctanh: FUNC1(atanhf, atanh); break;
  case OP_exp: FUNC1(expf, exp); break;
  case OP_exp2: FUNC1(exp2f, exp2); break;
  case OP_expm1: FUNC1(expm1f, expm1); break;
  case OP_log: FUNC1(logf, log); break;
  case OP_log10: FUNC1(log10f, log10); break;
  case OP_log1p: FUNC1(log1pf, log1p); break;
  case OP_log2: FUNC1(log2f, log2); break;
  case OP_cbrt: FUNC1(cbrtf, cbrt); break;
  case OP_erf: FUNC1(erff, erf); break;
  case OP_sigmoid: FUNC1(math_sigmoidf, math_sigmoid); break;
  case OP_sqrt: FUNC1(sqrtf, sqrt); break;
  case OP_floor: FUNC1(floorf, floor); break;
  case OP_ceil: FUNC1(ceilf, ceil); break;
  case OP_trunc: FUNC1(truncf, trunc); break;
  case OP_rint: FUNC1(rintf, rint); break; /* round half to even (default rounding mode) */
  default: assert(!"vm_op_float1: op"); break;
  }
}

void vm_op_float1(Op op, BudDType dt, void *out, const void *a, int64_t n) {
  if (vm_has_math_prog(op, dt) && math_eval(op, dt, out, a, NULL, n)) return;
  vm_op_float1_loops(op, dt, out, a, n);
}

/* ---- two-operand float functions ------------------------------------------------------------- */

/* NumPy's npy_divmod, in the float's own precision (T, and FMOD/FLOOR/COPYSIGN for it). */
#define DIVMOD_FN(NAME, T, FMOD, FLOOR, COPYSIGN)                                                 \
  static inline T NAME(T a, T b, T *modulus) {                                                    \
    T mod = FMOD(a, b);                                                                           \
    if (!b) {                                                                                     \
      *modulus = mod;                                                                             \
      return a / b;                                                                               \
    }                                                                                             \
    T div = (a - mod) / b;                                                                        \
    if (mod) {                                                                                    \
      if ((b < 0) != (mod < 0)) {                                                                 \
        mod += b;                                                                                 \
        div -= (T)1.0;                                                                            \
      }                                                                                           \
    } else {                                                                                      \
      mod = COPYSIGN((T)0, b);                                                                    \
    }                                                                                             \
    T floordiv;                                                                                   \
    if (div) {                                                                                    \
      floordiv = FLOOR(div);                                                                      \
      if (div - floordiv > (T)0.5) floordiv += (T)1.0;                                            \
    } else {                                                                                      \
      floordiv = COPYSIGN((T)0, a / b);                                                           \
    }                                                                                             \
    *modulus = mod;                                                                               \
    return floordiv;                                                                              \
  }

DIVMOD_FN(vm_divmod_f32, float, fmodf, floorf, copysignf)
DIVMOD_FN(vm_divmod_f64, double, fmod, floor, copysign)

static inline float vm_floordiv_f32(float a, float b) {
  float m;
  return vm_divmod_f32(a, b, &m);
}
static inline double vm_floordiv_f64(double a, double b) {
  double m;
  return vm_divmod_f64(a, b, &m);
}
static inline float vm_mod_f32(float a, float b) {
  float m;
  vm_divmod_f32(a, b, &m);
  return m;
}
static inline double vm_mod_f64(double a, double b) {
  double m;
  vm_divmod_f64(a, b, &m);
  return m;
}

#define FUNC2(F, D)                                                                               \
  do {                                                                                            \
    if (dt == BUD_FLOAT32) LOOP2(float, float, F(x, y));                                          \
    else LOOP2(double, double, D(x, y));                                                          \
  } while (0)

VM_HOT static void vm_op_float2_loops(Op op, BudDType dt, void *out, const void *a,
                                      const void *b, int64_t n) {
  assert(dtype_is_float(dt));
  switch (op) {
  case OP_arctan2: FUNC2(atan2f, atan2); break;
  case OP_hypot: FUNC2(hypotf, hypot); break;
  case OP_copysign: FUNC2(copysignf, copysign); break;
  case OP_pow: FUNC2(powf, pow); break;
  case OP_fmod: FUNC2(fmodf, fmod); break;
  case OP_floordiv: FUNC2(vm_floordiv_f32, vm_floordiv_f64); break;
  case OP_mod: FUNC2(vm_mod_f32, vm_mod_f64); break;
  default: assert(!"vm_op_float2: op"); break;
  }
}

void vm_op_float2(Op op, BudDType dt, void *out, const void *a, const void *b,
                  int64_t n) {
  if (vm_has_math_prog(op, dt) && math_eval(op, dt, out, a, b, n)) return;
  vm_op_float2_loops(op, dt, out, a, b, n);
}

/* a * b + c with one rounding (fmaf/fma): exactly where the plan says FMA. */
void vm_op_fma(BudDType dt, void *out, const void *a, const void *b, const void *c, int64_t n) {
  if (dt == BUD_FLOAT32) {
    const float *pa = a, *pb = b, *pc = c;
    float *po = out;
    for (int64_t i = 0; i < n; i++) po[i] = fmaf(pa[i], pb[i], pc[i]);
  } else {
    const double *pa = a, *pb = b, *pc = c;
    double *po = out;
    for (int64_t i = 0; i < n; i++) po[i] = fma(pa[i], pb[i], pc[i]);
  }
}

/* ---- isnan, isinf, isfinite ------------------------------------------------------------------ */

VM_HOT static void vm_op_pred_loops(Op op, BudDType in_dt, uint8_t *out, const void *a, int64_t n) {
  if (!dtype_is_float(in_dt)) { /* integers and bools: never NaN or infinite */
    for (int64_t i = 0; i < n; i++) out[i] = op == OP_isfinite;
    return;
  }
#define PRED(T, INF)                                                                              \
  switch (op) {                                                                                   \
  case OP_isnan: LOOP1(T, uint8_t, x != x); break;                                                \
  case OP_isinf: LOOP1(T, uint8_t, x == (INF) || x == -(INF)); break;                             \
  case OP_isfinite: LOOP1(T, uint8_t, x - x == 0); break;                                         \
  default: assert(!"vm_op_pred: op"); break;                                                      \
  }
  if (in_dt == BUD_FLOAT32) {
    PRED(float, (float)INFINITY);
  } else {
    PRED(double, (double)INFINITY);
  }
#undef PRED
}

void vm_op_pred(Op op, BudDType in_dt, uint8_t *out, const void *a, int64_t n) {
  vm_op_pred_loops(op, in_dt, out, a, n);
}

/* ---- casts ----------------------------------------------------------------------------------- */

/* Casts from an integer (or bool, stored 0/1) source type TF: C conversions (integers wrap to the
 * target width; to float rounds to nearest); to bool is x != 0. */
#define CAST_FROM_INT(TF)                                                                         \
  switch (to) {                                                                                   \
  case BUD_BOOL: LOOP1(TF, uint8_t, x != 0); break;                                               \
  case BUD_INT8: LOOP1(TF, int8_t, x); break;                                                     \
  case BUD_INT16: LOOP1(TF, int16_t, x); break;                                                   \
  case BUD_INT32: LOOP1(TF, int32_t, x); break;                                                   \
  case BUD_INT64: LOOP1(TF, int64_t, x); break;                                                   \
  case BUD_UINT8: LOOP1(TF, uint8_t, x); break;                                                   \
  case BUD_UINT16: LOOP1(TF, uint16_t, x); break;                                                 \
  case BUD_UINT32: LOOP1(TF, uint32_t, x); break;                                                 \
  case BUD_UINT64: LOOP1(TF, uint64_t, x); break;                                                 \
  case BUD_FLOAT32: LOOP1(TF, float, x); break;                                                   \
  case BUD_FLOAT64: LOOP1(TF, double, x); break;                                                  \
  default: assert(!"vm_op_cast: to"); break;                                                      \
  }

/* Casts from a float type TF: to bool x != 0 (NaN -> true); to integers with NumPy's x86-64
 * conversions (vm_f2i32 / vm_f2i64 / vm_f2u64, then wrap); between floats round to nearest. */
#define CAST_FROM_FLT(TF)                                                                         \
  switch (to) {                                                                                   \
  case BUD_BOOL: LOOP1(TF, uint8_t, x != 0); break;                                               \
  case BUD_INT8: LOOP1(TF, int8_t, vm_f2i32(x)); break;                                           \
  case BUD_INT16: LOOP1(TF, int16_t, vm_f2i32(x)); break;                                         \
  case BUD_INT32: LOOP1(TF, int32_t, vm_f2i32(x)); break;                                         \
  case BUD_INT64: LOOP1(TF, int64_t, vm_f2i64(x)); break;                                         \
  case BUD_UINT8: LOOP1(TF, uint8_t, vm_f2i32(x)); break;                                         \
  case BUD_UINT16: LOOP1(TF, uint16_t, vm_f2i32(x)); break;                                       \
  case BUD_UINT32: LOOP1(TF, uint32_t, vm_f2i64(x)); break;                                       \
  case BUD_UINT64: LOOP1(TF, uint64_t, vm_f2u64(x)); break;                                       \
  case BUD_FLOAT32: LOOP1(TF, float, x); break;                                                   \
  case BUD_FLOAT64: LOOP1(TF, double, x); break;                                                  \
  default: assert(!"vm_op_cast: to"); break;                                                      \
  }

VM_HOT static void vm_op_cast_loops(BudDType to, BudDType from, void *out, const void *a,
                                    int64_t n) {
  switch (from) {
  case BUD_BOOL: CAST_FROM_INT(uint8_t); break;
  case BUD_INT8: CAST_FROM_INT(int8_t); break;
  case BUD_INT16: CAST_FROM_INT(int16_t); break;
  case BUD_INT32: CAST_FROM_INT(int32_t); break;
  case BUD_INT64: CAST_FROM_INT(int64_t); break;
  case BUD_UINT8: CAST_FROM_INT(uint8_t); break;
  case BUD_UINT16: CAST_FROM_INT(uint16_t); break;
  case BUD_UINT32: CAST_FROM_INT(uint32_t); break;
  case BUD_UINT64: CAST_FROM_INT(uint64_t); break;
  case BUD_FLOAT32: CAST_FROM_FLT(float); break;
  case BUD_FLOAT64: CAST_FROM_FLT(double); break;
  default: assert(!"vm_op_cast: from"); break;
  }
}

void vm_op_cast(BudDType to, BudDType from, void *out, const void *a, int64_t n) {
  vm_op_cast_loops(to, from, out, a, n);
}
