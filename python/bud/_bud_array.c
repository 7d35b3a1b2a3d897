/* _bud_array.c — operands in and results out, without copies: numpy arrays are read through the
 * NumPy C API (data, shape, strides as they are), other objects through the buffer protocol
 * (PyBUF_RECORDS_RO), Python int/float/bool become 0-d int64/float64/bool and numpy scalars 0-d
 * arrays of their dtype, as NumPy 1.24 converts them. Only what Bud cannot read (byte-swapped,
 * misaligned, lists) is converted by numpy.asarray first. Results are new numpy arrays.
 * Entry points: py_arg_in, py_arg_out, py_arg_release, py_new_result, py_scalar_category.
 */
#define _GNU_SOURCE
#include "_bud.h"

#include <float.h>
#include <math.h>
#include <string.h>

_Static_assert(sizeof(npy_intp) == sizeof(int64_t), "npy_intp must be 64-bit");

/* ---- dtypes ------------------------------------------------------------------------------------ */

static const int npy_types[BUD_NDTYPES] = {
    [BUD_BOOL] = NPY_BOOL,      [BUD_INT8] = NPY_INT8,     [BUD_INT16] = NPY_INT16,
    [BUD_INT32] = NPY_INT32,    [BUD_INT64] = NPY_INT64,   [BUD_UINT8] = NPY_UINT8,
    [BUD_UINT16] = NPY_UINT16,  [BUD_UINT32] = NPY_UINT32, [BUD_UINT64] = NPY_UINT64,
    [BUD_FLOAT32] = NPY_FLOAT32, [BUD_FLOAT64] = NPY_FLOAT64,
};

int py_npy_type(BudDType dt) { return npy_types[dt]; }

/* By kind and size, so NumPy's long/longlong (both 8 bytes here) map alike. */
static int bud_dtype_of(char kind, int size) {
  static const BudDType ints[] = {BUD_INT8, BUD_INT16, BUD_INT32, BUD_INT64};
  static const BudDType uints[] = {BUD_UINT8, BUD_UINT16, BUD_UINT32, BUD_UINT64};
  int lg = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : size == 8 ? 3 : -1;
  switch (kind) {
  case 'b': return size == 1 ? BUD_BOOL : -1;
  case 'i': return lg >= 0 ? (int)ints[lg] : -1;
  case 'u': return lg >= 0 ? (int)uints[lg] : -1;
  case 'f': return size == 4 ? BUD_FLOAT32 : size == 8 ? BUD_FLOAT64 : -1;
  default: return -1;
  }
}

int py_bud_dtype(int npy_type, int itemsize) {
  PyArray_Descr *d = PyArray_DescrFromType(npy_type);
  if (!d) {
    PyErr_Clear();
    return -1;
  }
  int dt = bud_dtype_of(d->kind, itemsize);
  Py_DECREF(d);
  return dt;
}

/* ---- casting rules ------------------------------------------------------------------------------ */

int py_parse_casting(PyObject *s) {
  static const char *names[] = {"no", "equiv", "safe", "same_kind", "unsafe"};
  if (s && PyUnicode_Check(s)) {
    const char *c = PyUnicode_AsUTF8(s);
    for (int i = 0; c && i < 5; i++)
      if (!strcmp(c, names[i])) return i;
  }
  PyErr_SetString(PyExc_ValueError,
                  "casting must be one of 'no', 'equiv', 'safe', 'same_kind', or 'unsafe'");
  return -1;
}

int py_parse_order(PyObject *s) {
  if (s && PyUnicode_Check(s) && PyUnicode_GetLength(s) == 1) {
    switch (PyUnicode_READ_CHAR(s, 0)) {
    case 'K': return PY_ORDER_K;
    case 'A': return PY_ORDER_A;
    case 'C': return PY_ORDER_C;
    case 'F': return PY_ORDER_F;
    default: break;
    }
  }
  PyErr_SetString(PyExc_ValueError, "order must be one of 'C', 'F', 'A', or 'K'");
  return -1;
}

