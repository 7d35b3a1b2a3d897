/* _bud.c — the CPython extension module bud._bud: per-thread BudContexts (pthread key with a
 * destructor, reference counted so compiled programs outlive their thread safely), the one
 * function that maps a BudStatus to a Python exception (errors.def's third column), and the
 * module-level functions: free_names, explain, stats, cpu_info, ops, version.
 * The Python package bud/__init__.py builds numexpr's interface on top of these and the Expr
 * type (_bud_expr.c).
 */
#define _GNU_SOURCE
#define PY_BUD_IMPORT_ARRAY
#include "_bud.h"

#include <stdlib.h>
#include <string.h>

#include "front/front.h"
#include "ir/ir.h"
#include "x86/cpu.h"

/* ---- per-thread contexts --------------------------------------------------------------------
 * The pthread key is process state created once (pthread_once); it is the only static besides
 * the type object and module definition. */

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static int ctx_key_err;

static void prog_free_now(ProgRef *r) {
  bud_call_free(r->call);
  r->call = NULL;
  bud_program_free(r->prog);
  r->prog = NULL;
}

void py_ctx_decref(PyCtx *pc) {
  if (atomic_fetch_sub(&pc->refs, 1) != 1) return;
  bud_context_free(pc->ctx);
  pthread_mutex_destroy(&pc->mu);
  free(pc);
}

/* Frees the queued programs of pc (with pc->mu held); returns how many. */
static int ctx_drain_locked(PyCtx *pc) {
  ProgRef *r = pc->pending;
  pc->pending = NULL;
  atomic_store(&pc->npending, 0);
  int n = 0;
  while (r) {
    ProgRef *next = r->next_pending;
    prog_free_now(r);
    free(r);
    n++;
    r = next;
  }
  return n;
}

/* Called by pc's own thread: frees what other threads queued. Each freed program held a
 * reference; the thread holds one more, so the count cannot reach 0 here. */
static void ctx_drain(PyCtx *pc) {
  pthread_mutex_lock(&pc->mu);
  int n = ctx_drain_locked(pc);
  pthread_mutex_unlock(&pc->mu);
  atomic_fetch_sub(&pc->refs, n);
}

static void ctx_thread_exit(void *p) {
  PyCtx *pc = p;
  pthread_mutex_lock(&pc->mu);
  int n = ctx_drain_locked(pc);
  pc->attached = false;
  pthread_mutex_unlock(&pc->mu);
  atomic_fetch_sub(&pc->refs, n);
  py_ctx_decref(pc);
}

static void ctx_key_create(void) { ctx_key_err = pthread_key_create(&ctx_key, ctx_thread_exit); }

/* bud.set_num_threads is process-wide (as numexpr's); contexts are per thread, so each context
 * picks the value up the next time its thread uses it. 0 = the library's default. */
static atomic_int py_nthreads;

static void ctx_apply_threads(PyCtx *pc) {
  int n = atomic_load_explicit(&py_nthreads, memory_order_relaxed);
  if (n != pc->nthreads) {
    bud_set_num_threads(pc->ctx, n);
    pc->nthreads = n;
  }
}

PyCtx *py_ctx_get(void) {
  PyCtx *pc = pthread_getspecific(ctx_key);
  if (pc) {
    if (atomic_load_explicit(&pc->npending, memory_order_relaxed)) ctx_drain(pc);
    ctx_apply_threads(pc);
    return pc;
  }
  pc = calloc(1, sizeof *pc);
  if (!pc || !(pc->ctx = bud_context_new())) {
    free(pc);
    PyErr_NoMemory();
    return NULL;
  }
  atomic_init(&pc->refs, 1);
  atomic_init(&pc->npending, 0);
  pthread_mutex_init(&pc->mu, NULL);
  pc->attached = true;
  ctx_apply_threads(pc);
  if (pthread_setspecific(ctx_key, pc) != 0) {
    py_ctx_decref(pc);
    PyErr_NoMemory();
    return NULL;
  }
  return pc;
}

