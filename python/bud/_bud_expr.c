/* _bud_expr.c — the Expr type: a Flow expression compiled on demand, called with arrays by
 * position (the order of first appearance, `.names`) or by name, plus out=, casting=, order=.
 * Each object keeps an inline cache of PY_EXPR_NCACHE programs keyed on (thread's context,
 * out dtype and casting, and per operand: dtype, shape and the value class of 0-d operands), so
 * a repeated call converts its operands, compares one short key and runs: no parsing, no type
 * inference, no library cache lookup. Programs are reference counted (ProgRef) so that one
 * evicted by another thread while this one runs with the GIL released stays alive.
 * Entry points: PyExprType (tp_vectorcall), Expr._run (for bud.evaluate).
 */
#define _GNU_SOURCE
#include "_bud.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PY_EXPR_NCACHE 8
#define PY_KEY_MAX (2 + BUD_MAX_OPERANDS * (1 + BUD_MAX_DIMS))

typedef struct CacheEntry {
  int64_t *key; /* malloc'd */
  int nkey;
  ProgRef *ref;
} CacheEntry;

/* The last call's signature when it can repeat on the lean path: every operand a numpy array of
 * ndim >= 1, aligned, C-contiguous, native byte order (the descr is the builtin one), out= given
 * or not, with the program's prepared call lean. A call that matches it skips the operand
 * conversion, the key and the cache search: a few pointer and shape compares, then
 * bud_call_run (which checks everything again and falls back to the general path itself). */
typedef struct FastSlot {
  PyCtx *pc;                /* NULL: empty */
  ProgRef *ref;             /* one reference */
  int casting;
  bool has_out;
  PyArray_Descr *out_descr; /* one reference (has_out) */
  int out_ndim;
  npy_intp out_shape[BUD_MAX_DIMS];
  BudDType out_dt;
  BudDType dt[BUD_MAX_OPERANDS];
  PyArray_Descr *descr[BUD_MAX_OPERANDS]; /* one reference each */
  int ndim[BUD_MAX_OPERANDS];
  npy_intp shape[BUD_MAX_OPERANDS][BUD_MAX_DIMS];
} FastSlot;

typedef struct PyExpr {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  char *source;        /* malloc'd UTF-8 */
  PyObject *src_obj;   /* str */
  PyObject *names;     /* tuple of str */
  const char *cnames[BUD_MAX_OPERANDS]; /* UTF-8 of names (owned by the str objects) */
  int nnames;
  int casting;         /* default casting rule */
  int order;           /* default order of results */
  bool scalar_result;  /* return 0-d results as numpy scalars (ufunc style) */
  bool is_expression;  /* a single expression (so a result cast can wrap it) */
  int next_victim;     /* round-robin replacement */
  CacheEntry cache[PY_EXPR_NCACHE];
  FastSlot *fast;      /* malloc'd on first use */
} PyExpr;

/* One expression, no statements: no ';', no line break before trailing space, no '=' at
 * parenthesis depth 0 (keyword arguments and comparisons are fine). */
static bool source_is_expression(const char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
  int depth = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '(' || c == '[') depth++;
    else if ((c == ')' || c == ']') && depth > 0) depth--;
    else if (c == ';' || c == '\n') return false;
    else if (c == '=' && depth == 0) {
      bool cmp = (i > 0 && strchr("<>=!", s[i - 1])) || (i + 1 < n && s[i + 1] == '=');
      if (!cmp) return false;
    }
  }
  return true;
}

/* ---- construction -------------------------------------------------------------------------- */

static PyObject *expr_vectorcall(PyObject *self_, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames);

