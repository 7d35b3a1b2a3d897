/* test_math_f64.c — accuracy of the float64 programs written with double-double steps (tanh,
 * sinh, cosh, sigmoid, arctan2, arcsinh, arccosh, arctanh, pow, erf): per function 10^6 inputs
 * (release; 2*10^4 under sanitizers) — random bit patterns and uniform draws over several
 * ranges — plus hard and special cases (C99 Annex F values, overflow and underflow thresholds,
 * subnormals, pow's integer/non-integer exponents), against the x87 long double libm function
 * (64-bit significand: its own error, a few 2^-64, is far below the 1-ULP bound checked here;
 * test_math_ref checks it against exactly known values). Special results (zeros, infinities,
 * NaN) must match exactly, the step table (math_prog_run) must match math_eval bit for bit.
 * Max ULP and counts printed per function. The 10^7 run: build/math-exhaustive --f64 10000000. */
#define _GNU_SOURCE
#include "check.h"
#include "math/math.h"

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

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd64(void) { /* splitmix64 */
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static double rnd_unit(void) { return (double)(rnd64() >> 11) * 0x1p-53; }
static double rnd_bits(void) {
  uint64_t u = rnd64();
  double d;
  memcpy(&d, &u, 8);
  return d;
}
/* |v| log-uniform in [2^lo, 2^hi], random sign when sgn */
static double rnd_log(int lo, int hi, int sgn) {
  double v = exp2(lo + (hi - lo) * rnd_unit());
  return sgn && (rnd64() & 1) ? -v : v;
}

static long double ref(MathFn fn, double x, double y) {
  long double lx = x, ly = y;
  switch (fn) {
  case MATH_tanh: return tanhl(lx);
  case MATH_sinh: return sinhl(lx);
  case MATH_cosh: return coshl(lx);
  case MATH_arctan2: return atan2l(lx, ly);
  case MATH_arcsinh: return asinhl(lx);
  case MATH_arccosh: return acoshl(lx);
  case MATH_arctanh: return atanhl(lx);
  case MATH_pow: return powl(lx, ly);
  case MATH_erf: return erfl(lx);
  case MATH_sigmoid: return 1.0L / (1.0L + expl(-lx));
  default: return NAN;
  }
}

/* One random input pair for fn: kind 0 random bits, else a range where fn is interesting. */
static void draw(MathFn fn, int kind, double *x, double *y) {
  *y = 0;
  if (kind == 0) {
    *x = rnd_bits(), *y = rnd_bits();
    return;
  }
  double u = rnd_unit(), s = (rnd64() & 1) ? -1 : 1;
  switch (fn) {
  case MATH_tanh: *x = kind == 1 ? s * 20 * u : rnd_log(-40, 5, 1); break;
  case MATH_sinh: case MATH_cosh: *x = kind == 1 ? s * 712 * u : rnd_log(-40, 4, 1); break;
  case MATH_sigmoid: *x = kind == 1 ? -750 + 790 * u : rnd_log(-40, 6, 1); break;
  case MATH_erf: *x = kind == 1 ? s * 6.5 * u : rnd_log(-40, 3, 1); break;
  case MATH_arcsinh: *x = kind == 1 ? s * 10 * u : rnd_log(-60, 60, 1); break;
  case MATH_arccosh: *x = kind == 1 ? 1 + rnd_log(-50, 2, 0) : rnd_log(0, 100, 0); break;
  case MATH_arctanh: *x = kind == 1 ? s * u : s * (1 - rnd_log(-53, -1, 0)); break;
  case MATH_arctan2: *x = rnd_log(-30, 30, 1), *y = kind == 1 ? rnd_log(-30, 30, 1) : *x * (1 + s * rnd_log(-40, 0, 0)); break;
  case MATH_pow:
    if (kind == 1) *x = rnd_log(-20, 20, 0), *y = s * 40 * u;
    else if (kind == 2) *x = 1 + s * rnd_log(-53, -1, 0), *y = s * rnd_log(0, 50, 0);
    else { /* results near the overflow / underflow thresholds */
      *x = rnd_log(-8, 8, 0);
      double l2 = log2(*x);
      *y = (s > 0 ? 1024 : -1074) / (l2 == 0 ? 1 : l2) * (1 + 0.01 * (rnd_unit() - 0.5));
      if (rnd64() & 1) *x = -*x, *y = rint(*y);
    }
    break;
  default: *x = s * 10 * u; break;
  }
}

static const double special[] = {
    0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 10.0, -10.0, 0.1, 1e-300, -1e-300,
    INFINITY, -INFINITY, NAN, DBL_MIN, -DBL_MIN, 0x1p-1074, -0x1p-1074, 0x1.fffffffffffffp-1023,
    DBL_MAX, -DBL_MAX, DBL_EPSILON, 1.0 + DBL_EPSILON, 1.0 - DBL_EPSILON / 2, -1.0 - DBL_EPSILON,
    -1.0 + DBL_EPSILON / 2, 0x1p-28, 0x1p-27, -0x1p-26, 0x1p28, 0x1p29, 22.0, 19.06, 20.0, 0.34657359,
    0.3465735902799726, 0.84375, 1.25, 2.857142857142857, 5.9, 6.0, -6.0, 27.0, 37.0, 37.5, 40.0,
    36.7368005696771, 709.782712893384, 709.7827128933841, 710.4758600739439, 710.475860073944,
    -710.475860073944, 711.0, -708.3964185322641, -745.1332191019411, -745.1332191019412, -746.0,
    1023.0, 1024.0, -1074.0, -1075.0, 1e22, 0.7, -0.7, 1.5, 4.5, 0.9999999999999999, 1.0000000000000002,
    0x1.0000000000001p+0, 0x1.fffffffffffffp-1, 0x1.6a09e667f3bcdp-1, 0x1.6a09e667f3bcdp+0, 7.0,
    100.0, 1e10, -1e10, 0x1p-537, 0x1p511, 0x1p512, 1e-320, 0.25, -0.25, 1.0 / 3,
};

typedef struct {
  double max_ulp, wx, wy, wr;
  long double wref;
  long n, nspecial_bad, ntab_bad;
} Acc;

enum { CHUNK = 4096 };

static void check_block(MathFn fn, const MathProg *p, const double *x, const double *y, int m,
                        int special_block, Acc *acc) {
  static double r[CHUNK];
  math_eval_fn(fn, BUD_FLOAT64, r, x, y, m);
  for (int i = 0; i < m; i++) {
    long double rf = ref(fn, x[i], y[i]);
    double e = math_ulp_err_f64(r[i], rf);
    acc->n++;
    if (e > acc->max_ulp || e != e)
      acc->max_ulp = e, acc->wx = x[i], acc->wy = y[i], acc->wr = r[i], acc->wref = rf;
    double rr = (double)rf;
    if (special_block && (rr == 0 || isinf(rr) || isnan(rr)) &&
        (isnan(rr) != isnan(r[i]) || (!isnan(rr) && (r[i] != rr || signbit(r[i]) != signbit(rr))))) {
      if (acc->nspecial_bad++ < 8)
        fprintf(stderr, "  %s(%a, %a) = %a, want %a\n", math_fn_name(fn), x[i], y[i], r[i], rr);
    }
    if (special_block || i % 61 == 0) {
      double t = math_prog_run(p, x[i], y[i]);
      if (memcmp(&t, &r[i], 8) != 0 && acc->ntab_bad++ < 4)
        fprintf(stderr, "  %s(%a, %a): C %a table %a\n", math_fn_name(fn), x[i], y[i], r[i], t);
    }
  }
}

static void test_fn(MathFn fn, long n) {
  const MathProg *p = math_prog(fn, BUD_FLOAT64);
  CHECK_MSG(p != NULL, "%s: no float64 program", math_fn_name(fn));
  if (!p) return;
  int nin = math_fn_nin(fn);
  static double x[CHUNK], y[CHUNK];
  Acc acc = {0};
  long nsp = (long)BUD_ARRAY_LEN(special), nspec = nin == 2 ? nsp * nsp : nsp;
  for (long base = 0; base < nspec; base += CHUNK) {
    int m = 0;
    for (; m < CHUNK && base + m < nspec; m++) {
      long i = base + m;
      x[m] = special[nin == 2 ? i / nsp : i];
      y[m] = nin == 2 ? special[i % nsp] : 0.0;
    }
    check_block(fn, p, x, y, m, 1, &acc);
  }
  for (long done = 0; done < n; done += CHUNK) {
    int m = (int)(n - done < CHUNK ? n - done : CHUNK);
    for (int i = 0; i < m; i++) draw(fn, i % 4, &x[i], &y[i]);
    check_block(fn, p, x, y, m, 0, &acc);
  }
  printf("  %-8s float64 max %.3f ULP over %ld inputs (%ld special; worst %s(%a, %a) = %a, ref %La)\n",
         math_fn_name(fn), acc.max_ulp, acc.n, nspec, math_fn_name(fn), acc.wx, acc.wy, acc.wr,
         acc.wref);
  CHECK_MSG(acc.max_ulp <= 1.0, "%s float64: %.3f ULP", math_fn_name(fn), acc.max_ulp);
  CHECK_MSG(acc.nspecial_bad == 0, "%s float64: %ld special values differ", math_fn_name(fn),
            acc.nspecial_bad);
  CHECK_MSG(acc.ntab_bad == 0, "%s float64: table vs C: %ld differ", math_fn_name(fn), acc.ntab_bad);
}

int main(int argc, char **argv) {
  long n = MT_SAN ? 20000 : 1000000;
  if (argc > 1) n = atol(argv[1]);
  static const MathFn fns[] = {MATH_tanh,    MATH_sinh,    MATH_cosh,    MATH_sigmoid,
                               MATH_arcsinh, MATH_arccosh, MATH_arctanh, MATH_pow,
                               MATH_erf,     MATH_arctan2};
  for (size_t i = 0; i < BUD_ARRAY_LEN(fns); i++) {
    if (argc > 2) {
      int want = 0;
      for (int a = 2; a < argc; a++) want |= !strcmp(argv[a], math_fn_name(fns[i]));
      if (!want) continue;
    }
    test_fn(fns[i], n);
  }
  return check_done("math_f64");
}