/* NumPy's can_cast(from, to, casting), asked of NumPy itself. */
bool py_can_cast(BudDType from, BudDType to, int casting) {
  static const NPY_CASTING map[] = {NPY_NO_CASTING, NPY_EQUIV_CASTING, NPY_SAFE_CASTING,
                                    NPY_SAME_KIND_CASTING, NPY_UNSAFE_CASTING};
  PyArray_Descr *a = PyArray_DescrFromType(npy_types[from]);
  PyArray_Descr *b = PyArray_DescrFromType(npy_types[to]);
  bool ok = a && b && PyArray_CanCastTypeTo(a, b, map[casting]);
  Py_XDECREF(a);
  Py_XDECREF(b);
  return ok;
}

/* ---- value classes of 0-d operands ---------------------------------------------------------------
 * NumPy 1.24 gives a 0-d operand the dtype min_scalar_type(value) when arrays of the same or a
 * higher kind are present; positive ints that fit the signed type of the same size are "small
 * unsigned". The classes below split at every one of those limits (and at float16's and
 * float32's exact maxima besides NumPy's rounded 65000 and 3.4e38), so one class never spans two
 * results. */
int py_scalar_category(BudDType dt, const void *p) {
  if (dt == BUD_BOOL) return 0;
  if (dt == BUD_FLOAT32 || dt == BUD_FLOAT64) {
    double v = dt == BUD_FLOAT32 ? (double)*(const float *)p : *(const double *)p;
    if (!isfinite(v)) return 20;
    v = fabs(v);
    return v < 65000.0 ? 21 : v <= 65504.0 ? 22 : v < 3.4e38 ? 23 : v <= FLT_MAX ? 24 : 25;
  }
  uint64_t u;
  if (dt >= BUD_UINT8 && dt <= BUD_UINT64) {
    switch (dt) {
    case BUD_UINT8: u = *(const uint8_t *)p; break;
    case BUD_UINT16: u = *(const uint16_t *)p; break;
    case BUD_UINT32: u = *(const uint32_t *)p; break;
    default: u = *(const uint64_t *)p; break;
    }
  } else {
    int64_t v;
    switch (dt) {
    case BUD_INT8: v = *(const int8_t *)p; break;
    case BUD_INT16: v = *(const int16_t *)p; break;
    case BUD_INT32: v = *(const int32_t *)p; break;
    default: v = *(const int64_t *)p; break;
    }
    if (v < 0) return v >= INT8_MIN ? 9 : v >= INT16_MIN ? 10 : v >= INT32_MIN ? 11 : 12;
    u = (uint64_t)v;
  }
  return u <= INT8_MAX ? 1 : u <= UINT8_MAX ? 2 : u <= INT16_MAX ? 3 : u <= UINT16_MAX ? 4
       : u <= INT32_MAX ? 5 : u <= UINT32_MAX ? 6 : u <= INT64_MAX ? 7 : 8;
}

/* ---- operands ----------------------------------------------------------------------------------- */

static void arg_init(PyArg *a, BudArray *arr) {
  a->arr = arr;
  a->keep = NULL;
  a->has_view = false;
  a->category = -1;
  a->arr->owner = NULL;
}

static void arg_scalar(PyArg *a, BudDType dt) {
  a->arr->data = &a->scalar;
  a->arr->dtype = dt;
  a->arr->ndim = 0;
  a->category = py_scalar_category(dt, &a->scalar);
}

static int too_many_dims(const char *what, int ndim) {
  PyErr_Format(PyExc_ValueError, "%s: %d dimensions; Bud supports at most %d", what, ndim,
               BUD_MAX_DIMS);
  return -1;
}

static int unsupported_dtype(const char *what, PyArray_Descr *d) {
  PyObject *r = PyObject_Repr((PyObject *)d);
  PyErr_Format(PyExc_TypeError,
               "%s: %s is not supported (Bud handles bool, int8..int64, uint8..uint64, float32 and "
               "float64)",
               what, r ? PyUnicode_AsUTF8(r) : "this dtype");
  Py_XDECREF(r);
  return -1;
}