static PyObject *expr_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"source", "casting", "order", "scalar_result", NULL};
  PyObject *src, *casting = NULL, *order = NULL;
  int scalar_result = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "U|OOp:Expr", kwlist, &src, &casting, &order,
                                   &scalar_result))
    return NULL;
  int cast_rule = casting ? py_parse_casting(casting) : PY_CAST_SAFE;
  int ord = order ? py_parse_order(order) : PY_ORDER_K;
  if (cast_rule < 0 || ord < 0) return NULL;
  const char *s = PyUnicode_AsUTF8(src);
  if (!s) return NULL;
  PyObject *names = py_free_names(s);
  if (!names) return NULL;
  PyExpr *self = (PyExpr *)type->tp_alloc(type, 0);
  if (!self) {
    Py_DECREF(names);
    return NULL;
  }
  self->vectorcall = expr_vectorcall;
  self->source = strdup(s);
  if (!self->source) {
    Py_DECREF(names);
    Py_DECREF(self);
    return PyErr_NoMemory();
  }
  Py_INCREF(src);
  self->src_obj = src;
  self->names = names;
  self->nnames = (int)PyTuple_GET_SIZE(names);
  for (int i = 0; i < self->nnames; i++) PyUnicode_InternInPlace(&PyTuple_GET_ITEM(names, i));
  for (int i = 0; i < self->nnames; i++) {
    self->cnames[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(names, i));
    if (!self->cnames[i]) {
      Py_DECREF(self);
      return NULL;
    }
  }
  self->casting = cast_rule;
  self->order = ord;
  self->scalar_result = scalar_result != 0;
  self->is_expression = source_is_expression(s);
  return (PyObject *)self;
}

static void fast_clear(PyExpr *self) {
  FastSlot *f = self->fast;
  if (!f || !f->pc) return;
  for (int i = 0; i < self->nnames; i++) Py_CLEAR(f->descr[i]);
  Py_CLEAR(f->out_descr);
  ProgRef *r = f->ref;
  f->ref = NULL;
  f->pc = NULL;
  if (r) py_prog_decref(r);
}

static void expr_clear_cache(PyExpr *self) {
  fast_clear(self);
  for (int i = 0; i < PY_EXPR_NCACHE; i++) {
    CacheEntry *e = &self->cache[i];
    if (e->ref) py_prog_decref(e->ref);
    free(e->key);
    e->ref = NULL;
    e->key = NULL;
    e->nkey = 0;
  }
}

