#!/usr/bin/python3
"""gen_vm_cases.py — writes tests/test_vm_cases.h: NumPy 1.24 reference results for every
element-wise op x every dtype it runs in (the loop dtypes of ops.def's TypeSig), including NaN,
+-inf, -0.0, integer wrap-around, INT_MIN, division by zero and shift counts >= the width.
Run once with /usr/bin/python3 (numpy 1.24) from the repo root; the test never calls Python.
Values are stored as raw bits (uint64, zero-extended little-endian element bytes).
"""
import itertools
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")

DT = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
      "float32", "float64"]
BUD = {d: "BUD_" + d.upper() for d in DT}
INTS = DT[1:9]
FLTS = ["float32", "float64"]
ALL = DT
NUM = DT[1:]
INTFLT = DT[1:]
BIT = DT[:9]


def values(dt):
    if dt == "bool":
        return [False, True]
    if dt in FLTS:
        return [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, -7.0, 7.5, 1e10, -3e-5, np.inf, -np.inf,
                np.nan, 0.1, 255.5]
    info = np.iinfo(dt)
    v = [0, 1, 2, 3, 7, 100, info.max, info.min, info.max - 1, info.bits - 1, info.bits,
         info.bits + 1]
    if info.min < 0:
        v += [-1, -2, -7, -100, info.min + 1]
    return sorted(set(int(x) for x in v if info.min <= x <= info.max))


def small_values(dt):
    if dt == "bool":
        return [False, True]
    if dt in FLTS:
        return [0.0, -0.0, 1.0, -2.5, 3.0, np.inf, -np.inf, np.nan]
    info = np.iinfo(dt)
    v = [0, 1, 3, info.max, info.min]
    if info.min < 0:
        v += [-1, -3]
    return sorted(set(v))


def func_values(dt):
    return [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 0.25, 3.5, -4.5, 10.0, 100.0, 1e-7, -30.0,
            2.5, 0.75, np.inf, -np.inf, np.nan, 1.5, -1.5, 1e5]


def bits(arr):
    a = np.ascontiguousarray(arr)
    u = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
    return [int(x) for x in a.view(u)]


pool = []
cases = []


def add(opname, out, ins, tol=0, err=0):
    offs = []
    for a in ins:
        offs.append(len(pool))
        pool.extend(bits(a))
    o = len(pool)
    if out is not None:
        pool.extend(bits(out))
        odt = out.dtype.name
    else:
        odt = ins[1].dtype.name if opname != "where" else ins[1].dtype.name
    n = len(ins[0])
    while len(offs) < 3:
        offs.append(0)
    cases.append((opname, odt, [a.dtype.name for a in ins], n, offs, o, tol, err))


def binary(opname, fn, dts, vals=values, tol=0):
    for dt in dts:
        v = vals(dt)
        pairs = list(itertools.product(v, v))
        a = np.array([p[0] for p in pairs], dtype=dt)
        b = np.array([p[1] for p in pairs], dtype=dt)
        add(opname, fn(a, b), [a, b], tol)


def unary(opname, fn, dts, vals=values, tol=0):
    for dt in dts:
        a = np.array(vals(dt), dtype=dt)
        add(opname, fn(a), [a], tol)


binary("add", np.add, ALL)
binary("sub", np.subtract, NUM)
binary("mul", np.multiply, ALL)
binary("div", np.true_divide, FLTS)
binary("floordiv", np.floor_divide, INTFLT)
binary("mod", np.remainder, INTFLT)
binary("fmod", np.fmod, INTFLT)
binary("minimum", np.minimum, ALL)
binary("maximum", np.maximum, ALL)
for name, fn in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                 ("gt", np.greater), ("ge", np.greater_equal)]:
    binary(name, fn, ALL)
binary("and", np.bitwise_and, BIT)
binary("or", np.bitwise_or, BIT)
binary("xor", np.bitwise_xor, BIT)
binary("shl", np.left_shift, INTS)
binary("shr", np.right_shift, INTS)
binary("copysign", np.copysign, FLTS)
binary("hypot", np.hypot, FLTS, tol=1)
binary("arctan2", np.arctan2, FLTS, tol=2)
binary("pow", np.power, FLTS, tol=2)


def ipow_vals(dt):
    return [x for x in values(dt) if x >= 0] + [x for x in values(dt) if x < 0][:3]


for dt in INTS:  # non-negative exponents only; the error case is a separate test
    v = values(dt)
    e = [x for x in v if 0 <= x <= 70] + [np.iinfo(dt).max]
    pairs = list(itertools.product(v, e))
    a = np.array([p[0] for p in pairs], dtype=dt)
    b = np.array([p[1] for p in pairs], dtype=dt)
    add("pow", np.power(a, b), [a, b])

