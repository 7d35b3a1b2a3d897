/* math_int.h — private to src/math: what math.c needs from the evaluator (math_c.c) and the
 * tables (math_tab.c). */
#ifndef BUD_MATH_INT_H
#define BUD_MATH_INT_H

#include "math/math.h"

/* out[i] = fn(a[i] [, b[i]]) over n elements of the program's dtype. */
typedef void (*MathLoop)(void *out, const void *a, const void *b, int64_t n);

MathLoop math_c_loop(MathFn fn, BudDType dt); /* NULL: no program */
/* v3: the AVX2 + FMA build when the CPU has it; else the baseline build (SSE2, libm's fma). */
MathLoop math_c_loop_isa(MathFn fn, BudDType dt, bool v3);
const MathProg *math_tab_prog(MathFn fn, BudDType dt);

/* The escapes programs name (ESC rows): libm's double functions. */
double math_esc_sin(double x, double y);
double math_esc_cos(double x, double y);
double math_esc_tan(double x, double y);

#endif
