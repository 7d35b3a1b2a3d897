/* cse.c — common subexpression elimination by hash-consing (opt_cse).
 *
 * Contract.
 *   requires:   a verified graph; every op pure (stateful ops would need their own identity).
 *   preserves:  every value: two nodes merge only when op, dtype, shape, operands (after
 *               merging), axis (reductions) and, for constants, the bit pattern of the value are
 *               equal — so -0.0 and 0.0 stay distinct and NaNs with the same bits merge.
 *               Commutative ops (F_COMM in ops.def) first sort their two leading operands by id,
 *               so a*b and b*a merge. Inputs are never merged (each is its own record).
 *   terminates: one forward walk; each node is looked up once in a table of the nodes kept.
 */
#include "opt/opt_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct CseKey {
  int32_t op, dtype, nin, axis;
  int32_t in[IR_MAX_ARGS];
  int32_t ndim;
  int64_t dim[BUD_MAX_DIMS];
  uint64_t bits;
} CseKey;

static void cse_key(const IrNode *n, CseKey *k) {
  memset(k, 0, sizeof *k); /* padding too: keys are hashed and compared as bytes */
  k->op = (int32_t)n->op;
  k->dtype = (int32_t)n->dtype;
  k->nin = n->nin;
  k->axis = op_is_reduction(n->op) ? n->axis : 0;
  for (int i = 0; i < n->nin; i++)
    k->in[i] = n->in[i];
  k->ndim = n->shape.ndim;
  for (int i = 0; i < n->shape.ndim; i++)
    k->dim[i] = n->shape.dim[i];
  k->bits = n->op == OP_const ? opt_const_bits(n) : 0;
}

BudStatus opt_cse(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  OptRewrite rw;
  BudStatus st = opt_rw_begin(ctx, in, &rw);
  if (st != BUD_OK) return st;
  size_t cap = 16;
  while (cap < 2 * (size_t)in->nnodes)
    cap *= 2;
  int32_t *table = malloc(cap * sizeof *table); /* new node ids, -1 = empty */
  CseKey *keys = malloc((size_t)(in->nnodes > 0 ? in->nnodes : 1) * sizeof *keys); /* by new id */
  if (!table || !keys) {
    free(table);
    free(keys);
    opt_rw_abort(&rw);
    return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory in CSE");
  }
  for (size_t i = 0; i < cap; i++)
    table[i] = -1;
  for (int32_t id = 0; id < in->nnodes; id++) {
    const IrNode *old = &in->nodes[id];
    if (old->op == OP_input) continue;
    IrNode n = *old;
    for (int k = 0; k < n.nin; k++)
      n.in[k] = rw.map[n.in[k]];
    if ((op_info(n.op)->flags & F_COMM) && n.nin >= 2 && n.in[0] > n.in[1]) {
      int32_t t = n.in[0];
      n.in[0] = n.in[1];
      n.in[1] = t;
    }
    CseKey key;
    cse_key(&n, &key);
    size_t h = (size_t)hash_bytes(&key, sizeof key, 0x6373655f6b6579ull) & (cap - 1);
    while (table[h] >= 0 && memcmp(&keys[table[h]], &key, sizeof key) != 0)
      h = (h + 1) & (cap - 1);
    int32_t nid = table[h];
    if (nid < 0) {
      nid = opt_rw_append(&rw, &n);
      if (nid < 0) {
        free(table);
        free(keys);
        opt_rw_abort(&rw);
        return (BudStatus)nid;
      }
      table[h] = nid;
      keys[nid] = key;
    }
    rw.map[id] = nid;
  }
  free(table);
  free(keys);
  return opt_rw_finish(&rw, out);
}
