/* math_c.c — the VM's reading of the math programs: each program (progs.h) becomes a static
 * inline C function (mp_c.h) and a block loop around it that gcc vectorises (every step is a
 * lane-wise operation: 4 doubles or 8 floats per ymm, by the program's lane width), compiled for
 * Haswell (AVX2 + FMA) and for the baseline and picked at load time. A block whose lanes escape (ESC rows) is re-run lane by lane with the escape taken.
 * Entry point: math_c_loop (math_int.h). */
/* Contraction would change results between compilers and vector widths: every FMA is spelled.
 * gcc: errno-free sqrt and its normal vectoriser cost model (-O2 vectorises only loops whose trip
 * count is a multiple of the vector length), for the whole file and before the includes, since
 * gcc does not inline across differing optimize options. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-math-errno", "no-trapping-math", "tree-vectorize",       \
                     "vect-cost-model=dynamic")
#endif
#include "math/math_int.h"
#include "math/mp_c.h"

#include <assert.h>


/* Each loop is compiled twice: for AVX2 + FMA (x86-64-v3), chosen at run time when the CPU has
 * both, and for the baseline (where fma() is libm's, slow but exact: the same results). gcc's
 * target_clones("arch=haswell") would dispatch on the CPU model, not its features. */
#if defined(__x86_64__) && !defined(BUD_NO_TARGET_CLONES)
#define MATH_V3 1
#define MATH_V3_ATTR __attribute__((target("avx2,fma")))
#else
#define MATH_V3 0
#define MATH_V3_ATTR
#endif
/* (the pragma alone does not make gcc treat sqrt as errno-free inside the loops) */
#if defined(__GNUC__) && !defined(__clang__)
#define MATH_HOT __attribute__((optimize("no-math-errno")))
#else
#define MATH_HOT
#endif

double math_esc_sin(double x, double y) {
  (void)y;
  return sin(x);
}
double math_esc_cos(double x, double y) {
  (void)y;
  return cos(x);
}
double math_esc_tan(double x, double y) {
  (void)y;
  return tan(x);
}

/* The programs as functions mp_NAME. */
#include "math/progs.h"

#undef MP_BEGIN
#undef MP_MID
#undef MP_END
#undef MP_K1
#undef MP_KB1
#undef MP_S1
#undef MP_SI1
#undef MP_P1
#undef MP_ESC1
#undef MP_OUT1
#define MP_K1(d, v)
#define MP_KB1(d, v)
#define MP_S1(d, op, a, b, c)
#define MP_SI1(d, op, a, n)
#define MP_P1(d, a, ...)
#define MP_ESC1(m, fn)
#define MP_OUT1(r)

enum { MATH_BLOCK = 512 };

#define MATH_T_BUD_FLOAT32 float
#define MATH_T_BUD_FLOAT64 double
#define MATH_Y1(b, i) ((MP_T)0)
#define MATH_Y2(b, i) ((MP_T)(b)[i])

/* The loops: a vectorised pass into tmp that ORs the escape masks, a scalar pass over the block
 * only when some lane escaped (reading the inputs, which out may alias, before out is written). */
#define ML_BODY(name, dt, nin)                                                                    \
  {                                                                                               \
    typedef MATH_T_##dt T;                                                                        \
    T *out = out_;                                                                                \
    const T *a = a_, *b = b_;                                                                     \
    (void)b;                                                                                      \
    T tmp[MATH_BLOCK];                                                                            \
    for (int64_t i0 = 0; i0 < n; i0 += MATH_BLOCK) {                                              \
      int64_t m = n - i0 < MATH_BLOCK ? n - i0 : MATH_BLOCK;                                      \
      const T *pa = a + i0, *pb = nin == 2 ? b + i0 : a;                                          \
      (void)pb;                                                                                   \
      uint64_t esc = 0;                                                                           \
      for (int64_t j = 0; j < m; j++)                                                             \
        tmp[j] = (T)mp_##name((MP_T)pa[j], MATH_Y##nin(pb, j), 0, &esc);                          \
      if (esc) {                                                                                  \
        for (int64_t j = 0; j < m; j++)                                                           \
          tmp[j] = (T)mp_##name((MP_T)pa[j], MATH_Y##nin(pb, j), 1, &esc);                        \
      }                                                                                           \
      memcpy(out + i0, tmp, (size_t)m * sizeof(T));                                               \
    }                                                                                             \
  }
#if MATH_V3
#define MP_BEGIN(name, fn, dt, nin)                                                               \
  MATH_HOT static void ml_##name(void *out_, const void *a_, const void *b_, int64_t n)           \
      ML_BODY(name, dt, nin)                                                                      \
  MATH_HOT MATH_V3_ATTR static void ml3_##name(void *out_, const void *a_, const void *b_,       \
                                               int64_t n) ML_BODY(name, dt, nin)
#else
#define MP_BEGIN(name, fn, dt, nin)                                                               \
  MATH_HOT static void ml_##name(void *out_, const void *a_, const void *b_, int64_t n)           \
      ML_BODY(name, dt, nin)
#endif
#define MP_MID(name, fn, dt, nin)
#define MP_END(name, fn, dt, nin)
#include "math/progs.h"

#undef MP_BEGIN
#if MATH_V3
#define MP_BEGIN(name, fn, dt, nin) {MATH_##fn, dt, ml_##name, ml3_##name},
#else
#define MP_BEGIN(name, fn, dt, nin) {MATH_##fn, dt, ml_##name, ml_##name},
#endif
static const struct {
  MathFn fn;
  BudDType dt;
  MathLoop loop, loop_v3;
} ml_table[] = {
#include "math/progs.h"
};

static bool math_has_v3(void) {
#if MATH_V3
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

MathLoop math_c_loop_isa(MathFn fn, BudDType dt, bool v3) {
  for (size_t i = 0; i < BUD_ARRAY_LEN(ml_table); i++)
    if (ml_table[i].fn == fn && ml_table[i].dt == dt)
      return v3 && math_has_v3() ? ml_table[i].loop_v3 : ml_table[i].loop;
  return NULL;
}

MathLoop math_c_loop(MathFn fn, BudDType dt) { return math_c_loop_isa(fn, dt, true); }
