/* math_tab.c — the programs as data for the JIT: progs.h read in table mode gives each program
 * an enum of value numbers (phase 1) and a MathStep array (phase 2), so the emitter walks the
 * very rows the VM's C functions were made from. Entry point: math_tab_prog (math_int.h), public
 * as math_prog. */
#include "math/math_int.h"
#include "math/mp_rows.h"

#include <math.h>
#include <string.h>

#define MP_V(d) MP_CAT(MP_CAT(V_, MP_NAME), MP_CAT(_, d))
#define MP_STEP(op, d, a, b, c, n, k, bits, coef, esc, coef32)                                    \
  {MOP_##op, (uint8_t)(d), (uint8_t)(a), (uint8_t)(b), (uint8_t)(c), (uint8_t)(n), (k),         \
   (uint64_t)(bits), (coef), (esc), (coef32)},
/* constants of 32-bit lane programs: a float value, the low 32 bits */
#define MP_KV64(v) (v)
#define MP_KV32(v) ((double)(float)(v))
#define MP_KBV64(v) (v)
#define MP_KBV32(v) ((uint32_t)(v))
#define MP_NCOEF(...) (sizeof((const double[]){__VA_ARGS__}) / sizeof(double))

/* phase 1: one enumerator per defined value */
#define MP_K1(d, v) MP_V(d),
#define MP_KB1(d, v) MP_V(d),
#define MP_S1(d, op, a, b, c) MP_V(d),
#define MP_SI1(d, op, a, n) MP_V(d),
#define MP_P1(d, a, ...) MP_V(d),
#define MP_ESC1(m, fn)
#define MP_OUT1(r)
/* phase 2: the steps */
#define MP_K2(d, v)                                                                               \
  MP_STEP(K, MP_V(d), MATH_V_NONE, MATH_V_NONE, MATH_V_NONE, 0, MP_CAT(MP_KV, MP_LANE)(v), 0,    \
          NULL, NULL, NULL)
#define MP_KB2(d, v)                                                                              \
  MP_STEP(KB, MP_V(d), MATH_V_NONE, MATH_V_NONE, MATH_V_NONE, 0, 0.0,                           \
          MP_CAT(MP_KBV, MP_LANE)(v), NULL, NULL, NULL)
#define MP_S2(d, op, a, b, c)                                                                     \
  MP_STEP(op, MP_V(d), MP_V(a), MP_V(b), MP_V(c), 0, 0.0, 0, NULL, NULL, NULL)
#define MP_SI2(d, op, a, n)                                                                       \
  MP_STEP(op, MP_V(d), MP_V(a), MATH_V_NONE, MATH_V_NONE, n, 0.0, 0, NULL, NULL, NULL)
#define MP_P2_64(d, a, ...)                                                                       \
  MP_STEP(HORNER, MP_V(d), MP_V(a), MATH_V_NONE, MATH_V_NONE, MP_NCOEF(__VA_ARGS__), 0.0, 0,    \
          ((const double[]){__VA_ARGS__}), NULL, NULL)
#define MP_P2_32(d, a, ...)                                                                       \
  MP_STEP(HORNER, MP_V(d), MP_V(a), MATH_V_NONE, MATH_V_NONE, MP_NCOEF(__VA_ARGS__), 0.0, 0,    \
          NULL, NULL, ((const float[]){__VA_ARGS__}))
#define MP_P2(d, a, ...) MP_CAT(MP_P2_, MP_LANE)(d, a, __VA_ARGS__)
#define MP_ESC2(m, fn)                                                                            \
  MP_STEP(ESC, MATH_V_NONE, MP_V(m), MATH_V_NONE, MATH_V_NONE, 0, 0.0, 0, NULL, fn, NULL)
#define MP_OUT2(r)                                                                                \
  MP_STEP(OUT, MATH_V_NONE, MP_V(r), MATH_V_NONE, MATH_V_NONE, 0, 0.0, 0, NULL, NULL, NULL)