void py_prog_decref(ProgRef *r) {
  if (--r->refs > 0) return;
  PyCtx *pc = r->pctx;
  if (pthread_getspecific(ctx_key) == pc) {
    prog_free_now(r);
    free(r);
    py_ctx_decref(pc);
    return;
  }
  /* another thread's context: queue it while that thread lives, else free it here (under the
   * mutex, so frees of a detached context never run at the same time) */
  pthread_mutex_lock(&pc->mu);
  if (pc->attached) {
    r->next_pending = pc->pending;
    pc->pending = r;
    atomic_fetch_add(&pc->npending, 1);
    pthread_mutex_unlock(&pc->mu);
    return;
  }
  prog_free_now(r);
  pthread_mutex_unlock(&pc->mu);
  free(r);
  py_ctx_decref(pc);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static PyObject *const py_no_exception = NULL;
#define PyExc_None py_no_exception
static const struct {
  BudStatus st;
  PyObject *const *exc;
} status_exc[] = {
#define ERR(ID, value, pyexc) {(BudStatus)(value), &PyExc_##pyexc},
#include "base/errors.def"
#undef ERR
};
#undef PyExc_None

PyObject *py_raise(BudContext *ctx, BudStatus st) {
  PyObject *exc = PyExc_RuntimeError;
  for (size_t i = 0; i < sizeof status_exc / sizeof status_exc[0]; i++)
    if (status_exc[i].st == st && *status_exc[i].exc) exc = *status_exc[i].exc;
  const char *msg = ctx ? bud_last_error(ctx) : "";
  if (!msg || !*msg) msg = bud_status_name(st);
  if (exc == PyExc_MemoryError)
    PyErr_SetString(exc, msg);
  else
    PyErr_Format(exc, "%s", msg);
  return NULL;
}

/* ---- module functions ------------------------------------------------------------------------ */

PyObject *py_free_names(const char *source) {
  PyCtx *pc = py_ctx_get();
  if (!pc) return NULL;
  Arena arena;
  arena_init(&arena);
  const char **names = NULL;
  int n = flow_free_names(pc->ctx, &arena, source, &names);
  PyObject *res = NULL;
  if (n < 0) {
    py_raise(pc->ctx, (BudStatus)n);
  } else if (n > BUD_MAX_OPERANDS) {
    PyErr_Format(PyExc_ValueError, "expression uses %d variables; at most %d are allowed", n,
                 BUD_MAX_OPERANDS);
  } else if ((res = PyTuple_New(n))) {
    for (int i = 0; i < n; i++) {
      PyObject *s = PyUnicode_FromString(names[i]);
      if (!s) {
        Py_CLEAR(res);
        break;
      }
      PyTuple_SET_ITEM(res, i, s);
    }
  }
  arena_free(&arena);
  return res;
}

static PyObject *mod_free_names(PyObject *self, PyObject *arg) {
  const char *src = PyUnicode_AsUTF8(arg);
  return src ? py_free_names(src) : NULL;
}

/* explain(source, names, arrays) -> str */
static PyObject *mod_explain(PyObject *self, PyObject *args) {
  const char *src;
  PyObject *names, *arrays;
  if (!PyArg_ParseTuple(args, "sO!O!:explain", &src, &PyTuple_Type, &names, &PyTuple_Type, &arrays))
    return NULL;
  Py_ssize_t n = PyTuple_GET_SIZE(names);
  if (n != PyTuple_GET_SIZE(arrays) || n > BUD_MAX_OPERANDS) {
    PyErr_SetString(PyExc_ValueError, "explain: names and arrays differ in length or are too many");
    return NULL;
  }
  PyCtx *pc = py_ctx_get();
  if (!pc) return NULL;
  PyArg *pa = calloc((size_t)(n ? n : 1), sizeof *pa);
  BudArray *arrs = calloc((size_t)(n ? n : 1), sizeof *arrs);
  BudInput in[BUD_MAX_OPERANDS];
  if (!pa || !arrs) {
    free(pa);
    free(arrs);
    return PyErr_NoMemory();
  }
  PyObject *res = NULL;
  Py_ssize_t done = 0;
  for (; done < n; done++) {
    in[done].name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(names, done));
    if (!in[done].name || py_arg_in(PyTuple_GET_ITEM(arrays, done), &pa[done], &arrs[done], in[done].name) < 0)
      goto out;
    in[done].array = &arrs[done];
  }
  char *text = bud_explain(pc->ctx, src, (int)n, in);
  if (!text) {
    py_raise(pc->ctx, bud_last_status(pc->ctx));
    goto out;
  }
  res = PyUnicode_FromString(text);
  bud_free(text);
out:
  for (Py_ssize_t i = 0; i < done; i++) py_arg_release(&pa[i]);
  free(pa);
  free(arrs);
  return res;
}

