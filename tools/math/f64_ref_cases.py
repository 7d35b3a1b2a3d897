#!/usr/bin/python3
"""f64_ref_cases.py — exact values (Python's decimal module, 120 digits) of the float64 functions
at hard inputs, printed as C rows for tests/test_math_f64.c (test_reference), which checks that
the x87 long double reference it measures against is itself within 2^-60 of these.
Run: python3 tools/math/f64_ref_cases.py  (paste the rows between the markers)."""
from decimal import Decimal as D, getcontext

getcontext().prec = 120
PI = D("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798214808651328230664709384460955058223172535940812848111745")


def h(s):
    return D(float.fromhex(s)) if isinstance(s, str) else D(s)


def atan(x):
    if x < 0:
        return -atan(-x)
    if x > 1:
        return PI / 2 - atan(1 / x)
    for _ in range(6):  # atan(x) = 2 atan(x / (1 + sqrt(1 + x^2)))
        x = x / (1 + (1 + x * x).sqrt())
    s, t, n, x2 = D(0), x, 0, x * x
    while True:
        term = t / (2 * n + 1)
        s += term
        if abs(term) < D(10) ** -110:
            return s * 64
        t = -t * x2
        n += 1


def atan2(y, x):
    if x > 0:
        return atan(y / x)
    return atan(y / x) + (PI if y >= 0 else -PI)


def erf(x):
    s, t, n = D(0), x, 0
    while True:
        term = t / (2 * n + 1)
        s += term
        if abs(term) < D(10) ** -110:
            return 2 / PI.sqrt() * s
        n += 1
        t = -t * x * x / n


def ex(x):
    return x.exp()


F = {
    "tanh": lambda x, y: (ex(2 * x) - 1) / (ex(2 * x) + 1),
    "sinh": lambda x, y: (ex(x) - ex(-x)) / 2,
    "cosh": lambda x, y: (ex(x) + ex(-x)) / 2,
    "sigmoid": lambda x, y: 1 / (1 + ex(-x)),
    "arcsinh": lambda x, y: (x + (x * x + 1).sqrt()).ln(),
    "arccosh": lambda x, y: (x + (x * x - 1).sqrt()).ln(),
    "arctanh": lambda x, y: ((1 + x) / (1 - x)).ln() / 2,
    "pow": lambda x, y: (abs(x).ln() * y).exp() * (-1 if x < 0 and int(y) % 2 else 1),
    "erf": lambda x, y: erf(x),
    "arctan2": lambda x, y: atan2(x, y),
}
CASES = [
    ("tanh", "0x1p-28", 0), ("tanh", "0x1.62e42fefa39efp-2", 0), ("tanh", "0x1.6cb9ddf2d2281p-3", 0),
    ("tanh", "0x1.3000000000000p+4", 0), ("tanh", "-0x1.6000000000000p+4", 0),
    ("sinh", "0x1.e1bebf987c0a2p-2", 0), ("sinh", "0x1p-1", 0), ("sinh", "0x1.633ce8fb9f87dp+9", 0),
    ("sinh", "-0x1.0a2ed3e3bf1dbp+0", 0),
    ("cosh", "0x1.633ce8fb9f87dp+9", 0), ("cosh", "0x1.20def02f966abp+9", 0),
    ("cosh", "0x1.62e786543285dp-2", 0),
    ("sigmoid", "-0x1.625de90369bb8p+9", 0), ("sigmoid", "-0x1.74910d52d3051p+9", 0),
    ("sigmoid", "0x1.25e4f7b2737fap+5", 0), ("sigmoid", "0x1p-1", 0),
    ("arcsinh", "0x1p28", 0), ("arcsinh", "0x1.7f9f9b47b1915p+85", 0), ("arcsinh", "0x1.4f8b588e368f1p-17", 0),
    ("arccosh", "0x1.0000002d8387p+0", 0), ("arccosh", "0x1.0000000000001p+0", 0),
    ("arccosh", "0x1.7e43c8800759cp+996", 0),
    ("arctanh", "0x1.fffffffffffffp-1", 0), ("arctanh", "-0x1.3a412e4d6525cp-1", 0),
    ("arctanh", "0x1.12e0be826d695p-30", 0),
    ("pow", "-0x1.672f0b0dbdf01p-1", "-0x1.f4p+10"), ("pow", "0x1.7d4432dc77096p+1", "0x1.59e545539992fp+2"),
    ("pow", "0x1.0000000000001p+0", "0x1p+60"), ("pow", "0x1p-1", "0x1.0c8p+10"),
    ("pow", "0x1.4p+3", "0x1.341p+8"),
    ("erf", "0x1.a4694f20d2d67p-13", 0), ("erf", "0x1.a981c8bca6666p-1", 0), ("erf", "0x1.4p+0", 0),
    ("erf", "0x1.799999999999ap+2", 0), ("erf", "0x1.b0p-1", 0),
    ("arctan2", "-0x1.0092449d76e7p-425", "0x1.511cc9ad9d8ep+595"), ("arctan2", "0x1p0", "-0x1p0"),
    ("arctan2", "0x1.8p1", "0x1p2"), ("arctan2", "0x1.b7cdfd9d7bdbbp-34", "-0x1p0"),
]
for fn, x, y in CASES:
    v = F[fn](h(x), h(y))
    print('    {MATH_%s, %s, %s, "%s"},' % (fn, x, y if y else "0", format(v, ".40e")))
