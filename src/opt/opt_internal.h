/* opt_internal.h — what the passes in src/opt share (private to src/opt): the rebuild helper.
 * Every pass reads an old graph and appends a new one; OptRewrite holds both and the map from old
 * node ids to new ones. opt_rw_begin copies the input records (same order, names and values), so
 * input indices stay stable; opt_rw_copy appends one old node with remapped operands;
 * opt_rw_finish remaps the outputs and hands over the new graph.
 */
#ifndef BUD_OPT_INTERNAL_H
#define BUD_OPT_INTERNAL_H

#include "opt/opt.h"

typedef struct OptRewrite {
  BudContext *ctx;
  const IrGraph *in;
  IrGraph *out;
  int32_t *map; /* in->nnodes entries: new id of each old node, -1 while unknown */
} OptRewrite;

BudStatus opt_rw_begin(BudContext *ctx, const IrGraph *in, OptRewrite *rw);
/* Appends node n (an old node or a variation of one) after remapping its operands through
 * rw->map; returns the new id or a negative status. */
int32_t opt_rw_append_mapped(OptRewrite *rw, const IrNode *n);
/* Appends node n whose operands already name new nodes; returns the new id or a status. */
int32_t opt_rw_append(OptRewrite *rw, const IrNode *n);
/* Remaps the outputs, verifies nothing, frees the map and returns the new graph in *out. */
BudStatus opt_rw_finish(OptRewrite *rw, IrGraph **out);
/* Appends a 0-d constant of dtype dt with value v (rounded to float32 for float32; truncated for
 * integers; v != 0 for bool); returns its id or a negative status. */
int32_t opt_rw_const(OptRewrite *rw, BudDType dt, double v);
/* Releases everything after a failure. */
void opt_rw_abort(OptRewrite *rw);

/* The shape of most passes: one forward walk that gives every old node (inputs are mapped by
 * opt_rw_begin) its new id. node_fn returns the new id of old node n (operands already mapped in
 * rw->map), or a negative status, which aborts the walk. */
typedef int32_t (*OptNodeFn)(OptRewrite *rw, const IrNode *n);
BudStatus opt_rw_map_nodes(BudContext *ctx, const IrGraph *in, IrGraph **out, OptNodeFn node_fn);

/* The new node new_id of the graph being built. */
static inline const IrNode *opt_rw_node(const OptRewrite *rw, int32_t new_id) {
  return &rw->out->nodes[new_id];
}

/* Bit-level identity of a constant's value in its dtype (bools by truth, floats by the bits of
 * the double that holds them, so -0.0 and 0.0 differ and equal NaNs match). */
uint64_t opt_const_bits(const IrNode *n);

#endif /* BUD_OPT_INTERNAL_H */
