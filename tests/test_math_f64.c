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
  case MATH_tanh:
    return tanhl(lx);
  case MATH_sinh:
    return sinhl(lx);
  case MATH_cosh:
    return coshl(lx);
  case MATH_arctan2:
    return atan2l(lx, ly);
  case MATH_arcsinh:
    return asinhl(lx);
  case MATH_arccosh:
    return acoshl(lx);
  case MATH_arctanh:
    return atanhl(lx);
  case MATH_pow:
    return powl(lx, ly);
  case MATH_erf:
    return erfl(lx);
  case MATH_sigmoid:
    return 1.0L / (1.0L + expl(-lx));
  default:
    return NAN;
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
  case MATH_tanh:
    *x = kind == 1 ? s * 20 * u : rnd_log(-40, 5, 1);
    break;
  case MATH_sinh:
  case MATH_cosh:
    *x = kind == 1 ? s * 712 * u : rnd_log(-40, 4, 1);
    break;
  case MATH_sigmoid:
    *x = kind == 1 ? -750 + 790 * u : rnd_log(-40, 6, 1);
    break;
  case MATH_erf:
    *x = kind == 1 ? s * 6.5 * u : rnd_log(-40, 3, 1);
    break;
  case MATH_arcsinh:
    *x = kind == 1 ? s * 10 * u : rnd_log(-60, 60, 1);
    break;
  case MATH_arccosh:
    *x = kind == 1 ? 1 + rnd_log(-50, 2, 0) : rnd_log(0, 100, 0);
    break;
  case MATH_arctanh:
    *x = kind == 1 ? s * u : s * (1 - rnd_log(-53, -1, 0));
    break;
  case MATH_arctan2:
    *x = rnd_log(-30, 30, 1);
    *y = kind == 1 ? rnd_log(-30, 30, 1) : *x * (1 + s * rnd_log(-40, 0, 0));
    break;
  case MATH_pow:
    if (kind == 1)
      *x = rnd_log(-20, 20, 0), *y = s * 40 * u;
    else if (kind == 2)
      *x = 1 + s * rnd_log(-53, -1, 0), *y = s * rnd_log(0, 50, 0);
    else { /* results near the overflow / underflow thresholds */
      *x = rnd_log(-8, 8, 0);
      double l2 = log2(*x);
      *y = (s > 0 ? 1024 : -1074) / (l2 == 0 ? 1 : l2) * (1 + 0.01 * (rnd_unit() - 0.5));
      if (rnd64() & 1) *x = -*x, *y = rint(*y);
    }
    break;
  default:
    *x = s * 10 * u;
    break;
  }
}

static const double special[] = {
    0.0,
    -0.0,
    1.0,
    -1.0,
    2.0,
    -2.0,
    0.5,
    -0.5,
    3.0,
    -3.0,
    10.0,
    -10.0,
    0.1,
    1e-300,
    -1e-300,
    INFINITY,
    -INFINITY,
    NAN,
    DBL_MIN,
    -DBL_MIN,
    0x1p-1074,
    -0x1p-1074,
    0x1.fffffffffffffp-1023,
    DBL_MAX,
    -DBL_MAX,
    DBL_EPSILON,
    1.0 + DBL_EPSILON,
    1.0 - DBL_EPSILON / 2,
    -1.0 - DBL_EPSILON,
    -1.0 + DBL_EPSILON / 2,
    0x1p-28,
    0x1p-27,
    -0x1p-26,
    0x1p28,
    0x1p29,
    22.0,
    19.06,
    20.0,
    0.34657359,
    0.3465735902799726,
    0.84375,
    1.25,
    2.857142857142857,
    5.9,
    6.0,
    -6.0,
    27.0,
    37.0,
    37.5,
    40.0,
    36.7368005696771,
    709.782712893384,
    709.7827128933841,
    710.4758600739439,
    710.475860073944,
    -710.475860073944,
    711.0,
    -708.3964185322641,
    -745.1332191019411,
    -745.1332191019412,
    -746.0,
    1023.0,
    1024.0,
    -1074.0,
    -1075.0,
    1e22,
    0.7,
    -0.7,
    1.5,
    4.5,
    0.9999999999999999,
    1.0000000000000002,
    0x1.0000000000001p+0,
    0x1.fffffffffffffp-1,
    0x1.6a09e667f3bcdp-1,
    0x1.6a09e667f3bcdp+0,
    7.0,
    100.0,
    1e10,
    -1e10,
    0x1p-537,
    0x1p511,
    0x1p512,
    1e-320,
    0.25,
    -0.25,
    1.0 / 3,
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
        (isnan(rr) != isnan(r[i]) ||
         (!isnan(rr) && (r[i] != rr || signbit(r[i]) != signbit(rr))))) {
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
    for (int i = 0; i < m; i++)
      draw(fn, i % 4, &x[i], &y[i]);
    check_block(fn, p, x, y, m, 0, &acc);
  }
  printf(
      "  %-8s float64 max %.3f ULP over %ld inputs (%ld special; worst %s(%a, %a) = %a, ref %La)\n",
      math_fn_name(fn), acc.max_ulp, acc.n, nspec, math_fn_name(fn), acc.wx, acc.wy, acc.wr,
      acc.wref);
  CHECK_MSG(acc.max_ulp <= 1.0, "%s float64: %.3f ULP", math_fn_name(fn), acc.max_ulp);
  CHECK_MSG(acc.nspecial_bad == 0, "%s float64: %ld special values differ", math_fn_name(fn),
            acc.nspecial_bad);
  CHECK_MSG(acc.ntab_bad == 0, "%s float64: table vs C: %ld differ", math_fn_name(fn),
            acc.ntab_bad);
}

