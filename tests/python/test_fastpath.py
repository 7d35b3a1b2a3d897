"""The lean call path (prepared calls, bud_call_run) and the repeat slot of compiled expressions:
taken for repeated calls on C-contiguous arrays (counted in stats()['lean_runs']), the general
path for anything else, NumPy's results either way; out= broadcasting as NumPy allows it; the
float32 dot within its stated bound; no reference leaks over 10^5 calls of the lean path; several
Python threads calling one compiled expression at once."""
import sys
import threading

import pytest

from conftest import np

import bud


def lean():
    return bud.stats()["lean_runs"]


def _jit_on():
    """BUD_ISA=vm turns the JIT off: element-wise groups then run in the VM via bud_run."""
    bud.compile("a * 3 - 1")(np.arange(64, dtype=np.float32))
    return bud.stats()["kernels_jit"] > 0


JIT = _jit_on()
needs_jit = pytest.mark.skipif(not JIT, reason="the JIT is off (BUD_ISA=vm): no lean element-wise runs")


@needs_jit
def test_lean_path_is_taken_and_right():
    f = bud.compile("a * 2 + b")
    a = np.arange(16, dtype=np.float32)
    b = np.ones(16, np.float32)
    c = np.empty(16, np.float32)
    f(a, b, out=c)
    before = lean()
    for k in range(10):
        a2 = a + k  # a new array (new data pointer) each time
        assert f(a2, b, out=c) is c
        np.testing.assert_array_equal(c, a2 * 2 + b)
        np.testing.assert_array_equal(f(a2, b), a2 * 2 + b)
    assert lean() >= before + 19
    d = np.empty(16, np.float32)
    before = lean()
    bud.add(a, b, out=d)
    bud.add(a, b, out=d)
    assert lean() == before + 2
    np.testing.assert_array_equal(d, a + b)


def test_unusual_arrays_take_the_general_path():
    f = bud.compile("a * 2 + b")
    a = np.arange(32, dtype=np.float32)
    b = np.ones(16, np.float32)
    c = np.empty(16, np.float32)
    f(a[:16], b, out=c)
    f(a[:16], b, out=c)  # the slot now holds (float32 (16,), float32 (16,), out)
    before = lean()
    np.testing.assert_array_equal(f(a[::2], b, out=c), a[::2] * 2 + b)  # strided
    np.testing.assert_array_equal(f(a[::-2], b, out=c), a[::-2] * 2 + b)  # negative
    assert lean() == before  # strided operands: the general path (also without the JIT)
    np.testing.assert_array_equal(f(a[:16].astype(np.float64), b), a[:16] * 2.0 + b)  # dtype
    np.testing.assert_array_equal(f(a, np.ones(32, np.float32)), a * 2 + 1)  # shape
    sw = a[:16].astype(">f4")
    np.testing.assert_array_equal(f(sw, b), a[:16] * 2 + b)  # byte-swapped
    ro = np.empty(16, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        f(a[:16], b, out=ro)
    fo = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    g = bud.compile("a + 1")
    for _ in range(3):
        r = g(fo)
        np.testing.assert_array_equal(r, fo + 1)
        assert r.flags.f_contiguous  # order='K' keeps Fortran order


def test_in_place_and_overlapping_out():
    f = bud.compile("a * 2 + b")
    for _ in range(3):
        a = np.arange(64, dtype=np.float32)
        b = np.ones(64, np.float32)
        want = a * 2 + b
        f(a, b, out=a)  # out is a: element-wise, fine on the lean path
        np.testing.assert_array_equal(a, want)
        a = np.arange(65, dtype=np.float32)
        want = a[:64] * 2 + b
        f(a[:64], b, out=a[1:])  # shifted overlap: as if a were copied first
        np.testing.assert_array_equal(a[1:], want)


def test_scalar_operands_keep_numpy_types():
    f = bud.compile("a * k")
    a = np.arange(8, dtype=np.float32)
    for k in (2, 3.5, 300, 2.0**100):
        for _ in range(2):
            got = f(a, k)
            want = a * k
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_reductions_and_dot_on_the_lean_path_match_the_general_path():
    rng = np.random.default_rng(1)
    for n in (5, 64, 1000, 5000, 30000, 300000):
        a = rng.standard_normal(n).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        for src in ("sum(a * b)", "dot(a, b)", "max(a - b)"):
            f = bud.compile(src)
            first = f(a, b)  # the general path
            again = [f(a, b) for _ in range(3)]  # the lean path
            assert all(x.tobytes() == first.tobytes() for x in again), (src, n)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 63, 64, 1023, 1024, 1025, 4096, 65536, 70001])
