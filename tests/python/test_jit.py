"""@bud.jit: tracing Python functions (operators, bud and NumPy functions, methods, captured
arrays, several outputs) into one compiled program; readable errors for what cannot be traced."""
import pytest

from conftest import assert_same, np, sample

import bud
from bud import exp as bud_exp

CAPTURED = np.arange(16.0)


@bud.jit
def axpy(a, x, y):
    return a * x + y


@bud.jit
def mixed(a, b):
    return bud.where(a > b, bud.exp(a) * 2.0, np.sqrt(np.abs(b))) + bud_exp(b) - CAPTURED


@bud.jit
def two(a, b):
    return a + b, (a * b).sum()


def test_operators_and_scalars():
    x = sample("float32", 16, seed=1)
    y = sample("float32", 16, seed=2)
    assert_same(axpy(2.0, x, y), 2.0 * x + y)  # Python float: value-based, stays float32
    assert_same(axpy(np.float64(2.0), x, y), np.float64(2.0) * x + y)
    i = np.arange(16, dtype=np.int16)
    assert_same(axpy(3, i, i), 3 * i + i)
    assert "a * x" in axpy.source(3) or "(a * x)" in axpy.source(3)


def test_functions_numpy_protocols_and_captured_arrays():
    a = sample("float64", 16, seed=3, small=True) / 10
    b = sample("float64", 16, seed=4, small=True) / 10
    want = np.where(a > b, np.exp(a) * 2.0, np.sqrt(np.abs(b))) + np.exp(b) - CAPTURED
    assert_same(mixed(a, b), want, exact=False, rtol=1e-14)


def test_several_outputs_and_reductions():
    a = np.arange(6.0)
    b = np.ones(6) * 2
    s, p = two(a, b)
    assert_same(s, a + b)
    np.testing.assert_allclose(p, (a * b).sum())

    @bud.jit
    def col_means(m):
        return m.mean(axis=0), np.max(m, axis=1), m.astype(np.float32) * 2

    m = sample("float64", (4, 5), seed=5)
    r0, r1, r2 = col_means(m)
    np.testing.assert_allclose(r0, m.mean(axis=0), rtol=1e-12)
    assert_same(r1, np.max(m, axis=1))
    assert_same(r2, m.astype(np.float32) * 2)


def test_out_and_reuse():
    x = np.arange(8.0)
    out = np.empty(8)
    assert axpy(2.0, x, x, out=out) is out
    assert_same(out, 3 * x)
    for n in (3, 5, 8):  # other shapes and dtypes reuse the one trace
        v = np.arange(n, dtype=np.float32)
        assert_same(axpy(1.5, v, v), 1.5 * v + v)
    assert len(axpy.traces) == 1


def test_untraceable_code_raises_readable_errors():
    @bud.jit
    def branch(a):
        if a > 0:
            return a
        return -a

    with pytest.raises(bud.TraceError, match="where"):
        branch(np.ones(3))

    @bud.jit
    def index(a):
        return a[1:] + 1

    with pytest.raises(TypeError, match="indexing"):
        index(np.ones(3))

    @bud.jit
    def unknown(a):
        return np.fft.fft(a)

    with pytest.raises(TypeError, match="cannot be traced"):
        unknown(np.ones(4))

    @bud.jit
    def constant(a):
        return 3

    with pytest.raises(TypeError, match="not a traced array"):
        constant(np.ones(2))


def test_bud_functions_still_work_outside_tracing():
    a = np.arange(4.0)
    assert_same(bud.exp(a), np.exp(a), exact=False, rtol=1e-15)
    assert_same(bud.sum(a), np.sum(a))
