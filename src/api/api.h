/* api.h — private helpers shared by the files of src/api (the public C API): geometry checks,
 * NumPy's min_scalar_type for 0-d inputs, the compile driver and bud_eval's program cache.
 * Nothing outside src/api includes this header.
 */
#ifndef BUD_API_H
#define BUD_API_H

#include "base/base.h"

struct IrGraph;

/* "(3, 4)" (NumPy's spelling) into buf. */
void api_format_shape(char *buf, size_t n, int ndim, const int64_t *shape);

/* Validates dtype, ndim in [0, BUD_MAX_DIMS], shape >= 0 and that the byte size fits in int64
 * (BUD_ERR_OVERFLOW otherwise); *nbytes (may be NULL) gets the byte size. `what` starts messages. */
BudStatus api_check_geometry(BudContext *ctx, const char *what, BudDType dtype, int ndim,
                             const int64_t *shape, int64_t *nbytes);

/* The class of a 0-d value under NumPy 1.24's value-based casting: values of one class always
 * lead to the same result dtypes. Splits where min_scalar_type does (float: |v| < 3.4e38 or not
 * finite vs the rest — float16 and float32 act alike since Bud has no float16; ints: each
 * [u]int size) and at NumPy's "small unsigned" limits (a positive value that fits the signed type
 * of the same size, e.g. 127 vs 128, promotes like a signed one). */
int api_scalar_class(BudDType dt, const void *p);
/* "uint8", "uint8 (fits int8)", ... for messages. */
const char *api_scalar_class_name(int cls);

/* Compiles source for the inputs; appends every stage to explain when it is not NULL. */
BudStatus api_compile(BudContext *ctx, const char *source, int ninputs, const BudInput *inputs,
                      BudProgram **out, StrBuf *explain);

/* Optimizes and builds a program from g (not consumed); counts the compile in ctx's stats. */
BudStatus api_build_program(BudContext *ctx, const struct IrGraph *g, BudProgram **out,
                            StrBuf *explain, uint64_t t0);

/* bud_eval's cache, owned by the context. */
void api_pcache_free(struct ProgramCache *c);

#endif