/* The reference itself at hard inputs: exact values from Python's decimal module (120 digits,
 * tools/math/f64_ref_cases.py, rows pasted below); the long double function must be within
 * 2^-60 of them (then the ULP errors above are measured to 1/128 ULP), and the program within
 * 1 ULP of the exact value. */
static const struct {
  MathFn fn;
  double x, y;
  const char *exact;
} ref_cases[] = {
    /* begin tools/math/f64_ref_cases.py */
    {MATH_tanh, 0x1p-28, 0, "3.7252902984619140452670705718119235358410e-9"},
    {MATH_tanh, 0x1.62e42fefa39efp-2, 0, "3.3333333333333332302645860512755722463043e-1"},
    {MATH_tanh, 0x1.6cb9ddf2d2281p-3, 0, "1.7622973521246744324277156717862077839010e-1"},
    {MATH_tanh, 0x1.3000000000000p+4, 0, "9.9999999999999993721734415903940939665164e-1"},
    {MATH_tanh, -0x1.6000000000000p+4, 0, "-9.9999999999999999984437735517732406969784e-1"},
    {MATH_sinh, 0x1.e1bebf987c0a2p-2, 0, "4.8800132056848930239270587071101871519345e-1"},
    {MATH_sinh, 0x1p-1, 0, "5.2109530549374736162242562641149155910593e-1"},
    {MATH_sinh, 0x1.633ce8fb9f87dp+9, 0, "1.7976931348621743820549823005751805231253e+308"},
    {MATH_sinh, -0x1.0a2ed3e3bf1dbp+0, 0, "-1.2375263830207823576702073530128373721142e+0"},
    {MATH_cosh, 0x1.633ce8fb9f87dp+9, 0, "1.7976931348621743820549823005751805231253e+308"},
    {MATH_cosh, 0x1.20def02f966abp+9, 0, "4.0644745089748055929233086903711419538261e+250"},
    {MATH_cosh, 0x1.62e786543285dp-2, 0, "1.0606646731113002677756661475748571065508e+0"},
    {MATH_sigmoid, -0x1.625de90369bb8p+9, 0, "1.5880949283553513206608537288095337620535e-308"},
    {MATH_sigmoid, -0x1.74910d52d3051p+9, 0, "2.4703282292064777865181698049834229227098e-324"},
    {MATH_sigmoid, 0x1.25e4f7b2737fap+5, 0, "9.9999999999999988897769753748428345641080e-1"},
    {MATH_sigmoid, 0x1p-1, 0, "6.2245933120185456463890056574550847875328e-1"},
    {MATH_arcsinh, 0x1p28, 0, "2.0101268236238413976569178474240734644958e+1"},
    {MATH_arcsinh, 0x1.7f9f9b47b1915p+85, 0, "6.0015141590444240904275986409707571438608e+1"},
    {MATH_arcsinh, 0x1.4f8b588e368f1p-17, 0, "9.9999999998333341513713724327444554094370e-6"},
    {MATH_arccosh, 0x1.0000002d8387p+0, 0, "1.4558160850867769157892504505707828794764e-4"},
    {MATH_arccosh, 0x1.0000000000001p+0, 0, "2.1073424255447015503547803751828000883925e-8"},
    {MATH_arccosh, 0x1.7e43c8800759cp+996, 0, "6.9146867507877365056731942878197185771874e+2"},
    {MATH_arctanh, 0x1.fffffffffffffp-1, 0, "1.8714973875118523326509691663741853057076e+1"},
    {MATH_arctanh, -0x1.3a412e4d6525cp-1, 0, "-7.1496134690324947279428107729301284945884e-1"},
    {MATH_arctanh, 0x1.12e0be826d695p-30, 0, "1.0000000000000000626149247911131898147120e-9"},
    {MATH_pow, -0x1.672f0b0dbdf01p-1, -0x1.f4p+10,
     "8.0636429158514498953726062409269004327711e+307"},
    {MATH_pow, 0x1.7d4432dc77096p+1, 0x1.59e545539992fp+2,
     "3.6466119023795053370266791866107032644248e+2"},
    {MATH_pow, 0x1.0000000000001p+0, 0x1p+60, "1.5114276650040605851621698456854492145624e+111"},
    {MATH_pow, 0x1p-1, 0x1.0c8p+10, "4.9406564584124654417656879286822137236506e-324"},
    {MATH_pow, 0x1.4p+3, 0x1.341p+8, "1.1547819846894581796664828872955082815669e+308"},
    {MATH_erf, 0x1.a4694f20d2d67p-13, 0, "2.2620364093733590581618498113749758878522e-4"},
    {MATH_erf, 0x1.a981c8bca6666p-1, 0, "7.6012850899007391062923210275032728717247e-1"},
    {MATH_erf, 0x1.4p+0, 0, "9.2290012825645823013652348119728114042360e-1"},
    {MATH_erf, 0x1.799999999999ap+2, 0, "9.9999999999999992809590216449522275143672e-1"},
    {MATH_erf, 0x1.b0p-1, 0, "7.6722566123234163345897816027413986045014e-1"},
    {MATH_arctan2, -0x1.0092449d76e7p-425, 0x1.511cc9ad9d8ep+595,
     "-6.7738847476325016148415037259817165100693e-308"},
    {MATH_arctan2, 0x1p0, -0x1p0, "2.3561944901923449288469825374596271631479e+0"},
    {MATH_arctan2, 0x1.8p1, 0x1p2, "6.4350110879328438680280922871732263804151e-1"},
    {MATH_arctan2, 0x1.b7cdfd9d7bdbbp-34, -0x1p0, "3.1415926534897932384626433796366164859807e+0"},
    /* end tools/math/f64_ref_cases.py */
};

