/* npy.h — reading and writing NumPy .npy files (format 1.0 and 2.0; 3.0 read) into and from
 * BudArrays. The header dict is parsed by a small strict parser, never evaluated. Every malformed
 * or lying file fails with BUD_ERR_FORMAT and a message naming the file; nothing is read out of
 * bounds. Entry points: npy_load, npy_load_mem, npy_save, npy_encode.
 */
#ifndef BUD_NPY_H
#define BUD_NPY_H

#include "base/base.h"

#define NPY_MAX_HEADER (1 << 20) /* bytes; larger header lengths are refused as malformed */

/* Reads a .npy file into a new array that owns its memory (release it with bud_array_free).
 * C-order files give C strides, Fortran-order files Fortran strides (no copy). */
BudStatus npy_load(BudContext *ctx, const char *path, BudArray *out);

/* The same from n bytes in memory; `name` is used in messages. */
BudStatus npy_load_mem(BudContext *ctx, const char *name, const void *buf, size_t n,
                       BudArray *out);

/* Writes array a (any strides) to path as a C-order .npy file: format 1.0, or 2.0 when the
 * header does not fit in 1.0. */
BudStatus npy_save(BudContext *ctx, const char *path, const BudArray *a);

/* The complete file image of a in memory: *out is malloc'd (caller frees), *n its length. */
BudStatus npy_encode(BudContext *ctx, const BudArray *a, unsigned char **out, size_t *n);

#endif
