"""_arraylike.py — what the tracer (_jit.Sym) and lazy arrays (_lazy.LazyArray) share: the Flow
functions from the C op table with their kind, NumPy's names for some of them, and the reduction
methods (each class supplies _reduce)."""

OPS = {}  # Flow function name -> "elementwise" / "reduction" (filled by record_ops)
NP_UFUNC = {"absolute": "abs", "true_divide": "divide"}
NP_FUNC = {"amin": "min", "amax": "max", "absolute": "abs"}


def record_ops(ops):
    """Fills OPS from the C op table: (name, nargs, pattern_class, internal) rows."""
    for name, nargs, pclass, internal in ops:
        if internal or nargs <= 0 or name == "cast" or pclass == "LEAF":
            continue
        OPS[name] = "reduction" if pclass == "REDUCTION" else "elementwise"


class ReductionMethods:
    """NumPy's reduction methods, each one `self._reduce(name, axis)`."""

    def sum(self, axis=None): return self._reduce("sum", axis)
    def prod(self, axis=None): return self._reduce("prod", axis)
    def min(self, axis=None): return self._reduce("min", axis)
    def max(self, axis=None): return self._reduce("max", axis)
    def mean(self, axis=None): return self._reduce("mean", axis)
    def any(self, axis=None): return self._reduce("any", axis)
    def all(self, axis=None): return self._reduce("all", axis)
    def argmin(self, axis=None): return self._reduce("argmin", axis)
    def argmax(self, axis=None): return self._reduce("argmax", axis)