unary("neg", np.negative, NUM)
unary("abs", np.absolute, ALL)
unary("sign", np.sign, INTFLT)
unary("not", np.invert, BIT)
for name, fn in [("sqrt", np.sqrt), ("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc),
                 ("rint", np.rint)]:
    unary(name, fn, FLTS, vals=lambda dt: values(dt) + [0.5, 1.5, 2.5, -0.5, -1.5, 4.5, 1e300 if dt == "float64" else 1e30])
TRANSC = [("sin", np.sin), ("cos", np.cos), ("tan", np.tan), ("arcsin", np.arcsin),
          ("arccos", np.arccos), ("arctan", np.arctan), ("sinh", np.sinh), ("cosh", np.cosh),
          ("tanh", np.tanh), ("arcsinh", np.arcsinh), ("arccosh", np.arccosh),
          ("arctanh", np.arctanh), ("exp", np.exp), ("exp2", np.exp2), ("expm1", np.expm1),
          ("log", np.log), ("log10", np.log10), ("log1p", np.log1p), ("log2", np.log2),
          ("cbrt", np.cbrt)]
for name, fn in TRANSC:
    unary(name, fn, FLTS, vals=func_values, tol=4)
# erf: NumPy has no erf ufunc; scipy is not assumed. Python's math.erf (libm-quality) is used.
import math
for dt in FLTS:
    a = np.array(func_values(dt), dtype=dt)
    out = np.array([math.erf(float(x)) if not math.isnan(x) else math.nan for x in a], dtype=dt)
    add("erf", out, [a], tol=2)
# sigmoid (not a NumPy ufunc): NumPy's own spelling 1/(1+exp(-x)) in float64, rounded to dt
# (the op is within 1 ULP of the exact value; the double-precision formula within 2.5).
for dt in FLTS:
    a = np.array(func_values(dt), dtype=dt)
    a64 = a.astype("float64")
    out = (1.0 / (1.0 + np.exp(-a64))).astype(dt)
    add("sigmoid", out, [a], tol=2)
for name, fn in [("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite)]:
    unary(name, fn, ALL)

for dt in ALL:  # where
    v = small_values(dt)
    trip = list(itertools.product([False, True], v, v))
    c = np.array([t[0] for t in trip], dtype="bool")
    a = np.array([t[1] for t in trip], dtype=dt)
    b = np.array([t[2] for t in trip], dtype=dt)
    add("where", np.where(c, a, b), [c, a, b])
for dt in ALL:  # clip
    v = small_values(dt)
    trip = list(itertools.product(v, v, v))
    x = np.array([t[0] for t in trip], dtype=dt)
    lo = np.array([t[1] for t in trip], dtype=dt)
    hi = np.array([t[2] for t in trip], dtype=dt)
    add("clip", np.core.umath.clip(x, lo, hi), [x, lo, hi])


def cast_values(dt):
    if dt in FLTS:
        v = values(dt) + [3e9, -3e9, 70000.0, 300.0, -1.0, 5e9, 1e20, -1e20, 2.0**63, 1.5e19,
                          -0.9, 255.9, 2.0**64, 2.0**31, -2.0**31, 4294967295.0, 1e300]
        return v
    return values(dt)


for fdt in ALL:
    for tdt in ALL:
        a = np.array(cast_values(fdt), dtype=fdt)
        if fdt in FLTS and tdt == "uint32":
            # NumPy's own SIMD and scalar loops disagree here; its scalar (per element) result
            # is the reference.
            out = np.array([a[i:i + 1].astype(tdt)[0] for i in range(len(a))], dtype=tdt)
        else:
            out = a.astype(tdt)
        cases.append(("cast", tdt, [fdt], len(a), [len(pool), 0, 0], len(pool) + len(a), 0, 0))
        pool.extend(bits(a))
        pool.extend(bits(out))

w = sys.stdout if len(sys.argv) < 2 else open(sys.argv[1], "w")
w.write("/* Generated by src/vm/gen_vm_cases.py from NumPy %s; do not edit. */\n" % np.__version__)
w.write("/* test_vm_cases.h — reference results of every element-wise op x dtype (raw bits). */\n")
w.write("typedef struct VmCase {\n  Op op;\n  BudDType out_dt;\n  int nin;\n  BudDType in_dt[3];\n"
        "  int n;\n  int in_off[3];\n  int out_off;\n  int ulps; /* tolerance for libm functions */\n"
        "} VmCase;\n\n")
w.write("static const uint64_t vm_pool[] = {\n")
for i in range(0, len(pool), 6):
    w.write("  " + ", ".join("0x%xull" % x for x in pool[i:i + 6]) + ",\n")
w.write("};\n\nstatic const VmCase vm_cases[] = {\n")
for (opname, odt, idts, n, offs, o, tol, err) in cases:
    idt = [BUD[d] for d in idts] + ["BUD_BOOL"] * (3 - len(idts))
    w.write("  {OP_%s, %s, %d, {%s}, %d, {%d, %d, %d}, %d, %d},\n" %
            (opname, BUD[odt], len(idts), ", ".join(idt), n, offs[0], offs[1], offs[2], o, tol))
w.write("};\n")