/* Fills a->arr from a numpy array (which a->keep may own). Byte-swapped or misaligned arrays
 * are converted to a native aligned copy (inputs only). */
static int arg_from_ndarray(PyArrayObject *arr, PyArg *a, const char *what, bool is_out) {
  PyArray_Descr *d = PyArray_DESCR(arr);
  int dt = bud_dtype_of(d->kind, (int)d->elsize);
  if (dt < 0) return unsupported_dtype(what, d);
  int ndim = PyArray_NDIM(arr);
  if (ndim > BUD_MAX_DIMS) return too_many_dims(what, ndim);
  if (!PyArray_ISNOTSWAPPED(arr) || !PyArray_ISALIGNED(arr)) {
    if (is_out) {
      PyErr_Format(PyExc_ValueError, "%s: must be aligned and in native byte order", what);
      return -1;
    }
    PyArray_Descr *nd = PyArray_DescrFromType(npy_types[dt]);
    PyObject *copy = nd ? PyArray_CastToType(arr, nd, 0) : NULL; /* steals nd */
    if (!copy) return -1;
    Py_XSETREF(a->keep, copy);
    arr = (PyArrayObject *)copy;
  }
  if (is_out && !PyArray_ISWRITEABLE(arr)) {
    PyErr_Format(PyExc_ValueError, "%s: the array is read-only", what);
    return -1;
  }
  a->arr->data = PyArray_DATA(arr);
  a->arr->dtype = (BudDType)dt;
  a->arr->ndim = ndim;
  const npy_intp *dims = PyArray_DIMS(arr), *st = PyArray_STRIDES(arr);
  for (int i = 0; i < ndim; i++) {
    a->arr->shape[i] = dims[i];
    a->arr->strides[i] = st[i];
  }
  if (ndim == 0) a->category = py_scalar_category((BudDType)dt, a->arr->data);
  return 0;
}

/* Fills a->arr from a buffer; 1 if the format is not one Bud reads (then nothing is held). */
static int arg_from_buffer(PyObject *obj, PyArg *a, const char *what, bool is_out) {
  if (PyObject_GetBuffer(obj, &a->view, is_out ? PyBUF_RECORDS : PyBUF_RECORDS_RO) < 0) return -1;
  a->has_view = true;
  Py_buffer *v = &a->view;
  const char *f = v->format ? v->format : "B";
  if (*f == '@' || *f == '=' || *f == '<') f++;
  int dt = -1;
  if (f[0] && !f[1]) {
    const char *kinds = "?bhilqBHILQfd", *k = strchr(kinds, f[0]);
    if (k) dt = bud_dtype_of(k == kinds ? 'b' : k < kinds + 6 ? 'i' : k < kinds + 11 ? 'u' : 'f',
                             (int)v->itemsize);
  }
  if (dt < 0) {
    PyBuffer_Release(v);
    a->has_view = false;
    return 1;
  }
  if (v->ndim > BUD_MAX_DIMS) return too_many_dims(what, v->ndim);
  a->arr->data = v->buf;
  a->arr->dtype = (BudDType)dt;
  a->arr->ndim = v->ndim;
  int64_t step = v->itemsize;
  for (int i = v->ndim - 1; i >= 0; i--) {
    a->arr->shape[i] = v->shape ? v->shape[i] : v->len / v->itemsize;
    a->arr->strides[i] = v->strides ? v->strides[i] : step;
    step *= a->arr->shape[i];
  }
  if (v->ndim == 0) a->category = py_scalar_category((BudDType)dt, v->buf);
  return 0;
}

