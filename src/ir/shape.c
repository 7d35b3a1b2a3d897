/* shape.c — array shapes: equality, element count (overflow-checked), NumPy broadcasting and
 * NumPy's printed spelling. Entry points: shape_eq, shape_size, shape_broadcast, shape_format.
 */
#include "ir.h"

#include <stdio.h>

bool shape_eq(const Shape *a, const Shape *b) {
  if (a->ndim != b->ndim) return false;
  for (int i = 0; i < a->ndim; i++)
    if (a->dim[i] != b->dim[i]) return false;
  return true;
}

bool shape_size(const Shape *s, int64_t *n) {
  int64_t acc = 1;
  for (int i = 0; i < s->ndim; i++) {
    if (s->dim[i] < 0 || !size_mul_ok(acc, s->dim[i], &acc)) return false;
  }
  *n = acc;
  return true;
}

/* Right-aligned; a 1 stretches to the other size (including 0); otherwise sizes must match. */
bool shape_broadcast(const Shape *a, const Shape *b, Shape *out) {
  Shape r;
  r.ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int i = 0; i < r.ndim; i++) {
    int ia = a->ndim - r.ndim + i, ib = b->ndim - r.ndim + i;
    int64_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
    if (da == db || db == 1) r.dim[i] = da;
    else if (da == 1) r.dim[i] = db;
    else return false;
  }
  for (int i = r.ndim; i < BUD_MAX_DIMS; i++) r.dim[i] = 0;
  *out = r;
  return true;
}

void shape_format(const Shape *s, char *buf, size_t n) {
  size_t len = 0;
  if (n == 0) return;
  buf[0] = '\0';
#define SF_PUT(...)                                                        \
  do {                                                                     \
    int k_ = snprintf(buf + len, len < n ? n - len : 0, __VA_ARGS__);      \
    if (k_ > 0) len += (size_t)k_;                                         \
    if (len >= n) return;                                                  \
  } while (0)
  SF_PUT("(");
  for (int i = 0; i < s->ndim; i++) SF_PUT(i ? ",%lld" : "%lld", (long long)s->dim[i]);
  SF_PUT(s->ndim == 1 ? ",)" : ")");
#undef SF_PUT
}
