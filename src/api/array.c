/* array.c — BudArray construction: views of caller memory (validated: dtype, rank, shape, and a
 * byte extent that must not overflow) and owned, 64-byte aligned, zero-filled allocations.
 * Entry points: bud_array_view, bud_array_alloc, bud_array_free, bud_array_size.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

/* "(3, 4)" for messages, NumPy's spelling. */
void api_format_shape(char *buf, size_t n, int ndim, const int64_t *shape) {
  size_t len = 0;
  int k = snprintf(buf, n, "(");
  if (k > 0) len += (size_t)k;
  for (int d = 0; d < ndim && len < n; d++) {
    k = snprintf(buf + len, n - len, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (k > 0) len += (size_t)k;
  }
  if (len < n) snprintf(buf + len, n - len, ndim == 1 ? ",)" : ")");
}

BudStatus api_check_geometry(BudContext *ctx, const char *what, BudDType dtype, int ndim,
                             const int64_t *shape, int64_t *nbytes) {
  if (!dtype_valid((int)dtype))
    return bud_fail(ctx, BUD_ERR_INVALID, "%s: invalid dtype %d", what, (int)dtype);
  if (ndim < 0 || ndim > BUD_MAX_DIMS)
    return bud_fail(ctx, BUD_ERR_INVALID, "%s: ndim %d is not in [0, %d]", what, ndim,
                    BUD_MAX_DIMS);
  if (ndim > 0 && !shape) return bud_fail(ctx, BUD_ERR_INVALID, "%s: shape is NULL", what);
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 0)
      return bud_fail(ctx, BUD_ERR_INVALID, "%s: dimension %d has negative size %lld", what, d,
                      (long long)shape[d]);
  int64_t nb = dtype_size(dtype);
  for (int d = 0; d < ndim; d++) {
    if (!size_mul_ok(nb, shape[d], &nb)) {
      char sh[256];
      api_format_shape(sh, sizeof sh, ndim, shape);
      return bud_fail(ctx, BUD_ERR_OVERFLOW,
                      "%s: array of shape %s and dtype %s needs more than 2^63 bytes", what, sh,
                      bud_dtype_name(dtype));
    }
  }
  if (nbytes) *nbytes = nb;
  return BUD_OK;
}

BudStatus bud_array_view(BudContext *ctx, BudArray *out, void *data, BudDType dtype, int ndim,
                         const int64_t *shape, const int64_t *strides) {
  bud_clear(ctx);
  if (!out) return bud_fail(ctx, BUD_ERR_INVALID, "bud_array_view: out is NULL");
  int64_t nbytes;
  BudStatus st = api_check_geometry(ctx, "bud_array_view", dtype, ndim, shape, &nbytes);
  if (st) return st;
  if (!data && nbytes > 0)
    return bud_fail(ctx, BUD_ERR_INVALID, "bud_array_view: data is NULL for a non-empty array");
  BudArray a;
  memset(&a, 0, sizeof a);
  a.data = data;
  a.dtype = dtype;
  a.ndim = ndim;
  int64_t es = dtype_size(dtype);
  if (strides) {
    /* The extent of the view: lowest and highest byte offsets touched must fit in int64. */
    int64_t lo = 0, hi = 0;
    bool empty = nbytes == 0;
    for (int d = 0; d < ndim && !empty; d++) {
      int64_t span;
      if (!size_mul_ok(shape[d] - 1, strides[d] < 0 ? -strides[d] : strides[d], &span) ||
          strides[d] == INT64_MIN) {
        char sh[256];
        api_format_shape(sh, sizeof sh, ndim, shape);
        return bud_fail(ctx, BUD_ERR_OVERFLOW,
                        "bud_array_view: strides of an array of shape %s overflow 2^63 bytes", sh);
      }
      if (strides[d] < 0 ? !size_add_ok(lo, -span, &lo) : !size_add_ok(hi, span, &hi)) {
        char sh[256];
        api_format_shape(sh, sizeof sh, ndim, shape);
        return bud_fail(ctx, BUD_ERR_OVERFLOW,
                        "bud_array_view: strides of an array of shape %s overflow 2^63 bytes", sh);
      }
    }
    int64_t ext;
    if (!empty && (!size_add_ok(hi, es, &ext) || !size_add_ok(ext, -lo, &ext)))
      return bud_fail(ctx, BUD_ERR_OVERFLOW, "bud_array_view: byte extent overflows 2^63 bytes");
    for (int d = 0; d < ndim; d++) {
      a.shape[d] = shape[d];
      a.strides[d] = strides[d];
    }
  } else {
    int64_t s = es;
    for (int d = ndim - 1; d >= 0; d--) {
      a.shape[d] = shape[d];
      a.strides[d] = s;
      if (!size_mul_ok(s, shape[d] ? shape[d] : 1, &s)) s = 0; /* empty array: any stride */
    }
  }
  *out = a;
  return BUD_OK;
}

BudStatus bud_array_alloc(BudContext *ctx, BudArray *out, BudDType dtype, int ndim,
                          const int64_t *shape) {
  bud_clear(ctx);
  if (!out) return bud_fail(ctx, BUD_ERR_INVALID, "bud_array_alloc: out is NULL");
  int64_t nbytes;
  BudStatus st = api_check_geometry(ctx, "bud_array_alloc", dtype, ndim, shape, &nbytes);
  if (st) return st;
  void *mem = bud_aligned_alloc((size_t)nbytes);
  if (!mem)
    return bud_fail(ctx, BUD_ERR_NOMEM, "bud_array_alloc: out of memory allocating %lld bytes",
                    (long long)nbytes);
  memset(mem, 0, (size_t)nbytes);
  if ((st = bud_array_view(ctx, out, mem, dtype, ndim, shape, NULL))) {
    bud_aligned_free(mem);
    return st;
  }
  out->owner = mem;
  return BUD_OK;
}

void bud_array_free(BudArray *a) {
  if (!a) return;
  if (a->owner) {
    bud_aligned_free(a->owner);
    a->owner = NULL;
    a->data = NULL;
  }
}

int64_t bud_array_size(const BudArray *a) {
  if (!a || a->ndim < 0 || a->ndim > BUD_MAX_DIMS) return 0;
  int64_t n = 1;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] < 0 || !size_mul_ok(n, a->shape[d], &n)) return 0;
  return n;
}
