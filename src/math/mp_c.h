/* mp_c.h — private to src/math: the C reading of a math program. Included by math_c.c, which
 * wraps each program file (progs.h) in a static inline function
 *   T mp_NAME(T x, T y, int fix, uint64_t *esc)     T = double (MP_LANE 64) or float (32)
 * whose body is the program's rows turned into statements, one const T per value. With
 * fix == 0 an ESC row ORs its mask into *esc (the vectorised pass); with fix != 0 (the scalar
 * re-run of a block that had escaping lanes) it returns the escape's value for those lanes.
 * Each M64_* / M32_* below is the per-lane meaning of one mops.def row; the JIT must match it. */
#ifndef BUD_MATH_MP_C_H
#define BUD_MATH_MP_C_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "math/mp_rows.h"

static inline __attribute__((always_inline)) uint64_t mb(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}
static inline __attribute__((always_inline)) double md(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}
static inline __attribute__((always_inline)) uint32_t mb32(float d) {
  uint32_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}
static inline __attribute__((always_inline)) float mf32(uint32_t u) {
  float d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* Every NaN result becomes the one quiet NaN (mops.def, OUT). */
static inline __attribute__((always_inline)) double m_canon(double r) { return r != r ? md(0x7ff8000000000000ull) : r; }
static inline __attribute__((always_inline)) float m_canon32(float r) { return r != r ? mf32(0x7fc00000u) : r; }

/* c[0] + a*(c[1] + a*(c[2] + ...)): an FMA chain from the top coefficient, written without a
 * loop (n is a constant after inlining, so the tests fold away and the vectoriser sees a chain). */
#define M_H(k)                                                                                    \
  if (n - 2 - (k) >= 0) r = fma(r, a, c[n - 2 - (k)]);
static inline __attribute__((always_inline)) double m_horner(double a, const double *c, int n) {
  double r = c[n - 1];
  M_H(0) M_H(1) M_H(2) M_H(3) M_H(4) M_H(5) M_H(6) M_H(7) M_H(8) M_H(9) M_H(10) M_H(11) M_H(12)
  M_H(13) M_H(14) M_H(15) M_H(16) M_H(17) M_H(18) M_H(19) M_H(20) M_H(21) M_H(22)
  return r;
}
#undef M_H
#define M_H(k)                                                                                    \
  if (n - 2 - (k) >= 0) r = fmaf(r, a, c[n - 2 - (k)]);
static inline __attribute__((always_inline)) float m_horner32(float a, const float *c, int n) {
  float r = c[n - 1];
  M_H(0) M_H(1) M_H(2) M_H(3) M_H(4) M_H(5) M_H(6) M_H(7) M_H(8) M_H(9) M_H(10) M_H(11) M_H(12)
  M_H(13) M_H(14) M_H(15) M_H(16) M_H(17) M_H(18) M_H(19) M_H(20) M_H(21) M_H(22)
  return r;
}
#undef M_H

/* 64-bit lanes */
#define M64_MOV(a, b, c) (a)
#define M64_ADD(a, b, c) ((a) + (b))
#define M64_SUB(a, b, c) ((a) - (b))
#define M64_MUL(a, b, c) ((a) * (b))
#define M64_DIV(a, b, c) ((a) / (b))
#define M64_SQRT(a, b, c) sqrt(a)
#define M64_FMA(a, b, c) fma((a), (b), (c))
#define M64_FNMA(a, b, c) fma(-(a), (b), (c))
/* MAX/MIN as a masked bit select: the same lane results as (a) > (b) ? (a) : (b), but gcc turns
 * that spelling of two clamps in a row into compound predicates (9 instructions instead of 4) */
#define M64_MAX(a, b, c) md(mb(b) ^ ((mb(a) ^ mb(b)) & -(uint64_t)((a) > (b))))
#define M64_MIN(a, b, c) md(mb(b) ^ ((mb(a) ^ mb(b)) & -(uint64_t)((a) < (b))))
#define M64_CLT(a, b, c) md((a) < (b) ? ~(uint64_t)0 : 0)
#define M64_CLE(a, b, c) md((a) <= (b) ? ~(uint64_t)0 : 0)
#define M64_CEQ(a, b, c) md((a) == (b) ? ~(uint64_t)0 : 0)
#define M64_CUNORD(a, b, c) md(((a) != (a) || (b) != (b)) ? ~(uint64_t)0 : 0)
#define M64_AND(a, b, c) md(mb(a) & mb(b))
#define M64_OR(a, b, c) md(mb(a) | mb(b))
#define M64_XOR(a, b, c) md(mb(a) ^ mb(b))
#define M64_ANDN(a, b, c) md(~mb(a) & mb(b))
/* the mask's sign bit decides, as vblendvpd does */
#define M64_SEL(a, b, c) ((int64_t)mb(a) < 0 ? (b) : (c))
#define M64_IADD(a, b, c) md(mb(a) + mb(b))
#define M64_ISUB(a, b, c) md(mb(a) - mb(b))
#define M64_ICGT(a, b, c) md((int64_t)mb(a) > (int64_t)mb(b) ? ~(uint64_t)0 : 0)
#define M64_SHL(a, n) md(mb(a) << (n))
#define M64_SHR(a, n) md(mb(a) >> (n))

/* 32-bit lanes: float arithmetic, 32-bit bits (8 lanes per ymm) */
#define M32_MOV(a, b, c) (a)
#define M32_ADD(a, b, c) ((a) + (b))
#define M32_SUB(a, b, c) ((a) - (b))
#define M32_MUL(a, b, c) ((a) * (b))
#define M32_DIV(a, b, c) ((a) / (b))
#define M32_SQRT(a, b, c) sqrtf(a)
#define M32_FMA(a, b, c) fmaf((a), (b), (c))
#define M32_FNMA(a, b, c) fmaf(-(a), (b), (c))
#define M32_MAX(a, b, c) mf32(mb32(b) ^ ((mb32(a) ^ mb32(b)) & -(uint32_t)((a) > (b))))
#define M32_MIN(a, b, c) mf32(mb32(b) ^ ((mb32(a) ^ mb32(b)) & -(uint32_t)((a) < (b))))
#define M32_CLT(a, b, c) mf32((a) < (b) ? ~(uint32_t)0 : 0)
#define M32_CLE(a, b, c) mf32((a) <= (b) ? ~(uint32_t)0 : 0)
#define M32_CEQ(a, b, c) mf32((a) == (b) ? ~(uint32_t)0 : 0)
#define M32_CUNORD(a, b, c) mf32(((a) != (a) || (b) != (b)) ? ~(uint32_t)0 : 0)
#define M32_AND(a, b, c) mf32(mb32(a) & mb32(b))
#define M32_OR(a, b, c) mf32(mb32(a) | mb32(b))
#define M32_XOR(a, b, c) mf32(mb32(a) ^ mb32(b))
#define M32_ANDN(a, b, c) mf32(~mb32(a) & mb32(b))
#define M32_SEL(a, b, c) ((int32_t)mb32(a) < 0 ? (b) : (c))
#define M32_IADD(a, b, c) mf32(mb32(a) + mb32(b))
#define M32_ISUB(a, b, c) mf32(mb32(a) - mb32(b))
#define M32_ICGT(a, b, c) mf32((int32_t)mb32(a) > (int32_t)mb32(b) ? ~(uint32_t)0 : 0)
#define M32_SHL(a, n) mf32(mb32(a) << (n))
#define M32_SHR(a, n) mf32(mb32(a) >> (n))
/* >> of a negative int is implementation-defined in C11; gcc and clang shift arithmetically
 * (test_math checks SRA against math_prog_run's portable spelling) */
#define M32_SRA(a, n) mf32((uint32_t)((int32_t)mb32(a) >> (n)))
#define M32_CVTF(a, b, c) ((float)(int32_t)mb32(a))

/* The lane's C type and op prefix for the current MP_LANE (set by progs.h around each block). */
#define MP_T64 double
#define MP_T32 float
#define MP_T MP_CAT(MP_T, MP_LANE)
#define MP_OPP64(op) M64_##op
#define MP_OPP32(op) M32_##op
#define MP_OP(op) MP_CAT(MP_OPP, MP_LANE)(op)
#define MP_HORNER64 m_horner
#define MP_HORNER32 m_horner32
#define MP_CANON64 m_canon
#define MP_CANON32 m_canon32
#define MP_MASKNEG64(m) ((int64_t)mb(m) < 0)
#define MP_MASKNEG32(m) ((int32_t)mb32(m) < 0)
#define MP_MASKBITS64(m) mb(m)
#define MP_MASKBITS32(m) ((uint64_t)mb32(m))
#define MP_KBV64(v) md((uint64_t)(v))
#define MP_KBV32(v) mf32((uint32_t)(v))

/* Phase 1: the rows as statements; phase 2: nothing. */
#define MP_K1(d, v)                                                                               \
  const MP_T d = (MP_T)(v);                                                                       \
  (void)d;
#define MP_KB1(d, v)                                                                              \
  const MP_T d = MP_CAT(MP_KBV, MP_LANE)(v);                                                      \
  (void)d;
#define MP_S1(d, op, a, b, c)                                                                     \
  const MP_T d = MP_OP(op)(a, b, c);                                                              \
  (void)d;
#define MP_SI1(d, op, a, n) const MP_T d = MP_OP(op)(a, n);
#define MP_P1(d, a, ...)                                                                          \
  static const MP_T d##_coef[] = {__VA_ARGS__};                                                   \
  const MP_T d = MP_CAT(MP_HORNER, MP_LANE)((a), d##_coef, (int)(sizeof d##_coef / sizeof d##_coef[0]));
#define MP_ESC1(m, fn)                                                                            \
  if (fix) {                                                                                      \
    if (MP_CAT(MP_MASKNEG, MP_LANE)(m)) return MP_CAT(MP_CANON, MP_LANE)((MP_T)fn(x, y));         \
  } else {                                                                                        \
    *esc |= MP_CAT(MP_MASKBITS, MP_LANE)(m);                                                      \
  }
#define MP_OUT1(r) return MP_CAT(MP_CANON, MP_LANE)(r);
#define MP_K2(d, v)
#define MP_KB2(d, v)
#define MP_S2(d, op, a, b, c)
#define MP_SI2(d, op, a, n)
#define MP_P2(d, a, ...)
#define MP_ESC2(m, fn)
#define MP_OUT2(r)

/* gcc treats sqrt as errno-free only under the function attribute (not the pragma) */
#if defined(__GNUC__) && !defined(__clang__)
#define MP_INLINE __attribute__((always_inline, optimize("no-math-errno")))
#else
#define MP_INLINE __attribute__((always_inline))
#endif
#define MP_BEGIN(name, fn, dt, nin)                                                               \
  static inline MP_INLINE MP_T mp_##name(MP_T x, MP_T y, int fix, uint64_t *esc) {               \
    const MP_T _ = 0;                                                                             \
    (void)_;                                                                                      \
    (void)y;                                                                                      \
    (void)fix;                                                                                    \
    (void)esc;
#define MP_MID(name, fn, dt, nin)
#define MP_END(name, fn, dt, nin) }

#endif /* BUD_MATH_MP_C_H */
