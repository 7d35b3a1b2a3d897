"""@bud.jit: traces a Python function over symbolic arrays into one Flow program, compiled by the
C extension like any expression (one Expr per traced function: dtypes and shapes are handled by
its inline cache, so "once per signature").

Tracing runs the function once with a Sym per parameter. A Sym records Flow text: Python
operators, NumPy ufuncs and functions (through __array_ufunc__ / __array_function__), methods
(.sum(axis=...), .astype(...)), and bud's own functions (the function runs with `bud` and names
imported from it replaced by tracing versions). Arrays captured from globals or closures become
extra inputs, bound at trace time. What has no Flow equivalent (branching on a value, indexing,
unknown functions) raises a TypeError that says so.
"""
import functools
import inspect
import numbers
import types

import numpy as np

from ._arraylike import NP_FUNC as _NP_FUNC, NP_UFUNC as _NP_UFUNC, OPS as _OPS
from ._arraylike import ReductionMethods, record_ops
from ._bud import Expr


class TraceError(TypeError):
    """An operation a traced function performed that Bud cannot express."""


_UNTRACEABLE = ("bud.jit: %s cannot be traced; a traced function may only combine its arrays with "
                "operators, bud/NumPy math functions, where, reductions and casts")


class _Trace:
    """The state of one tracing run: captured constants and the names in use."""

    def __init__(self, reserved):
        self.consts = []  # (name, value)
        self.by_id = {}
        self.reserved = set(reserved)

    def const(self, value):
        key = id(value)
        if key in self.by_id:
            return self.by_id[key]
        name = "k%d" % len(self.consts)
        while name in self.reserved:
            name += "_"
        self.reserved.add(name)
        self.consts.append((name, value))
        self.by_id[key] = name
        return name


