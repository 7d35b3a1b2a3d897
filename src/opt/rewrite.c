/* rewrite.c — the rebuild helper every pass uses (see opt_internal.h): copy inputs, append
 * remapped nodes, remap outputs. Also opt_const_bits, the bit identity of a constant.
 */
#include "opt/opt_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

BudStatus opt_rw_begin(BudContext *ctx, const IrGraph *in, OptRewrite *rw) {
  memset(rw, 0, sizeof *rw);
  rw->ctx = ctx;
  rw->in = in;
  rw->out = ir_graph_new(ctx);
  rw->map = malloc(sizeof(int32_t) * (size_t)(in->nnodes > 0 ? in->nnodes : 1));
  if (!rw->out || !rw->map) {
    opt_rw_abort(rw);
    return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory rebuilding a graph of %d nodes",
                    (int)in->nnodes);
  }
  for (int32_t i = 0; i < in->nnodes; i++)
    rw->map[i] = -1;
  for (int i = 0; i < in->ninputs; i++) {
    const IrInput *inp = &in->inputs[i];
    const IrNode *n = &in->nodes[inp->node];
    int32_t id =
        ir_append_input(rw->out, inp->name, inp->dtype, &inp->shape, n->has_value, n->value);
    if (id < 0) {
      opt_rw_abort(rw);
      return (BudStatus)id;
    }
    rw->map[inp->node] = id;
  }
  return BUD_OK;
}

BudStatus opt_rw_map_nodes(BudContext *ctx, const IrGraph *in, IrGraph **out, OptNodeFn node_fn) {
  OptRewrite rw;
  BudStatus st = opt_rw_begin(ctx, in, &rw);
  if (st != BUD_OK) return st;
  for (int32_t id = 0; id < in->nnodes; id++) {
    const IrNode *n = &in->nodes[id];
    if (n->op == OP_input) continue; /* mapped by opt_rw_begin */
    int32_t nid = node_fn(&rw, n);
    if (nid < 0) {
      opt_rw_abort(&rw);
      return (BudStatus)nid;
    }
    rw.map[id] = nid;
  }
  return opt_rw_finish(&rw, out);
}

int32_t opt_rw_const(OptRewrite *rw, BudDType dt, double v) {
  IrNode c;
  memset(&c, 0, sizeof c);
  c.op = OP_const;
  c.dtype = dt;
  c.has_value = true;
  if (dtype_is_float(dt))
    c.value.f = dt == BUD_FLOAT32 ? (double)(float)v : v;
  else if (dt == BUD_BOOL)
    c.value.b = v != 0;
  else if (dtype_is_uint(dt))
    c.value.u = (uint64_t)v;
  else
    c.value.i = (int64_t)v;
  return ir_append(rw->out, &c);
}

int32_t opt_rw_append(OptRewrite *rw, const IrNode *n) { return ir_append(rw->out, n); }

int32_t opt_rw_append_mapped(OptRewrite *rw, const IrNode *n) {
  IrNode m = *n;
  for (int k = 0; k < m.nin; k++) {
    assert(m.in[k] >= 0 && m.in[k] < rw->in->nnodes && rw->map[m.in[k]] >= 0);
    m.in[k] = rw->map[m.in[k]];
  }
  return ir_append(rw->out, &m);
}

BudStatus opt_rw_finish(OptRewrite *rw, IrGraph **out) {
  for (int i = 0; i < rw->in->noutputs; i++) {
    const IrOutput *o = &rw->in->outputs[i];
    assert(rw->map[o->node] >= 0);
    BudStatus st = ir_output(rw->out, o->name, rw->map[o->node]);
    if (st != BUD_OK) {
      opt_rw_abort(rw);
      return st;
    }
  }
  free(rw->map);
  rw->map = NULL;
  *out = rw->out;
  rw->out = NULL;
  return BUD_OK;
}

void opt_rw_abort(OptRewrite *rw) {
  free(rw->map);
  rw->map = NULL;
  if (rw->out) ir_graph_free(rw->out);
  rw->out = NULL;
}

uint64_t opt_const_bits(const IrNode *n) {
  switch (dtype_info(n->dtype)->kind) {
  case 'b':
    return n->value.b ? 1 : 0;
  case 'f': {
    uint64_t u;
    memcpy(&u, &n->value.f, sizeof u);
    return u;
  }
  default:
    return n->value.u;
  }
}
