/* test_math.c — accuracy and consistency of src/math: for every function with a program, random
 * inputs (half random bit patterns, half a uniform range where the function is interesting) and
 * a list of special and hard cases, against libm's float64 function (float32 results) or the
 * x87 long double function (float64 results); max ULP per function printed. Also: the step
 * tables (math_prog) walked by math_prog_run agree bit for bit with math_eval, and a lane's
 * result does not depend on where it sits in the block (vector body vs scalar tail).
 * Counts: 10^7 float32 inputs in all (release), 10^5 under sanitizers, plus for every
 * one-operand float32 function 10^7 bit patterns in a stride over all 2^32 (2x10^4 under
 * sanitizers); the exhaustive run is tools/math/exhaustive.c (make math-exhaustive). */
#define _GNU_SOURCE
#include "check.h"
#include "math/math.h"
#include "math/math_int.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define MT_SAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT_SAN 1
#endif
#endif
#ifndef MT_SAN
#define MT_SAN 0
#endif

static uint64_t mt_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd64(void) { /* splitmix64 */
  uint64_t z = (mt_rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static double rnd_unit(void) { return (double)(rnd64() >> 11) * 0x1p-53; }
static float rnd_bits_f32(void) {
  uint32_t u = (uint32_t)rnd64();
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* Where each function is interesting (the other half of the inputs are random bit patterns). */
static void range_of(MathFn fn, double *lo, double *hi) {
  *lo = -10, *hi = 10;
  switch (fn) {
  case MATH_exp: case MATH_expm1: case MATH_sinh: case MATH_cosh: *lo = -105, *hi = 90; break;
  case MATH_exp2: *lo = -151, *hi = 129; break;
  case MATH_log: case MATH_log2: case MATH_log10: case MATH_cbrt: *lo = 0, *hi = 4; break;
  case MATH_log1p: *lo = -1, *hi = 4; break;
  case MATH_sin: case MATH_cos: case MATH_tan: *lo = -1000, *hi = 1000; break;
  case MATH_arcsin: case MATH_arccos: case MATH_arctanh: *lo = -1, *hi = 1; break;
  case MATH_arccosh: *lo = 1, *hi = 5; break;
  case MATH_erf: case MATH_tanh: *lo = -5, *hi = 5; break;
  case MATH_sigmoid: *lo = -110, *hi = 30; break;
  case MATH_pow: *lo = 0, *hi = 4; break;
  default: break;
  }
}

static double ref_f32(MathFn fn, float x, float y) {
  if (fn == MATH_sigmoid) return 1.0 / (1.0 + exp(-(double)x));
  return math_libm(fn, BUD_FLOAT64, x, y);
}

/* Special and hard cases, both operands drawn from this list for two-operand functions. */
static const float special_f32[] = {
    0.0f, -0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f, -0.5f, 3.0f, -3.0f, 10.0f, 1000.0f, 0.1f,
    INFINITY, -INFINITY, NAN, -NAN, FLT_MIN, -FLT_MIN, 0x1p-149f, -0x1p-149f, 0x1.fffffcp-127f,
    FLT_MAX, -FLT_MAX, FLT_EPSILON, 1.0f + FLT_EPSILON, 1.0f - FLT_EPSILON / 2,
    88.72283f, 88.72284f, -87.33654f, -103.97208f, -103.97209f, -104.0f, 89.41599f, 89.416f,
    127.99999f, 128.0f, -126.0f, -149.0f, -150.0f, 0.6931472f, 1.5707964f, 3.1415927f, 4.712389f,
    6.2831855f, 1e20f, 1048576.0f, 1048577.0f, 0x1.921fb6p+24f, 3.4e38f, 0.99999994f, 1.0000001f,
    -0.99999994f, 1e-20f, -1e-20f, 1e-40f, 22.0f, 0.25f, 5.0f, 9.0f, 0.3333333f, 7.0f, 100.0f,
    0x1.99bc5cp+27f, 0x1.8c9bdep+29f, 0x1.fe8008p+125f, 0x1.8ca4a6p+84f, 0x1.555558p-3f,
};

typedef struct {
  double max_ulp;
  float worst_x, worst_y;
  float worst_r;
  double worst_ref;
  long n;
} Acc;

static void acc_add(Acc *a, float x, float y, float r, double ref) {
  double e = math_ulp_err_f32(r, ref);
  a->n++;
  if (e > a->max_ulp || (e != e)) {
    a->max_ulp = e;
    a->worst_x = x, a->worst_y = y, a->worst_r = r, a->worst_ref = ref;
  }
}

enum { CHUNK = 4096 };

static void test_f32(MathFn fn, long n, long nstride) {
  const MathProg *p = math_prog(fn, BUD_FLOAT32);
  int nin = math_fn_nin(fn);
  static float x[CHUNK], y[CHUNK], r[CHUNK], r1[1];
  Acc acc = {0};
  double lo, hi;
  range_of(fn, &lo, &hi);
  long nsp = (long)BUD_ARRAY_LEN(special_f32);
  long ntab = 0, ntab_bad = 0, npos_bad = 0, nsign_bad = 0;
  /* specials first: every one (or every pair) */
  for (long base = 0; base < (nin == 2 ? nsp * nsp : nsp); base += CHUNK) {
    int m = 0;
    for (long i = base; i < (nin == 2 ? nsp * nsp : nsp) && m < CHUNK; i++, m++) {
      x[m] = special_f32[nin == 2 ? i / nsp : i];
      y[m] = nin == 2 ? special_f32[i % nsp] : 0.0f;
    }
    math_eval_fn(fn, BUD_FLOAT32, r, x, y, m);
    for (int i = 0; i < m; i++) {
      double ref = ref_f32(fn, x[i], y[i]);
      acc_add(&acc, x[i], y[i], r[i], ref);
      /* exact special values: the sign of zero and infinity must match the reference */
      float rr = (float)ref;
      if ((rr == 0 || isinf(rr)) && !isnan(r[i]) && (signbit(r[i]) != signbit(rr) || r[i] != rr)) {
        if (nsign_bad++ < 8)
          fprintf(stderr, "  %s(%a, %a) = %a, want %a\n", math_fn_name(fn), x[i], y[i], r[i], rr);
      }
    }
  }
  for (long done = 0; done < n; done += CHUNK) {
    int m = (int)(n - done < CHUNK ? n - done : CHUNK);
    for (int i = 0; i < m; i++) {
      if (i & 1) {
        x[i] = rnd_bits_f32();
        y[i] = rnd_bits_f32();
      } else {
        x[i] = (float)(lo + (hi - lo) * rnd_unit());
        y[i] = (float)(-10 + 20 * rnd_unit());
      }
    }
    math_eval_fn(fn, BUD_FLOAT32, r, x, y, m);
    for (int i = 0; i < m; i++) acc_add(&acc, x[i], y[i], r[i], ref_f32(fn, x[i], y[i]));
    /* a few lanes again: alone (scalar path), and through the step table */
    for (int i = 0; i < m; i += 61) {
      math_eval_fn(fn, BUD_FLOAT32, r1, &x[i], &y[i], 1);
      if (memcmp(r1, &r[i], 4) != 0 && npos_bad++ < 4)
        fprintf(stderr, "  %s(%a): block %a alone %a\n", math_fn_name(fn), x[i], r[i], r1[0]);
      if (p) {
        float t = (float)math_prog_run(p, x[i], y[i]);
        ntab++;
        if (memcmp(&t, &r[i], 4) != 0 && ntab_bad++ < 4)
          fprintf(stderr, "  %s(%a): C %a table %a\n", math_fn_name(fn), x[i], r[i], t);
      }
    }
  }
  /* one-operand functions: a stride over all 2^32 bit patterns (every binade, both signs,
   * subnormals, NaNs), nstride of them */
  if (nin == 1) {
    uint32_t stride = (uint32_t)(((uint64_t)1 << 32) / (uint64_t)nstride) | 1u;
    for (long done = 0; done < nstride; done += CHUNK) {
      int m = (int)(nstride - done < CHUNK ? nstride - done : CHUNK);
      for (int i = 0; i < m; i++) {
        uint32_t u = (uint32_t)(done + i) * stride + 0x9e37u;
        memcpy(&x[i], &u, 4);
        y[i] = 0.0f;
      }
      math_eval_fn(fn, BUD_FLOAT32, r, x, y, m);
      for (int i = 0; i < m; i++) acc_add(&acc, x[i], y[i], r[i], ref_f32(fn, x[i], y[i]));
      for (int i = 0; p && i < m; i += 997) {
        float t = (float)math_prog_run(p, x[i], y[i]);
        ntab++;
        if (memcmp(&t, &r[i], 4) != 0 && ntab_bad++ < 4)
          fprintf(stderr, "  %s(%a): C %a table %a\n", math_fn_name(fn), x[i], r[i], t);
      }
    }
  }
  printf("  %-8s float32 %s max %.3f ULP over %ld inputs (worst %s(%a%s) = %a, ref %a)\n",
         math_fn_name(fn), p ? "program" : "libm   ", acc.max_ulp, acc.n, math_fn_name(fn),
         acc.worst_x, nin == 2 ? ", y" : "", acc.worst_r,
         acc.worst_ref);
  if (p) {
    CHECK_MSG(acc.max_ulp <= 1.0, "%s float32: %.3f ULP", math_fn_name(fn), acc.max_ulp);
    CHECK_MSG(nsign_bad == 0, "%s float32: %ld special values differ", math_fn_name(fn), nsign_bad);
    CHECK_MSG(ntab_bad == 0, "%s float32: table vs C: %ld of %ld differ", math_fn_name(fn),
              ntab_bad, ntab);
    CHECK_MSG(npos_bad == 0, "%s float32: lane alone differs %ld times", math_fn_name(fn), npos_bad);
  }
}

static long double ref_f64(MathFn fn, double x, double y) {
  long double lx = x, ly = y;
  switch (fn) {
  case MATH_exp: return expl(lx);
  case MATH_exp2: return exp2l(lx);
  case MATH_expm1: return expm1l(lx);
  case MATH_log: return logl(lx);
  case MATH_log2: return log2l(lx);
  case MATH_log10: return log10l(lx);
  case MATH_log1p: return log1pl(lx);
  case MATH_sin: return sinl(lx);
  case MATH_cos: return cosl(lx);
  case MATH_tan: return tanl(lx);
  case MATH_tanh: return tanhl(lx);
  case MATH_sinh: return sinhl(lx);
  case MATH_cosh: return coshl(lx);
  case MATH_arcsin: return asinl(lx);
  case MATH_arccos: return acosl(lx);
  case MATH_arctan: return atanl(lx);
  case MATH_arctan2: return atan2l(lx, ly);
  case MATH_arcsinh: return asinhl(lx);
  case MATH_arccosh: return acoshl(lx);
  case MATH_arctanh: return atanhl(lx);
  case MATH_pow: return powl(lx, ly);
  case MATH_hypot: return hypotl(lx, ly);
  case MATH_cbrt: return cbrtl(lx);
  case MATH_erf: return erfl(lx);
  case MATH_sigmoid: return 1.0L / (1.0L + expl(-lx));
  case MATH_FN_COUNT: break;
  }
  return NAN;
}

static double rnd_bits_f64(void) {
  uint64_t u = rnd64();
  double d;
  memcpy(&d, &u, 8);
  return d;
}

static const double special_f64[] = {
    0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0, 10.0, 1000.0, 0.1, 1e-300, -1e-300,
    INFINITY, -INFINITY, NAN, DBL_MIN, -DBL_MIN, 0x1p-1074, 0x1.fffffffffffffp-1023, DBL_MAX,
    -DBL_MAX, DBL_EPSILON, 1.0 + DBL_EPSILON, 1.0 - DBL_EPSILON / 2, 709.782712893384,
    709.7827128933841, -708.3964185322641, -745.1332191019411, -745.1332191019412, -746.0,
    1023.9999999999999, 1024.0, -1022.0, -1074.0, -1075.0, -1075.5, 0.6931471805599453, 7.0, 100.0,
    0x1.6a09e667f3bcdp-1, 0x1.6a09e667f3bccp-1, 0x1.0000000000001p+0, 0x1.fffffffffffffp-1,
    /* near multiples of pi/2 (reduction hard cases), and the escape threshold */
    0x1.921fb54442d18p+0, 0x1.921fb54442d18p+1, 0x1.2d97c7f3321d2p+2, 0x1.921fb54442d18p+2,
    0x1.3a28c59d5433bp+8, 0x1.3a28c59d5433bp+18, 0x1.6c6cbc45dc8dep+7, 0x1.fffffffffffffp+19, 0x1p20,
    0x1.0000000000001p+20, 1e22, 0x1.5e9f1ee4d4d47p-2, 0x1.0p-30, -0x1.921fb54442d18p+0,
    /* the doubles below 2^20 closest to multiples of pi/2 (a __float128 search over every k) */
    0x1.6c6cbc45dc8dep+5, 0x1.6c6cbc45dc8dep+6, 0x1.6c6cbc45dc8dep+8, 0x1.6c6cbc45dc8dep+9,
    0x1.6c6cbc45dc8dep+10, 0x1.6c6cbc45dc8dep+11, 0x1.6c6cbc45dc8dep+12, 0x1.39c6fd67805a7p+18,
    0x1.39c6fd67805a7p+19, -0x1.6c6cbc45dc8dep+9,
};

/* float64: random bit patterns and the interesting range against long double libm. */
static void test_f64(MathFn fn, long n) {
  const MathProg *p = math_prog(fn, BUD_FLOAT64);
  if (!p) return;
  static double x[CHUNK], y[CHUNK], r[CHUNK];
  double lo, hi, maxe = 0, wx = 0, wr = 0;
  long double wref = 0;
  long nbad_special = 0, ntab_bad = 0, cnt = 0;
  range_of(fn, &lo, &hi);
  if (fn == MATH_exp2) lo = -1080, hi = 1030;
  if (fn == MATH_exp) lo = -750, hi = 712;
  int nin = math_fn_nin(fn);
  long nsp = (long)BUD_ARRAY_LEN(special_f64), nspec = nin == 2 ? nsp * nsp : nsp;
  for (long done = -nspec; done < n; done += CHUNK) {
    int m = 0;
    if (done < 0) { /* every special value, or every pair of them */
      long base = done + nspec;
      for (; m < CHUNK && base + m < nspec; m++) {
        long i = base + m;
        x[m] = special_f64[nin == 2 ? i / nsp : i];
        y[m] = nin == 2 ? special_f64[i % nsp] : 0.0;
      }
      if (done + CHUNK > 0) done = -CHUNK; /* the random part starts at 0 */
    } else {
      m = (int)(n - done < CHUNK ? n - done : CHUNK);
      for (int i = 0; i < m; i++) {
        x[i] = (i & 1) ? rnd_bits_f64() : lo + (hi - lo) * rnd_unit();
        y[i] = (i & 1) ? rnd_bits_f64() : -10 + 20 * rnd_unit();
      }
    }
    math_eval_fn(fn, BUD_FLOAT64, r, x, y, m);
    for (int i = 0; i < m; i++) {
      long double ref = ref_f64(fn, x[i], y[i]);
      double e = math_ulp_err_f64(r[i], ref);
      cnt++;
      if (e > maxe) maxe = e, wx = x[i], wr = r[i], wref = ref;
      double rr = (double)ref;
      if (done < 0 && (rr == 0 || isinf(rr)) && !isnan(r[i]) && (r[i] != rr || signbit(r[i]) != signbit(rr)))
        if (nbad_special++ < 8) fprintf(stderr, "  %s(%a) = %a, want %a\n", math_fn_name(fn), x[i], r[i], rr);
      if (i % 61 == 0) {
        double t = math_prog_run(p, x[i], y[i]);
        if (memcmp(&t, &r[i], 8) != 0 && ntab_bad++ < 4)
          fprintf(stderr, "  %s(%a): C %a table %a\n", math_fn_name(fn), x[i], r[i], t);
      }
    }
  }
  printf("  %-8s float64 program max %.3f ULP over %ld inputs (worst %s(%a%s) = %a, ref %La)\n",
         math_fn_name(fn), maxe, cnt, math_fn_name(fn), wx, nin == 2 ? ", y" : "", wr, wref);
  CHECK_MSG(maxe <= 1.0, "%s float64: %.3f ULP", math_fn_name(fn), maxe);
  CHECK_MSG(nbad_special == 0, "%s float64: %ld special values differ", math_fn_name(fn), nbad_special);
  CHECK_MSG(ntab_bad == 0, "%s float64: table vs C: %ld differ", math_fn_name(fn), ntab_bad);
}

/* How many value operands each op reads (a, then b, then c); the rest must be MATH_V_NONE. */
static int op_arity(MathOp op) {
  switch (op) {
  case MOP_K: case MOP_KB: return 0;
  case MOP_MOV: case MOP_SQRT: case MOP_SHL: case MOP_SHR: case MOP_SRA: case MOP_CVTF:
  case MOP_HORNER: case MOP_ESC: case MOP_OUT: return 1;
  case MOP_FMA: case MOP_FNMA: case MOP_SEL: return 3;
  default: return 2;
  }
}

/* The tables are well formed: single assignment (each step but ESC/OUT defines the next value
 * number, every operand is defined before its use, unused operands are MATH_V_NONE), one OUT at
 * the end, ops and constants valid for the lane width (lanebits 32: K values are floats exactly,
 * KB bits fit 32 bits, HORNER has float coefficients, shift counts below 32; 64: no SRA/CVTF). */
static void test_tables(void) {
  int n32 = 0;
  for (int f = 0; f < MATH_FN_COUNT; f++) {
    for (int d = 0; d < 2; d++) {
      const MathProg *p = math_prog((MathFn)f, d ? BUD_FLOAT64 : BUD_FLOAT32);
      if (!p) continue;
      int lb = p->lanebits;
      n32 += lb == 32;
      int ok = p->nsteps > 0 && p->steps[p->nsteps - 1].op == MOP_OUT && p->nin == math_fn_nin(p->fn);
      ok &= lb == 64 || (lb == 32 && p->dt == BUD_FLOAT32);
      CHECK_MSG(ok, "table %s: header", p->name);
      int next = MATH_V_FIRST;
      for (int i = 0; i < p->nsteps && ok; i++) {
        const MathStep *s = &p->steps[i];
        int ar = op_arity((MathOp)s->op);
        const uint8_t opv[3] = {s->a, s->b, s->c};
        for (int k = 0; k < 3; k++) {
          if (opv[k] >= next) ok = 0;                              /* used before defined */
          if (k >= ar && opv[k] != MATH_V_NONE) ok = 0;            /* stray operand */
          if (k < ar && opv[k] == MATH_V_NONE) ok = 0;
        }
        if (p->nin == 1 && ar > 0 && (s->a == MATH_V_Y || s->b == MATH_V_Y || s->c == MATH_V_Y)) ok = 0;
        switch ((MathOp)s->op) {
        case MOP_ESC: ok &= s->esc != NULL; break;
        case MOP_HORNER:
          ok &= s->n >= 1 && (lb == 32 ? s->coef32 != NULL && s->coef == NULL : s->coef != NULL);
          break;
        case MOP_K: ok &= lb == 64 || (double)(float)s->k == s->k || s->k != s->k; break;
        case MOP_KB: ok &= lb == 64 || s->bits >> 32 == 0; break;
        case MOP_SHL: case MOP_SHR: ok &= s->n < lb; break;
        case MOP_SRA: ok &= lb == 32 && s->n < 32; break;
        case MOP_CVTF: ok &= lb == 32; break;
        default: break;
        }
        if (s->op != MOP_ESC && s->op != MOP_OUT) ok &= s->d == next++;
        else ok &= s->d == MATH_V_NONE;
        if (!ok) fprintf(stderr, "  %s: step %d (op %d) malformed\n", p->name, i, s->op);
      }
      ok &= next == p->nvalues;
      CHECK_MSG(ok, "table %s malformed", p->name);
    }
  }
  CHECK_MSG(n32 >= 1, "no float-lane programs");
}

/* The baseline build (SSE2 vectors, libm's fma) and the AVX2 + FMA build give the same bits. */
static void test_isa_paths(void) {
  enum { M = 1000 };
  static double x[M], y[M], r1[M], r3[M];
  for (int f = 0; f < MATH_FN_COUNT; f++) {
    for (int d = 0; d < 2; d++) {
      BudDType dt = d ? BUD_FLOAT64 : BUD_FLOAT32;
      MathLoop base = math_c_loop_isa((MathFn)f, dt, false), v3 = math_c_loop_isa((MathFn)f, dt, true);
      if (!base) continue;
      for (int i = 0; i < M; i++) {
        double a = (i & 1) ? -30 + 60 * rnd_unit() : (d ? rnd_bits_f64() : rnd_bits_f32());
        double b = -4 + 8 * rnd_unit();
        if (d) x[i] = a, y[i] = b;
        else ((float *)x)[i] = (float)a, ((float *)y)[i] = (float)b;
      }
      base(r1, x, y, M);
      v3(r3, x, y, M);
      CHECK_MSG(memcmp(r1, r3, (size_t)M * (d ? 8 : 4)) == 0, "%s %s: baseline and AVX2+FMA differ",
                math_fn_name((MathFn)f), d ? "float64" : "float32");
    }
  }
}

int main(void) {
  test_isa_paths();
  test_tables();
  long total = MT_SAN ? 100000 : 10000000;
  int nprog = 0;
  for (int f = 0; f < MATH_FN_COUNT; f++) nprog += math_prog((MathFn)f, BUD_FLOAT32) != NULL;
  for (int f = 0; f < MATH_FN_COUNT; f++)
    if (math_prog((MathFn)f, BUD_FLOAT32)) test_f32((MathFn)f, total / nprog, MT_SAN ? 20000 : 10000000);
  for (int f = 0; f < MATH_FN_COUNT; f++) test_f64((MathFn)f, MT_SAN ? 10000 : 200000);
  return check_done("math");
}
