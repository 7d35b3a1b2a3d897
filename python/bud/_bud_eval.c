/* _bud_eval.c — numexpr's evaluate() in C, so a call on a cached string costs a dict lookup,
 * the variable look-ups and the Expr call path: the expression text maps to an Expr (at most
 * PY_EVAL_CACHE_MAX of them), variables come from local_dict/global_dict or the caller's frame
 * (PyEval_GetLocals/GetGlobals: a C function pushes no frame of its own), and what re_evaluate
 * repeats is kept in the thread's state dict.
 * Entry points: py_evaluate (bud.evaluate), py_last_evaluated (for bud.re_evaluate).
 */
#define _GNU_SOURCE
#include "_bud.h"

#include <string.h>

#define PY_EVAL_CACHE_MAX 256

/* Module-lifetime objects made at import (py_eval_init): the cache and interned names. */
static PyObject *eval_cache, *key_last;
static PyObject *kw_names[8];
enum { KW_EX, KW_LOCAL, KW_GLOBAL, KW_OUT, KW_ORDER, KW_CASTING, KW_OPTIMIZATION, KW_TRUEDIV };
static const char *const kw_strs[8] = {"ex", "local_dict", "global_dict", "out",
                                       "order", "casting", "optimization", "truediv"};

int py_eval_init(void) {
  eval_cache = PyDict_New();
  key_last = PyUnicode_InternFromString("bud.last_evaluated");
  if (!eval_cache || !key_last) return -1;
  for (int i = 0; i < 8; i++)
    if (!(kw_names[i] = PyUnicode_InternFromString(kw_strs[i]))) return -1;
  return 0;
}

static int kw_index(PyObject *kw) {
  for (int i = 0; i < 8; i++)
    if (kw == kw_names[i]) return i;
  for (int i = 0; i < 8; i++)
    if (PyUnicode_Compare(kw, kw_names[i]) == 0) return i;
  return -1;
}

/* numexpr 2.8's checks of its own options (their values do not change what Bud does). */
static int check_option(int which, PyObject *v) {
  if (which == KW_OPTIMIZATION) {
    const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
    if (s && (!strcmp(s, "none") || !strcmp(s, "moderate") || !strcmp(s, "aggressive"))) return 0;
    PyErr_SetString(PyExc_ValueError,
                    "'optimization' must be one of ('none', 'moderate', 'aggressive')");
    return -1;
  }
  if (v == Py_True || v == Py_False) return 0;
  if (PyUnicode_Check(v) && PyUnicode_CompareWithASCIIString(v, "auto") == 0) return 0;
  PyErr_SetString(PyExc_ValueError, "'truediv' must be one of (False, True, 'auto')");
  return -1;
}

/* The Expr for source text ex (cached). New reference. */
static PyObject *expr_for(PyObject *ex) {
  if (!PyUnicode_Check(ex)) {
    PyErr_SetString(PyExc_ValueError, "must specify expression as a string");
    return NULL;
  }
  PyObject *e = PyDict_GetItemWithError(eval_cache, ex);
  if (e) {
    Py_INCREF(e);
    return e;
  }
  if (PyErr_Occurred()) return NULL;
  e = PyObject_CallOneArg((PyObject *)&PyExprType, ex);
  if (!e) return NULL;
  if (PyDict_GET_SIZE(eval_cache) >= PY_EVAL_CACHE_MAX) PyDict_Clear(eval_cache);
  if (PyDict_SetItem(eval_cache, ex, e) < 0) {
    Py_DECREF(e);
    return NULL;
  }
  return e;
}

/* Borrowed (dicts) or new (other mappings) reference in *out; 1 found, 0 not, -1 error. */
static int lookup(PyObject *map, PyObject *name, PyObject **out, bool *owned) {
  *owned = false;
  if (!map) return 0;
  if (PyDict_Check(map)) {
    *out = PyDict_GetItemWithError(map, name);
    return *out ? 1 : PyErr_Occurred() ? -1 : 0;
  }
  *out = PyObject_GetItem(map, name);
  if (*out) {
    *owned = true;
    return 1;
  }
  if (!PyErr_ExceptionMatches(PyExc_KeyError)) return -1;
  PyErr_Clear();
  return 0;
}

