"""Ufunc-style functions (bud.add, bud.exp, bud.where, bud.sum, bud.dot, ...) generated from the C
op table (ops.def, via _bud.ops()). Element-wise functions and contractions are Expr objects
(the C call path, with its inline cache); reductions are small Python functions that pick an Expr
per axis. Like NumPy's ufuncs: casting into out= defaults to 'same_kind' and 0-d results are
returned as NumPy scalars.
"""
import operator

from ._bud import Expr

# Argument names as NumPy spells them, by op name or arity.
_ARGNAMES = {
    "where": ("condition", "x", "y"),
    "clip": ("a", "a_min", "a_max"),
    "dot": ("a", "b"),
    "matmul": ("x1", "x2"),
}
_BY_ARITY = {1: ("x",), 2: ("x1", "x2"), 3: ("x1", "x2", "x3")}
# NumPy's other names for the same functions.
_ALIASES = {
    "absolute": "abs", "true_divide": "divide", "mod": "remainder", "arctan2": "arctan2",
    "amin": "min", "amax": "max",
}


def _make_reduction(name):
    exprs = {}

    def reduction(a, axis=None, out=None):
        if axis is not None:
            axis = operator.index(axis)
        e = exprs.get(axis)
        if e is None:
            src = "%s(a)" % name if axis is None else "%s(a, axis=%d)" % (name, axis)
            e = exprs[axis] = Expr(src, "same_kind", "K", True)
        return e(a, out=out)

    reduction.__name__ = reduction.__qualname__ = name
    reduction.__doc__ = ("%s(a, axis=None, out=None): NumPy's %s over one axis or all, "
                         "compiled by Bud." % (name, name))
    return reduction


def _install(namespace, ops):
    """Adds one function per Flow op to namespace; returns their names, sorted."""
    made = {}
    for name, nargs, pclass, internal in ops:
        if internal or nargs <= 0 or name == "cast" or pclass == "LEAF":
            continue
        if pclass == "REDUCTION":
            made[name] = _make_reduction(name)
            continue
        argnames = _ARGNAMES.get(name) or _BY_ARITY.get(nargs)
        if argnames is None:
            continue
        src = "%s(%s)" % (name, ", ".join(argnames))
        made[name] = Expr(src, "same_kind", "K", True)
    for alias, target in _ALIASES.items():
        if target in made and alias not in made:
            made[alias] = made[target]
    namespace.update(made)
    return tuple(sorted(made))