static void expr_dealloc(PyExpr *self) {
  expr_clear_cache(self);
  free(self->fast);
  free(self->source);
  Py_XDECREF(self->src_obj);
  Py_XDECREF(self->names);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- compiling on a cache miss ---------------------------------------------------------------- */

static const char *casting_name(int c) {
  static const char *names[] = {"no", "equiv", "safe", "same_kind", "unsafe"};
  return names[c];
}

static BudStatus compile_src(PyCtx *pc, const char *src, int n, const char *const *names,
                             const PyArg *args, BudProgram **prog) {
  BudInput in[BUD_MAX_OPERANDS];
  for (int i = 0; i < n; i++) {
    in[i].name = names[i];
    in[i].array = args[i].arr;
  }
  return bud_compile(pc->ctx, src, n, in, prog);
}

/* Compiles self for these operands (and out's dtype under `casting`); a new ProgRef with one
 * reference, or NULL with an exception set. */
static ProgRef *expr_compile(PyExpr *self, PyCtx *pc, const PyArg *args, const BudArray *out,
                             int casting) {
  BudProgram *prog = NULL;
  BudStatus st = compile_src(pc, self->source, self->nnames, self->cnames, args, &prog);
  if (st != BUD_OK) return (ProgRef *)py_raise(pc->ctx, st);
  int nout = bud_program_noutputs(prog);
  if (nout > PY_MAX_OUTPUTS || (out && nout != 1)) {
    bud_program_free(prog);
    PyErr_Format(PyExc_ValueError, "%d outputs: %s", nout,
                 out ? "out= needs an expression with exactly one result"
                     : "too many outputs for the Python module");
    return NULL;
  }
  if (out) {
    const char *name;
    BudDType dt;
    int ndim;
    int64_t shape[BUD_MAX_DIMS];
    st = bud_program_output(prog, 0, &name, &dt, &ndim, shape);
    if (st == BUD_OK && dt != out->dtype) {
      bud_program_free(prog);
      prog = NULL;
      if (!py_can_cast(dt, out->dtype, casting)) {
        PyErr_Format(PyExc_TypeError,
                     "Cannot cast the result from dtype('%s') to dtype('%s') according to the "
                     "rule '%s'",
                     bud_dtype_name(dt), bud_dtype_name(out->dtype), casting_name(casting));
        return NULL;
      }
      if (!self->is_expression) {
        PyErr_Format(PyExc_TypeError,
                     "out has dtype %s but the result is %s: a cast into out= is only done for a "
                     "single expression, not for statements",
                     bud_dtype_name(out->dtype), bud_dtype_name(dt));
        return NULL;
      }
      size_t len = strlen(self->source) + 32;
      char *wrapped = malloc(len);
      if (!wrapped) return (ProgRef *)PyErr_NoMemory();
      snprintf(wrapped, len, "%s((%s))", bud_dtype_name(out->dtype), self->source);
      st = compile_src(pc, wrapped, self->nnames, self->cnames, args, &prog);
      free(wrapped);
      if (st != BUD_OK) return (ProgRef *)py_raise(pc->ctx, st);
    } else if (st != BUD_OK) {
      bud_program_free(prog);
      return (ProgRef *)py_raise(pc->ctx, st);
    }
  }
  ProgRef *r = calloc(1, sizeof *r);
  if (!r) {
    bud_program_free(prog);
    return (ProgRef *)PyErr_NoMemory();
  }
  r->prog = prog;
  r->refs = 1;
  st = bud_call_new(pc->ctx, prog, &r->call);
  if (st != BUD_OK) {
    bud_program_free(prog);
    free(r);
    return (ProgRef *)py_raise(pc->ctx, st);
  }
  r->noutputs = nout;
  for (int i = 0; i < nout; i++) {
    const char *name;
    st = bud_program_output(prog, i, &name, &r->out_dt[i], &r->out_ndim[i], r->out_shape[i]);
    if (st != BUD_OK) {
      bud_call_free(r->call);
      bud_program_free(prog);
      free(r);
      return (ProgRef *)py_raise(pc->ctx, st);
    }
  }
  r->work = 0;
  for (int i = 0; i < self->nnames + nout; i++) {
    int ndim = i < self->nnames ? args[i].arr->ndim : r->out_ndim[i - self->nnames];
    const int64_t *shape = i < self->nnames ? args[i].arr->shape : r->out_shape[i - self->nnames];
    int64_t size = 1;
    for (int d = 0; d < ndim; d++) size *= shape[d];
    if (size > r->work) r->work = size;
  }
  atomic_fetch_add(&pc->refs, 1);
  r->pctx = pc;
  return r;
}

/* ---- calling -------------------------------------------------------------------------------------- */

static int build_key(int64_t *key, PyCtx *pc, const PyArg *args, int n, const BudArray *out,
                     int casting) {
  int nk = 0;
  key[nk++] = (int64_t)(intptr_t)pc;
  key[nk++] = (out ? (int64_t)out->dtype + 1 : 0) | (int64_t)casting << 8;
  for (int i = 0; i < n; i++) {
    const BudArray *a = args[i].arr;
    key[nk++] = (int64_t)a->dtype | (int64_t)a->ndim << 8 | (int64_t)(args[i].category + 1) << 16;
    for (int d = 0; d < a->ndim; d++) key[nk++] = a->shape[d];
  }
  return nk;
}

static ProgRef *cache_find(PyExpr *self, const int64_t *key, int nk) {
  for (int i = 0; i < PY_EXPR_NCACHE; i++) {
    CacheEntry *e = &self->cache[i];
    if (!e->ref || e->nkey != nk) continue;
    int j = 0;
    while (j < nk && e->key[j] == key[j]) j++;
    if (j == nk) return e->ref;
  }
  return NULL;
}

static int cache_insert(PyExpr *self, const int64_t *key, int nk, ProgRef *r) {
  int64_t *k = malloc((size_t)nk * sizeof *k);
  if (!k) {
    PyErr_NoMemory();
    return -1;
  }
  memcpy(k, key, (size_t)nk * sizeof *k);
  int slot = -1;
  for (int i = 0; i < PY_EXPR_NCACHE && slot < 0; i++)
    if (!self->cache[i].ref) slot = i;
  if (slot < 0) {
    slot = self->next_victim;
    self->next_victim = (self->next_victim + 1) % PY_EXPR_NCACHE;
  }
  CacheEntry *e = &self->cache[slot];
  ProgRef *old = e->ref;
  free(e->key);
  e->key = k;
  e->nkey = nk;
  e->ref = r;
  r->refs++;
  if (old) py_prog_decref(old);
  return 0;
}

static void format_shape(char *buf, size_t n, int ndim, const int64_t *shape) {
  size_t used = (size_t)snprintf(buf, n, "(");
  for (int i = 0; i < ndim && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, ndim == 1 ? "%lld," : i ? ", %lld" : "%lld",
                             (long long)shape[i]);
  if (used < n) snprintf(buf + used, n - used, ")");
}

static bool is_f_order(const BudArray *a) {
  if (a->ndim < 2) return false;
  int64_t step = bud_dtype_size(a->dtype);
  bool f = true, c = true;
  for (int i = 0; i < a->ndim; i++) {
    if (a->shape[i] != 1 && a->strides[i] != step) f = false;
    step *= a->shape[i];
  }
  step = bud_dtype_size(a->dtype);
  for (int i = a->ndim - 1; i >= 0; i--) {
    if (a->shape[i] != 1 && a->strides[i] != step) c = false;
    step *= a->shape[i];
  }
  return f && !c;
}

/* Results in Fortran order for order='F', or 'A'/'K' when every operand of ndim >= 2 is
 * Fortran- and not C-contiguous. */
static bool want_fortran(int order, const PyArg *args, int n, int out_ndim) {
  if (out_ndim < 2 || order == PY_ORDER_C) return false;
  if (order == PY_ORDER_F) return true;
  bool any = false;
  for (int i = 0; i < n; i++) {
    if (args[i].arr->ndim < 2) continue;
    if (!is_f_order(args[i].arr)) return false;
    any = true;
  }
  return any;
}

/* ---- the lean repeat of the last call ------------------------------------------------------- */

#define FAST_FLAGS (NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED)

/* o is a numpy array with descr d, this shape and these flags: fills *a (a view of it). */
static bool fast_arr(PyObject *o, PyArray_Descr *d, BudDType dt, int ndim, const npy_intp *shape,
                     int flags, BudArray *a) {
  if (!PyArray_Check(o)) return false;
  PyArrayObject *arr = (PyArrayObject *)o;
  if (PyArray_DESCR(arr) != d || PyArray_NDIM(arr) != ndim ||
      (PyArray_FLAGS(arr) & flags) != flags)
    return false;
  const npy_intp *dims = PyArray_DIMS(arr), *st = PyArray_STRIDES(arr);
  for (int k = 0; k < ndim; k++) {
    if (dims[k] != shape[k]) return false;
    a->shape[k] = dims[k];
    a->strides[k] = st[k];
  }
  a->data = PyArray_DATA(arr);
  a->dtype = dt;
  a->ndim = ndim;
  a->owner = NULL;
  return true;
}

/* Whether o is a numpy array the slot can describe: ndim >= 1, the flags, and NumPy's builtin
 * descr of its type (so the descr pointer identifies dtype and byte order). */
static bool fast_describable(PyObject *o, int flags) {
  if (!PyArray_Check(o)) return false;
  PyArrayObject *arr = (PyArrayObject *)o;
  if (PyArray_NDIM(arr) < 1 || PyArray_NDIM(arr) > BUD_MAX_DIMS ||
      (PyArray_FLAGS(arr) & flags) != flags || !PyArray_ISNOTSWAPPED(arr))
    return false;
  PyArray_Descr *d = PyArray_DESCR(arr), *b = PyArray_DescrFromType(d->type_num);
  if (!b) {
    PyErr_Clear();
    return false;
  }
  Py_DECREF(b);
  return b == d;
}

static void fast_fill(PyExpr *self, PyCtx *pc, PyObject *const *objs, const PyArg *args,
                      PyObject *out, const BudArray *outa, int casting, int order, ProgRef *r) {
  int n = self->nnames;
  if (order == PY_ORDER_F || !r->call || !bud_call_is_lean(r->call) ||
      (!out && r->noutputs != 1))
    return;
  for (int i = 0; i < n; i++)
    if (args[i].keep || !fast_describable(objs[i], FAST_FLAGS)) return;
  if (out) {
    if (!fast_describable(out, FAST_FLAGS | NPY_ARRAY_WRITEABLE) || r->noutputs != 1 ||
        outa->ndim != r->out_ndim[0])
      return;
    for (int d = 0; d < outa->ndim; d++)
      if (outa->shape[d] != r->out_shape[0][d]) return;
  }
  fast_clear(self);
  if (!self->fast && !(self->fast = calloc(1, sizeof *self->fast))) return;
  FastSlot *f = self->fast;
  for (int i = 0; i < n; i++) {
    PyArrayObject *arr = (PyArrayObject *)objs[i];
    f->descr[i] = PyArray_DESCR(arr);
    Py_INCREF(f->descr[i]);
    f->dt[i] = args[i].arr->dtype;
    f->ndim[i] = PyArray_NDIM(arr);
    memcpy(f->shape[i], PyArray_DIMS(arr), sizeof(npy_intp) * (size_t)f->ndim[i]);
  }
  f->has_out = out != NULL;
  if (out) {
    PyArrayObject *arr = (PyArrayObject *)out;
    f->out_descr = PyArray_DESCR(arr);
    Py_INCREF(f->out_descr);
    f->out_dt = outa->dtype;
    f->out_ndim = PyArray_NDIM(arr);
    memcpy(f->out_shape, PyArray_DIMS(arr), sizeof(npy_intp) * (size_t)f->out_ndim);
  }
  f->casting = casting;
  f->ref = r;
  r->refs++;
  f->pc = pc;
}

static BudStatus run_call(PyCtx *pc, ProgRef *r, int n, const BudArray *ins, BudArray *outs) {
  BudStatus st;
  if (r->work >= PY_GIL_RELEASE_MIN) {
    Py_BEGIN_ALLOW_THREADS
    st = bud_call_run(pc->ctx, r->call, n, ins, r->noutputs, outs);
    Py_END_ALLOW_THREADS
  } else {
    st = bud_call_run(pc->ctx, r->call, n, ins, r->noutputs, outs);
  }
  return st;
}

/* The call again if it matches the slot: *hit tells; the result, or NULL with an exception. */
static PyObject *fast_run(PyExpr *self, PyCtx *pc, PyObject *const *objs, PyObject *out,
                          int casting, int order, bool *hit) {
  FastSlot *f = self->fast;
  *hit = false;
  if (!f || f->pc != pc || f->casting != casting || f->has_out != (out != NULL) ||
      order == PY_ORDER_F)
    return NULL;
  int n = self->nnames;
  BudArray ins[BUD_MAX_OPERANDS], outs[1];
  for (int i = 0; i < n; i++)
    if (!fast_arr(objs[i], f->descr[i], f->dt[i], f->ndim[i], f->shape[i], FAST_FLAGS, &ins[i]))
      return NULL;
  ProgRef *r = f->ref;
  PyObject *res;
  if (out) {
    if (!fast_arr(out, f->out_descr, f->out_dt, f->out_ndim, f->out_shape,
                  FAST_FLAGS | NPY_ARRAY_WRITEABLE, &outs[0]))
      return NULL;
    res = out;
    Py_INCREF(res);
  }
  *hit = true;
  r->refs++; /* before anything that can run Python code (and so clear the slot) */
  if (!out &&
      !(res = py_new_result(r->out_dt[0], r->out_ndim[0], r->out_shape[0], false, &outs[0]))) {
    py_prog_decref(r);
    return NULL;
  }
  BudStatus st = run_call(pc, r, n, ins, outs);
  if (st != BUD_OK) {
    py_raise(pc->ctx, st);
    py_prog_decref(r);
    Py_DECREF(res);
    return NULL;
  }
  py_prog_decref(r);
  if (!out && self->scalar_result && r->out_ndim[0] == 0)
    res = PyArray_Return((PyArrayObject *)res);
  return res;
}

/* Runs self on the operand objects objs[0..nnames). out may be NULL. */
static PyObject *expr_run(PyExpr *self, PyObject *const *objs, PyObject *out, int casting,
                          int order) {
  PyCtx *pc = py_ctx_get();
  if (!pc) return NULL;
  bool hit;
  PyObject *fast = fast_run(self, pc, objs, out, casting, order, &hit);
  if (hit) return fast;
  int n = self->nnames;
  PyArg args[BUD_MAX_OPERANDS];
  PyArg outa;
  bool has_out = false;
  int nconv = 0;
  PyObject *result = NULL;
  ProgRef *r = NULL;
  BudArray ins[BUD_MAX_OPERANDS], outs[PY_MAX_OUTPUTS];
  PyObject *res_objs[PY_MAX_OUTPUTS];
  int nres = 0;

  for (; nconv < n; nconv++)
    if (py_arg_in(objs[nconv], &args[nconv], &ins[nconv], self->cnames[nconv]) < 0) goto done;
  if (out) {
    if (py_arg_out(out, &outa, &outs[0]) < 0) goto done;
    has_out = true;
  }
  int64_t key[PY_KEY_MAX];
  int nk = build_key(key, pc, args, n, has_out ? &outs[0] : NULL, casting);
  r = cache_find(self, key, nk);
  if (r) {
    r->refs++;
  } else {
    r = expr_compile(self, pc, args, has_out ? &outs[0] : NULL, casting);
    if (!r) goto done;
    if (cache_insert(self, key, nk, r) < 0) goto done;
  }
  bool bcast_out = false; /* the result goes to a temporary, then broadcast into out */
  if (has_out) {
    bool same = outs[0].ndim == r->out_ndim[0];
    for (int d = 0; same && d < outs[0].ndim; d++) same = outs[0].shape[d] == r->out_shape[0][d];
    if (!same) {
      /* NumPy's rule: out's shape must be the broadcast of the result's and its own */
      int on = outs[0].ndim, rn = r->out_ndim[0];
      bool ok = rn <= on && PyArray_Check(out);
      for (int d = 0; ok && d < rn; d++) {
        int64_t rd = r->out_shape[0][rn - 1 - d], od = outs[0].shape[on - 1 - d];
        ok = rd == od || rd == 1;
      }
      if (!ok) {
        char a[256], b[256];
        format_shape(a, sizeof a, outs[0].ndim, outs[0].shape);
        format_shape(b, sizeof b, r->out_ndim[0], r->out_shape[0]);
        PyErr_Format(PyExc_ValueError,
                     "out: non-broadcastable output operand with shape %s doesn't match the "
                     "result's shape %s (out= must have the result's shape or one it broadcasts "
                     "to)%s",
                     a, b, PyArray_Check(out) ? "" : "; out is not a numpy array");
        goto done;
      }
      res_objs[0] = py_new_result(r->out_dt[0], rn, r->out_shape[0], false, &outs[0]);
      if (!res_objs[0]) goto done;
      nres = 1;
      bcast_out = true;
    }
  } else {
    bool fortran = want_fortran(order, args, n, r->out_ndim[0]);
    for (; nres < r->noutputs; nres++) {
      res_objs[nres] = py_new_result(r->out_dt[nres], r->out_ndim[nres], r->out_shape[nres],
                                     fortran, &outs[nres]);
      if (!res_objs[nres]) goto done;
    }
  }
  BudStatus st = run_call(pc, r, n, ins, outs);
  if (st != BUD_OK) {
    py_raise(pc->ctx, st);
    goto done;
  }
  if (!bcast_out)
    fast_fill(self, pc, objs, args, has_out ? out : NULL, has_out ? &outs[0] : NULL, casting,
              order, r);
  if (bcast_out) {
    if (PyArray_CopyInto((PyArrayObject *)out, (PyArrayObject *)res_objs[0]) < 0) goto done;
    Py_INCREF(out);
    result = out;
  } else if (has_out) {
    Py_INCREF(out);
    result = out;
  } else if (nres == 1) {
    result = res_objs[0];
    nres = 0;
    if (self->scalar_result && r->out_ndim[0] == 0)
      result = PyArray_Return((PyArrayObject *)result);
  } else {
    result = PyTuple_New(nres);
    if (result) {
      for (int i = 0; i < nres; i++) PyTuple_SET_ITEM(result, i, res_objs[i]);
      nres = 0;
    }
  }
done:
  for (int i = 0; i < nres; i++) Py_DECREF(res_objs[i]);
  if (r) py_prog_decref(r);
  if (has_out) py_arg_release(&outa);
  for (int i = 0; i < nconv; i++) py_arg_release(&args[i]);
  return result;
}

PyObject *py_expr_names(PyObject *expr) { return ((PyExpr *)expr)->names; }

PyObject *py_expr_run(PyObject *expr, PyObject *const *objs, PyObject *out, int casting,
                      int order) {
  return expr_run((PyExpr *)expr, objs, out, casting, order);
}

static PyObject *kw_out, *kw_casting, *kw_order; /* interned keyword names (set at type init) */

static bool str_eq(PyObject *a, PyObject *b) {
  return a == b || PyUnicode_Compare(a, b) == 0;
}

static PyObject *expr_vectorcall(PyObject *self_, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames) {
  PyExpr *self = (PyExpr *)self_;
  Py_ssize_t npos = PyVectorcall_NARGS(nargsf);
  int n = self->nnames;
  if (npos > n) {
    PyErr_Format(PyExc_TypeError, "expression takes %d arrays (%S) but %zd were given", n,
                 self->names, npos);
    return NULL;
  }
  PyObject *bound[BUD_MAX_OPERANDS];
  for (int i = 0; i < n; i++) bound[i] = i < npos ? args[i] : NULL;
  PyObject *out = NULL;
  int casting = self->casting, order = self->order;
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nkw; k++) {
    PyObject *kw = PyTuple_GET_ITEM(kwnames, k), *val = args[npos + k];
    int j = -1;
    for (int i = 0; i < n && j < 0; i++)
      if (PyTuple_GET_ITEM(self->names, i) == kw) j = i;
    if (j < 0 && kw != kw_out && kw != kw_casting && kw != kw_order)
      for (int i = 0; i < n && j < 0; i++)
        if (str_eq(PyTuple_GET_ITEM(self->names, i), kw)) j = i;
    if (j >= 0) {
      if (bound[j]) {
        PyErr_Format(PyExc_TypeError, "array '%U' given by position and by name", kw);
        return NULL;
      }
      bound[j] = val;
    } else if (str_eq(kw, kw_out)) {
      out = val == Py_None ? NULL : val;
    } else if (str_eq(kw, kw_casting)) {
      if ((casting = py_parse_casting(val)) < 0) return NULL;
    } else if (str_eq(kw, kw_order)) {
      if ((order = py_parse_order(val)) < 0) return NULL;
    } else {
      PyErr_Format(PyExc_TypeError, "unexpected keyword argument '%U' (the arrays are %S)", kw,
                   self->names);
      return NULL;
    }
  }
  for (int i = 0; i < n; i++)
    if (!bound[i]) {
      PyErr_Format(PyExc_TypeError, "missing array '%s' (the arrays are %S)", self->cnames[i],
                   self->names);
      return NULL;
    }
  return expr_run(self, bound, out, casting, order);
}

