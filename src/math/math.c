/* math.c — the public face of src/math: math_eval / math_eval_fn run a function's program (or
 * libm, for the (function, dtype) pairs that have none yet) over a buffer; names, the op
 * mapping, the scalar libm references. Entry points in math.h. */
#include "math/math_int.h"

#include <assert.h>
#include <math.h>

float math_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }
double math_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

#define MATH_CALL1(f, x, y) f(x)
#define MATH_CALL2(f, x, y) f(x, y)
#define MFN(ID, op, nin, f32, f64)                                                                \
  static double lm_##ID##_f32(double x, double y) {                                               \
    float xf = (float)x, yf = (float)y;                                                           \
    (void)yf;                                                                                     \
    return MATH_CALL##nin(f32, xf, yf);                                                           \
  }                                                                                               \
  static double lm_##ID##_f64(double x, double y) {                                               \
    (void)y;                                                                                      \
    return MATH_CALL##nin(f64, x, y);                                                             \
  }
#include "math/fns.def"
#undef MFN

static const struct {
  const char *name;
  int op, nin;
  double (*f32)(double, double), (*f64)(double, double);
} math_fns[] = {
#define MFN(ID, op, nin, f32, f64) {#ID, op, nin, lm_##ID##_f32, lm_##ID##_f64},
#include "math/fns.def"
#undef MFN
};
_Static_assert(BUD_ARRAY_LEN(math_fns) == MATH_FN_COUNT, "fns.def");

const char *math_fn_name(MathFn fn) { return math_fns[fn].name; }
int math_fn_nin(MathFn fn) { return math_fns[fn].nin; }

MathFn math_fn_of_op(Op op) {
  for (int f = 0; f < MATH_FN_COUNT; f++)
    if (math_fns[f].op == (int)op) return (MathFn)f;
  return MATH_FN_COUNT;
}

double math_libm(MathFn fn, BudDType dt, double x, double y) {
  return dt == BUD_FLOAT32 ? math_fns[fn].f32(x, y) : math_fns[fn].f64(x, y);
}

const MathProg *math_prog(MathFn fn, BudDType dt) { return math_tab_prog(fn, dt); }

void math_eval_fn(MathFn fn, BudDType dt, void *out, const void *in0, const void *in1, int64_t n) {
  assert(fn < MATH_FN_COUNT && dtype_is_float(dt));
  MathLoop loop = math_c_loop(fn, dt);
  if (loop) {
    loop(out, in0, in1, n);
    return;
  }
  int two = math_fns[fn].nin == 2;
  if (dt == BUD_FLOAT32) {
    float *o = out;
    const float *a = in0, *b = in1;
    for (int64_t i = 0; i < n; i++) o[i] = (float)math_fns[fn].f32(a[i], two ? b[i] : 0.0);
  } else {
    double *o = out;
    const double *a = in0, *b = in1;
    for (int64_t i = 0; i < n; i++) o[i] = math_fns[fn].f64(a[i], two ? b[i] : 0.0);
  }
}

bool math_eval(Op op, BudDType dt, void *out, const void *in0, const void *in1, int64_t n) {
  MathFn fn = math_fn_of_op(op);
  if (fn == MATH_FN_COUNT) return false;
  math_eval_fn(fn, dt, out, in0, in1, n);
  return true;
}

double math_ulp_err_f32(float r, double ref) {
  if (isnan(ref) || isnan(r)) return isnan(ref) && isnan(r) ? 0.0 : HUGE_VAL;
  float rr = (float)ref;
  if (isinf(r)) return r == rr || r == ref ? 0.0 : HUGE_VAL;
  double a = fabs((double)rr);
  int e = isinf(rr) || a >= 0x1p-126 ? (isinf(rr) ? 128 : ilogb(a)) : -126;
  return fabs((double)r - ref) / ldexp(1.0, e - 23);
}

double math_ulp_err_f64(double r, long double ref) {
  if (isnan(ref) || isnan(r)) return isnan(ref) && isnan(r) ? 0.0 : HUGE_VAL;
  double rr = (double)ref;
  if (isinf(r)) return r == rr || r == ref ? 0.0 : HUGE_VAL;
  long double a = fabsl((long double)rr);
  int e = isinf(rr) || a >= 0x1p-1022L ? (isinf(rr) ? 1024 : ilogbl(a)) : -1022;
  return (double)(fabsl((long double)r - ref) / ldexpl(1.0L, e - 52));
}
