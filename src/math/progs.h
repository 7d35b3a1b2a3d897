/* progs.h — private to src/math: every math program, read twice (MP_PHASE 1, then 2) between
 * MP_BEGIN, MP_MID and MP_END, with MP_NAME set; mp_rows.h routes each row to the phase's macro.
 * mp_c.h turns a program into a C function (phase 1: statements), mp_tab.h into a step table for
 * the JIT (phase 1: value numbers, phase 2: steps), math_c.c's list mode into a loop.
 * MP_LANE is each program's lane width (MathProg.lanebits): 32 for the float-lane programs of
 * the first section, 64 for the rest.
 * Adding a program: write src/math/p_NAME.def and add its block to its lane width's section. */

/* ---- float lanes (lanebits 32): float32 functions in float arithmetic ---------------------- */
#undef MP_LANE
#define MP_LANE 32

#define MP_NAME exp_f32
MP_BEGIN(exp_f32, exp, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_exp_f32.def"
#undef MP_PHASE
MP_MID(exp_f32, exp, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_exp_f32.def"
#undef MP_PHASE
MP_END(exp_f32, exp, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME log_f32
MP_BEGIN(log_f32, log, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_log_f32.def"
#undef MP_PHASE
MP_MID(log_f32, log, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_log_f32.def"
#undef MP_PHASE
MP_END(log_f32, log, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME sin_f32
MP_BEGIN(sin_f32, sin, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_sin_f32.def"
#undef MP_PHASE
MP_MID(sin_f32, sin, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_sin_f32.def"
#undef MP_PHASE
MP_END(sin_f32, sin, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME cos_f32
MP_BEGIN(cos_f32, cos, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_cos_f32.def"
#undef MP_PHASE
MP_MID(cos_f32, cos, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_cos_f32.def"
#undef MP_PHASE
MP_END(cos_f32, cos, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME exp2_f32
MP_BEGIN(exp2_f32, exp2, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_exp2_f32.def"
#undef MP_PHASE
MP_MID(exp2_f32, exp2, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_exp2_f32.def"
#undef MP_PHASE
MP_END(exp2_f32, exp2, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME expm1_f32
MP_BEGIN(expm1_f32, expm1, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_expm1_f32.def"
#undef MP_PHASE
MP_MID(expm1_f32, expm1, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_expm1_f32.def"
#undef MP_PHASE
MP_END(expm1_f32, expm1, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME log2_f32
MP_BEGIN(log2_f32, log2, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_log2_f32.def"
#undef MP_PHASE
MP_MID(log2_f32, log2, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_log2_f32.def"
#undef MP_PHASE
MP_END(log2_f32, log2, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME log10_f32
MP_BEGIN(log10_f32, log10, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_log10_f32.def"
#undef MP_PHASE
MP_MID(log10_f32, log10, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_log10_f32.def"
#undef MP_PHASE
MP_END(log10_f32, log10, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME log1p_f32
MP_BEGIN(log1p_f32, log1p, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_log1p_f32.def"
#undef MP_PHASE
MP_MID(log1p_f32, log1p, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_log1p_f32.def"
#undef MP_PHASE
MP_END(log1p_f32, log1p, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME sigmoid_f32
MP_BEGIN(sigmoid_f32, sigmoid, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_sigmoid_f32.def"
#undef MP_PHASE
MP_MID(sigmoid_f32, sigmoid, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_sigmoid_f32.def"
#undef MP_PHASE
MP_END(sigmoid_f32, sigmoid, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME tanh_f32
MP_BEGIN(tanh_f32, tanh, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_tanh_f32.def"
#undef MP_PHASE
MP_MID(tanh_f32, tanh, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_tanh_f32.def"
#undef MP_PHASE
MP_END(tanh_f32, tanh, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME cosh_f32
MP_BEGIN(cosh_f32, cosh, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_cosh_f32.def"
#undef MP_PHASE
MP_MID(cosh_f32, cosh, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_cosh_f32.def"
#undef MP_PHASE
MP_END(cosh_f32, cosh, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME sinh_f32
MP_BEGIN(sinh_f32, sinh, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_sinh_f32.def"
#undef MP_PHASE
MP_MID(sinh_f32, sinh, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_sinh_f32.def"
#undef MP_PHASE
MP_END(sinh_f32, sinh, BUD_FLOAT32, 1)
#undef MP_NAME

/* ---- double lanes (lanebits 64): float64 programs, and float32 ones computed in double ------ */
#undef MP_LANE
#define MP_LANE 64

#define MP_NAME tan_f32
MP_BEGIN(tan_f32, tan, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_tan_f32.def"
#undef MP_PHASE
MP_MID(tan_f32, tan, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_tan_f32.def"
#undef MP_PHASE
MP_END(tan_f32, tan, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME arcsin_f32
MP_BEGIN(arcsin_f32, arcsin, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_arcsin_f32.def"
#undef MP_PHASE
MP_MID(arcsin_f32, arcsin, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_arcsin_f32.def"
#undef MP_PHASE
MP_END(arcsin_f32, arcsin, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME arccos_f32
MP_BEGIN(arccos_f32, arccos, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_arccos_f32.def"
#undef MP_PHASE
MP_MID(arccos_f32, arccos, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_arccos_f32.def"
#undef MP_PHASE
MP_END(arccos_f32, arccos, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME arctan_f32
MP_BEGIN(arctan_f32, arctan, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_arctan_f32.def"
#undef MP_PHASE
MP_MID(arctan_f32, arctan, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_arctan_f32.def"
#undef MP_PHASE
MP_END(arctan_f32, arctan, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME arctan2_f32
MP_BEGIN(arctan2_f32, arctan2, BUD_FLOAT32, 2)
#define MP_PHASE 1
#include "math/p_arctan2_f32.def"
#undef MP_PHASE
MP_MID(arctan2_f32, arctan2, BUD_FLOAT32, 2)
#define MP_PHASE 2
#include "math/p_arctan2_f32.def"
#undef MP_PHASE
MP_END(arctan2_f32, arctan2, BUD_FLOAT32, 2)
#undef MP_NAME

#define MP_NAME arcsinh_f32
MP_BEGIN(arcsinh_f32, arcsinh, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_arcsinh_f32.def"
#undef MP_PHASE
MP_MID(arcsinh_f32, arcsinh, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_arcsinh_f32.def"
#undef MP_PHASE
MP_END(arcsinh_f32, arcsinh, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME arccosh_f32
MP_BEGIN(arccosh_f32, arccosh, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_arccosh_f32.def"
#undef MP_PHASE
MP_MID(arccosh_f32, arccosh, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_arccosh_f32.def"
#undef MP_PHASE
MP_END(arccosh_f32, arccosh, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME arctanh_f32
MP_BEGIN(arctanh_f32, arctanh, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_arctanh_f32.def"
#undef MP_PHASE
MP_MID(arctanh_f32, arctanh, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_arctanh_f32.def"
#undef MP_PHASE
MP_END(arctanh_f32, arctanh, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME pow_f32
MP_BEGIN(pow_f32, pow, BUD_FLOAT32, 2)
#define MP_PHASE 1
#include "math/p_pow_f32.def"
#undef MP_PHASE
MP_MID(pow_f32, pow, BUD_FLOAT32, 2)
#define MP_PHASE 2
#include "math/p_pow_f32.def"
#undef MP_PHASE
MP_END(pow_f32, pow, BUD_FLOAT32, 2)
#undef MP_NAME

#define MP_NAME hypot_f32
MP_BEGIN(hypot_f32, hypot, BUD_FLOAT32, 2)
#define MP_PHASE 1
#include "math/p_hypot_f32.def"
#undef MP_PHASE
MP_MID(hypot_f32, hypot, BUD_FLOAT32, 2)
#define MP_PHASE 2
#include "math/p_hypot_f32.def"
#undef MP_PHASE
MP_END(hypot_f32, hypot, BUD_FLOAT32, 2)
#undef MP_NAME

#define MP_NAME cbrt_f32
MP_BEGIN(cbrt_f32, cbrt, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_cbrt_f32.def"
#undef MP_PHASE
MP_MID(cbrt_f32, cbrt, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_cbrt_f32.def"
#undef MP_PHASE
MP_END(cbrt_f32, cbrt, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME erf_f32
MP_BEGIN(erf_f32, erf, BUD_FLOAT32, 1)
#define MP_PHASE 1
#include "math/p_erf_f32.def"
#undef MP_PHASE
MP_MID(erf_f32, erf, BUD_FLOAT32, 1)
#define MP_PHASE 2
#include "math/p_erf_f32.def"
#undef MP_PHASE
MP_END(erf_f32, erf, BUD_FLOAT32, 1)
#undef MP_NAME

#define MP_NAME exp_f64
MP_BEGIN(exp_f64, exp, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_exp_f64.def"
#undef MP_PHASE
MP_MID(exp_f64, exp, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_exp_f64.def"
#undef MP_PHASE
MP_END(exp_f64, exp, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME exp2_f64
MP_BEGIN(exp2_f64, exp2, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_exp2_f64.def"
#undef MP_PHASE
MP_MID(exp2_f64, exp2, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_exp2_f64.def"
#undef MP_PHASE
MP_END(exp2_f64, exp2, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME log_f64
MP_BEGIN(log_f64, log, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_log_f64.def"
#undef MP_PHASE
MP_MID(log_f64, log, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_log_f64.def"
#undef MP_PHASE
MP_END(log_f64, log, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME log2_f64
MP_BEGIN(log2_f64, log2, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_log2_f64.def"
#undef MP_PHASE
MP_MID(log2_f64, log2, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_log2_f64.def"
#undef MP_PHASE
MP_END(log2_f64, log2, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME log10_f64
MP_BEGIN(log10_f64, log10, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_log10_f64.def"
#undef MP_PHASE
MP_MID(log10_f64, log10, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_log10_f64.def"
#undef MP_PHASE
MP_END(log10_f64, log10, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME sin_f64
MP_BEGIN(sin_f64, sin, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_sin_f64.def"
#undef MP_PHASE
MP_MID(sin_f64, sin, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_sin_f64.def"
#undef MP_PHASE
MP_END(sin_f64, sin, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME cos_f64
MP_BEGIN(cos_f64, cos, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_cos_f64.def"
#undef MP_PHASE
MP_MID(cos_f64, cos, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_cos_f64.def"
#undef MP_PHASE
MP_END(cos_f64, cos, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME arctan_f64
MP_BEGIN(arctan_f64, arctan, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_arctan_f64.def"
#undef MP_PHASE
MP_MID(arctan_f64, arctan, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_arctan_f64.def"
#undef MP_PHASE
MP_END(arctan_f64, arctan, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME expm1_f64
MP_BEGIN(expm1_f64, expm1, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_expm1_f64.def"
#undef MP_PHASE
MP_MID(expm1_f64, expm1, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_expm1_f64.def"
#undef MP_PHASE
MP_END(expm1_f64, expm1, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME log1p_f64
MP_BEGIN(log1p_f64, log1p, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_log1p_f64.def"
#undef MP_PHASE
MP_MID(log1p_f64, log1p, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_log1p_f64.def"
#undef MP_PHASE
MP_END(log1p_f64, log1p, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME cbrt_f64
MP_BEGIN(cbrt_f64, cbrt, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_cbrt_f64.def"
#undef MP_PHASE
MP_MID(cbrt_f64, cbrt, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_cbrt_f64.def"
#undef MP_PHASE
MP_END(cbrt_f64, cbrt, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME tan_f64
MP_BEGIN(tan_f64, tan, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_tan_f64.def"
#undef MP_PHASE
MP_MID(tan_f64, tan, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_tan_f64.def"
#undef MP_PHASE
MP_END(tan_f64, tan, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME hypot_f64
MP_BEGIN(hypot_f64, hypot, BUD_FLOAT64, 2)
#define MP_PHASE 1
#include "math/p_hypot_f64.def"
#undef MP_PHASE
MP_MID(hypot_f64, hypot, BUD_FLOAT64, 2)
#define MP_PHASE 2
#include "math/p_hypot_f64.def"
#undef MP_PHASE
MP_END(hypot_f64, hypot, BUD_FLOAT64, 2)
#undef MP_NAME

#define MP_NAME arcsin_f64
MP_BEGIN(arcsin_f64, arcsin, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_arcsin_f64.def"
#undef MP_PHASE
MP_MID(arcsin_f64, arcsin, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_arcsin_f64.def"
#undef MP_PHASE
MP_END(arcsin_f64, arcsin, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME arccos_f64
MP_BEGIN(arccos_f64, arccos, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_arccos_f64.def"
#undef MP_PHASE
MP_MID(arccos_f64, arccos, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_arccos_f64.def"
#undef MP_PHASE
MP_END(arccos_f64, arccos, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME tanh_f64
MP_BEGIN(tanh_f64, tanh, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_tanh_f64.def"
#undef MP_PHASE
MP_MID(tanh_f64, tanh, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_tanh_f64.def"
#undef MP_PHASE
MP_END(tanh_f64, tanh, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME sinh_f64
MP_BEGIN(sinh_f64, sinh, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_sinh_f64.def"
#undef MP_PHASE
MP_MID(sinh_f64, sinh, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_sinh_f64.def"
#undef MP_PHASE
MP_END(sinh_f64, sinh, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME cosh_f64
MP_BEGIN(cosh_f64, cosh, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_cosh_f64.def"
#undef MP_PHASE
MP_MID(cosh_f64, cosh, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_cosh_f64.def"
#undef MP_PHASE
MP_END(cosh_f64, cosh, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME sigmoid_f64
MP_BEGIN(sigmoid_f64, sigmoid, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_sigmoid_f64.def"
#undef MP_PHASE
MP_MID(sigmoid_f64, sigmoid, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_sigmoid_f64.def"
#undef MP_PHASE
MP_END(sigmoid_f64, sigmoid, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME arcsinh_f64
MP_BEGIN(arcsinh_f64, arcsinh, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_arcsinh_f64.def"
#undef MP_PHASE
MP_MID(arcsinh_f64, arcsinh, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_arcsinh_f64.def"
#undef MP_PHASE
MP_END(arcsinh_f64, arcsinh, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME arccosh_f64
MP_BEGIN(arccosh_f64, arccosh, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_arccosh_f64.def"
#undef MP_PHASE
MP_MID(arccosh_f64, arccosh, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_arccosh_f64.def"
#undef MP_PHASE
MP_END(arccosh_f64, arccosh, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME arctanh_f64
MP_BEGIN(arctanh_f64, arctanh, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_arctanh_f64.def"
#undef MP_PHASE
MP_MID(arctanh_f64, arctanh, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_arctanh_f64.def"
#undef MP_PHASE
MP_END(arctanh_f64, arctanh, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME pow_f64
MP_BEGIN(pow_f64, pow, BUD_FLOAT64, 2)
#define MP_PHASE 1
#include "math/p_pow_f64.def"
#undef MP_PHASE
MP_MID(pow_f64, pow, BUD_FLOAT64, 2)
#define MP_PHASE 2
#include "math/p_pow_f64.def"
#undef MP_PHASE
MP_END(pow_f64, pow, BUD_FLOAT64, 2)
#undef MP_NAME

#define MP_NAME erf_f64
MP_BEGIN(erf_f64, erf, BUD_FLOAT64, 1)
#define MP_PHASE 1
#include "math/p_erf_f64.def"
#undef MP_PHASE
MP_MID(erf_f64, erf, BUD_FLOAT64, 1)
#define MP_PHASE 2
#include "math/p_erf_f64.def"
#undef MP_PHASE
MP_END(erf_f64, erf, BUD_FLOAT64, 1)
#undef MP_NAME

#define MP_NAME arctan2_f64
MP_BEGIN(arctan2_f64, arctan2, BUD_FLOAT64, 2)
#define MP_PHASE 1
#include "math/p_arctan2_f64.def"
#undef MP_PHASE
MP_MID(arctan2_f64, arctan2, BUD_FLOAT64, 2)
#define MP_PHASE 2
#include "math/p_arctan2_f64.def"
#undef MP_PHASE
MP_END(arctan2_f64, arctan2, BUD_FLOAT64, 2)
#undef MP_NAME