class Sym(ReductionMethods):
    """A symbolic array inside a traced function: Flow text."""

    __slots__ = ("text", "trace")
    __array_priority__ = 1000  # ndarray (op) Sym defers to Sym

    def __init__(self, text, trace):
        self.text = text
        self.trace = trace

    # -- operands ----------------------------------------------------------------------------
    def _arg(self, x):
        return _flow(x, self.trace)

    def _bin(self, op, other, reverse=False):
        a, b = self.text, self._arg(other)
        if reverse:
            a, b = b, a
        return Sym("(%s %s %s)" % (a, op, b), self.trace)

    def __add__(self, o): return self._bin("+", o)
    def __radd__(self, o): return self._bin("+", o, True)
    def __sub__(self, o): return self._bin("-", o)
    def __rsub__(self, o): return self._bin("-", o, True)
    def __mul__(self, o): return self._bin("*", o)
    def __rmul__(self, o): return self._bin("*", o, True)
    def __truediv__(self, o): return self._bin("/", o)
    def __rtruediv__(self, o): return self._bin("/", o, True)
    def __floordiv__(self, o): return self._bin("//", o)
    def __rfloordiv__(self, o): return self._bin("//", o, True)
    def __mod__(self, o): return self._bin("%", o)
    def __rmod__(self, o): return self._bin("%", o, True)
    def __pow__(self, o): return self._bin("**", o)
    def __rpow__(self, o): return self._bin("**", o, True)
    def __matmul__(self, o): return self._bin("@", o)
    def __rmatmul__(self, o): return self._bin("@", o, True)
    def __and__(self, o): return self._bin("&", o)
    def __rand__(self, o): return self._bin("&", o, True)
    def __or__(self, o): return self._bin("|", o)
    def __ror__(self, o): return self._bin("|", o, True)
    def __xor__(self, o): return self._bin("^", o)
    def __rxor__(self, o): return self._bin("^", o, True)
    def __lshift__(self, o): return self._bin("<<", o)
    def __rlshift__(self, o): return self._bin("<<", o, True)
    def __rshift__(self, o): return self._bin(">>", o)
    def __rrshift__(self, o): return self._bin(">>", o, True)
    def __lt__(self, o): return self._bin("<", o)
    def __le__(self, o): return self._bin("<=", o)
    def __gt__(self, o): return self._bin(">", o)
    def __ge__(self, o): return self._bin(">=", o)
    def __eq__(self, o): return self._bin("==", o)  # noqa: E704
    def __ne__(self, o): return self._bin("!=", o)
    def __neg__(self): return Sym("(-%s)" % self.text, self.trace)
    def __pos__(self): return self
    def __invert__(self): return Sym("(~%s)" % self.text, self.trace)
    def __abs__(self): return Sym("abs(%s)" % self.text, self.trace)
    __hash__ = None

    def __bool__(self):
        raise TraceError(_UNTRACEABLE % "branching on an array value (if/and/or/while)"
                         + "; use where(cond, x, y)")

    def __getitem__(self, key):
        raise TraceError(_UNTRACEABLE % "indexing")

    def __len__(self):
        raise TraceError(_UNTRACEABLE % "len()")

    def __iter__(self):
        raise TraceError(_UNTRACEABLE % "iteration")

    def __array__(self, *a, **k):
        raise TraceError(_UNTRACEABLE % "conversion to a NumPy array")

    def __repr__(self):
        return "<traced array %s>" % self.text

    # -- methods ------------------------------------------------------------------------------
    def astype(self, dtype):
        return Sym("%s(%s)" % (np.dtype(dtype).name, self.text), self.trace)

    def _reduce(self, name, axis=None):
        return _call(name, (self,), {"axis": axis})

    def dot(self, other): return _call("dot", (self, other), {})

    # -- NumPy protocols ------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = _NP_UFUNC.get(ufunc.__name__, ufunc.__name__)
        if method == "__call__" and not kwargs and name in _OPS:
            return _call(name, inputs, {})
        if method == "reduce" and name in _UFUNC_REDUCE and set(kwargs) <= {"axis"}:
            return _call(_UFUNC_REDUCE[name], inputs[:1], {"axis": kwargs.get("axis", 0)})
        raise TraceError(_UNTRACEABLE % ("numpy.%s.%s%s" % (
            ufunc.__name__, method, " with %s" % sorted(kwargs) if kwargs else "")))

    def __array_function__(self, func, types_, args, kwargs):
        name = _NP_FUNC.get(func.__name__, func.__name__)
        if name in _OPS and set(kwargs) <= {"axis"}:
            return _call(name, args, kwargs)
        raise TraceError(_UNTRACEABLE % ("numpy.%s" % func.__name__))


_UFUNC_REDUCE = {"add": "sum", "multiply": "prod", "minimum": "min", "maximum": "max",
                 "logical_or": "any", "logical_and": "all"}


def _trace_of(args):
    for a in args:
        if isinstance(a, Sym):
            return a.trace
    return None


def _flow(x, trace):
    """Flow text of an operand: a Sym's text, a literal, or a captured constant's input name."""
    if isinstance(x, Sym):
        if x.trace is not trace:
            raise TraceError("bud.jit: a traced array escaped from another traced call")
        return x.text
    if isinstance(x, bool):
        return "True" if x else "False"
    if isinstance(x, numbers.Integral) and type(x) is int:
        return "(%d)" % x
    if type(x) is float:
        if x != x:
            return "nan"
        if x in (float("inf"), float("-inf")):
            return "inf" if x > 0 else "(-inf)"
        return "(%r)" % x
    if isinstance(x, (np.ndarray, np.generic)):
        return trace.const(x)
    raise TraceError(_UNTRACEABLE % ("an operand of type %s" % type(x).__name__))


def _call(name, args, kwargs):
    trace = _trace_of(args)
    if trace is None:  # no traced operand: an ordinary call
        return _REAL[name](*args, **kwargs)
    text = ", ".join(_flow(a, trace) for a in args)
    axis = kwargs.get("axis")
    if axis is not None:
        if _OPS.get(name) != "reduction":
            raise TraceError("bud.jit: %s takes no axis" % name)
        text += ", axis=%d" % int(axis)
    return Sym("%s(%s)" % (name, text), trace)


