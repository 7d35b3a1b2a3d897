/* opt.h — the pass pipeline and fusion. opt_pipeline runs, in order: verify, constant folding,
 * algebraic simplification (bit-exact identities only), patterns (sigmoid, integer power
 * chains), exact strength reduction, fast-math algebra (only when the context asks:
 * bud_set_fast_math), CSE, DCE, verify; BUD_DEBUG=fold,cse,...
 * dumps the IR after the named passes to stderr (and every stage goes into `explain` when given).
 * opt_fuse assigns every node to a fusion group. */
#ifndef BUD_OPT_H
#define BUD_OPT_H

#include "ir/ir.h"

/* Consumes nothing: returns a new optimized graph in *out (caller frees), or a status. */
BudStatus opt_pipeline(BudContext *ctx, const IrGraph *in, IrGraph **out, StrBuf *explain);

/* group[id] for each node: -1 for inputs and constants (not computed), else a group number in
 * [0, *ngroups), numbered in execution order. */
BudStatus opt_fuse(BudContext *ctx, const IrGraph *g, int32_t *group, int32_t *ngroups);
/* opt_fuse that also says, for each node that starts a group, why it was not fused into its
 * users, and for a node stored for other groups, that it is (why[id]: a static string; NULL for
 * other nodes, inputs and constants). why may be NULL. flags: OPT_FUSE_NO_MERGE keeps to
 * producer-into-consumer fusion (no sibling reductions, horizontal or shared-node merges). */
enum { OPT_FUSE_NO_MERGE = 1 };
BudStatus opt_fuse_why(BudContext *ctx, const IrGraph *g, int32_t *group, int32_t *ngroups,
                       const char **why, unsigned flags);

/* The individual passes (each returns a new graph in *out). */
BudStatus opt_fold(BudContext *ctx, const IrGraph *in, IrGraph **out);
BudStatus opt_simplify(BudContext *ctx, const IrGraph *in, IrGraph **out);
/* 1/(1+exp(-x)) -> sigmoid(x) (<= 1 ULP, not bit-exact); integer x**k, 3 <= k <= 16, -> a
 * multiplication chain (bit-exact); patterns.c states the contract. */
BudStatus opt_patterns(BudContext *ctx, const IrGraph *in, IrGraph **out);
BudStatus opt_cse(BudContext *ctx, const IrGraph *in, IrGraph **out);
BudStatus opt_dce(BudContext *ctx, const IrGraph *in, IrGraph **out);
/* Exact strength reduction: x / 2^k -> x * 2^-k for floats (bit-identical; fastmath.c). */
BudStatus opt_strength(BudContext *ctx, const IrGraph *in, IrGraph **out);
/* 1-D float dot products become fused sum(a*b) reductions (lowerdot.c; rounding documented). */
BudStatus opt_lower_dot(BudContext *ctx, const IrGraph *in, IrGraph **out);
/* Fast-math algebra (changes rounding; only when ctx->fast_math): affine-chain fusion,
 * reassociation of constant chains, x / c -> x * (1/c), a*b + c -> fma (fastmath.c). */
BudStatus opt_fastmath(BudContext *ctx, const IrGraph *in, IrGraph **out);

/* Is `name` one of the comma-separated words of a BUD_DEBUG value (or is `all` one)? debug may
 * be NULL. program_build dumps its fusion groups and plans for BUD_DEBUG=fuse / plan. */
bool opt_debug_wants(const char *debug, const char *name);

/* Builds a runnable program from an optimized graph: recompute-or-materialize decisions,
 * fusion, buffers (temps sharing slots by liveness), plans (plan_lower), the cost model's
 * schedule decisions (rt/cost.h), horizontal batches. Appends every stage to explain when given.
 * Ownership: on success the program owns g — or, when recomputation rewrote the graph, g has
 * been freed and the program owns the new one; either way the caller must not use g again. On
 * failure g is still the caller's. */
BudStatus program_build(BudContext *ctx, IrGraph *g, BudProgram **out, StrBuf *explain);
void program_free(BudProgram *p);

/* Recompute or materialize (src/plan/recompute.c): for each element-wise node of g read by
 * several groups of `group`, compares storing it once and loading it in each group with
 * recomputing its cone in each, on the machine model; writes one line per decision to notes.
 * *out: a new graph with the recomputed cones duplicated, or NULL when nothing changes. */
BudStatus program_recompute(BudContext *ctx, const IrGraph *g, const int32_t *group,
                            IrGraph **out, StrBuf *notes);

#endif
