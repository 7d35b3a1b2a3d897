"""opt_patterns through the Python API, against NumPy: integer a**k (0 <= k <= 17, every integer
dtype, wrap-around included) is bit-identical to np.power whether or not the multiplication chain
applies, negative integer exponents raise as in NumPy, float a**3 stays a power (not a*a*a);
1/(1+exp(-x)) (and its spellings) is the sigmoid op: within 1 ULP of the exact value (long double
reference), equal to bud.sigmoid(x), on float32 and float64."""
import pytest

from conftest import FLOATS, INTS, assert_same, np, sample

import bud


@pytest.mark.parametrize("dt", INTS)
def test_int_power_chains_match_numpy(dt):
    a = sample(dt, 257, seed=3)
    for k in range(0, 18):
        want = np.power(a, np.array(k, dtype=dt))
        got = bud.evaluate("a ** %d" % k)
        assert_same(got, want)


@pytest.mark.parametrize("dt", ["int8", "int32", "int64"])
def test_int_negative_power_raises(dt):
    a = sample(dt, 16, seed=4, positive=True)
    with pytest.raises(ValueError):
        np.power(a, np.array(-2, dtype=dt))
    with pytest.raises(ValueError):
        bud.evaluate("a ** -2")


@pytest.mark.parametrize("dt", FLOATS)
def test_float_cube_is_pow(dt):
    """a ** 3 stays a power (the same bits as with an array exponent, within 1 ULP of the exact
    cube); a chain a*a*a would round twice. (NumPy's own float power is not a fixed reference:
    on AVX-512 machines it uses SVML's pow, 0.94 ULP off here.)"""
    a = sample(dt, 1001, seed=5)
    b = np.full(a.shape, 3, dtype=dt)
    got = bud.evaluate("a ** 3")
    assert_same(got, bud.evaluate("a ** b"))
    ref = a.astype(np.longdouble) ** 3
    fi = np.finfo(dt)
    ulp = np.exp2(np.floor(np.log2(np.abs(ref))) - fi.nmant)
    assert (np.abs(got - ref) / ulp).max() <= 1.0
    assert (got != a * a * a).any()  # the chain would differ


def ulp_err(got, x):
    """ULP error of got (float32/float64) against 1/(1+exp(-x)) in long double."""
    xl = x.astype(np.longdouble)
    ref = 1 / (1 + np.exp(-xl))
    fi = np.finfo(got.dtype)
    mag = np.maximum(np.abs(ref.astype(got.dtype)).astype(np.longdouble),
                     np.longdouble(fi.tiny))
    ulp = np.exp2(np.floor(np.log2(mag)) - (fi.nmant))
    return np.abs(got.astype(np.longdouble) - ref) / ulp


@pytest.mark.parametrize("dt", FLOATS)
def test_sigmoid_pattern(dt):
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-40, 40, 20000), rng.uniform(-750, 40, 2000),
                        [0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30]]).astype(dt)
    with np.errstate(over="ignore"):
        for src in ["1/(1+exp(-x))", "1/(exp(-x)+1)", "1.0/(1.0+exp(-x))"]:
            got = bud.evaluate(src)
            assert got.dtype == np.dtype(dt)
            assert ulp_err(got, x).max() <= 1.0, src
            assert_same(got, bud.sigmoid(x))