static int arg_in(PyObject *obj, PyArg *a, BudArray *dst, const char *what) {
  arg_init(a, dst);
  if (PyArray_Check(obj)) return arg_from_ndarray((PyArrayObject *)obj, a, what, false);
  if (PyFloat_Check(obj)) {
    a->scalar.f = PyFloat_AS_DOUBLE(obj);
    arg_scalar(a, BUD_FLOAT64);
    return 0;
  }
  if (PyBool_Check(obj)) {
    a->scalar.b = obj == Py_True;
    arg_scalar(a, BUD_BOOL);
    return 0;
  }
  if (PyLong_Check(obj)) { /* int64, else uint64 as NumPy does, else OverflowError */
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (!overflow) {
      if (v == -1 && PyErr_Occurred()) return -1;
      a->scalar.i = v;
      arg_scalar(a, BUD_INT64);
      return 0;
    }
    unsigned long long u = overflow > 0 ? PyLong_AsUnsignedLongLong(obj) : (unsigned long long)-1;
    if (overflow < 0 || (u == (unsigned long long)-1 && PyErr_Occurred())) {
      PyErr_Clear();
      PyErr_Format(PyExc_OverflowError, "%s: Python int too large for int64 and uint64", what);
      return -1;
    }
    a->scalar.u = u;
    arg_scalar(a, BUD_UINT64);
    return 0;
  }
  if (PyArray_IsScalar(obj, Generic)) {
    PyArray_Descr *d = PyArray_DescrFromScalar(obj);
    if (!d) return -1;
    int dt = bud_dtype_of(d->kind, (int)d->elsize);
    if (dt < 0 || d->elsize > (int)sizeof a->scalar) {
      unsupported_dtype(what, d);
      Py_DECREF(d);
      return -1;
    }
    PyArray_ScalarAsCtype(obj, &a->scalar);
    Py_DECREF(d);
    arg_scalar(a, (BudDType)dt);
    return 0;
  }
  if (PyObject_CheckBuffer(obj)) {
    int rc = arg_from_buffer(obj, a, what, false);
    if (rc <= 0) return rc;
  }
  /* lists, tuples, __array_interface__ objects, unusual buffers: as numpy.asarray does */
  PyObject *conv = PyArray_FromAny(obj, NULL, 0, 0, 0, NULL);
  if (!conv) return -1;
  a->keep = conv;
  return arg_from_ndarray((PyArrayObject *)conv, a, what, false);
}

static int arg_out(PyObject *obj, PyArg *a, BudArray *dst) {
  arg_init(a, dst);
  if (PyArray_Check(obj)) return arg_from_ndarray((PyArrayObject *)obj, a, "out", true);
  if (PyObject_CheckBuffer(obj)) {
    int rc = arg_from_buffer(obj, a, "out", true);
    if (rc < 0) return -1;
    if (rc == 0) return 0;
  }
  PyErr_SetString(PyExc_TypeError,
                  "out: must be a writable numpy array or buffer of a dtype Bud supports");
  return -1;
}

void py_arg_release(PyArg *a) {
  if (a->has_view) PyBuffer_Release(&a->view);
  a->has_view = false;
  Py_CLEAR(a->keep);
}

/* On failure nothing is held: callers release only the operands that converted. */
int py_arg_in(PyObject *obj, PyArg *a, BudArray *dst, const char *what) {
  int rc = arg_in(obj, a, dst, what);
  if (rc < 0) py_arg_release(a);
  return rc;
}

int py_arg_out(PyObject *obj, PyArg *a, BudArray *dst) {
  int rc = arg_out(obj, a, dst);
  if (rc < 0) py_arg_release(a);
  return rc;
}

/* ---- results ------------------------------------------------------------------------------------ */

PyObject *py_new_result(BudDType dt, int ndim, const int64_t *shape, bool fortran, BudArray *arr) {
  PyArray_Descr *d = PyArray_DescrFromType(npy_types[dt]);
  if (!d) return NULL;
  PyObject *res = PyArray_Empty(ndim, (npy_intp *)shape, d, fortran ? 1 : 0); /* steals d */
  if (!res) return NULL;
  PyArrayObject *ra = (PyArrayObject *)res;
  arr->data = PyArray_DATA(ra);
  arr->dtype = dt;
  arr->ndim = ndim;
  arr->owner = NULL;
  const npy_intp *st = PyArray_STRIDES(ra);
  for (int i = 0; i < ndim; i++) {
    arr->shape[i] = shape[i];
    arr->strides[i] = st[i];
  }
  return res;
}