static int dict_set_u64(PyObject *d, const char *k, uint64_t v) {
  PyObject *o = PyLong_FromUnsignedLongLong(v);
  int rc = o ? PyDict_SetItemString(d, k, o) : -1;
  Py_XDECREF(o);
  return rc;
}

static int dict_set_str(PyObject *d, const char *k, const char *v) {
  PyObject *o = PyUnicode_FromString(v);
  int rc = o ? PyDict_SetItemString(d, k, o) : -1;
  Py_XDECREF(o);
  return rc;
}

/* stats() -> dict of the calling thread's context counters */
static PyObject *mod_stats(PyObject *self, PyObject *unused) {
  PyCtx *pc = py_ctx_get();
  if (!pc) return NULL;
  BudStats s;
  bud_stats(pc->ctx, &s);
  PyObject *d = PyDict_New();
  if (!d) return NULL;
  if (dict_set_u64(d, "compiles", s.compiles) || dict_set_u64(d, "runs", s.runs) ||
      dict_set_u64(d, "kernels_jit", s.kernels_jit) || dict_set_u64(d, "kernels_vm", s.kernels_vm) ||
      dict_set_u64(d, "jit_fallbacks", s.jit_fallbacks) ||
      dict_set_u64(d, "cache_hits", s.cache_hits) || dict_set_u64(d, "cache_misses", s.cache_misses) ||
      dict_set_u64(d, "compile_ns", s.compile_ns) || dict_set_u64(d, "code_bytes", s.code_bytes) ||
      dict_set_u64(d, "program_cache_hits", s.program_cache_hits) ||
      dict_set_u64(d, "program_cache_misses", s.program_cache_misses) ||
      dict_set_u64(d, "serial_fallbacks", s.serial_fallbacks) ||
      dict_set_u64(d, "lean_runs", s.lean_runs)) {
    Py_DECREF(d);
    return NULL;
  }
  return d;
}

/* cpu_info() -> dict from the x86 CPU description */
static PyObject *mod_cpu_info(PyObject *self, PyObject *unused) {
  const X86Cpu *cpu = x86_cpu();
  char feats[512];
  x86_feat_names(cpu->feat, feats, sizeof feats);
  PyObject *d = PyDict_New();
  if (!d) return NULL;
  if (dict_set_str(d, "vendor", cpu->vendor) || dict_set_str(d, "brand", cpu->brand) ||
      dict_set_str(d, "features", feats) ||
      dict_set_str(d, "best_isa", x86_isa_name(x86_isa_best(cpu->feat))) ||
      dict_set_u64(d, "family", cpu->family) || dict_set_u64(d, "model", cpu->model) ||
      dict_set_u64(d, "l1d", cpu->l1d) || dict_set_u64(d, "l2", cpu->l2) ||
      dict_set_u64(d, "l3", cpu->l3) || dict_set_u64(d, "cache_line", cpu->line)) {
    Py_DECREF(d);
    return NULL;
  }
  return d;
}

/* ops() -> tuple of (name, nargs, pattern_class, is_internal) from ops.def */
static PyObject *mod_ops(PyObject *self, PyObject *unused) {
  static const struct {
    const char *name, *pclass;
    int nargs;
    unsigned flags;
  } rows[] = {
#define OP(ID, name, nargs, pclass, purity, tsig, flags) {name, #pclass, nargs, flags},
#include "ir/ops.def"
#undef OP
  };
  size_t n = sizeof rows / sizeof rows[0];
  PyObject *t = PyTuple_New((Py_ssize_t)n);
  if (!t) return NULL;
  for (size_t i = 0; i < n; i++) {
    PyObject *row = Py_BuildValue("(sisO)", rows[i].name, rows[i].nargs, rows[i].pclass,
                                  (rows[i].flags & F_INTERNAL) ? Py_True : Py_False);
    if (!row) {
      Py_DECREF(t);
      return NULL;
    }
    PyTuple_SET_ITEM(t, (Py_ssize_t)i, row);
  }
  return t;
}

