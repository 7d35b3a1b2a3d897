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

def logq(f):   # (log1p(f) - f) / f^2
    if abs(f) < 0.05:
        return math.fsum((-1) ** (n + 1) * f ** (n - 2) / n for n in range(2, 40))
    return (math.log1p(f) - f) / (f * f)

def sinS(z):    # (sin(r) - r) / r^3, r = sqrt(z)
    return math.fsum((-1) ** n * z ** (n - 1) / math.factorial(2 * n + 1) for n in range(1, 20))

def cosC(z):    # (cos(r) - 1 + r^2/2) / r^4
    return math.fsum((-1) ** n * z ** (n - 2) / math.factorial(2 * n) for n in range(2, 20))

def sinhS(z):   # (sinh(a) - a) / a^3, a = sqrt(z)
    return math.fsum(z ** (n - 1) / math.factorial(2 * n + 1) for n in range(1, 20))

LN2 = math.log(2)
S2 = math.sqrt(2)
FITS = {
    # name: (function, interval, degree, fixed leading coefficients)
    "expP": (expq, -0.3466 - 0.002, 0.3466 + 0.002, 5, ()),
    "logP": (logq, 1 / S2 - 1, S2 - 1, 8, ()),
    "sinS": (sinS, 0.0, (math.pi / 4 + 0.01) ** 2, 3, ()),
    "cosC": (cosC, 0.0, (math.pi / 4 + 0.01) ** 2, 3, ()),
    "sinhS": (sinhS, 0.0, 0.25, 3, ()),
    "logP9": (logq, 1 / S2 - 1, S2 - 1, 9, ()),
    "log2P9": (lambda f: logq(f) / LN2, 1 / S2 - 1, S2 - 1, 9, ()),
    "log10P9": (lambda f: logq(f) / math.log(10), 1 / S2 - 1, S2 - 1, 9, ()),
    "logP10": (logq, 1 / S2 - 1, S2 - 1, 10, ()),
}

for name in (sys.argv[1:] or FITS):
    f, a, b, deg, fixed = FITS[name]
    coef, err = fit(f, a, b, deg, fixed)
    print("/* %s: [%g, %g] degree %d, max rel error %.2e (2^%.1f) */" % (name, a, b, deg, err, math.log2(err)))
    print("P(%s, ..., %s)" % (name, ", ".join(float(c).hex() for c in coef)))
