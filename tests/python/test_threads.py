"""Several Python threads evaluating at once (one BudContext per thread; the GIL is released
while large kernels run), sharing compiled expressions, and threads that come and go."""
import threading

from conftest import np, sample

import bud


def run_threads(n, target):
    errors = []

    def wrap(i):
        try:
            target(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors


def test_evaluate_from_many_threads():
    def work(i):
        a = sample("float64", 5000 + i, seed=i)
        b = sample("float64", 5000 + i, seed=i + 100)
        for _ in range(20):
            got = bud.evaluate("2*a + 3*b")
            np.testing.assert_array_equal(got, 2 * a + 3 * b)

    run_threads(8, work)


def test_shared_compiled_expression():
    f = bud.compile("where(a > b, a*2, b-1)")
    a = sample("float32", 100000, seed=1)
    b = sample("float32", 100000, seed=2)
    want = np.where(a > b, a * 2, b - 1)

    def work(i):
        for k in range(30):
            n = 16 if k % 3 == 0 else 100000  # small calls keep the GIL, large ones release it
            np.testing.assert_array_equal(f(a[:n], b[:n]), want[:n])

    run_threads(6, work)


def test_threads_come_and_go():
    # each short-lived thread makes a context; programs it compiled into a shared Expr stay
    # valid after it exits and are freed safely later
    f = bud.compile("a * 3 + 1")
    a = np.arange(1000.0)
    for round_ in range(10):
        run_threads(3, lambda i: np.testing.assert_array_equal(f(a[: 10 + i]), a[: 10 + i] * 3 + 1))
    np.testing.assert_array_equal(f(a), a * 3 + 1)
    f.cache_clear()
    del f
