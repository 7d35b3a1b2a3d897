#!/usr/bin/python3
"""fit32.py — polynomial coefficients for the float-lane (lanebits 32) programs: least squares
on Chebyshev nodes (near minimax) in double, coefficients rounded to float32 and printed as C hex
floats (lowest degree first), with the max relative error of the rounded polynomial in double.
References are series or Python's double libm (double is ample for float32 fits).
Run: /usr/bin/python3 tools/math/fit32.py [name ...]"""
import math, sys
import numpy as np

def series(terms):
    return lambda x: math.fsum(c * x ** i for i, c in enumerate(terms))

def expq(r):   # (e^r - 1 - r) / r^2
    return math.fsum(r ** (n - 2) / math.factorial(n) for n in range(2, 24))

def fit(f, a, b, deg, fixed=()):
    """fixed: leading coefficients held (exact in float); the rest fitted to what remains."""
    n = 4000
    k = np.arange(n)
    t = np.cos(np.pi * (k + 0.5) / n) * (b - a) / 2 + (a + b) / 2
    y = np.array([f(v) for v in t])
    nf = len(fixed)
    rest = y - sum(c * t ** i for i, c in enumerate(fixed))
    # fit rest = t^nf * Q(t): weight so the error is relative to y
    A = np.stack([t ** (nf + j) for j in range(deg + 1 - nf)], axis=1)
    w = 1 / np.abs(y)
    q = np.linalg.lstsq(A * w[:, None], rest * w, rcond=None)[0]
    coef = np.concatenate([np.array(fixed, dtype=np.float64), q]).astype(np.float32)
    tt = np.linspace(a, b, 40001)
    yy = np.array([f(v) for v in tt])
    ev = np.polynomial.polynomial.polyval(tt, coef.astype(np.float64))
    return coef, float(np.max(np.abs((ev - yy) / yy)))

LN2 = math.log(2)
FITS = {
    # name: (function, interval, degree, fixed leading coefficients)
    "expP": (expq, -0.3466 - 0.002, 0.3466 + 0.002, 5, ()),
}

for name in (sys.argv[1:] or FITS):
    f, a, b, deg, fixed = FITS[name]
    coef, err = fit(f, a, b, deg, fixed)
    print("/* %s: [%g, %g] degree %d, max rel error %.2e (2^%.1f) */" % (name, a, b, deg, err, math.log2(err)))
    print("P(%s, ..., %s)" % (name, ", ".join(float(c).hex() for c in coef)))
