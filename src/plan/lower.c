/* lower.c — plan_lower: one fusion group of the graph becomes a Plan (linear IR over virtual
 * registers, see plan.h); plan_print writes it as text, one instruction per line.
 *
 * Lowering walks the group's nodes in topological order. An operand computed outside the group
 * is loaded from its buffer (each buffer once: one LK_LOAD and one operand slot), a constant
 * becomes LK_CONST (deduplicated by dtype and bits), each node becomes LK_OP (or LK_REDUCE for a
 * reduction) and each node that owns a buffer is stored right after it is computed. 0-d operand
 * buffers are ordinary loads: the executor passes them with stride 0.
 */
#include "plan/plan.h"

#include <stdlib.h>
#include <string.h>

typedef struct LowerState {
  BudContext *ctx;
  const IrGraph *g;
  Plan *p; /* arrays below are scratch (malloc'd) until copied into the arena */
  LInst *insts;
  uint8_t *vdt;
  PlanOperand ops[BUD_MAX_OPERANDS];
  PlanConst *consts;
  PlanReduce *reduces;
  int32_t *vreg_of_node; /* g->nnodes entries, -1 = not yet in a vreg */
  int16_t load_vreg[BUD_MAX_OPERANDS];
  int16_t *const_vreg;
  int cap;
} LowerState;

static int16_t lower_vreg(LowerState *s, BudDType dt) {
  s->vdt[s->p->nvregs] = (uint8_t)dt;
  return (int16_t)s->p->nvregs++;
}

static LInst *lower_inst(LowerState *s, LKind kind, BudDType dt) {
  LInst *in = &s->insts[s->p->ninsts++];
  memset(in, 0, sizeof *in);
  in->kind = (uint8_t)kind;
  in->dtype = (uint8_t)dt;
  in->dst = -1;
  in->src[0] = in->src[1] = in->src[2] = -1;
  return in;
}

static uint64_t lower_bits(BudDType dt, Scalar v) {
  uint64_t u = 0;
  if (dt == BUD_BOOL) return v.i != 0;
  memcpy(&u, &v, sizeof u);
  return u;
}

/* The vreg holding operand node x of a node in the group (loading or materialising it). */
static BudStatus lower_operand(LowerState *s, const int32_t *buf_of_node, int32_t x,
                               int16_t *vreg) {
  const IrNode *n = &s->g->nodes[x];
  if (s->vreg_of_node[x] >= 0) {
    *vreg = (int16_t)s->vreg_of_node[x];
    return BUD_OK;
  }
  Plan *p = s->p;
  if (n->op == OP_const) {
    for (int c = 0; c < p->nconsts; c++)
      if (s->consts[c].dtype == n->dtype &&
          lower_bits(n->dtype, s->consts[c].value) == lower_bits(n->dtype, n->value)) {
        *vreg = s->const_vreg[c];
        return BUD_OK;
      }
    int c = p->nconsts++;
    s->consts[c].dtype = (uint8_t)n->dtype;
    s->consts[c].value = n->value;
    LInst *in = lower_inst(s, LK_CONST, n->dtype);
    in->slot = c;
    in->dst = s->const_vreg[c] = lower_vreg(s, n->dtype);
    *vreg = in->dst;
    return BUD_OK;
  }
  int32_t buf = buf_of_node[x];
  if (buf < 0)
    return bud_fail(s->ctx, BUD_ERR_INTERNAL, "plan_lower: operand %%%d has no buffer", (int)x);
  for (int k = 0; k < p->noperands; k++)
    if (!s->ops[k].is_output && s->ops[k].buffer == buf) {
      *vreg = s->load_vreg[k];
      s->vreg_of_node[x] = *vreg;
      return BUD_OK;
    }
  if (p->noperands >= BUD_MAX_OPERANDS)
    return bud_fail(s->ctx, BUD_ERR_LIMIT, "a fused kernel reads and writes more than %d arrays",
                    BUD_MAX_OPERANDS);
  int k = p->noperands++;
  s->ops[k].dtype = (uint8_t)n->dtype;
  s->ops[k].is_output = false;
  s->ops[k].buffer = buf;
  LInst *in = lower_inst(s, LK_LOAD, n->dtype);
  in->slot = k;
  in->dst = s->load_vreg[k] = lower_vreg(s, n->dtype);
  s->vreg_of_node[x] = in->dst;
  *vreg = in->dst;
  return BUD_OK;
}

