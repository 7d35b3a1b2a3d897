/* dtype.c — the dtype table expanded from dtypes.def, and scalar load/store by dtype.
 * Entry points: dtype_info, dtype_valid, scalar_load, scalar_store, bud_dtype_* (public). */
#include "base.h"

#include <string.h>

static const DTypeInfo dtype_table[] = {
#define DTYPE(ID, name, size, kind, sgn, bits, ch) {#name, size, kind, sgn, bits, ch},
#include "dtypes.def"
#undef DTYPE
};

/* The table must list the dtypes in BudDType order. */
#define DTYPE(ID, name, size, kind, sgn, bits, ch) BUD_DT_INDEX_##ID,
enum { 
#include "dtypes.def"
  BUD_DT_INDEX_COUNT };
#undef DTYPE
#define DTYPE(ID, name, size, kind, sgn, bits, ch) \
  _Static_assert((int)BUD_DT_INDEX_##ID == (int)BUD_##ID, "dtypes.def order differs from BudDType");
#include "dtypes.def"
#undef DTYPE
_Static_assert((int)BUD_DT_INDEX_COUNT == (int)BUD_NDTYPES, "dtypes.def and BudDType differ in length");

bool dtype_valid(int dt) { return dt >= 0 && dt < BUD_NDTYPES; }

const DTypeInfo *dtype_info(BudDType dt) { return &dtype_table[dt]; }

const char *bud_dtype_name(BudDType dt) { return dtype_valid((int)dt) ? dtype_table[dt].name : NULL; }

int bud_dtype_size(BudDType dt) { return dtype_valid((int)dt) ? dtype_table[dt].size : 0; }

BudStatus bud_dtype_from_name(const char *name, BudDType *out) {
  if (!name || !out) return BUD_ERR_INVALID;
  for (int i = 0; i < BUD_NDTYPES; i++) {
    if (strcmp(name, dtype_table[i].name) == 0) {
      *out = (BudDType)i;
      return BUD_OK;
    }
  }
  return BUD_ERR_NAME;
}

Scalar scalar_load(BudDType dt, const void *p) {
  Scalar s = {.u = 0};
  switch (dt) {
  case BUD_BOOL: s.i = *(const uint8_t *)p != 0; break;
  case BUD_INT8: s.i = *(const int8_t *)p; break;
  case BUD_INT16: { int16_t v; memcpy(&v, p, 2); s.i = v; } break;
  case BUD_INT32: { int32_t v; memcpy(&v, p, 4); s.i = v; } break;
  case BUD_INT64: memcpy(&s.i, p, 8); break;
  case BUD_UINT8: s.u = *(const uint8_t *)p; break;
  case BUD_UINT16: { uint16_t v; memcpy(&v, p, 2); s.u = v; } break;
  case BUD_UINT32: { uint32_t v; memcpy(&v, p, 4); s.u = v; } break;
  case BUD_UINT64: memcpy(&s.u, p, 8); break;
  case BUD_FLOAT32: { float v; memcpy(&v, p, 4); s.f = v; } break;
  case BUD_FLOAT64: memcpy(&s.f, p, 8); break;
  default: break;
  }
  return s;
}

void scalar_store(BudDType dt, void *p, Scalar s) {
  switch (dt) {
  case BUD_BOOL: *(uint8_t *)p = s.i != 0; break;
  case BUD_INT8: *(int8_t *)p = (int8_t)s.i; break;
  case BUD_INT16: { int16_t v = (int16_t)s.i; memcpy(p, &v, 2); } break;
  case BUD_INT32: { int32_t v = (int32_t)s.i; memcpy(p, &v, 4); } break;
  case BUD_INT64: memcpy(p, &s.i, 8); break;
  case BUD_UINT8: *(uint8_t *)p = (uint8_t)s.u; break;
  case BUD_UINT16: { uint16_t v = (uint16_t)s.u; memcpy(p, &v, 2); } break;
  case BUD_UINT32: { uint32_t v = (uint32_t)s.u; memcpy(p, &v, 4); } break;
  case BUD_UINT64: memcpy(p, &s.u, 8); break;
  case BUD_FLOAT32: { float v = (float)s.f; memcpy(p, &v, 4); } break;
  case BUD_FLOAT64: memcpy(p, &s.f, 8); break;
  default: break;
  }
}
