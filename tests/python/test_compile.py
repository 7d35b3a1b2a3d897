"""bud.compile: arrays by position (order of first appearance) or by name, out=, casting=,
order=, the inline cache (one program per operand signature, reused), and ufunc-style functions."""
import pytest

from conftest import assert_same, np, sample

import bud


def test_names_in_order_of_first_appearance():
    f = bud.compile("b*2 + a - sin(b) + c")
    assert f.names == ("b", "a", "c")
    assert f.source == "b*2 + a - sin(b) + c"
    assert "b*2" in repr(f)


def test_positional_and_named():
    f = bud.compile("2*a + 3*b")
    a = sample("float64", 16, seed=1)
    b = sample("float64", 16, seed=2)
    want = 2 * a + 3 * b
    assert_same(f(a, b), want)
    assert_same(f(a=a, b=b), want)
    assert_same(f(b=b, a=a), want)
    assert_same(f(a, b=b), want)
    with pytest.raises(TypeError, match="missing"):
        f(a)
    with pytest.raises(TypeError, match="by position and by name"):
        f(a, a=a)
    with pytest.raises(TypeError, match="unexpected keyword"):
        f(a, b, c=a)
    with pytest.raises(TypeError):
        f(a, b, a)


def test_out_and_casting():
    f = bud.compile("a + b")
    a = np.arange(16, dtype=np.int32)
    out = np.empty(16, np.int32)
    assert f(a, a, out=out) is out
    assert_same(out, a + a)
    out64 = np.empty(16, np.float64)
    f(a, a, out=out64)
    assert_same(out64, (a + a).astype(np.float64))
    out16 = np.empty(16, np.int16)
    with pytest.raises(TypeError):
        f(a, a, out=out16)
    f(a, a, out=out16, casting="unsafe")
    assert_same(out16, (a + a).astype(np.int16))
    with pytest.raises(ValueError, match="read-only"):
        ro = np.empty(16, np.int32)
        ro.flags.writeable = False
        f(a, a, out=ro)


def test_inline_cache_reuses_programs():
    f = bud.compile("a * b + 1")
    a = np.arange(16.0)
    s0 = bud.stats()["compiles"]
    for _ in range(50):
        f(a, a)
    assert f.cache_size() == 1
    assert bud.stats()["compiles"] - s0 <= 1
    # another dtype, shape or scalar class adds an entry; the old one still serves
    f(a.astype(np.float32), a.astype(np.float32))
    f(np.arange(8.0), np.arange(8.0))
    assert f.cache_size() == 3
    assert_same(f(a, a), a * a + 1)
    f.cache_clear()
    assert f.cache_size() == 0
    assert_same(f(a, a), a * a + 1)


def test_many_signatures_evict():
    f = bud.compile("a + 1")
    for n in range(1, 30):
        a = np.arange(float(n))
        assert_same(f(a), a + 1)
    assert f.cache_size() <= 8


def test_statements_and_multiple_outputs():
    f = bud.compile("t = a*2; u = t + b")
    a = np.arange(5.0)
    b = np.ones(5)
    t, u = f(a, b)
    assert_same(t, a * 2)
    assert_same(u, a * 2 + b)
    g = bud.compile("_t = a*2; _t + b")
    assert_same(g(a, b), a * 2 + b)


UFUNCS2 = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "less", "equal",
           "arctan2", "hypot", "power", "floor_divide", "remainder", "copysign", "fmod"]
UFUNCS1 = ["negative", "abs", "sqrt", "floor", "ceil", "trunc", "rint", "sign", "isnan", "isinf",
           "isfinite", "exp", "sin", "cos", "log", "absolute"]
TRANSC = {"arctan2", "hypot", "power", "exp", "sin", "cos", "log"}


@pytest.mark.parametrize("name", UFUNCS2)
def test_ufunc_binary(name):
    a = sample("float64", 33, seed=3, positive=True)
    b = sample("float64", 33, seed=4, positive=True)
    want = getattr(np, name)(a, b)
    assert_same(getattr(bud, name)(a, b), want, exact=name not in TRANSC, rtol=1e-14)
    out = np.empty_like(want)
    assert getattr(bud, name)(a, b, out=out) is out
    assert_same(out, want, exact=name not in TRANSC, rtol=1e-14)


@pytest.mark.parametrize("name", UFUNCS1)
def test_ufunc_unary(name):
    a = sample("float32", 33, seed=5, positive=name in ("sqrt", "log"))
    want = getattr(np, name)(a)
    assert_same(getattr(bud, name)(a), want, exact=name not in TRANSC, rtol=2e-6)


def test_ufunc_scalars_follow_numpy():
    assert_same(bud.add(1, 2), np.add(1, 2))  # a NumPy scalar, as np.add returns
    assert_same(bud.multiply(np.float32(2), 3.0), np.multiply(np.float32(2), 3.0))
    out = np.zeros(3, np.int32)
    bud.add(np.arange(3, dtype=np.int32), 1, out=out)
    assert_same(out, np.arange(3, dtype=np.int32) + 1)
    # ufunc default casting is 'same_kind' (as NumPy's): float64 into float32 out is fine
    o32 = np.empty(3, np.float32)
    bud.multiply(np.arange(3.0), 2.0, out=o32)
    assert_same(o32, np.arange(3.0, dtype=np.float32) * 2)
    with pytest.raises(TypeError):
        bud.multiply(np.arange(3.0), 2.0, out=np.empty(3, np.int32))


def test_where_clip_dot_reductions():
    a = sample("float64", (6, 5), seed=6)
    b = sample("float64", (6, 5), seed=7)
    assert_same(bud.where(a > b, a, b), np.where(a > b, a, b))
    assert_same(bud.clip(a, -1.0, 1.0), np.clip(a, -1.0, 1.0))
    v = sample("float64", 16, seed=8)
    w = sample("float64", 16, seed=9)
    np.testing.assert_allclose(bud.dot(v, w), np.dot(v, w), rtol=1e-12)
    m = sample("float32", (4, 16), seed=10)
    np.testing.assert_allclose(bud.dot(m, w.astype(np.float32)), np.dot(m, w.astype(np.float32)),
                               rtol=1e-5)
    for name in ["sum", "prod", "min", "max", "mean"]:
        for axis in [None, 0, 1, -1]:
            want = getattr(np, name)(a, axis=axis)
            got = getattr(bud, name)(a, axis=axis)
            if name in ("min", "max"):
                assert_same(got, want)
            else:
                assert np.asarray(got).dtype == np.asarray(want).dtype
                np.testing.assert_allclose(got, want, rtol=1e-12)
    i = np.arange(12, dtype=np.int16).reshape(3, 4)
    assert_same(bud.sum(i, axis=0), np.sum(i, axis=0))
    assert_same(bud.argmax(a, axis=1), np.argmax(a, axis=1))
    assert_same(bud.argmin(a), np.argmin(a))
    assert_same(bud.any(a > 2), np.any(a > 2))
    assert_same(bud.all(a > -100), np.all(a > -100))


def test_ufunc_list_comes_from_the_op_table():
    assert "add" in bud.ufuncs and "where" in bud.ufuncs and "sum" in bud.ufuncs
    assert "fma" not in bud.ufuncs  # internal op
    assert "input" not in bud.ufuncs
