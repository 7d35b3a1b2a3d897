"""Shared helpers for the bud Python tests: NumPy is the reference; results must have NumPy's
dtype and shape and, for arithmetic, the same bits (NaNs compared as NaNs, signed zeros by sign).
Every test module skips (with the reason) only when NumPy is not importable."""
import pytest

np = pytest.importorskip("numpy", reason="the bud tests compare against NumPy, which is missing")

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64"]
INTS = [d for d in DTYPES if d[0] in "iu"]
FLOATS = ["float32", "float64"]
NUMERIC = INTS + FLOATS


def assert_same(got, want, exact=True, rtol=None):
    """got has want's type (array or scalar), dtype and shape; values bit-identical when exact,
    else within rtol (floats) — used for transcendental functions only."""
    want_is_array = isinstance(want, np.ndarray)
    assert isinstance(got, np.ndarray) == want_is_array, (type(got), type(want))
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.dtype == want.dtype, "dtype %s, NumPy gives %s" % (got.dtype, want.dtype)
    assert got.shape == want.shape, "shape %s, NumPy gives %s" % (got.shape, want.shape)
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    gn, wn = np.isnan(got), np.isnan(want)
    np.testing.assert_array_equal(gn, wn, err_msg="NaN positions differ")
    if exact and rtol is None:
        np.testing.assert_array_equal(got[~gn], want[~wn])
        np.testing.assert_array_equal(np.signbit(got[~gn]), np.signbit(want[~wn]),
                                      err_msg="signs of zero differ")
    else:
        np.testing.assert_allclose(got[~gn], want[~wn], rtol=rtol or 1e-6, atol=0)


def sample(dtype, shape, seed=0, positive=False, small=False):
    """Deterministic test data of a dtype: ints over most of their range (or small), floats with
    a spread of magnitudes, both signs (unless positive)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = (0 if positive or dt.kind == "u" else -100, 100) if small else (
            1 if positive else info.min, info.max)
        if positive:
            lo = max(lo, 1)
        return rng.integers(lo, hi, size=shape, dtype=dt, endpoint=True)
    x = rng.standard_normal(size=shape) * 10.0 ** rng.integers(-3, 4, size=shape)
    if positive:
        x = np.abs(x) + 0.5
    return x.astype(dt)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