/* _run(arrays, out, casting, order): arrays is a sequence in .names order; out may be None;
 * casting and order are strings or None (the defaults). For bud.evaluate. */
static PyObject *expr_run_method(PyObject *self_, PyObject *const *args, Py_ssize_t nargs) {
  PyExpr *self = (PyExpr *)self_;
  if (nargs != 4) {
    PyErr_SetString(PyExc_TypeError, "_run(arrays, out, casting, order)");
    return NULL;
  }
  PyObject *seq = PySequence_Fast(args[0], "_run: arrays must be a sequence");
  if (!seq) return NULL;
  PyObject *res = NULL;
  int casting = args[2] == Py_None ? self->casting : py_parse_casting(args[2]);
  int order = args[3] == Py_None ? self->order : py_parse_order(args[3]);
  if (casting >= 0 && order >= 0) {
    if (PySequence_Fast_GET_SIZE(seq) != self->nnames)
      PyErr_Format(PyExc_TypeError, "_run: %d arrays expected", self->nnames);
    else
      res = expr_run(self, PySequence_Fast_ITEMS(seq), args[1] == Py_None ? NULL : args[1],
                     casting, order);
  }
  Py_DECREF(seq);
  return res;
}

static PyObject *expr_cache_clear(PyObject *self, PyObject *unused) {
  expr_clear_cache((PyExpr *)self);
  Py_RETURN_NONE;
}

