/* fold.c — constant folding (opt_fold).
 *
 * Contract.
 *   requires:   a verified graph.
 *   preserves:  every value computed, bit for bit: an element-wise node whose operands are all
 *               OP_const (casts included) becomes an OP_const whose value is computed by
 *               vm_elementwise on one-element buffers, the very code that executes the op, so
 *               folding never changes a result (NaN, -0.0, integer wrap included). Dtypes,
 *               shapes, input records and output names are unchanged. Reductions of constants
 *               and 0-d inputs that carry example values are left alone (the example is only a
 *               hint for NumPy's value-based casting, not the value the program will see).
 *   fails:      when the VM refuses a value (an integer to a negative power): NumPy raises there
 *               too, so the program could never run; the VM's message is kept.
 *   terminates: one forward walk over the nodes; folded constants feed later nodes in the same
 *               walk, so whole constant subtrees fold at once.
 */
#include "opt/opt_internal.h"
#include "vm/vm.h"

#include <string.h>

/* Evaluates node n (operands: the new-graph constants ops[]) into *value. */
static BudStatus fold_eval(BudContext *ctx, const IrNode *n, const IrNode *const *ops,
                           Scalar *value) {
  uint64_t inbuf[IR_MAX_ARGS], outbuf = 0; /* 8 bytes each, aligned for any dtype */
  const void *in[IR_MAX_ARGS];
  BudDType in_dts[IR_MAX_ARGS];
  for (int k = 0; k < n->nin; k++) {
    inbuf[k] = 0;
    in_dts[k] = ops[k]->dtype;
    scalar_store(ops[k]->dtype, &inbuf[k], ops[k]->value);
    in[k] = &inbuf[k];
  }
  BudStatus st = vm_elementwise(ctx, n->op, n->dtype, n->nin, in_dts, &outbuf, in, 1);
  if (st != BUD_OK) return st;
  *value = scalar_load(n->dtype, &outbuf);
  return BUD_OK;
}

static int32_t fold_visit(OptRewrite *rw, const IrNode *n) {
  const IrNode *ops[IR_MAX_ARGS];
  bool all_const = op_is_elemwise(n->op) && n->nin > 0 && n->shape.ndim == 0;
  for (int k = 0; all_const && k < n->nin; k++) {
    ops[k] = opt_rw_node(rw, rw->map[n->in[k]]);
    all_const = ops[k]->op == OP_const;
  }
  if (!all_const) return opt_rw_append_mapped(rw, n);
  IrNode c;
  memset(&c, 0, sizeof c);
  c.op = OP_const;
  c.dtype = n->dtype;
  c.shape = n->shape;
  c.has_value = true;
  BudStatus st = fold_eval(rw->ctx, n, ops, &c.value);
  return st != BUD_OK ? (int32_t)st : opt_rw_append(rw, &c);
}

BudStatus opt_fold(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  return opt_rw_map_nodes(ctx, in, out, fold_visit);
}
