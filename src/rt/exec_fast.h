/* exec_fast.h — the lean run path (exec_fast.c: prepared calls, bud_call_* in src/api/call.c) and
 * the vector dot kernel of 1-D float dots (exec_dot.c), used by both the general executor
 * (GROUP_DOT in exec.c) and the lean path, so both give the same bits.
 */
#ifndef BUD_RT_EXEC_FAST_H
#define BUD_RT_EXEC_FAST_H

#include "rt/exec_int.h"

/* ---- dot of 1-D float vectors (exec_dot.c) ----------------------------------------------------
 * float32: products are rounded to float32 and summed in float32 lanes for blocks of
 * RT_DOT_BLOCK elements (each of 128 lanes adds at most RT_DOT_BLOCK / 128 products, then a tree
 * of 3 adds), every block's lanes are added into double accumulators, the tail in double, and
 * the double total is rounded to float32 once. Bound (tested, with room to spare):
 * |result - exact| <= (RT_DOT_BLOCK / 64 + 8) * 2^-24 * sum|a_i * b_i| + half an ulp
 * of the result, whatever n is (NumPy's BLAS sdot adds every product in float32 lanes, so its
 * error grows with n). float64: products and sums in double lanes (8 accumulators).
 * Deterministic for a given ISA path (BUD_ISA) and chunk count; not bit-equal to NumPy. */
enum { RT_DOT_BLOCK = 1024 };

/* o = dot(a, b) for 1-D a, b of float32 or float64 (o 0-d of the same dtype) on `nchunks`
 * chunks of the context's pool (1: on the caller). Returns false (nothing done) for anything
 * else: other dtypes or ranks. */
bool rt_dot_vec(BudContext *ctx, const View *a, const View *b, const View *o, int nchunks);
/* Chunks the executor uses for a dot of n elements of `elsize` bytes on ctx. */
int rt_dot_nchunks(BudContext *ctx, int64_t n, int elsize);

/* ---- the lean path (exec_fast.c) ------------------------------------------------------------- */

typedef struct RtCall RtCall;
/* Prepares call for ctx and prog (see bud_call_new): never fails but on out of memory; a
 * program the lean path cannot take gets call->lean == false. */
BudStatus rt_call_prepare(BudContext *ctx, BudProgram *prog, struct RtCall **out);
void rt_call_free(struct RtCall *call);
bool rt_call_is_lean(const struct RtCall *call);
BudProgram *rt_call_program(const struct RtCall *call);
/* Runs the call on the lean path: BUD_OK when done, RT_NOT_LEAN when these arrays (or the
 * context's thread settings) need the general path — then nothing was written. */
enum { RT_NOT_LEAN = 1 };
int rt_call_run(BudContext *ctx, struct RtCall *call, int ninputs, const BudArray *inputs,
                int noutputs, BudArray *outputs);

#endif
