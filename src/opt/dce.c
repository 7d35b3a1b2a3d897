/* dce.c — dead code elimination (opt_dce): keeps the nodes the outputs reach.
 *
 * Contract.
 *   requires:   a verified graph.
 *   preserves:  every output's value; every input record, used or not, in its place (input
 *               indices are part of the program's calling convention); the relative order of
 *               the nodes kept.
 *   terminates: one backward walk marks (operands precede users), one forward walk copies.
 */
#include "opt/opt_internal.h"

#include <stdlib.h>

BudStatus opt_dce(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  bool *live = calloc((size_t)(in->nnodes > 0 ? in->nnodes : 1), sizeof *live);
  if (!live) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory in DCE");
  for (int i = 0; i < in->noutputs; i++)
    live[in->outputs[i].node] = true;
  for (int32_t id = in->nnodes - 1; id >= 0; id--)
    if (live[id])
      for (int k = 0; k < in->nodes[id].nin; k++)
        live[in->nodes[id].in[k]] = true;
  OptRewrite rw;
  BudStatus st = opt_rw_begin(ctx, in, &rw);
  for (int32_t id = 0; st == BUD_OK && id < in->nnodes; id++) {
    const IrNode *n = &in->nodes[id];
    if (n->op == OP_input || !live[id]) continue;
    int32_t nid = opt_rw_append_mapped(&rw, n);
    if (nid < 0) {
      opt_rw_abort(&rw);
      st = (BudStatus)nid;
    } else {
      rw.map[id] = nid;
    }
  }
  free(live);
  return st == BUD_OK ? opt_rw_finish(&rw, out) : st;
}
