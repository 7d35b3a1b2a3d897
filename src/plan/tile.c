/* tile.c — plan_tile_reduce: the column-tiled form of a plan that reduces axis 0 of a 2-D
 * iteration (Schedule.tile_cols, set by the cost model).
 *
 * Reducing axis 0 of C-ordered (R, C) data the plain way walks each column with a stride of a
 * whole row: gathers, one cache line per element. The tiled form turns the reduction into
 * element-wise accumulation over rows: for a tile of columns [j, j + tile_cols), row after row,
 * acc[j..] = acc[j..] + f(row i)[j..], contiguous and vectorised like any element-wise plan, with
 * the tile's accumulators staying in cache. This function builds that accumulate plan; the
 * executor (rt/exec_fused.c, rt_run_tiled) drives it over rows and tiles and finishes each
 * column (cast, mean's division).
 *
 * Contract. requires: p reduces axis 0 of a 2-D iteration, every reduction a sum or mean of a
 * float dtype. produces: a plan over one row with the same operands (slots 0..noperands-1)
 * followed, per reduction r, by a float64 accumulator loaded from slot noperands + 2r and stored
 * to slot noperands + 2r + 1 (both bound by the executor to the same float64 array; the load
 * precedes the store for each element); every LK_REDUCE replaced by cast (float32 sources) and
 * add; no reductions; stores normal. Accumulating in float64, in row order, gives each column
 * the same value whatever the thread count (threads split columns). BUD_ERR_UNSUPPORTED when p
 * does not qualify or the slots would exceed BUD_MAX_OPERANDS.
 */
#include "plan/plan.h"

#include <string.h>

bool plan_tile_qualifies(const Plan *p) {
  if (p->iter.ndim != 2 || p->reduce_axis != 0 || p->nreduces == 0) return false;
  if (p->noperands + 2 * p->nreduces > BUD_MAX_OPERANDS) return false;
  for (int r = 0; r < p->nreduces; r++) {
    const PlanReduce *red = &p->reduces[r];
    if ((red->op != OP_sum && red->op != OP_mean) || !dtype_is_float((BudDType)red->in_dtype) ||
        !dtype_is_float((BudDType)red->out_dtype))
      return false;
  }
  return true;
}

BudStatus plan_tile_reduce(BudContext *ctx, Arena *arena, const Plan *p, Plan *out) {
  if (!plan_tile_qualifies(p))
    return bud_fail(ctx, BUD_ERR_UNSUPPORTED, "plan does not qualify for column tiling");
  memset(out, 0, sizeof *out);
  int ninsts = p->ninsts + 3 * p->nreduces, nvregs = p->nvregs + 3 * p->nreduces;
  int nops = p->noperands + 2 * p->nreduces;
  out->insts = arena_alloc(arena, sizeof *out->insts * (size_t)ninsts);
  out->vreg_dtype = arena_alloc(arena, (size_t)nvregs);
  out->operands = arena_alloc(arena, sizeof *out->operands * (size_t)nops);
  out->consts = arena_alloc(arena, sizeof *out->consts * (size_t)(p->nconsts > 0 ? p->nconsts : 1));
  if (!out->insts || !out->vreg_dtype || !out->operands || !out->consts)
    return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory tiling a plan");
  memcpy(out->vreg_dtype, p->vreg_dtype, (size_t)p->nvregs);
  memcpy(out->operands, p->operands, sizeof *p->operands * (size_t)p->noperands);
  if (p->nconsts > 0) memcpy(out->consts, p->consts, sizeof *p->consts * (size_t)p->nconsts);
  out->nvregs = p->nvregs;
  out->noperands = nops;
  out->nconsts = p->nconsts;
  for (int r = 0; r < p->nreduces; r++) {
    PlanOperand *ld = &out->operands[p->noperands + 2 * r], *st = ld + 1;
    ld->dtype = st->dtype = BUD_FLOAT64;
    ld->is_output = false;
    st->is_output = true;
    ld->buffer = st->buffer = p->reduces[r].buffer; /* informative: the executor binds them */
  }
  for (int i = 0; i < p->ninsts; i++) {
    const LInst *in = &p->insts[i];
    if (in->kind != LK_REDUCE) {
      out->insts[out->ninsts++] = *in;
      continue;
    }
    int r = in->slot;
    int16_t src = in->src[0];
    LInst *ld = &out->insts[out->ninsts++];
    memset(ld, 0, sizeof *ld);
    ld->kind = LK_LOAD;
    ld->dtype = BUD_FLOAT64;
    ld->dst = (int16_t)out->nvregs;
    ld->src[0] = ld->src[1] = ld->src[2] = -1;
    ld->slot = p->noperands + 2 * r;
    out->vreg_dtype[out->nvregs++] = BUD_FLOAT64;
    if (p->vreg_dtype[src] != BUD_FLOAT64) {
      LInst *cv = &out->insts[out->ninsts++];
      memset(cv, 0, sizeof *cv);
      cv->kind = LK_OP;
      cv->op = OP_cast;
      cv->nin = 1;
      cv->dtype = BUD_FLOAT64;
      cv->src[0] = src;
      cv->src[1] = cv->src[2] = -1;
      cv->dst = (int16_t)out->nvregs;
      out->vreg_dtype[out->nvregs++] = BUD_FLOAT64;
      src = cv->dst;
    }
    LInst *add = &out->insts[out->ninsts++];
    memset(add, 0, sizeof *add);
    add->kind = LK_OP;
    add->op = OP_add;
    add->nin = 2;
    add->dtype = BUD_FLOAT64;
    add->src[0] = ld->dst;
    add->src[1] = src;
    add->src[2] = -1;
    add->dst = (int16_t)out->nvregs;
    out->vreg_dtype[out->nvregs++] = BUD_FLOAT64;
    LInst *stn = &out->insts[out->ninsts++];
    memset(stn, 0, sizeof *stn);
    stn->kind = LK_STORE;
    stn->dtype = BUD_FLOAT64;
    stn->dst = -1;
    stn->src[0] = add->dst;
    stn->src[1] = stn->src[2] = -1;
    stn->slot = p->noperands + 2 * r + 1;
  }
  out->iter.ndim = 1;
  out->iter.dim[0] = p->iter.dim[1];
  out->reduce_axis = PLAN_NO_REDUCE;
  out->sched = p->sched;
  out->sched.store = STORE_NORMAL;
  out->sched.tile_cols = 0;
  out->sched.nthreads = 1;
  return BUD_OK;
}