/* Lowers node id of the group. */
static BudStatus lower_node(LowerState *s, const int32_t *buf_of_node, int32_t id) {
  const IrNode *n = &s->g->nodes[id];
  Plan *p = s->p;
  int16_t src[IR_MAX_ARGS] = {-1, -1, -1};
  for (int k = 0; k < n->nin; k++) {
    BudStatus st = lower_operand(s, buf_of_node, n->in[k], &src[k]);
    if (st != BUD_OK) return st;
  }
  if (op_is_reduction(n->op)) {
    if (buf_of_node[id] < 0)
      return bud_fail(s->ctx, BUD_ERR_INTERNAL, "plan_lower: reduction %%%d has no buffer",
                      (int)id);
    int r = p->nreduces++;
    PlanReduce *red = &s->reduces[r];
    red->op = (uint16_t)n->op;
    red->in_dtype = s->vdt[src[0]];
    red->out_dtype = (uint8_t)n->dtype;
    red->src = src[0];
    red->buffer = buf_of_node[id];
    LInst *in = lower_inst(s, LK_REDUCE, (BudDType)s->vdt[src[0]]);
    in->src[0] = src[0];
    in->slot = r;
    return BUD_OK;
  }
  if (!op_is_elemwise(n->op))
    return bud_fail(s->ctx, BUD_ERR_INTERNAL, "plan_lower: %s is not element-wise",
                    op_info(n->op)->name);
  LInst *in = lower_inst(s, LK_OP, n->dtype);
  in->op = (uint16_t)n->op;
  in->nin = (uint8_t)n->nin;
  for (int k = 0; k < n->nin; k++)
    in->src[k] = src[k];
  in->dst = lower_vreg(s, n->dtype);
  s->vreg_of_node[id] = in->dst;
  int32_t buf = buf_of_node[id];
  if (buf >= 0) {
    if (p->noperands >= BUD_MAX_OPERANDS)
      return bud_fail(s->ctx, BUD_ERR_LIMIT, "a fused kernel reads and writes more than %d arrays",
                      BUD_MAX_OPERANDS);
    int k = p->noperands++;
    s->ops[k].dtype = (uint8_t)n->dtype;
    s->ops[k].is_output = true;
    s->ops[k].buffer = buf;
    int16_t v = in->dst;
    LInst *store = lower_inst(s, LK_STORE, n->dtype);
    store->src[0] = v;
    store->slot = k;
  }
  return BUD_OK;
}

/* Iteration shape and reduction axis of the group: its reductions' operand shape, or the
 * broadcast of its nodes' shapes. */
static BudStatus lower_iter(LowerState *s, const int32_t *group, int32_t gid) {
  const IrGraph *g = s->g;
  Plan *p = s->p;
  bool first = true;
  p->reduce_axis = PLAN_NO_REDUCE;
  for (int32_t id = 0; id < g->nnodes; id++) {
    if (group[id] != gid) continue;
    const IrNode *n = &g->nodes[id];
    if (op_is_reduction(n->op)) {
      p->iter = g->nodes[n->in[0]].shape;
      p->reduce_axis = n->axis;
      return BUD_OK;
    }
    Shape b;
    if (first)
      p->iter = n->shape;
    else if (!shape_broadcast(&p->iter, &n->shape, &b))
      return bud_fail(s->ctx, BUD_ERR_INTERNAL, "plan_lower: group %d shapes do not broadcast",
                      (int)gid);
    else
      p->iter = b;
    first = false;
  }
  if (first) return bud_fail(s->ctx, BUD_ERR_INTERNAL, "plan_lower: group %d is empty", (int)gid);
  return BUD_OK;
}

#define LOWER_COPY(dst, src, count)                                                                \
  do {                                                                                             \
    size_t nb_ = sizeof *(src) * (size_t)((count) > 0 ? (count) : 1);                              \
    (dst) = arena_alloc(arena, nb_);                                                               \
    if (!(dst))                                                                                    \
      st = bud_fail(ctx, BUD_ERR_NOMEM, "out of memory lowering a plan");                          \
    else                                                                                           \
      memcpy((dst), (src), sizeof *(src) * (size_t)(count));                                       \
  } while (0)

