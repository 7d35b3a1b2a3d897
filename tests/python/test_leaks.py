"""No reference leaks over 10^5 calls: reference counts of operands and results stay put, and
traced Python memory does not grow."""
import sys
import tracemalloc

from conftest import np

import bud


def test_no_reference_leaks_compiled():
    f = bud.compile("a * b + c")
    a = np.arange(16.0)
    b = np.arange(16.0)
    out = np.empty(16)
    c = 2.5
    f(a, b, c)
    f(a, b, c, out=out)
    before = [sys.getrefcount(x) for x in (a, b, c, out, f)]
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    for _ in range(50000):
        f(a, b, c, out=out)
        f(a, b, c)
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    after = [sys.getrefcount(x) for x in (a, b, c, out, f)]
    assert before == after
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    assert grown < 64 * 1024, grown


def test_no_reference_leaks_evaluate_and_errors():
    a = np.arange(16.0)
    x = np.arange(16, dtype=np.int32)

    def body():
        bud.evaluate("a + 1", {"a": a})
        bud.add(x, 1)
        try:
            bud.evaluate("a + 1", {"a": a}, out=x)  # float64 into int32: TypeError
        except TypeError:
            pass

    body()  # re_evaluate's state now holds x (as out): one reference that stays
    ra, rx = sys.getrefcount(a), sys.getrefcount(x)
    for _ in range(20000):
        body()
    assert (sys.getrefcount(a), sys.getrefcount(x)) == (ra, rx)