#define MP_BEGIN(name, fn, dt, nin) enum { MP_V(x), MP_V(y), MP_V(_),
#define MP_MID(name, fn, dt, nin)                                                                 \
  MP_V(count_)                                                                                    \
  }                                                                                               \
  ;                                                                                               \
  _Static_assert((int)MP_V(x) == (int)MATH_V_X && (int)MP_V(_) == (int)MATH_V_NONE, "values");               \
  _Static_assert(MP_V(count_) <= 255, #name ": too many values");                                 \
  static const MathStep mt_steps_##name[] = {
#define MP_END(name, fn, dt, nin)                                                                 \
  }                                                                                               \
  ;                                                                                               \
  _Static_assert(MP_LANE == 64 || (MP_LANE == 32 && dt == BUD_FLOAT32), #name ": lane width"); \
  static const MathProg mt_##name = {#name, MATH_##fn, dt, nin, MP_LANE, MP_V(count_),          \
                                     mt_steps_##name, (int)BUD_ARRAY_LEN(mt_steps_##name)};

#include "math/progs.h"

#undef MP_BEGIN
#undef MP_MID
#undef MP_END
#define MP_BEGIN(name, fn, dt, nin) &mt_##name,
#define MP_MID(name, fn, dt, nin)
#define MP_END(name, fn, dt, nin)
#undef MP_K1
#undef MP_KB1
#undef MP_S1
#undef MP_SI1
#undef MP_P1
#undef MP_K2
#undef MP_KB2
#undef MP_S2
#undef MP_SI2
#undef MP_P2
#undef MP_P2_64
#undef MP_P2_32
#undef MP_ESC2
#undef MP_OUT2
#define MP_K1(d, v)
#define MP_KB1(d, v)
#define MP_S1(d, op, a, b, c)
#define MP_SI1(d, op, a, n)
#define MP_P1(d, a, ...)
#define MP_K2(d, v)
#define MP_KB2(d, v)
#define MP_S2(d, op, a, b, c)
#define MP_SI2(d, op, a, n)
#define MP_P2(d, a, ...)
#define MP_ESC2(m, fn)
#define MP_OUT2(r)

static const MathProg *const mt_all[] = {
#include "math/progs.h"
};

const MathProg *math_tab_prog(MathFn fn, BudDType dt) {
  for (size_t i = 0; i < BUD_ARRAY_LEN(mt_all); i++)
    if (mt_all[i]->fn == fn && mt_all[i]->dt == dt) return mt_all[i];
  return NULL;
}

/* The table's meaning, one lane at a time (tests compare it with math_eval bit for bit). */
static uint64_t mt_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}
static double mt_dbl(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

static uint32_t mt_bits32(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static float mt_flt(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* 32-bit lanes: float arithmetic, 32-bit bits (mops.def, the second x86 form). */
static float mt_run32(const MathProg *p, float x, float y) {
  float v[256];
  v[MATH_V_X] = x;
  v[MATH_V_Y] = y;
  v[MATH_V_NONE] = 0.0f;
  for (int i = 0; i < p->nsteps; i++) {
    const MathStep *s = &p->steps[i];
    float a = v[s->a], b = v[s->b], c = v[s->c], r = 0.0f;
    uint32_t ua = mt_bits32(a), ub = mt_bits32(b), ones = ~(uint32_t)0;
    switch ((MathOp)s->op) {
    case MOP_K: r = (float)s->k; break;
    case MOP_KB: r = mt_flt((uint32_t)s->bits); break;
    case MOP_MOV: r = a; break;
    case MOP_ADD: r = a + b; break;
    case MOP_SUB: r = a - b; break;
    case MOP_MUL: r = a * b; break;
    case MOP_DIV: r = a / b; break;
    case MOP_SQRT: r = sqrtf(a); break;
    case MOP_FMA: r = fmaf(a, b, c); break;
    case MOP_FNMA: r = fmaf(-a, b, c); break;
    case MOP_MAX: r = a > b ? a : b; break;
    case MOP_MIN: r = a < b ? a : b; break;
    case MOP_CLT: r = mt_flt(a < b ? ones : 0); break;
    case MOP_CLE: r = mt_flt(a <= b ? ones : 0); break;
    case MOP_CEQ: r = mt_flt(a == b ? ones : 0); break;
    case MOP_CUNORD: r = mt_flt(a != a || b != b ? ones : 0); break;
    case MOP_AND: r = mt_flt(ua & ub); break;
    case MOP_OR: r = mt_flt(ua | ub); break;
    case MOP_XOR: r = mt_flt(ua ^ ub); break;
    case MOP_ANDN: r = mt_flt(~ua & ub); break;
    case MOP_SEL: r = (int32_t)ua < 0 ? b : c; break;
    case MOP_IADD: r = mt_flt(ua + ub); break;
    case MOP_ISUB: r = mt_flt(ua - ub); break;
    case MOP_ICGT: r = mt_flt((int32_t)ua > (int32_t)ub ? ones : 0); break;
    case MOP_SHL: r = mt_flt(ua << s->n); break;
    case MOP_SHR: r = mt_flt(ua >> s->n); break;
    case MOP_SRA: r = mt_flt((int32_t)ua < 0 ? ~(~ua >> s->n) : ua >> s->n); break;
    case MOP_CVTF: r = (float)(int32_t)ua; break;
    case MOP_HORNER:
      r = s->coef32[s->n - 1];
      for (int j = s->n - 2; j >= 0; j--) r = fmaf(r, a, s->coef32[j]);
      break;
    case MOP_ESC:
      if ((int32_t)ua < 0) {
        r = (float)s->esc(x, y);
        return r != r ? mt_flt(0x7fc00000u) : r;
      }
      continue;
    case MOP_OUT: return a != a ? mt_flt(0x7fc00000u) : a;
    case MOP_COUNT: break;
    }
    v[s->d] = r;
  }
  return NAN; /* no OUT: not reached for a valid table */
}

double math_prog_run(const MathProg *p, double x, double y) {
  if (p->lanebits == 32) return mt_run32(p, (float)x, (float)y);
  double v[256];
  v[MATH_V_X] = x;
  v[MATH_V_Y] = y;
  v[MATH_V_NONE] = 0.0;
  for (int i = 0; i < p->nsteps; i++) {
    const MathStep *s = &p->steps[i];
    double a = v[s->a], b = v[s->b], c = v[s->c], r = 0.0;
    uint64_t ones = ~(uint64_t)0;
    switch ((MathOp)s->op) {
    case MOP_K: r = s->k; break;
    case MOP_KB: r = mt_dbl(s->bits); break;
    case MOP_MOV: r = a; break;
    case MOP_ADD: r = a + b; break;
    case MOP_SUB: r = a - b; break;
    case MOP_MUL: r = a * b; break;
    case MOP_DIV: r = a / b; break;
    case MOP_SQRT: r = sqrt(a); break;
    case MOP_FMA: r = fma(a, b, c); break;
    case MOP_FNMA: r = fma(-a, b, c); break;
    case MOP_MAX: r = a > b ? a : b; break;
    case MOP_MIN: r = a < b ? a : b; break;
    case MOP_CLT: r = mt_dbl(a < b ? ones : 0); break;
    case MOP_CLE: r = mt_dbl(a <= b ? ones : 0); break;
    case MOP_CEQ: r = mt_dbl(a == b ? ones : 0); break;
    case MOP_CUNORD: r = mt_dbl(a != a || b != b ? ones : 0); break;
    case MOP_AND: r = mt_dbl(mt_bits(a) & mt_bits(b)); break;
    case MOP_OR: r = mt_dbl(mt_bits(a) | mt_bits(b)); break;
    case MOP_XOR: r = mt_dbl(mt_bits(a) ^ mt_bits(b)); break;
    case MOP_ANDN: r = mt_dbl(~mt_bits(a) & mt_bits(b)); break;
    case MOP_SEL: r = (int64_t)mt_bits(a) < 0 ? b : c; break;
    case MOP_IADD: r = mt_dbl(mt_bits(a) + mt_bits(b)); break;
    case MOP_ISUB: r = mt_dbl(mt_bits(a) - mt_bits(b)); break;
    case MOP_SHL: r = mt_dbl(mt_bits(a) << s->n); break;
    case MOP_SHR: r = mt_dbl(mt_bits(a) >> s->n); break;
    case MOP_ICGT: r = mt_dbl((int64_t)mt_bits(a) > (int64_t)mt_bits(b) ? ones : 0); break;
    case MOP_SRA: /* not at 64 bits (the table test refuses it) */
    case MOP_CVTF: return NAN;
    case MOP_HORNER:
      r = s->coef[s->n - 1];
      for (int j = s->n - 2; j >= 0; j--) r = fma(r, a, s->coef[j]);
      break;
    case MOP_ESC:
      if ((int64_t)mt_bits(a) < 0) {
        r = s->esc(x, y);
        return r != r ? mt_dbl(0x7ff8000000000000ull) : r;
      }
      continue;
    case MOP_OUT: return a != a ? mt_dbl(0x7ff8000000000000ull) : a;
    case MOP_COUNT: break;
    }
    v[s->d] = r;
  }
  return NAN; /* no OUT: not reached for a valid table */
}