def test_float32_dot_within_its_bound(n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    p = a.astype(np.float64) * b.astype(np.float64)
    exact = float(np.sum(p, dtype=np.longdouble))
    bound = (1024 / 64 + 8) * 2.0**-24 * float(np.sum(np.abs(p), dtype=np.longdouble))
    bound += 0.5 * float(np.spacing(np.float32(abs(exact))))
    for _ in range(2):
        got = bud.dot(a, b)
        assert isinstance(got, np.float32)
        assert abs(float(got) - exact) <= bound, (got, exact, bound)
        assert abs(float(bud.dot(a[::3], b[::3])) - float(np.dot(a[::3].astype(np.float64),
                                                                   b[::3]))) <= bound


@pytest.mark.parametrize("res_shape,out_shape", [
    ((3,), (4, 3)), ((1,), (5,)), ((), (2, 2)), ((4, 1), (2, 4, 5)), ((3,), (3,)),
])
def test_out_broadcasts_like_numpy(res_shape, out_shape):
    a = np.arange(int(np.prod(res_shape)), dtype=np.float32).reshape(res_shape)
    b = np.full(res_shape, 0.5, np.float32)
    for fn in (bud.add, bud.compile("a + b")):
        out = np.zeros(out_shape, np.float32)
        want = np.zeros(out_shape, np.float32)
        np.add(a, b, out=want)
        assert fn(a, b, out=out) is out
        np.testing.assert_array_equal(out, want)
    out64 = np.zeros(out_shape, np.float64)
    bud.add(a, b, out=out64)  # with a cast, as NumPy's same_kind
    np.testing.assert_array_equal(out64, np.add(a, b, out=np.zeros(out_shape)))


@pytest.mark.parametrize("res_shape,out_shape", [((3,), (4,)), ((4, 3), (3,)), ((2, 3), (3, 3))])
def test_out_that_does_not_broadcast_names_the_shapes(res_shape, out_shape):
    a = np.ones(res_shape, np.float32)
    with pytest.raises(ValueError):
        np.add(a, a, out=np.zeros(out_shape, np.float32))
    with pytest.raises(ValueError) as e:
        bud.add(a, a, out=np.zeros(out_shape, np.float32))
    fmt = lambda s: "(%s)" % (", ".join(map(str, s)) + ("," if len(s) == 1 else ""))
    assert fmt(out_shape) in str(e.value) and fmt(res_shape) in str(e.value)


def test_no_reference_leaks_on_the_lean_path():
    f = bud.compile("a * b + c")
    a = np.arange(16, dtype=np.float32)
    b = np.arange(16, dtype=np.float32)
    c = np.ones(16, np.float32)
    out = np.empty(16, np.float32)
    d = np.empty(16, np.float32)
    for _ in range(3):
        f(a, b, c, out=out)
        bud.add(a, b, out=d)
    objs = (a, b, c, out, d, f, bud.add)
    before = [sys.getrefcount(x) for x in objs]
    start = lean()
    for _ in range(100000):
        f(a, b, c, out=out)
        bud.add(a, b, out=d)
    assert lean() - start == (200000 if JIT else 0)
    assert [sys.getrefcount(x) for x in objs] == before
    r = f(a, b, c)  # results allocated by the lean path are owned by the caller only
    rc = sys.getrefcount(r)
    for _ in range(100000):
        r = f(a, b, c)
    assert sys.getrefcount(r) == rc


def test_threads_share_one_compiled_expression():
    f = bud.compile("a * 2 + b")
    errors = []

    def worker(seed):
        try:
            rng = np.random.default_rng(seed)
            n = (16, 1000, 40000)[seed % 3]
            a = rng.standard_normal(n).astype(np.float32)
            b = rng.standard_normal(n).astype(np.float32)
            out = np.empty(n, np.float32)
            want = a * 2 + b
            for _ in range(3000 if n < 40000 else 200):
                f(a, b, out=out)
                if not np.array_equal(out, want):
                    errors.append(seed)
                    return
                if not np.array_equal(f(a, b), want):
                    errors.append(seed)
                    return
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