static PyObject *expr_cache_size(PyObject *self_, PyObject *unused) {
  PyExpr *self = (PyExpr *)self_;
  int n = 0;
  for (int i = 0; i < PY_EXPR_NCACHE; i++) n += self->cache[i].ref != NULL;
  return PyLong_FromLong(n);
}

static PyObject *expr_get_names(PyObject *self, void *unused) {
  PyObject *n = ((PyExpr *)self)->names;
  Py_INCREF(n);
  return n;
}

static PyObject *expr_get_source(PyObject *self, void *unused) {
  PyObject *s = ((PyExpr *)self)->src_obj;
  Py_INCREF(s);
  return s;
}

static PyObject *expr_repr(PyObject *self) {
  return PyUnicode_FromFormat("bud.compile(%R)", ((PyExpr *)self)->src_obj);
}

static PyMethodDef expr_methods[] = {
    {"_run", (PyCFunction)(void (*)(void))expr_run_method, METH_FASTCALL,
     "_run(arrays, out, casting, order)"},
    {"cache_clear", expr_cache_clear, METH_NOARGS, "drop the compiled programs"},
    {"cache_size", expr_cache_size, METH_NOARGS, "number of compiled programs held"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef expr_getset[] = {
    {"names", expr_get_names, NULL, "the arrays, in order of first appearance", NULL},
    {"source", expr_get_source, NULL, "the Flow source", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static int expr_type_init_keywords(void) {
  if (kw_out) return 0;
  kw_out = PyUnicode_InternFromString("out");
  kw_casting = PyUnicode_InternFromString("casting");
  kw_order = PyUnicode_InternFromString("order");
  return kw_out && kw_casting && kw_order ? 0 : -1;
}

static PyObject *expr_new_checked(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  if (expr_type_init_keywords() < 0) return NULL;
  return expr_new(type, args, kwds);
}

PyTypeObject PyExprType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bud._bud.Expr",
    .tp_doc = "Expr(source, casting='safe', order='K', scalar_result=False): a compiled Flow "
              "expression; call it with arrays by position or name, and out=.",
    .tp_basicsize = sizeof(PyExpr),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = expr_new_checked,
    .tp_dealloc = (destructor)expr_dealloc,
    .tp_vectorcall_offset = offsetof(PyExpr, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_methods = expr_methods,
    .tp_getset = expr_getset,
    .tp_repr = expr_repr,
};