_REAL = {}


def _tracing_function(name):
    def f(*args, out=None, **kwargs):
        if out is not None and _trace_of(args) is not None:
            raise TraceError(_UNTRACEABLE % "out= inside a traced function")
        if _trace_of(args) is None:
            return _REAL[name](*args, out=out, **kwargs)
        return _call(name, args, kwargs)
    f.__name__ = name
    return f


class _TracingModule(types.ModuleType):
    """Stands in for the bud module while a function is traced."""

    def __init__(self, real, funcs):
        super().__init__(real.__name__)
        self.__dict__.update({k: v for k, v in vars(real).items() if not k.startswith("__")})
        self.__dict__.update(funcs)


class Jitted:
    """A function traced into one compiled Bud program on its first call (per arity)."""

    def __init__(self, fn, casting):
        self.fn = fn
        self.casting = casting
        self.traces = {}  # number of arguments -> (Expr, constants)
        functools.update_wrapper(self, fn)

    def _trace(self, nargs):
        import bud
        params = list(inspect.signature(self.fn).parameters)[:nargs]
        names = []
        for i, p in enumerate(params):
            ok = p.isidentifier() and p not in _OPS and p not in _REAL and not p.startswith("_")
            names.append(p if ok and p not in names else "arg%d" % i)
        trace = _Trace(names + list(_OPS))
        syms = [Sym(n, trace) for n in names]
        funcs = {n: _tracing_function(n) for n in _OPS}
        tracing_bud = _TracingModule(bud, funcs)
        by_real = {id(_REAL[n]): funcs[n] for n in funcs if n in _REAL}
        g = dict(self.fn.__globals__)
        for k, v in list(g.items()):
            if v is bud:
                g[k] = tracing_bud
            elif id(v) in by_real:  # e.g. `from bud import exp as e`
                g[k] = by_real[id(v)]
        fn = types.FunctionType(self.fn.__code__, g, self.fn.__name__, self.fn.__defaults__,
                                self.fn.__closure__)
        res = fn(*syms)
        outs = res if isinstance(res, tuple) else (res,)
        for o in outs:
            if not isinstance(o, Sym):
                raise TraceError("bud.jit: %s returned %s, not a traced array" % (
                    self.fn.__name__, type(o).__name__))
        if isinstance(res, tuple):
            src = "; ".join("out%d = %s" % (i, o.text) for i, o in enumerate(outs))
        else:
            src = res.text
        expr = Expr(src, self.casting)
        # The Expr's inputs are the parameters and the constants, in order of first use.
        return expr, names, dict(trace.consts)

    def __call__(self, *args, out=None):
        t = self.traces.get(len(args))
        if t is None:
            t = self.traces[len(args)] = self._trace(len(args))
        expr, names, consts = t
        bound = dict(zip(names, args))
        bound.update(consts)
        return expr(*[bound[n] for n in expr.names], out=out)

    def source(self, nargs=None):
        """The Flow text the function was traced into (tracing it if needed)."""
        n = nargs if nargs is not None else len(inspect.signature(self.fn).parameters)
        if n not in self.traces:
            self.traces[n] = self._trace(n)
        return self.traces[n][0].source


def jit(fn=None, *, casting="safe"):
    """Decorator: traces fn over symbolic arrays into one Flow program (compiled once; the
    program's inline cache handles each dtype/shape signature). Call the result with arrays
    (and out=). See bud/_jit.py for what can be traced."""
    if fn is None:
        return lambda f: Jitted(f, casting)
    return Jitted(fn, casting)


def _setup(ops, namespace):
    """Records the Flow functions (from the op table) and bud's real functions."""
    record_ops(ops)
    for name in _OPS:
        if name in namespace:
            _REAL[name] = namespace[name]
