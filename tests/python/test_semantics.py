"""NumPy semantics over every dtype: promotion (including value-based casting of Python scalars,
numpy scalars and 0-d arrays), broadcasting, 0-d / empty / 1-element shapes, negative,
non-contiguous and Fortran strides; element-wise arithmetic bit-identical to NumPy."""
import itertools
import warnings

import pytest

from conftest import DTYPES, FLOATS, INTS, NUMERIC, assert_same, np, sample

import bud


def numpy_or_error(f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return f(), None
        except TypeError as e:
            return None, e


BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "<": np.less, "==": np.equal,
          ">=": np.greater_equal}


@pytest.mark.parametrize("op", list(BINARY))
def test_binary_every_dtype_pair(op):
    for d1, d2 in itertools.product(DTYPES, DTYPES):
        a = sample(d1, 37, seed=1)
        b = sample(d2, 37, seed=2)
        want, err = numpy_or_error(lambda: BINARY[op](a, b))
        if err is not None:  # e.g. bool - bool: NumPy refuses, so must Bud
            with pytest.raises(TypeError):
                bud.evaluate("a %s b" % op)
            continue
        assert_same(bud.evaluate("a %s b" % op), want)


@pytest.mark.parametrize("dt", NUMERIC)
def test_division_family(dt):
    a = sample(dt, 50, seed=3)
    b = sample(dt, 50, seed=4, positive=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same(bud.evaluate("a / b"), a / b)
        assert_same(bud.evaluate("a // b"), a // b)
        assert_same(bud.evaluate("a % b"), a % b)


@pytest.mark.parametrize("dt", NUMERIC)
def test_unary_exact(dt):
    a = sample(dt, 41, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dt[0] != "u":
            assert_same(bud.evaluate("-a"), -a)
        assert_same(bud.evaluate("abs(a)"), np.abs(a))
        assert_same(bud.evaluate("minimum(a, 3)"), np.minimum(a, 3))
        assert_same(bud.evaluate("maximum(a, a*2)"), np.maximum(a, a * 2))
        assert_same(bud.evaluate("where(a > 1, a, 1)"), np.where(a > 1, a, 1))
        if dt in FLOATS:
            b = np.abs(a)
            assert_same(bud.evaluate("sqrt(b)"), np.sqrt(b))
            assert_same(bud.evaluate("floor(a) + ceil(a)"), np.floor(a) + np.ceil(a))


@pytest.mark.parametrize("dt", ["int16", "int32", "int64", "uint16", "uint32", "float32",
                                "float64"])
@pytest.mark.parametrize("fn", ["sin", "cos", "exp", "log", "tanh", "arctan", "log1p", "expm1"])
def test_transcendental_close(dt, fn):
    # NumPy's own SIMD libm may differ from Bud's in the last bits: compare to a few ulp.
    a = sample(dt, 64, seed=6, positive=fn in ("log", "log1p"), small=True)
    if dt in FLOATS:
        a = (a % 20).astype(dt) if fn in ("exp", "expm1") else a
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(np, fn)(a)
    got = bud.evaluate("%s(a)" % fn)
    rtol = 2e-6 if want.dtype == np.float32 else 1e-14
    assert_same(got, want, exact=False, rtol=rtol)


def test_bitwise_and_shifts():
    for dt in INTS + ["bool"]:
        a = sample(dt, 30, seed=7)
        b = sample(dt, 30, seed=8)
        assert_same(bud.evaluate("a & b"), a & b)
        assert_same(bud.evaluate("a | b"), a | b)
        assert_same(bud.evaluate("a ^ b"), a ^ b)
        assert_same(bud.evaluate("~a"), ~a)
    a = np.arange(20, dtype=np.int32)
    s = np.arange(20, dtype=np.int32) % 8
    assert_same(bud.evaluate("a << s"), a << s)
    assert_same(bud.evaluate("a >> s"), a >> s)


def test_power():
    f = sample("float64", 20, seed=9, positive=True, small=True)
    assert_same(bud.evaluate("f ** 2"), f**2)
    assert_same(bud.evaluate("f ** 0.5"), f**0.5, exact=False, rtol=1e-15)
    i = np.arange(10, dtype=np.int64)
    assert_same(bud.evaluate("i ** 3"), i**3)


# ---- value-based casting (NumPy 1.24) -------------------------------------------------------------

VALUE_CASES = [
    ("float32", 2.0), ("float32", 1e300), ("float32", 3), ("int8", 300), ("int8", 100),
    ("int8", -200), ("uint8", -1), ("uint8", 255), ("uint8", 256), ("int16", 2.5),
    ("int64", 2**63), ("uint64", -1), ("bool", 1), ("bool", True), ("bool", 2.0),
    ("uint32", 70000), ("int32", 2**40), ("float32", float("inf")), ("float32", float("nan")),
]


@pytest.mark.parametrize("dt,s", VALUE_CASES)
def test_value_based_casting_python_scalars(dt, s):
    a = sample(dt, 9, seed=10, small=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = a * s if dt != "bool" or not isinstance(s, bool) else a & s
        assert_same(bud.evaluate("a * s" if dt != "bool" or not isinstance(s, bool) else "a & s"),
                    want)
        assert_same(bud.evaluate("a + s"), a + s)


def test_value_based_casting_numpy_scalars_and_0d():
    a = np.arange(5, dtype=np.float32)
    for s in [np.float64(2.0), np.array(2.0), np.int64(7), np.array(7, dtype=np.int16),
              np.float32(1.5), np.uint8(3), np.bool_(True)]:
        assert_same(bud.evaluate("a * s"), a * s)
    i8 = np.arange(5, dtype=np.int8)
    for s in [np.int64(300), np.array(300), np.int64(5), np.uint64(5), np.array(-129)]:
        assert_same(bud.evaluate("i8 + s"), i8 + s)
    # all operands 0-d: ordinary promotion, 0-d result
    assert_same(bud.evaluate("s + t", {"s": np.float32(1), "t": np.array(2.0)}),
                np.asarray(np.float32(1) + np.array(2.0)))


def test_compiled_program_reads_scalar_values_at_run_time():
    # one program (same value class) must serve different values
    f = bud.compile("a * s")
    a = np.arange(4.0)
    assert_same(f(a, 2.0), a * 2.0)
    assert_same(f(a, 3.0), a * 3.0)
    i8 = np.arange(4, dtype=np.int8)
    assert_same(f(i8, 100), i8 * 100)
    assert_same(f(i8, 1000), i8 * 1000)  # another value class: int16 result
    assert_same(f(i8, 2), i8 * 2)


# ---- shapes and strides -------------------------------------------------------------------------------

SHAPE_PAIRS = [((), ()), ((0,), (0,)), ((1,), (1,)), ((7,), ()), ((3, 0), (0,)), ((3, 1), (4,)),
               ((2, 3, 4), (3, 1)), ((1,), (5,)), ((5, 1, 3), (1, 4, 1)), ((0, 3), (1, 3)),
               ((2, 1, 1, 1, 1, 1, 1, 2), (2,))]


@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS)
@pytest.mark.parametrize("dt", ["int32", "float64", "uint8"])
def test_broadcasting_shapes(sa, sb, dt):
    a = sample(dt, sa, seed=11)
    b = sample(dt, sb, seed=12)
    want = np.asarray(a * b + a)
    assert_same(bud.evaluate("a*b + a"), want)


def test_shapes_that_do_not_broadcast():
    a = np.ones(3)
    b = np.ones(4)
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)|\(4,\).*\(3,\)"):
        bud.evaluate("a + b")


@pytest.mark.parametrize("dt", DTYPES)
def test_strides(dt):
    base = sample(dt, (8, 10), seed=13)
    views = {
        "negative": base[::-1, ::-2],
        "step": base[::2, 1::3],
        "fortran": np.asfortranarray(base),
        "transposed": base.T,
        "column": base[:, 3],
        "broadcast0": np.broadcast_to(base[0], (8, 10)),
    }
    other = sample(dt, (10, 10), seed=14)
    for name, v in views.items():
        w = other[: v.shape[0], : v.shape[1]] if v.ndim == 2 else other[: v.shape[0], 0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = np.maximum(v, w) if dt == "bool" else v * w + v
        got = bud.evaluate("maximum(v, w)" if dt == "bool" else "v*w + v")
        assert_same(got, want)


def test_byteswapped_and_unaligned_inputs():
    a = np.arange(10, dtype=">f8")
    assert_same(bud.evaluate("a + 1"), a + 1)
    raw = np.zeros(81, dtype=np.uint8)
    u = raw[1:].view(np.float64)  # misaligned by one byte
    u[:] = np.arange(10.0)
    assert not u.flags.aligned
    assert_same(bud.evaluate("u * 2"), u * 2)


def test_buffer_protocol_inputs():
    import array
    a = array.array("d", [1.0, 2.0, 3.0])
    assert_same(bud.evaluate("a * 2"), np.asarray(a) * 2)
    m = memoryview(bytearray(np.arange(6, dtype=np.int16).tobytes())).cast("h", (2, 3))
    assert_same(bud.evaluate("m + 1"), np.asarray(m) + 1)
    out = array.array("d", [0.0] * 3)
    bud.evaluate("a * 3", out=out)
    assert list(out) == [3.0, 6.0, 9.0]


def test_unsupported_dtypes_are_type_errors():
    for x in [np.ones(3, np.float16), np.ones(3, np.complex128), np.array(["a"]),
              np.ones(3, object)]:
        with pytest.raises(TypeError):
            bud.evaluate("x + 1")


def test_out_views_and_0d():
    big = np.zeros((6, 8))
    a = sample("float64", (3, 8), seed=20)
    bud.evaluate("a * 2", out=big[::2])  # strided out
    assert_same(big[::2], a * 2)
    assert not big[1::2].any()
    f = np.zeros((3, 8), order="F")
    bud.evaluate("a - 1", out=f)
    assert_same(f, a - 1)
    rev = np.zeros(8)
    bud.evaluate("v + 0", {"v": np.arange(8.0)}, out=rev[::-1])
    assert_same(rev, np.arange(8.0)[::-1])
    z = np.zeros(())
    bud.evaluate("sum(a)", out=z)
    np.testing.assert_allclose(z, a.sum(), rtol=1e-12)
    e = np.zeros((0, 4))
    bud.evaluate("x * 2", {"x": np.ones((0, 4))}, out=e)
    assert e.shape == (0, 4)


def test_huge_results_raise_memory_error_not_crash():
    a = np.broadcast_to(np.float64(1.0), (1 << 42,))  # 32 TiB result
    with pytest.raises(MemoryError):
        bud.evaluate("a + 1")
