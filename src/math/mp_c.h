/* mp_c.h — private to src/math: the C reading of a math program. Included by math_c.c, which
 * wraps each program file (progs.h) in a static inline function
 *   double mp_NAME(double x, double y, int fix, uint64_t *esc)
 * whose body is the program's rows turned into statements, one const double per value. With
 * fix == 0 an ESC row ORs its mask into *esc (the vectorised pass); with fix != 0 (the scalar
 * re-run of a block that had escaping lanes) it returns the escape's value for those lanes.
 * Each M_* below is the per-lane meaning of one mops.def row; the JIT must match it. */
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

/* Every NaN result becomes the one quiet NaN (mops.def, OUT). */
static inline __attribute__((always_inline)) double m_canon(double r) { return r != r ? md(0x7ff8000000000000ull) : r; }

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

#define M_MOV(a, b, c) (a)
#define M_ADD(a, b, c) ((a) + (b))
#define M_SUB(a, b, c) ((a) - (b))
#define M_MUL(a, b, c) ((a) * (b))
#define M_DIV(a, b, c) ((a) / (b))
#define M_SQRT(a, b, c) sqrt(a)
#define M_FMA(a, b, c) fma((a), (b), (c))
#define M_FNMA(a, b, c) fma(-(a), (b), (c))
#define M_MAX(a, b, c) ((a) > (b) ? (a) : (b))
#define M_MIN(a, b, c) ((a) < (b) ? (a) : (b))
#define M_CLT(a, b, c) md((a) < (b) ? ~(uint64_t)0 : 0)
#define M_CLE(a, b, c) md((a) <= (b) ? ~(uint64_t)0 : 0)
#define M_CEQ(a, b, c) md((a) == (b) ? ~(uint64_t)0 : 0)
#define M_CUNORD(a, b, c) md(((a) != (a) || (b) != (b)) ? ~(uint64_t)0 : 0)
#define M_AND(a, b, c) md(mb(a) & mb(b))
#define M_OR(a, b, c) md(mb(a) | mb(b))
#define M_XOR(a, b, c) md(mb(a) ^ mb(b))
#define M_ANDN(a, b, c) md(~mb(a) & mb(b))
/* the mask's sign bit decides, as vblendvpd does */
#define M_SEL(a, b, c) ((int64_t)mb(a) < 0 ? (b) : (c))
#define M_IADD(a, b, c) md(mb(a) + mb(b))
#define M_ISUB(a, b, c) md(mb(a) - mb(b))
#define M_SHL(a, n) md(mb(a) << (n))
#define M_SHR(a, n) md(mb(a) >> (n))

/* Phase 1: the rows as statements; phase 2: nothing. */
#define MP_K1(d, v)                                                                               \
  const double d = (v);                                                                           \
  (void)d;
#define MP_KB1(d, v)                                                                              \
  const double d = md((uint64_t)(v));                                                             \
  (void)d;
#define MP_S1(d, op, a, b, c)                                                                     \
  const double d = M_##op(a, b, c);                                                               \
  (void)d;
#define MP_SI1(d, op, a, n) const double d = M_##op(a, n);
#define MP_P1(d, a, ...)                                                                          \
  static const double d##_coef[] = {__VA_ARGS__};                                                 \
  const double d = m_horner((a), d##_coef, (int)(sizeof d##_coef / sizeof d##_coef[0]));
#define MP_ESC1(m, fn)                                                                            \
  if (fix) {                                                                                      \
    if ((int64_t)mb(m) < 0) return m_canon(fn(x, y));                                                      \
  } else {                                                                                        \
    *esc |= mb(m);                                                                                \
  }
#define MP_OUT1(r) return m_canon(r);
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
  static inline MP_INLINE double mp_##name(double x, double y, int fix, uint64_t *esc) {         \
    const double _ = 0.0;                                                                         \
    (void)_;                                                                                      \
    (void)y;                                                                                      \
    (void)fix;                                                                                    \
    (void)esc;
#define MP_MID(name, fn, dt, nin)
#define MP_END(name, fn, dt, nin) }

#endif /* BUD_MATH_MP_C_H */