static PyObject *mod_version(PyObject *self, PyObject *unused) {
  return PyUnicode_FromString(bud_version());
}

static PyObject *mod_set_num_threads(PyObject *self, PyObject *arg) {
  long n = PyLong_AsLong(arg);
  if (n == -1 && PyErr_Occurred()) return NULL;
  if (n < 0 || n > 256) {
    PyErr_SetString(PyExc_ValueError, "the number of threads must be between 1 and 256");
    return NULL;
  }
  atomic_store(&py_nthreads, (int)n);
  Py_RETURN_NONE;
}

static PyObject *mod_get_num_threads(PyObject *self, PyObject *unused) {
  PyCtx *pc = py_ctx_get();
  if (!pc) return NULL;
  return PyLong_FromLong(bud_get_num_threads(pc->ctx));
}

static PyMethodDef mod_methods[] = {
    {"set_num_threads", mod_set_num_threads, METH_O,
     "set_num_threads(n) -> None: threads for every thread's context (0: the default)"},
    {"get_num_threads", mod_get_num_threads, METH_NOARGS,
     "get_num_threads() -> the threads this thread's context uses"},
    {"free_names", mod_free_names, METH_O,
     "free_names(source) -> tuple of the variable names, in order of first appearance"},
    {"explain", mod_explain, METH_VARARGS, "explain(source, names, arrays) -> str"},
    {"stats", mod_stats, METH_NOARGS, "stats() -> dict of this thread's context counters"},
    {"cpu_info", mod_cpu_info, METH_NOARGS, "cpu_info() -> dict describing the CPU"},
    {"ops", mod_ops, METH_NOARGS, "ops() -> tuple of (name, nargs, pattern_class, internal)"},
    {"version", mod_version, METH_NOARGS, "version() -> the C library's version string"},
    {"evaluate", (PyCFunction)(void (*)(void))py_evaluate, METH_FASTCALL | METH_KEYWORDS,
     "evaluate(ex, local_dict=None, global_dict=None, out=None, order='K', casting='safe', "
     "**kwargs)\n\nEvaluates the array expression ex (numexpr's signature). Variables come from "
     "local_dict/global_dict, or from the caller's frame when they are not given. Results follow "
     "NumPy: broadcasting, promotion (value-based for Python scalars and 0-d arrays), "
     "element-wise results bit-identical to the same NumPy expression. With out=, the result is "
     "written there (cast under `casting`) and out is returned. numexpr's `optimization` and "
     "`truediv` are accepted and ignored."},
    {"last_evaluated", py_last_evaluated, METH_NOARGS,
     "last_evaluated() -> (expr, out, order, casting) of this thread's last evaluate, or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef bud_module = {
    PyModuleDef_HEAD_INIT, "_bud", "Bud Flow's C extension (use the bud package).", -1, mod_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__bud(void) {
  pthread_once(&ctx_once, ctx_key_create);
  if (ctx_key_err) {
    PyErr_SetString(PyExc_ImportError, "bud: cannot create the thread-local context key");
    return NULL;
  }
  import_array();
  if (PyType_Ready(&PyExprType) < 0 || py_eval_init() < 0) return NULL;
  PyObject *m = PyModule_Create(&bud_module);
  if (!m) return NULL;
  Py_INCREF(&PyExprType);
  if (PyModule_AddObject(m, "Expr", (PyObject *)&PyExprType) < 0 ||
      PyModule_AddIntConstant(m, "MAX_OPERANDS", BUD_MAX_OPERANDS) < 0 ||
      PyModule_AddIntConstant(m, "MAX_DIMS", BUD_MAX_DIMS) < 0 ||
      PyModule_AddIntConstant(m, "GIL_RELEASE_MIN", PY_GIL_RELEASE_MIN) < 0) {
    Py_DECREF(&PyExprType);
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
