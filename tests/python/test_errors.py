"""Errors: one C function maps each BudStatus to the exception in errors.def's third column;
messages name what and where."""
import pytest

from conftest import np

import bud


def test_parse_errors_are_value_errors_with_position():
    a = np.arange(3.0)  # noqa: F841
    with pytest.raises(ValueError, match="column") as ei:
        bud.evaluate("a + * 2")
    assert "^" in str(ei.value)  # the caret line under the source
    with pytest.raises(ValueError):
        bud.evaluate("")
    with pytest.raises(ValueError):
        bud.evaluate("(a + 1")
    with pytest.raises(ValueError):
        bud.compile("a +")


def test_unknown_function_is_name_error():
    a = np.arange(3.0)  # noqa: F841
    with pytest.raises(NameError, match="sinn"):
        bud.evaluate("sinn(a)")


def test_shape_errors_are_value_errors():
    a = np.ones((2, 3))
    b = np.ones((4,))
    with pytest.raises(ValueError, match="broadcast"):
        bud.evaluate("a * b")
    with pytest.raises(ValueError):
        bud.evaluate("sum(a, axis=5)")
    f = bud.compile("a + 1")
    with pytest.raises(ValueError, match="shape"):
        f(a, out=np.empty((3, 2)))


def test_dtype_errors_are_type_errors():
    b = np.ones(3, dtype=bool)
    with pytest.raises(TypeError):
        bud.evaluate("b - b")  # NumPy refuses boolean subtract
    f = np.ones(3)
    with pytest.raises(TypeError):
        bud.evaluate("f & f")  # no bitwise ops on floats
    with pytest.raises(TypeError):
        bud.evaluate("f + x", {"f": f, "x": np.ones(3, np.complex64)})


def test_bad_arguments():
    with pytest.raises(ValueError):
        bud.evaluate(42)
    with pytest.raises(TypeError):
        bud.compile("a + 1")(np.ones(3), out="not an array")
    with pytest.raises(ValueError, match="casting"):
        bud.compile("a + 1")(np.ones(3), casting="bogus")
    with pytest.raises(ValueError, match="order"):
        bud.compile("a + 1")(np.ones(3), order="X")
    with pytest.raises(OverflowError):
        bud.evaluate("a + 1", {"a": 2**70})
    with pytest.raises(ValueError, match="dimensions"):
        bud.evaluate("a + 1", {"a": np.ones((1,) * 9)})

