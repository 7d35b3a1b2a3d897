#!/usr/bin/env python3
"""bench_py.py — Bud from Python against its peers measured in the same process: NumPy, numexpr
(1 and 2 threads) and Numba (@njit into out=, and parallel=True), sampled round-robin (one batch
of calls per implementation in turn, the median over batches reported). One JSON line per case:
name, dtype, shape, threads, bud's compile µs, and for bud and every peer the median ns per call
and GB/s (element-wise, counting every operand read and the result written) or GFLOP/s (dot).
Results are checked against NumPy before timing ("ok"). Cases (issue 5): call overhead at n=16;
ADD and DOT float32 at 16, 256, 4K, 64K, 1M, 16M; SCALE 2048x2048; the chains 2*a+3*b, a*b+c*d-e,
sqrt(a*b+c), exp(a)*sin(b)+log1p(c), where(a>b, a*2, b-1) at 1M and 16M. Peers everywhere: NumPy
(as people write it: a new result, temporaries), numexpr at 1 and 2 threads, Numba @njit into out=
and @njit(parallel=True) (dot: numexpr's sum(a*b) and Numba reduction loops). ADD also has
np.add(a, b, out=) ("numpy_out"). With --md a Markdown table, and a matplotlib chart (PNG: each
implementation's speed relative to NumPy per case, log scale) at --chart or next to the table
when matplotlib is importable; without it the bench says so and skips only the chart.

    PYTHONPATH=python /usr/bin/python3 bench/py/bench_py.py [--quick] [--md table.md] [--chart c.png]
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

import bud

try:
    import numexpr as ne
except ImportError:  # a peer that is missing is left out of the lines
    ne = None
try:
    import numba
except ImportError:
    numba = None


def measure(impls, budget_s, rounds):
    """impls: name -> zero-argument callable, which may carry a `before` attribute (called before
    each batch, untimed: e.g. numexpr's thread count). Median ns per call, round-robin."""
    inner = {}
    for name, f in impls.items():  # calibrate: a batch lasts about budget_s / rounds
        getattr(f, "before", lambda: None)()
        f()
        t0 = time.perf_counter_ns()
        f()
        one = max(time.perf_counter_ns() - t0, 1)
        inner[name] = max(1, int(budget_s / rounds * 1e9 / one))
    samples = {name: [] for name in impls}
    names = list(impls)
    for r in range(rounds):
        # each round starts at the next implementation, so none always follows the same one
        # (a peer's threads that spin after its batch then tax every implementation in turn)
        for name in names[r % len(names):] + names[:r % len(names)]:
            f = impls[name]
            getattr(f, "before", lambda: None)()
            n = inner[name]
            t0 = time.perf_counter_ns()
            for _ in range(n):
                f()
            samples[name].append((time.perf_counter_ns() - t0) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


def ne_at(nthreads, fn):
    """numexpr with its pool set to nthreads before each batch (setting it costs milliseconds)."""
    def run():
        return fn()
    run.before = lambda: ne.set_num_threads(nthreads)
    return run


_numba_cache = {}


def numba_kernels(key, body_src, nargs):
    """An @njit and an @njit(parallel=True) loop writing out[i] = body(args[i])."""
    if numba is None:
        return None, None
    if key in _numba_cache:
        return _numba_cache[key]
    args = ", ".join("x%d" % i for i in range(nargs))
    src = ("def k(%s, out):\n    for i in numba.prange(out.shape[0]):\n        out[i] = %s\n"
           % (args, body_src))
    ns = {"numba": numba, "np": np}
    exec(src, ns)  # the benchmark's own kernel text, not user input
    fns = (numba.njit(ns["k"]), numba.njit(parallel=True)(ns["k"]))
    _numba_cache[key] = fns
    return fns


def case_line(name, dtype, shape, impls, check, bytes_moved=None, flops=None, compile_us=None,
              budget=0.2, rounds=9):
    ok = {}
    for impl, f in impls.items():
        try:
            getattr(f, "before", lambda: None)()
            ok[impl] = bool(check(f()))
        except Exception as e:  # noqa: BLE001 - reported in the line
            ok[impl] = "error: %s" % e
    runnable = {k: f for k, f in impls.items() if ok[k] is True}
    med = measure(runnable, budget, rounds)
    res = {}
    for impl in impls:
        r = {"ok": ok[impl]}
        if impl in med:
            r["median_ns"] = round(med[impl], 1)
            if bytes_moved:
                r["GB_s"] = round(bytes_moved / med[impl], 3)
            if flops:
                r["GFLOP_s"] = round(flops / med[impl], 3)
        res[impl] = r
    line = {"name": name, "dtype": dtype, "shape": list(shape), "threads": bud.get_num_threads(),
            "isa": bud.cpu_info().get("best_isa"), "bud_compile_us": compile_us,
            "bud": res.pop("bud", None), "peers": res}
    print(json.dumps(line), flush=True)
    return line


def first_call_us(f):
    t0 = time.perf_counter_ns()
    f()
    return round((time.perf_counter_ns() - t0) / 1e3, 1)


def elementwise_case(name, expr, numba_body, arrays, dtype, budget):
    n = arrays[0].size
    out = np.empty_like(arrays[0])
    names = bud.compile(expr).names
    env = dict(zip(names, arrays))
    f = bud.compile(expr)
    compile_us = first_call_us(lambda: f(*arrays, out=out))
    npf = expr_np[expr]
    with np.errstate(all="ignore"):
        want = npf(*arrays)
    impls = {"bud": lambda: f(*arrays, out=out)}
    impls["numpy"] = lambda: npf(*arrays)
    if expr in expr_np_out:
        impls["numpy_out"] = lambda: expr_np_out[expr](*arrays, out)
    if ne is not None:
        # numexpr computes float32 * a Python float in float64: same_kind lets it store float32
        impls["numexpr_1t"] = ne_at(1, lambda: ne.evaluate(expr, local_dict=env, out=out,
                                                          casting="same_kind"))
        impls["numexpr_2t"] = ne_at(2, lambda: ne.evaluate(expr, local_dict=env, out=out,
                                                          casting="same_kind"))
    k1, kp = numba_kernels(expr, numba_body, len(arrays))
    if k1 is not None:  # Numba's loops are 1-D: 2-D operands go in flat (C-contiguous views)
        flat = [x.reshape(-1) for x in arrays]
        oflat = out.reshape(-1)
        impls["numba_njit"] = lambda: k1(*flat, oflat)
        impls["numba_parallel"] = lambda: kp(*flat, oflat)

    def check(r):
        got = out if r is None else r
        return np.allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)

    nbytes = (len(arrays) + 1) * n * np.dtype(dtype).itemsize
    return case_line(name, dtype, arrays[0].shape, impls, check, bytes_moved=nbytes,
                     compile_us=compile_us, budget=budget)


# NumPy into out= where it is one call.
expr_np_out = {"a+b": lambda a, b, out: np.add(a, b, out=out)}
# NumPy peers: the plain NumPy expression (temporaries and a new result, as people write it).
expr_np = {
    "a+b": lambda a, b: np.add(a, b),
    "2.5*a": lambda a: 2.5 * a,
    "2*a+3*b": lambda a, b: 2 * a + 3 * b,
    "a*b+c*d-e": lambda a, b, c, d, e: a * b + c * d - e,
    "sqrt(a*b+c)": lambda a, b, c: np.sqrt(a * b + c),
    "exp(a)*sin(b)+log1p(c)": lambda a, b, c: np.exp(a) * np.sin(b) + np.log1p(c),
    "where(a>b, a*2, b-1)": lambda a, b: np.where(a > b, a * 2, b - 1),
}
numba_body = {
    "a+b": "x0[i] + x1[i]",
    "2.5*a": "np.float32(2.5) * x0[i]",
    "2*a+3*b": "2*x0[i] + 3*x1[i]",
    "a*b+c*d-e": "x0[i]*x1[i] + x2[i]*x3[i] - x4[i]",
    "sqrt(a*b+c)": "np.sqrt(x0[i]*x1[i] + x2[i])",
    "exp(a)*sin(b)+log1p(c)": "np.exp(x0[i])*np.sin(x1[i]) + np.log1p(x2[i])",
    "where(a>b, a*2, b-1)": "x0[i]*2 if x0[i] > x1[i] else x1[i] - 1",
}


def overhead_case(budget):
    a = np.ones(16, np.float32)
    b = np.ones(16, np.float32)
    c = np.empty(16, np.float32)
    f = bud.compile("a+b")
    compile_us = first_call_us(lambda: f(a, b, out=c))
    env = {"a": a, "b": b}
    impls = {
        "bud": lambda: f(a, b, out=c),
        "bud_add": lambda: bud.add(a, b, out=c),
        "bud_evaluate": lambda: bud.evaluate("a+b", env, out=c),
        "numpy": lambda: np.add(a, b, out=c),
    }
    if ne is not None:
        impls["numexpr_1t"] = ne_at(1, lambda: ne.evaluate("a+b", local_dict=env, out=c))
    k1, _ = numba_kernels("a+b", numba_body["a+b"], 2)
    if k1 is not None:
        impls["numba_njit"] = lambda: k1(a, b, c)
    return case_line("call_overhead_add", "float32", (16,), impls,
                     lambda r: np.array_equal(c, a + b), compile_us=compile_us, budget=budget)


def dot_case(n, budget):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    f = bud.compile("dot(a, b)")
    compile_us = first_call_us(lambda: f(a, b))
    want = np.dot(a.astype(np.float64), b.astype(np.float64))
    impls = {"bud": lambda: f(a, b), "numpy": lambda: np.dot(a, b)}
    if ne is not None:
        env = {"a": a, "b": b}
        impls["numexpr_1t"] = ne_at(1, lambda: ne.evaluate("sum(a*b)", local_dict=env))
        impls["numexpr_2t"] = ne_at(2, lambda: ne.evaluate("sum(a*b)", local_dict=env))
    if numba is not None:
        if "dot" not in _numba_cache:
            _numba_cache["dot"] = (numba.njit(fastmath=True)(_dot_loop),
                                   numba.njit(fastmath=True, parallel=True)(_dot_ploop))
        k, kp = _numba_cache["dot"]
        impls["numba_njit"] = lambda: k(a, b)
        impls["numba_parallel"] = lambda: kp(a, b)
    tol = 1e-3 * (np.sqrt(n) + 1)
    return case_line("dot", "float32", (n,), impls,
                     lambda r: abs(float(r) - want) <= tol * (1 + abs(want)),
                     flops=2 * n, compile_us=compile_us, budget=budget)


def _dot_loop(a, b):
    s = np.float32(0)
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


def _dot_ploop(a, b):
    s = np.float32(0)
    for i in numba.prange(a.shape[0]):
        s += a[i] * b[i]
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only, short budgets")
    ap.add_argument("--md", help="also write a Markdown table of median ns to this file")
    ap.add_argument("--chart", help="write a PNG chart (speed relative to NumPy) to this file; "
                    "default: next to --md, same name with .png")
    args = ap.parse_args()
    budget = 0.05 if args.quick else 0.3
    sizes = [16, 256, 4096, 65536] if args.quick else [16, 256, 4096, 65536, 1 << 20, 1 << 24]
    chain_sizes = [1 << 16] if args.quick else [1 << 20, 1 << 24]
    rng = np.random.default_rng(0)
    lines = [overhead_case(budget)]
    for n in sizes:
        a = rng.standard_normal(n).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        lines.append(elementwise_case("add", "a+b", numba_body["a+b"], [a, b], "float32", budget))
    for n in sizes:
        lines.append(dot_case(n, budget))
    side = 512 if args.quick else 2048
    m = rng.standard_normal((side, side)).astype(np.float32)
    lines.append(elementwise_case("scale", "2.5*a", numba_body["2.5*a"], [m], "float32", budget))
    for n in chain_sizes:
        arrs = [rng.random(n).astype(np.float32) + 0.5 for _ in range(5)]
        for expr in ["2*a+3*b", "a*b+c*d-e", "sqrt(a*b+c)", "exp(a)*sin(b)+log1p(c)",
                     "where(a>b, a*2, b-1)"]:
            k = len(bud.compile(expr).names)
            lines.append(elementwise_case("chain " + expr, expr, numba_body[expr], arrs[:k],
                                          "float32", budget))
    if args.md:
        write_md(args.md, lines)
    chart = args.chart or (os.path.splitext(args.md)[0] + ".png" if args.md else None)
    if chart:
        write_chart(chart, lines)


def write_chart(path, lines):
    """Grouped bars: NumPy's median time / each implementation's, per case (log scale)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench_py: matplotlib is not importable: chart %s skipped" % path, file=sys.stderr)
        return
    impls = []
    for ln in lines:
        for k in ["bud"] + list(ln["peers"]):
            if k not in impls and k != "numpy":
                impls.append(k)
    labels, ratios = [], {k: [] for k in impls}
    for ln in lines:
        ref = ln["peers"].get("numpy", {}).get("median_ns")
        if not ref:
            continue
        labels.append("%s %s" % (ln["name"], "x".join(map(str, ln["shape"]))))
        for k in impls:
            r = ln["bud"] if k == "bud" else ln["peers"].get(k)
            t = r.get("median_ns") if r else None
            ratios[k].append(ref / t if t else float("nan"))
    fig, ax = plt.subplots(figsize=(min(18, max(9, 0.5 * len(labels) + 3)), 6))
    width = 0.8 / max(1, len(impls))
    for j, k in enumerate(impls):
        xs = [i + (j - (len(impls) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(xs, ratios[k], width, label=k)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylabel("speed relative to NumPy (higher is faster)")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_title("bud vs peers, float32, %s, %d threads" % (lines[0].get("isa"),
                                                          lines[0].get("threads")))
    ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print("bench_py: chart written to %s" % path, file=sys.stderr)


def write_md(path, lines):
    impls = []
    for ln in lines:
        for k in ["bud"] + list(ln["peers"]):
            if k not in impls:
                impls.append(k)
    with open(path, "w") as f:
        f.write("| case | shape | " + " | ".join(impls) + " |\n")
        f.write("|---|---|" + "---|" * len(impls) + "\n")
        for ln in lines:
            cells = []
            for k in impls:
                r = ln["bud"] if k == "bud" else ln["peers"].get(k)
                cells.append("%.0f ns" % r["median_ns"] if r and "median_ns" in r else "-")
            f.write("| %s | %s | %s |\n" % (ln["name"], "x".join(map(str, ln["shape"])),
                                            " | ".join(cells)))


if __name__ == "__main__":
    sys.exit(main())