static void test_reference(void) {
  for (size_t i = 0; i < BUD_ARRAY_LEN(ref_cases); i++) {
    MathFn fn = ref_cases[i].fn;
    double x = ref_cases[i].x, y = ref_cases[i].y, r;
    long double exact = strtold(ref_cases[i].exact, NULL), ld = ref(fn, x, y);
    long double rel = fabsl(ld - exact) / fabsl(exact);
    CHECK_MSG(rel <= 0x1p-60L, "reference %s(%a, %a): long double %La, exact %s (rel %Lg)",
              math_fn_name(fn), x, y, ld, ref_cases[i].exact, rel);
    math_eval_fn(fn, BUD_FLOAT64, &r, &x, &y, 1);
    double e = math_ulp_err_f64(r, exact);
    CHECK_MSG(e <= 1.0, "%s(%a, %a) = %a: %.3f ULP from the exact value", math_fn_name(fn), x, y, r,
              e);
  }
}

int main(int argc, char **argv) {
  long n = MT_SAN ? 20000 : 1000000;
  test_reference();
  if (argc > 1) n = atol(argv[1]);
  static const MathFn fns[] = {MATH_tanh,    MATH_sinh,    MATH_cosh, MATH_sigmoid, MATH_arcsinh,
                               MATH_arccosh, MATH_arctanh, MATH_pow,  MATH_erf,     MATH_arctan2};
  for (size_t i = 0; i < BUD_ARRAY_LEN(fns); i++) {
    if (argc > 2) {
      int want = 0;
      for (int a = 2; a < argc; a++)
        want |= !strcmp(argv[a], math_fn_name(fns[i]));
      if (!want) continue;
    }
    test_fn(fns[i], n);
  }
  return check_done("math_f64");
}
