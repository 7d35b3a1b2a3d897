"""Lazy arrays: bud.asarray defers operators, NumPy ufuncs/functions and reductions; evaluation
on numpy.asarray / .eval / printing / indexing; eval_many fuses pending results into one program;
the same computation on new arrays reuses the compiled program."""
from conftest import assert_same, np, sample

import bud


def test_deferred_until_needed():
    a = sample("float32", 100, seed=1)
    b = sample("float32", 100, seed=2)
    la, lb = bud.asarray(a), bud.asarray(b)
    r = 2 * la + lb * 3.0 - 1
    assert isinstance(r, bud.LazyArray) and r.is_pending
    s0 = bud.stats()["runs"]
    got = np.asarray(r)
    assert not r.is_pending
    assert_same(got, 2 * a + b * 3.0 - 1)
    assert bud.stats()["runs"] - s0 == 1  # one program for the whole expression
    assert_same(r.eval(), got)  # kept, not recomputed
    assert bud.stats()["runs"] - s0 == 1


def test_numpy_functions_reductions_and_methods():
    a = sample("float64", (4, 6), seed=3, small=True) / 10
    la = bud.asarray(a)
    r = np.where(la > 0, np.exp(la), -la).sum(axis=0)
    assert r.is_pending
    np.testing.assert_allclose(np.asarray(r), np.where(a > 0, np.exp(a), -a).sum(axis=0),
                               rtol=1e-14)
    m = np.max(la, axis=1)
    assert_same(np.asarray(m), np.max(a, axis=1))
    assert_same(np.asarray(la.astype(np.float32) * 2), a.astype(np.float32) * 2)


def test_printing_indexing_and_shape_evaluate():
    a = np.arange(5.0)
    r = bud.asarray(a) * 2
    assert r.shape == (5,) and r.dtype == np.float64
    assert r[1] == 2.0
    assert "bud.LazyArray" in repr(r) and "8." in str(r)
    assert list(bud.asarray(a) + 1) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_eval_many_fuses_and_program_is_reused():
    a = sample("float64", 50, seed=4)
    b = sample("float64", 50, seed=5)
    la, lb = bud.asarray(a), bud.asarray(b)
    x, y = la + lb, la * lb
    s0 = bud.stats()
    vx, vy = bud.eval_many(x, y)
    s1 = bud.stats()
    assert s1["runs"] - s0["runs"] == 1
    assert_same(vx, a + b)
    assert_same(vy, a * b)
    # the same computation on other arrays: no new compile
    c, d = np.ones(50), np.zeros(50)
    vx2, vy2 = bud.eval_many(bud.asarray(c) + d, bud.asarray(c) * d)
    assert bud.stats()["compiles"] == s1["compiles"]
    assert_same(vx2, c + d)
    assert_same(vy2, c * d)


def test_value_based_casting_of_literals():
    a = np.arange(4, dtype=np.float32)
    assert_same(np.asarray(bud.asarray(a) * 2.0), a * 2.0)
    i8 = np.arange(4, dtype=np.int8)
    assert_same(np.asarray(bud.asarray(i8) + 300), i8 + 300)
