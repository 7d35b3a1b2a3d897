/* _bud.h — private header of the CPython extension bud._bud: the per-thread context, the one
 * status-to-exception function, argument conversion (numpy arrays, buffers, Python and numpy
 * scalars -> BudArray without copies) and the compiled-expression type.
 * Files: _bud.c (module, contexts, errors, introspection), _bud_array.c (conversion, results),
 * _bud_expr.c (the Expr type and its inline cache).
 */
#ifndef BUD_PY_BUD_H
#define BUD_PY_BUD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL bud_py_ARRAY_API
#ifndef PY_BUD_IMPORT_ARRAY
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "bud.h"

/* ---- per-thread contexts ------------------------------------------------------------------- */

typedef struct ProgRef ProgRef;

/* A BudContext shared by reference count: the thread that made it holds one reference (dropped
 * at thread exit), every compiled program made in it holds one. Programs are freed only by the
 * owning thread while it lives (others queue them on `pending`), so a context is never used by
 * two threads at once. */
typedef struct PyCtx {
  BudContext *ctx;
  atomic_int refs;
  pthread_mutex_t mu; /* guards attached and pending */
  bool attached;      /* its thread is alive */
  ProgRef *pending;   /* programs to free, queued by other threads */
  atomic_int npending; /* length of pending, readable without the lock */
  int nthreads;       /* the process-wide thread count last applied to ctx (0: none yet) */
} PyCtx;

/* The calling thread's context (created on first use); NULL with MemoryError set. */
PyCtx *py_ctx_get(void);
void py_ctx_decref(PyCtx *pc);

/* A compiled program and what a call needs to know about its outputs. refs are changed only
 * with the GIL held. */
#define PY_MAX_OUTPUTS 16
struct ProgRef {
  BudProgram *prog;
  BudCall *call; /* the prepared call (bud_call_new) runs take; made with pctx's context */
  PyCtx *pctx;
  int refs;
  int noutputs;
  int64_t work; /* most elements of any operand: decides whether the GIL is released */
  BudDType out_dt[PY_MAX_OUTPUTS];
  int out_ndim[PY_MAX_OUTPUTS];
  int64_t out_shape[PY_MAX_OUTPUTS][BUD_MAX_DIMS];
  ProgRef *next_pending;
};
void py_prog_decref(ProgRef *r); /* GIL held */

/* Raises the Python exception errors.def names for st, with ctx's message. Returns NULL. */
PyObject *py_raise(BudContext *ctx, BudStatus st);

/* ---- arguments ------------------------------------------------------------------------------ */

/* Value classes of a 0-d operand, fine enough that NumPy 1.24's value-based casting gives the
 * same result dtype for every value of one class (min_scalar_type plus "fits the signed type of
 * the same size"). -1 for arrays with ndim > 0. */
int py_scalar_category(BudDType dt, const void *p);

/* One operand of a call, converted into the BudArray *arr (the caller's, so it can sit in the
 * array passed to bud_run) that views the caller's memory. Do not copy a PyArg: for Python
 * scalars arr->data points into `scalar`. */
typedef struct PyArg {
  BudArray *arr;
  PyObject *keep; /* a reference held while the array is used (or NULL) */
  Py_buffer view;
  bool has_view;
  int category; /* py_scalar_category for 0-d, else -1 */
  union {
    bool b;
    int64_t i;
    uint64_t u;
    double f;
    char bytes[16];
  } scalar;
} PyArg;

/* 0 on success, -1 with an exception set. `what` names the operand in messages. */
int py_arg_in(PyObject *obj, PyArg *a, BudArray *arr, const char *what);
/* A writable output operand (out=). */
int py_arg_out(PyObject *obj, PyArg *a, BudArray *arr);
void py_arg_release(PyArg *a);

/* A new result array (numpy.ndarray) of the given dtype and shape, C order (or Fortran order
 * when fortran is true); fills *arr with a view of it. NULL with an exception set. */
PyObject *py_new_result(BudDType dt, int ndim, const int64_t *shape, bool fortran, BudArray *arr);
/* numpy type number of a BudDType, and the reverse (-1 when NumPy's type has no BudDType). */
int py_npy_type(BudDType dt);
int py_bud_dtype(int npy_type, int itemsize);

/* ---- casting and order ----------------------------------------------------------------------- */

enum { PY_CAST_NO, PY_CAST_EQUIV, PY_CAST_SAFE, PY_CAST_SAME_KIND, PY_CAST_UNSAFE };
enum { PY_ORDER_K, PY_ORDER_A, PY_ORDER_C, PY_ORDER_F };
int py_parse_casting(PyObject *s); /* -1 with ValueError */
int py_parse_order(PyObject *s);
bool py_can_cast(BudDType from, BudDType to, int casting);

/* ---- the Expr type ------------------------------------------------------------------------------ */

extern PyTypeObject PyExprType;
/* For evaluate: the names tuple of an Expr (borrowed) and its call path. */
PyObject *py_expr_names(PyObject *expr);
PyObject *py_expr_run(PyObject *expr, PyObject *const *objs, PyObject *out, int casting,
                      int order);

/* ---- evaluate (_bud_eval.c) ------------------------------------------------------------------- */

int py_eval_init(void); /* at import: the expression cache and interned names */
PyObject *py_evaluate(PyObject *self, PyObject *const *args, Py_ssize_t nargsf, PyObject *kwnames);
PyObject *py_last_evaluated(PyObject *self, PyObject *unused);

/* Names the source uses as variables, as a tuple of str (flow_free_names). */
PyObject *py_free_names(const char *source);

/* Elements (of the largest operand or result) from which the GIL is released around a run:
 * releasing and taking it back costs ~35 ns here, worth it once a kernel runs for microseconds
 * (16K float32 elements streamed: ~2-5 us). */
#define PY_GIL_RELEASE_MIN 16384

#endif /* BUD_PY_BUD_H */
