"""bud.evaluate / re_evaluate: numexpr's interface and documentation examples, checked against
the same expression in NumPy."""
import threading

import pytest

from conftest import assert_same, np, sample

import bud

G_ARRAY = np.arange(6.0)  # a module global, found through the caller's frame


def test_numexpr_doc_examples():
    a = np.arange(1e3)
    b = np.arange(1e3) * 0.5 + 1
    assert_same(bud.evaluate("2*a + 3*b"), 2 * a + 3 * b)
    assert_same(bud.evaluate("a**2 + b**2 + 2*a*b"), a**2 + b**2 + 2 * a * b)
    assert_same(bud.evaluate("where(a > b, a, b)"), np.where(a > b, a, b))
    assert_same(bud.evaluate("a*b - 4.1*a > 2.5*b"), a * b - 4.1 * a > 2.5 * b)
    assert_same(bud.evaluate("a < b"), a < b)
    assert_same(bud.evaluate("(a >= 3) & (b != 5)"), (a >= 3) & (b != 5))
    assert_same(bud.evaluate("2*a+3*b", {"a": a, "b": b}), 2 * a + 3 * b)


def test_reduction_sum_of_product():
    a = sample("float64", 1000, seed=1)
    b = sample("float64", 1000, seed=2)
    got = bud.evaluate("sum(a*b)")
    assert isinstance(got, np.ndarray) and got.shape == () and got.dtype == np.float64
    np.testing.assert_allclose(got, np.sum(a * b), rtol=1e-12)
    a2 = np.arange(12.0).reshape(3, 4)
    assert_same(bud.evaluate("sum(a2, axis=0)"), np.sum(a2, axis=0))
    assert_same(bud.evaluate("sum(a2, axis=1)"), np.sum(a2, axis=1))
    assert_same(bud.evaluate("sum(a2, axis=-1)"), np.sum(a2, axis=-1))
    i8 = np.arange(10, dtype=np.int8)
    assert_same(bud.evaluate("sum(i8)"), np.asarray(np.sum(i8)))  # int8 sums in int64


def test_variables_from_frames_and_dicts():
    x = np.arange(5.0)
    assert_same(bud.evaluate("x + 1"), x + 1)
    assert_same(bud.evaluate("G_ARRAY * 2"), G_ARRAY * 2)  # global of this module
    # locals win over globals, and the dicts replace the frame
    G_ARRAY_local = np.ones(6)  # noqa: F841
    assert_same(bud.evaluate("G_ARRAY + y", local_dict={"y": 1.0}), G_ARRAY + 1.0)
    assert_same(bud.evaluate("x * y", {"x": x, "y": 3}, {"y": 100}), x * 3)
    assert_same(bud.evaluate("x * y", {"x": x}, {"y": 100}), x * 100)


def test_missing_variable_is_name_error():
    with pytest.raises(NameError, match="nonexistent_var"):
        bud.evaluate("nonexistent_var + 1")


def test_numexpr_keywords():
    a = np.arange(4.0)
    assert_same(bud.evaluate("a/2", optimization="aggressive", truediv="auto"), a / 2)
    assert_same(bud.evaluate("a/2", optimization="none", truediv=True), a / 2)
    i = np.arange(5)
    # Bud follows NumPy: `/` is true division even when numexpr's truediv=False asks otherwise
    assert_same(bud.evaluate("i/2", truediv=False), i / 2)
    with pytest.raises(ValueError, match="Unknown keyword"):
        bud.evaluate("a+1", bogus=3)
    with pytest.raises(ValueError):
        bud.evaluate("a+1", optimization="max")


def test_out_argument_and_casting():
    a = np.arange(10.0)
    b = np.arange(10.0)
    out = np.empty(10)
    r = bud.evaluate("a*b", out=out)
    assert r is out
    assert_same(out, a * b)
    # float64 result into float32: not 'safe'
    out32 = np.empty(10, np.float32)
    with pytest.raises(TypeError, match="safe"):
        bud.evaluate("a*b", out=out32)
    bud.evaluate("a*b", out=out32, casting="same_kind")
    assert_same(out32, (a * b).astype(np.float32))
    # int32 result into int64 is safe
    i = np.arange(10, dtype=np.int32)
    out64 = np.zeros(10, np.int64)
    bud.evaluate("i*3", out=out64)
    assert_same(out64, (i * 3).astype(np.int64))
    with pytest.raises(ValueError, match="shape"):
        bud.evaluate("a*b", out=np.empty(9))
    with pytest.raises(ValueError):
        bud.evaluate("a*b", out=np.empty(10), casting="sometimes")