/* Runs e with its variables looked up in locals, then globals. */
static PyObject *run_with_lookup(PyObject *e, PyObject *locals, PyObject *globals, PyObject *out,
                                 int casting, int order) {
  PyObject *names = py_expr_names(e);
  Py_ssize_t n = PyTuple_GET_SIZE(names);
  PyObject *objs[BUD_MAX_OPERANDS];
  bool owned[BUD_MAX_OPERANDS];
  Py_ssize_t got = 0;
  PyObject *res = NULL;
  for (; got < n; got++) {
    PyObject *name = PyTuple_GET_ITEM(names, got);
    int rc = lookup(locals, name, &objs[got], &owned[got]);
    if (rc == 0) rc = lookup(globals, name, &objs[got], &owned[got]);
    if (rc < 0) goto done;
    if (rc == 0) {
      PyErr_Format(PyExc_NameError, "name '%U' is not defined", name);
      goto done;
    }
  }
  res = py_expr_run(e, objs, out, casting, order);
done:
  for (Py_ssize_t i = 0; i < got; i++)
    if (owned[i]) Py_DECREF(objs[i]);
  return res;
}

/* evaluate(ex, local_dict=None, global_dict=None, out=None, order='K', casting='safe', **kw) */
PyObject *py_evaluate(PyObject *self, PyObject *const *args, Py_ssize_t nargsf, PyObject *kwnames) {
  Py_ssize_t npos = PyVectorcall_NARGS(nargsf);
  PyObject *a[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
  if (npos > 6) {
    PyErr_SetString(PyExc_TypeError, "evaluate() takes at most 6 positional arguments");
    return NULL;
  }
  for (Py_ssize_t i = 0; i < npos; i++) a[i] = args[i];
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nkw; k++) {
    PyObject *kw = PyTuple_GET_ITEM(kwnames, k), *v = args[npos + k];
    int i = kw_index(kw);
    if (i < 0) {
      PyErr_Format(PyExc_ValueError, "Unknown keyword argument '%U'", kw);
      return NULL;
    }
    if (i >= KW_OPTIMIZATION) {
      if (check_option(i, v) < 0) return NULL;
      continue;
    }
    if (a[i]) {
      PyErr_Format(PyExc_TypeError, "evaluate() got multiple values for argument '%U'", kw);
      return NULL;
    }
    a[i] = v;
  }
  if (!a[KW_EX]) {
    PyErr_SetString(PyExc_TypeError, "evaluate() missing required argument 'ex'");
    return NULL;
  }
  for (int i = KW_LOCAL; i <= KW_CASTING; i++)
    if (a[i] == Py_None) a[i] = NULL;
  int casting = a[KW_CASTING] ? py_parse_casting(a[KW_CASTING]) : PY_CAST_SAFE;
  int order = a[KW_ORDER] ? py_parse_order(a[KW_ORDER]) : PY_ORDER_K;
  if (casting < 0 || order < 0) return NULL;
  PyObject *locals = a[KW_LOCAL], *globals = a[KW_GLOBAL];
  if (!locals && !(locals = PyEval_GetLocals())) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "evaluate: no caller frame");
    return NULL;
  }
  if (!globals) globals = PyEval_GetGlobals(); /* NULL without a frame: then only locals */
  PyObject *e = expr_for(a[KW_EX]);
  if (!e) return NULL;
  /* re_evaluate's state: (expr, out, order, casting) in this thread's state dict */
  PyObject *tdict = PyThreadState_GetDict();
  PyObject *state = Py_BuildValue("(OOOO)", e, a[KW_OUT] ? a[KW_OUT] : Py_None,
                                  a[KW_ORDER] ? a[KW_ORDER] : Py_None,
                                  a[KW_CASTING] ? a[KW_CASTING] : Py_None);
  if (!tdict || !state || PyDict_SetItem(tdict, key_last, state) < 0) {
    Py_XDECREF(state);
    Py_DECREF(e);
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "evaluate: no thread state dict");
    return NULL;
  }
  Py_DECREF(state);
  PyObject *res = run_with_lookup(e, locals, globals, a[KW_OUT], casting, order);
  Py_DECREF(e);
  return res;
}

/* last_evaluated() -> (expr, out, order, casting) of this thread's last evaluate, or None. */
PyObject *py_last_evaluated(PyObject *self, PyObject *unused) {
  PyObject *tdict = PyThreadState_GetDict();
  PyObject *state = tdict ? PyDict_GetItemWithError(tdict, key_last) : NULL;
  if (!state) {
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
  }
  Py_INCREF(state);
  return state;
}
