#!/usr/bin/python3
"""fit.py — polynomial coefficients for src/math/*.def programs that are fitted here rather than
taken from fdlibm: least squares on 4000 Chebyshev nodes (near minimax), reference = Python's
double libm, printed as C hex floats (lowest degree first). Run: /usr/bin/python3 tools/math/fit.py
Only the float32-in-double programs use these (they need ~1e-11 relative error, far below the
2^-25 that rounding to float32 needs)."""
import math
import numpy as np

def fit(f, a, b, deg, center):
    n = 4000
    k = np.arange(n)
    t = np.cos(np.pi * (k + 0.5) / n) * (b - a) / 2 + (a + b) / 2
    y = np.array([f(v) for v in t])
    c = np.polynomial.chebyshev.Chebyshev.fit(t - center, y, deg, domain=[a - center, b - center])
    coef = c.convert(kind=np.polynomial.Polynomial).coef
    tt = np.linspace(a, b, 40001)
    yy = np.array([f(v) for v in tt])
    ev = np.polynomial.polynomial.polyval(tt - center, coef)
    return coef, float(np.max(np.abs((ev - yy) / yy)))

FITS = [
    # name, function, interval, degree, centre of the variable
    ("expq", lambda f: (2.0 ** f - 1) / f if f else math.log(2), -0.5, 0.5, 7, 0.0),
    ("erfe", lambda z: math.erf(math.sqrt(z)) / math.sqrt(z) if z else 2 / math.sqrt(math.pi),
     0.0, 1.0, 8, 0.0),
    ("erfg", lambda x: math.erfc(x) * math.exp(x * x), 1.0, 4.0, 15, 2.5),
]

for name, f, a, b, deg, ctr in FITS:
    coef, err = fit(f, a, b, deg, ctr)
    print("/* %s: [%g, %g] degree %d in (t - %g), max rel error %.2e */" % (name, a, b, deg, ctr, err))
    print("P(%s, ..., %s)" % (name, ", ".join(float(c).hex() for c in coef)))
