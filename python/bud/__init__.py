"""bud — Bud Flow from Python: a JIT compiler for numeric array expressions.

numexpr's interface (evaluate, re_evaluate, set_num_threads, get_num_threads) with NumPy's
semantics, compiled expressions with a low-overhead call (compile), ufunc-style functions generated
from the C op table (add, multiply, exp, where, sum, dot, ...), and introspection (explain, stats,
cpu_info). The expression text is parsed by Bud's own parser in C, never by Python's eval.
"""
import os
import sys

from . import _bud
from ._bud import Expr

__version__ = _bud.version()

__all__ = [
    "evaluate", "re_evaluate", "compile", "Expr", "set_num_threads", "get_num_threads",
    "detect_number_of_cores", "explain", "stats", "cpu_info", "ufuncs", "jit", "TraceError",
    "asarray", "LazyArray", "eval_many",
]

# ---- evaluate (numexpr's interface) ----------------------------------------------------------
# evaluate is in C (_bud_eval.c): a cached string costs a dict lookup, the variable look-ups and
# the Expr call path. Bud validates numexpr's `optimization` and `truediv`, then ignores them.

evaluate = _bud.evaluate


def _get_arguments(names, local_dict, global_dict, frame):
    if local_dict is None:
        local_dict = frame.f_locals
    if global_dict is None:
        global_dict = frame.f_globals if frame is not None else {}
    args = []
    for name in names:
        if name in local_dict:
            args.append(local_dict[name])
        elif name in global_dict:
            args.append(global_dict[name])
        else:
            raise NameError("name '%s' is not defined" % name)
    return args


def re_evaluate(local_dict=None):
    """Evaluates this thread's previous expression again, taking its variables anew from
    local_dict or the caller's frame (with the same out, order and casting)."""
    state = _bud.last_evaluated()
    if state is None:
        raise RuntimeError("re_evaluate: no previous call to evaluate in this thread")
    e, out, order, casting = state
    args = _get_arguments(e.names, local_dict, None, sys._getframe(1))
    return e._run(args, out, casting, order)


def compile(ex, casting="safe", order="K"):
    """Compiles `ex` into a callable: f(*arrays, out=None, casting=..., order=...) taking the
    arrays by position (in order of first appearance, f.names) or by name. Repeated calls with
    the same dtypes and shapes skip parsing, type inference and the program cache."""
    return Expr(ex, casting, order)


# ---- threads ---------------------------------------------------------------------------------

def detect_number_of_cores():
    return os.cpu_count() or 1


def set_num_threads(nthreads):
    """Sets the number of threads kernels run on (process-wide, as numexpr's) and returns the
    previous value. The default is BUD_NUM_THREADS when set, else the number of CPUs."""
    nthreads = int(nthreads)
    if nthreads < 1:
        raise ValueError("the number of threads must be at least 1")
    old = _bud.get_num_threads()
    _bud.set_num_threads(nthreads)
    return old


def get_num_threads():
    return _bud.get_num_threads()


# ---- introspection ---------------------------------------------------------------------------

def explain(ex, **arrays):
    """The compiler's account of `ex` for the given arrays (missing ones are taken from the
    caller's frame): IR after each pass, fusion groups, plans, code."""
    names = _bud.free_names(ex)
    missing = [n for n in names if n not in arrays]
    if missing:
        frame = sys._getframe(1)
        for n, v in zip(missing, _get_arguments(missing, None, None, frame)):
            arrays[n] = v
    return _bud.explain(ex, names, tuple(arrays[n] for n in names))


def stats():
    """Counters of this thread's Bud context (compiles, runs, cache hits/misses, compile time,
    JIT fallbacks, code bytes)."""
    return _bud.stats()


def cpu_info():
    """What Bud knows about this CPU: vendor, brand, features, the best ISA path, caches."""
    return _bud.cpu_info()


# ---- ufunc-style functions, generated from the C op table (ops.def) ----------------------------

from ._ufuncs import _install  # noqa: E402

ufuncs = _install(globals(), _bud.ops())

# ---- @bud.jit ----------------------------------------------------------------------------------

from ._jit import TraceError, jit, _setup as _jit_setup  # noqa: E402

_jit_setup(_bud.ops(), globals())

# ---- lazy arrays ---------------------------------------------------------------------------------

from ._lazy import LazyArray, asarray, eval_many, _setup as _lazy_setup  # noqa: E402

_lazy_setup(_bud.ops())
