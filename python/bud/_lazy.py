"""Lazy arrays: bud.asarray(x) wraps an array; operators, NumPy ufuncs/functions (through
__array_ufunc__ / __array_function__) and reduction methods build an expression tree instead of
computing. The tree is evaluated, as one fused Bud program, by numpy.asarray(), .eval(), printing,
indexing or reading .shape/.dtype; bud.eval_many(*lazies) evaluates several pending results in one
program (shared inputs read once). Trees render to Flow text with leaves named in order of first
appearance, so the same computation on other arrays reuses the compiled Expr (cached by text).
"""
import numbers

import numpy as np

from ._arraylike import NP_FUNC as _NP_FUNC, NP_UFUNC as _NP_UFUNC, OPS as _OPS
from ._arraylike import ReductionMethods, record_ops
from ._bud import Expr

_EXPRS = {}  # Flow text -> Expr
_EXPRS_MAX = 256


class LazyArray(ReductionMethods):
    """A pending array computation (or a wrapped array, its leaf)."""

    __slots__ = ("_op", "_args", "_axis", "_value")
    __array_priority__ = 1000

    def __init__(self, op, args, axis=None, value=None):
        self._op = op        # "leaf", a Flow operator ("+", ...), "neg", "~" or a function name
        self._args = args    # LazyArray or Python number operands
        self._axis = axis
        self._value = value  # the array once known

    # -- building -------------------------------------------------------------------------------
    def _bin(self, op, other, reverse=False):
        other = _wrap(other)
        return LazyArray(op, (other, self) if reverse else (self, other))

    def _reduce(self, name, axis=None):
        return LazyArray(name, (self,), axis=axis)


    def astype(self, dtype):
        return LazyArray(np.dtype(dtype).name, (self,))

    def __neg__(self): return LazyArray("neg", (self,))
    def __pos__(self): return self
    def __invert__(self): return LazyArray("~", (self,))
    def __abs__(self): return LazyArray("abs", (self,))
    __hash__ = None

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = _NP_UFUNC.get(ufunc.__name__, ufunc.__name__)
        if method == "__call__" and not kwargs and name in _OPS:
            return LazyArray(name, tuple(_wrap(x) for x in inputs))
        vals = [x.eval() if isinstance(x, LazyArray) else x for x in inputs]
        return getattr(ufunc, method)(*vals, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        name = _NP_FUNC.get(func.__name__, func.__name__)
        if name in _OPS and set(kwargs) <= {"axis"} and not (
                kwargs.get("axis") is not None and _OPS[name] != "reduction"):
            return LazyArray(name, tuple(_wrap(x) for x in args), axis=kwargs.get("axis"))
        vals = [x.eval() if isinstance(x, LazyArray) else x for x in args]
        return func(*vals, **kwargs)

    # -- evaluating -----------------------------------------------------------------------------
    def eval(self):
        """The result as a numpy.ndarray (computed once, then kept)."""
        if self._value is None:
            eval_many(self)
        return self._value

    def __array__(self, dtype=None):
        v = self.eval()
        return v if dtype is None else v.astype(dtype)

    def __getitem__(self, key): return self.eval()[key]
    def __len__(self): return len(self.eval())
    def __iter__(self): return iter(self.eval())
    def __bool__(self): return bool(self.eval())
    def __repr__(self): return "bud.LazyArray(%r)" % (self.eval(),)
    def __str__(self): return str(self.eval())

    @property
    def shape(self): return self.eval().shape

    @property
    def dtype(self): return self.eval().dtype

    @property
    def ndim(self): return self.eval().ndim

    @property
    def is_pending(self):
        return self._value is None


_BINOPS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
           "pow": "**", "matmul": "@", "and": "&", "or": "|", "xor": "^", "lshift": "<<",
           "rshift": ">>"}
for _name, _op in _BINOPS.items():
    setattr(LazyArray, "__%s__" % _name, lambda self, o, _op=_op: self._bin(_op, o))
    setattr(LazyArray, "__r%s__" % _name, lambda self, o, _op=_op: self._bin(_op, o, True))
for _name, _op in {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}.items():
    setattr(LazyArray, "__%s__" % _name, lambda self, o, _op=_op: self._bin(_op, o))


def _wrap(x):
    if isinstance(x, LazyArray):
        return x
    if type(x) in (bool, int, float):
        return x  # a literal: value-based casting as in NumPy
    return LazyArray("leaf", (), value=np.asarray(x))


def asarray(x):
    """A lazy view of x (an array, buffer, list or scalar): operations on it are deferred."""
    if isinstance(x, LazyArray):
        return x
    return LazyArray("leaf", (), value=np.asarray(x))


def _render(node, leaves, ids):
    """Flow text of node; known arrays become inputs x0, x1, ... in order of first use."""
    if not isinstance(node, LazyArray):
        if isinstance(node, bool):
            return "True" if node else "False"
        if isinstance(node, numbers.Integral):
            return "(%d)" % node
        if node != node:
            return "nan"
        if node in (float("inf"), float("-inf")):
            return "inf" if node > 0 else "(-inf)"
        return "(%r)" % node
    if node._value is not None:
        k = id(node._value)
        if k not in ids:
            ids[k] = "x%d" % len(leaves)
            leaves.append(node._value)
        return ids[k]
    args = [_render(a, leaves, ids) for a in node._args]
    op = node._op
    if op == "neg":
        return "(-%s)" % args[0]
    if op == "~":
        return "(~%s)" % args[0]
    if len(args) == 2 and not op[0].isalpha():
        return "(%s %s %s)" % (args[0], op, args[1])
    text = "%s(%s" % (op, ", ".join(args))
    if node._axis is not None:
        text += ", axis=%d" % int(node._axis)
    return text + ")"


def eval_many(*lazies):
    """Evaluates the pending lazy arrays together, as one program (fused where Bud can), and
    returns their values as a tuple of numpy arrays."""
    pending = [z for z in lazies if isinstance(z, LazyArray) and z._value is None]
    if pending:
        leaves, ids = [], {}
        texts = [_render(z, leaves, ids) for z in pending]
        if len(texts) == 1:
            src = texts[0]
        else:
            src = "; ".join("r%d = %s" % (i, t) for i, t in enumerate(texts))
        e = _EXPRS.get(src)
        if e is None:
            if len(_EXPRS) >= _EXPRS_MAX:
                _EXPRS.clear()
            e = _EXPRS[src] = Expr(src)
        by_name = {"x%d" % i: v for i, v in enumerate(leaves)}
        res = e(*[by_name[n] for n in e.names])
        if len(texts) == 1:
            res = (res,)
        for z, r in zip(pending, res):
            z._value, z._args, z._op = r, (), "leaf"
    return tuple(z.eval() if isinstance(z, LazyArray) else np.asarray(z) for z in lazies)


def _setup(ops):
    record_ops(ops)