BudStatus plan_lower(BudContext *ctx, Arena *arena, const IrGraph *g, const int32_t *group,
                     int32_t gid, const int32_t *buf_of_node, Plan *p) {
  LowerState s;
  memset(&s, 0, sizeof s);
  memset(p, 0, sizeof *p);
  s.ctx = ctx;
  s.g = g;
  s.p = p;
  int nmembers = 0;
  for (int32_t id = 0; id < g->nnodes; id++)
    nmembers += group[id] == gid;
  s.cap = nmembers * (IR_MAX_ARGS + 2) + 4;
  if (s.cap > INT16_MAX) return bud_fail(ctx, BUD_ERR_LIMIT, "fusion group too large to lower");
  s.insts = malloc(sizeof *s.insts * (size_t)s.cap);
  s.vdt = malloc((size_t)s.cap);
  s.consts = malloc(sizeof *s.consts * (size_t)s.cap);
  s.const_vreg = malloc(sizeof *s.const_vreg * (size_t)s.cap);
  s.reduces = malloc(sizeof *s.reduces * (size_t)s.cap);
  s.vreg_of_node = malloc(sizeof *s.vreg_of_node * (size_t)(g->nnodes + 1));
  BudStatus st = BUD_OK;
  if (!s.insts || !s.vdt || !s.consts || !s.const_vreg || !s.reduces || !s.vreg_of_node)
    st = bud_fail(ctx, BUD_ERR_NOMEM, "out of memory lowering a plan");
  if (st == BUD_OK) {
    for (int32_t id = 0; id < g->nnodes; id++)
      s.vreg_of_node[id] = -1;
    st = lower_iter(&s, group, gid);
  }
  for (int32_t id = 0; st == BUD_OK && id < g->nnodes; id++)
    if (group[id] == gid) st = lower_node(&s, buf_of_node, id);
  if (st == BUD_OK) {
    LInst *insts = s.insts;
    uint8_t *vdt = s.vdt;
    PlanOperand *ops = s.ops;
    PlanConst *consts = s.consts;
    PlanReduce *reduces = s.reduces;
    LOWER_COPY(p->insts, insts, p->ninsts);
    if (st == BUD_OK) LOWER_COPY(p->vreg_dtype, vdt, p->nvregs);
    if (st == BUD_OK) LOWER_COPY(p->operands, ops, p->noperands);
    if (st == BUD_OK) LOWER_COPY(p->consts, consts, p->nconsts);
    if (st == BUD_OK) LOWER_COPY(p->reduces, reduces, p->nreduces);
  }
  p->sched.vec_bytes = 32;
  p->sched.unroll = 2;
  p->sched.naccum = 4;
  p->sched.tail = TAIL_MASKED;
  p->sched.store = STORE_NORMAL;
  p->sched.prefetch_bytes = 0;
  p->sched.block = 256;
  p->sched.nthreads = 1;
  free(s.insts);
  free(s.vdt);
  free(s.consts);
  free(s.const_vreg);
  free(s.reduces);
  free(s.vreg_of_node);
  return st;
}

/* ---- printing ----------------------------------------------------------------------------------
 */

static void plan_print_value(StrBuf *sb, BudDType dt, Scalar v) {
  char buf[32];
  switch (dtype_info(dt)->kind) {
  case 'b':
    sb_puts(sb, v.i ? "True" : "False");
    break;
  case 'i':
    sb_printf(sb, "%lld", (long long)v.i);
    break;
  case 'u':
    sb_printf(sb, "%llu", (unsigned long long)v.u);
    break;
  default:
    format_double(buf, v.f);
    sb_puts(sb, buf);
    break;
  }
}

void plan_print(const Plan *p, StrBuf *sb) {
  char shp[200];
  shape_format(&p->iter, shp, sizeof shp);
  sb_printf(sb, "plan: iter %s", shp);
  if (p->reduce_axis == BUD_AXIS_ALL)
    sb_puts(sb, ", reduce all axes");
  else if (p->reduce_axis != PLAN_NO_REDUCE)
    sb_printf(sb, ", reduce axis %d", p->reduce_axis);
  const Schedule *s = &p->sched;
  sb_printf(sb,
            "\n  schedule: vec %d bytes, unroll %d, accumulators %d, tail %s, store %s, "
            "prefetch %d, block %d, threads %d\n",
            s->vec_bytes, s->unroll, s->naccum, s->tail == TAIL_MASKED ? "masked" : "scalar",
            s->store == STORE_NORMAL ? "normal" : "nontemporal", s->prefetch_bytes, s->block,
            s->nthreads);
  if (s->tile_cols > 0)
    sb_printf(sb, "  tiled: rows accumulate into tiles of %d columns (axis-0 reduction)\n",
              s->tile_cols);
  for (int k = 0; k < p->noperands; k++)
    sb_printf(sb, "  @%d: %s buffer %d (%s)\n", k, p->operands[k].is_output ? "store" : "load",
              (int)p->operands[k].buffer, dtype_info((BudDType)p->operands[k].dtype)->name);
  for (int i = 0; i < p->ninsts; i++) {
    const LInst *in = &p->insts[i];
    const char *dt = dtype_info((BudDType)in->dtype)->name;
    switch ((LKind)in->kind) {
    case LK_LOAD:
      sb_printf(sb, "  v%d:%s = load @%d\n", in->dst, dt, (int)in->slot);
      break;
    case LK_CONST:
      sb_printf(sb, "  v%d:%s = const ", in->dst, dt);
      plan_print_value(sb, (BudDType)p->consts[in->slot].dtype, p->consts[in->slot].value);
      sb_puts(sb, "\n");
      break;
    case LK_OP:
      sb_printf(sb, "  v%d:%s = %s", in->dst, dt, op_info((Op)in->op)->name);
      for (int k = 0; k < in->nin; k++)
        sb_printf(sb, "%s v%d", k ? "," : "", in->src[k]);
      sb_puts(sb, "\n");
      break;
    case LK_STORE:
      sb_printf(sb, "  store @%d <- v%d\n", (int)in->slot, in->src[0]);
      break;
    case LK_REDUCE: {
      const PlanReduce *r = &p->reduces[in->slot];
      sb_printf(sb, "  reduce #%d %s <- v%d (%s -> %s) into buffer %d\n", (int)in->slot,
                op_info((Op)r->op)->name, in->src[0], dtype_info((BudDType)r->in_dtype)->name,
                dtype_info((BudDType)r->out_dtype)->name, (int)r->buffer);
      break;
    }
    }
  }
}