def test_out_is_an_input_in_place():
    a = np.arange(10.0)
    b = np.arange(10.0)[::-1].copy()
    want = 2 * a + b
    bud.evaluate("2*a + b", out=a)
    assert_same(a, want)
    # out overlaps an input shifted by one element: as if inputs were copied first
    x = np.arange(11.0)
    want = x[1:] * 2 + x[:-1]
    bud.evaluate("u*2 + v", {"u": x[1:], "v": x[:-1]}, out=x[:-1])
    assert_same(x[:-1], want)


def test_order():
    a = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    r = bud.evaluate("a + 1")
    assert_same(r, a + 1)
    assert r.flags.f_contiguous  # 'K' keeps the operands' layout
    r = bud.evaluate("a + 1", order="C")
    assert r.flags.c_contiguous
    assert_same(r, a + 1)
    c = np.arange(12.0).reshape(3, 4)
    assert bud.evaluate("c + 1", order="F").flags.f_contiguous


def test_re_evaluate():
    a = np.arange(5.0)
    b = np.ones(5)
    assert_same(bud.evaluate("a - b"), a - b)
    a = np.arange(5.0) * 10
    assert_same(bud.re_evaluate(), a - b)
    assert_same(bud.re_evaluate({"a": np.zeros(5), "b": b}), -b)


def test_re_evaluate_is_per_thread():
    errors = []

    def worker():
        try:
            bud.re_evaluate()
        except RuntimeError:
            return
        errors.append("re_evaluate in a fresh thread did not raise")

    bud.evaluate("G_ARRAY + 1")
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert not errors


def test_expression_is_not_python_eval():
    a = np.arange(3.0)
    for bad in ["__import__('os')", "a.__class__", "lambda: 1", "[a]", "a if a else a"]:
        with pytest.raises((ValueError, NameError, TypeError)):
            bud.evaluate(bad)


def test_num_threads():
    old = bud.get_num_threads()
    assert bud.set_num_threads(3) == old
    assert bud.get_num_threads() == 3
    assert bud.set_num_threads(old) == 3
    with pytest.raises(ValueError):
        bud.set_num_threads(0)
    assert bud.detect_number_of_cores() >= 1


def test_thread_count_reaches_every_thread_and_keeps_results():
    import threading
    old = bud.get_num_threads()
    rng = np.random.default_rng(7)
    a = rng.standard_normal(3_000_001).astype(np.float32)
    b = rng.standard_normal(3_000_001).astype(np.float32)
    try:
        results = {}
        for n in (1, 2, 3):
            bud.set_num_threads(n)
            seen = []
            t = threading.Thread(target=lambda: seen.append(bud.get_num_threads()))
            t.start()
            t.join()
            assert seen == [n]
            results[n] = (bud.evaluate("a*b + 2*a"), bud.evaluate("argmax(a*b)"))
        for n in (2, 3):  # element-wise: bit-identical whatever the thread count
            assert results[n][0].tobytes() == results[1][0].tobytes()
            assert results[n][1] == results[1][1] == np.argmax(a * b)
        assert results[1][0].tobytes() == (a * b + np.float32(2) * a).tobytes()
    finally:
        bud.set_num_threads(old)


def test_python_scalars_and_lists():
    a = np.arange(4, dtype=np.float32)
    assert_same(bud.evaluate("a * 2.0"), a * 2.0)  # stays float32 (value-based casting)
    assert_same(bud.evaluate("a * s", {"a": a, "s": 2.0}), a * 2.0)
    assert_same(bud.evaluate("l + 1", {"l": [1, 2, 3]}), np.asarray([1, 2, 3]) + 1)
    assert_same(bud.evaluate("s + t", {"s": 1, "t": 2.5}), np.asarray(1 + 2.5))
