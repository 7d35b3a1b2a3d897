/* program.c — program_build: from an optimized graph to a runnable BudProgram (fusion groups in
 * execution order, their plans, and the buffers between them); program_free.
 *
 * Buffers: one per graph input (BUF_INPUT), one per graph output (BUF_OUTPUT), and a BUF_TEMP for
 * each node computed in one group and read by another (or a reduction / dot result nobody else
 * holds). A node that is an output is read by later groups straight from the output buffer. An
 * output that names an input, a constant, or the same node as an earlier output is filled by a
 * GROUP_COPY group, placed after every computing group.
 *
 * Then the cost model (rt/cost.h) prices every fused plan and writes its decisions into the
 * schedule (threads, store kind, prefetch, unroll); temporaries share slots by liveness (a temp
 * slot is free again once the last group reading its current temp has run); small independent
 * neighbouring groups form horizontal batches. Before all this, program_recompute (recompute.c)
 * may duplicate cheap element-wise producers into the groups that read them.
 */
#include "opt/opt.h"
#include "plan/plan.h"
#include "rt/cost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PROG_MAX_BATCH = PLAN_MAX_BATCH, PROG_BATCH_LANES = 8 };

typedef struct ProgBuild {
  BudContext *ctx;
  const IrGraph *g;
  BudProgram *prog;
  int32_t *group, ngroups;
  const char **why;
  int32_t *buf_of_node;
  int32_t *copy_src_node; /* per output: node to copy from, or -1 when computed */
  PlanCost *costs;        /* per group (fused groups only) */
  int64_t temp_bytes, temp_bytes_unshared;
  int32_t *temp_writer, *temp_last_reader; /* per buffer (temps only) */
  double *batch_serial_us, *batch_par_us; /* per first member of a batch (explain) */
  int32_t *group_epi;   /* scratch: group[] with a group's epilogue nodes relabelled */
  bool *after_reduce;   /* scratch: node depends on a reduction of its own group */
  bool *epi_of;         /* node is in its group's epilogue (explain) */
} ProgBuild;

static int32_t prog_add_buffer(ProgBuild *b, BufKind kind, BudDType dt, const Shape *shape,
                               int32_t index, int32_t node) {
  Buffer *buf = &b->prog->buffers[b->prog->nbuffers];
  buf->kind = (uint8_t)kind;
  buf->dtype = (uint8_t)dt;
  buf->shape = *shape;
  buf->index = index;
  buf->node = node;
  return b->prog->nbuffers++;
}

static BudStatus prog_buffers(ProgBuild *b) {
  const IrGraph *g = b->g;
  BudProgram *prog = b->prog;
  for (int32_t id = 0; id < g->nnodes; id++)
    b->buf_of_node[id] = -1;
  for (int i = 0; i < g->ninputs; i++) {
    const IrInput *in = &g->inputs[i];
    b->buf_of_node[in->node] = prog_add_buffer(b, BUF_INPUT, in->dtype, &in->shape, i, in->node);
  }
  for (int o = 0; o < g->noutputs; o++) {
    int32_t node = g->outputs[o].node;
    const IrNode *n = &g->nodes[node];
    int32_t buf = prog_add_buffer(b, BUF_OUTPUT, n->dtype, &n->shape, o, node);
    prog->output_buf[o] = buf;
    b->copy_src_node[o] = -1;
    if (b->group[node] >= 0 && b->buf_of_node[node] < 0)
      b->buf_of_node[node] = buf;
    else
      b->copy_src_node[o] = node;
  }
  for (int32_t id = 0; id < g->nnodes; id++) {
    const IrNode *n = &g->nodes[id];
    if (b->group[id] < 0) continue;
    bool needs = !op_is_elemwise(n->op); /* reductions and dots always deliver a buffer */
    for (int k = 0; k < n->nin; k++) {
      int32_t x = n->in[k];
      if (b->group[x] >= 0 && b->group[x] != b->group[id] && b->buf_of_node[x] < 0)
        b->buf_of_node[x] =
            prog_add_buffer(b, BUF_TEMP, g->nodes[x].dtype, &g->nodes[x].shape, prog->ntemps++, x);
    }
    if (needs && b->buf_of_node[id] < 0)
      b->buf_of_node[id] = prog_add_buffer(b, BUF_TEMP, n->dtype, &n->shape, prog->ntemps++, id);
  }
  return BUD_OK;
}

/* Fills group gid: a plan for a fused group, the operands of a dot. */
static BudStatus prog_group(ProgBuild *b, int32_t gid, Group *grp) {
  const IrGraph *g = b->g;
  memset(grp, 0, sizeof *grp);
  grp->node = -1;
  grp->in_buf[0] = grp->in_buf[1] = grp->out_buf = -1;
  for (int32_t id = 0; id < g->nnodes; id++) {
    const IrNode *n = &g->nodes[id];
    if (b->group[id] != gid || op_is_elemwise(n->op) || op_is_reduction(n->op)) continue;
    if (op_info(n->op)->pclass != PC_OUTFUSABLE)
      return bud_fail(b->ctx, BUD_ERR_UNSUPPORTED, "op %s cannot be compiled yet",
                      op_info(n->op)->name);
    grp->kind = GROUP_DOT;
    grp->node = id;
    grp->out_buf = b->buf_of_node[id];
    for (int k = 0; k < 2; k++) {
      grp->in_buf[k] = b->buf_of_node[n->in[k]];
      if (grp->in_buf[k] < 0)
        return bud_fail(b->ctx, BUD_ERR_UNSUPPORTED, "%s of a constant operand is not supported",
                        op_info(n->op)->name);
    }
    return BUD_OK;
  }
  grp->kind = GROUP_FUSED;
  grp->batch = -1;
  /* the epilogue (fuse.c's fuse_epilogues): element-wise nodes that depend on a reduction of the
   * group; lowered apart, under a group number no real group has */
  int32_t epi = b->ngroups + gid;
  bool has_epi = false;
  for (int32_t id = 0; id < g->nnodes; id++) {
    const IrNode *n = &g->nodes[id];
    b->group_epi[id] = b->group[id];
    b->after_reduce[id] = false;
    if (b->group[id] == gid) b->epi_of[id] = false;
    if (b->group[id] != gid || op_is_reduction(n->op)) continue;
    for (int k = 0; k < n->nin; k++) {
      int32_t x = n->in[k];
      if (b->group[x] == gid && (op_is_reduction(g->nodes[x].op) || b->after_reduce[x]))
        b->after_reduce[id] = true;
    }
    if (b->after_reduce[id]) b->group_epi[id] = epi, has_epi = true;
    b->epi_of[id] = b->after_reduce[id];
  }
  BudStatus st = plan_lower(b->ctx, &b->prog->arena, g, b->group_epi, gid, b->buf_of_node,
                            &grp->plan);
  if (st != BUD_OK || !has_epi) return st;
  Group *e = arena_alloc(&b->prog->arena, sizeof *e);
  if (!e) return bud_fail(b->ctx, BUD_ERR_NOMEM, "out of memory building a program");
  memset(e, 0, sizeof *e);
  e->kind = GROUP_FUSED;
  e->node = -1;
  e->in_buf[0] = e->in_buf[1] = e->out_buf = -1;
  e->batch = -1;
  grp->epilogue = e;
  return plan_lower(b->ctx, &b->prog->arena, g, b->group_epi, epi, b->buf_of_node, &e->plan);
}

static bool prog_plan_reads(const Plan *p, int32_t buf) {
  for (int k = 0; k < p->noperands; k++)
    if (!p->operands[k].is_output && p->operands[k].buffer == buf) return true;
  return false;
}

static bool prog_plan_writes(const Plan *p, int32_t buf) {
  for (int k = 0; k < p->noperands; k++)
    if (p->operands[k].is_output && p->operands[k].buffer == buf) return true;
  for (int r = 0; r < p->nreduces; r++)
    if (p->reduces[r].buffer == buf) return true;
  return false;
}

/* Does group grp (its epilogue included) write buffer buf? */
static bool prog_group_writes(const Group *grp, int32_t buf) {
  if (grp->kind != GROUP_FUSED) return grp->out_buf == buf;
  return prog_plan_writes(&grp->plan, buf) ||
         (grp->epilogue && prog_plan_writes(&grp->epilogue->plan, buf));
}

/* Does group grp (its epilogue included) read buffer buf? */
static bool prog_group_reads(const Group *grp, int32_t buf) {
  if (grp->kind != GROUP_FUSED) return grp->in_buf[0] == buf || grp->in_buf[1] == buf;
  return prog_plan_reads(&grp->plan, buf) ||
         (grp->epilogue && prog_plan_reads(&grp->epilogue->plan, buf));
}

static int64_t prog_buffer_bytes(const Buffer *bf) {
  int64_t n = 1;
  for (int d = 0; d < bf->shape.ndim; d++) n *= bf->shape.dim[d];
  return n * dtype_size((BudDType)bf->dtype);
}

/* Buffer assignment: temps share slots by liveness. Groups run in order; temp t is live from its
 * writer group w(t) through its last reader r(t). A slot whose current temp's last reader runs
 * before w(t) (strictly: a group never reads and writes one slot) is free for t. Temps are taken
 * in order of their writer; among the free slots the smallest that is large enough wins, else
 * the largest (which grows); else a new slot. Sets Buffer.index and prog->ntemps. */
static BudStatus prog_temp_slots(ProgBuild *b) {
  BudProgram *prog = b->prog;
  int nb = prog->nbuffers;
  int32_t *slot_last = calloc((size_t)nb + 1, sizeof *slot_last);
  int64_t *slot_bytes = calloc((size_t)nb + 1, sizeof *slot_bytes);
  if (!slot_last || !slot_bytes) {
    free(slot_last);
    free(slot_bytes);
    return bud_fail(b->ctx, BUD_ERR_NOMEM, "out of memory assigning buffers");
  }
  for (int bi = 0; bi < nb; bi++) {
    b->temp_writer[bi] = b->temp_last_reader[bi] = -1;
    const Buffer *bf = &prog->buffers[bi];
    if (bf->kind != BUF_TEMP) continue;
    b->temp_writer[bi] = b->group[bf->node];
    b->temp_last_reader[bi] = b->temp_writer[bi];
    for (int gi = 0; gi < prog->ngroups; gi++)
      if (prog_group_reads(&prog->groups[gi], bi)) b->temp_last_reader[bi] = gi;
  }
  int nslots = 0;
  b->temp_bytes_unshared = 0;
  for (int32_t w = 0; w < prog->ngroups; w++)
    for (int bi = 0; bi < nb; bi++) {
      Buffer *bf = &prog->buffers[bi];
      if (bf->kind != BUF_TEMP || b->temp_writer[bi] != w) continue;
      int64_t need = prog_buffer_bytes(bf);
      b->temp_bytes_unshared += need;
      int fit = -1, largest = -1;
      for (int sl = 0; sl < nslots; sl++) {
        if (slot_last[sl] >= w) continue;
        if (slot_bytes[sl] >= need && (fit < 0 || slot_bytes[sl] < slot_bytes[fit])) fit = sl;
        if (largest < 0 || slot_bytes[sl] > slot_bytes[largest]) largest = sl;
      }
      int sl = fit >= 0 ? fit : largest >= 0 ? largest : nslots++;
      if (slot_bytes[sl] < need) slot_bytes[sl] = need;
      slot_last[sl] = b->temp_last_reader[bi];
      bf->index = sl;
    }
  prog->ntemps = nslots;
  b->temp_bytes = 0;
  for (int sl = 0; sl < nslots; sl++) b->temp_bytes += slot_bytes[sl];
  free(slot_last);
  free(slot_bytes);
  return BUD_OK;
}

/* The cost model over every fused group: decisions into the schedules. */
static void prog_costs(ProgBuild *b) {
  BudProgram *prog = b->prog;
  const RtMachine *m = rt_machine();
  int isa = rt_cost_isa(b->ctx);
  for (int gi = 0; gi < prog->ngroups; gi++) {
    Group *grp = &prog->groups[gi];
    if (grp->kind != GROUP_FUSED) continue;
    bool reread = false;
    for (int k = 0; k < grp->plan.noperands && !reread; k++) {
      if (!grp->plan.operands[k].is_output) continue;
      for (int gj = gi + 1; gj < prog->ngroups && !reread; gj++)
        reread = prog_group_reads(&prog->groups[gj], grp->plan.operands[k].buffer);
    }
    rt_cost_plan(m, isa, &grp->plan, prog->buffers, reread, &b->costs[gi]);
    rt_cost_apply(&b->costs[gi], &grp->plan);
    if (grp->plan.sched.tile_cols > 0) { /* the accumulate plan the executor runs instead */
      Group *t = arena_alloc(&prog->arena, sizeof *t);
      if (t) {
        memset(t, 0, sizeof *t);
        t->kind = GROUP_FUSED;
        t->node = -1;
        t->in_buf[0] = t->in_buf[1] = t->out_buf = -1;
        t->batch = -1;
      }
      if (t && plan_tile_reduce(b->ctx, &prog->arena, &grp->plan, &t->plan) == BUD_OK)
        grp->tiled = t;
      else /* no memory: the plain schedule, and the plan says so */
        grp->plan.sched.tile_cols = b->costs[gi].tile_cols = 0;
    }
    if (grp->epilogue) { /* tiny as a rule; priced for its schedule, added to the group's time */
      Plan *ep = &grp->epilogue->plan;
      bool ereread = false;
      for (int k = 0; k < ep->noperands && !ereread; k++)
        for (int gj = gi + 1; ep->operands[k].is_output && gj < prog->ngroups && !ereread; gj++)
          ereread = prog_group_reads(&prog->groups[gj], ep->operands[k].buffer);
      PlanCost ec;
      rt_cost_plan(m, isa, ep, prog->buffers, ereread, &ec);
      rt_cost_apply(&ec, ep);
      b->costs[gi].t_us += ec.t_us;
    }
  }
}

/* Threads for the batch of groups [gi, gj): members go to lanes (threads) longest predicted
 * time first, each to the least loaded lane (ties: the lower lane), deterministic. The batch
 * runs as one parallel job on k lanes when that is predicted faster than one after another:
 * max lane time + the machine's wake-up cost (the cost model's term for one more thread)
 * < the sum, and the sum is at least PROG_BATCH_PAR_MIN_US: the calibrated wake-up is measured
 * back to back (1.7 us here), but a worker idle for a while costs 35-50 us to wake on this KVM
 * guest, so a batch must be worth more than that. Sets batch_threads and batch_lane on every
 * member; b->batch_*_us[first member] for explain. */
#define PROG_BATCH_PAR_MIN_US 50.0
static void prog_batch_lanes(ProgBuild *b, int gi, int gj) {
  BudProgram *prog = b->prog;
  const RtMachine *m = rt_machine();
  int k = m->nthreads < 1 ? 1 : m->nthreads > PROG_BATCH_LANES ? PROG_BATCH_LANES : m->nthreads;
  if (k > gj - gi) k = gj - gi;
  double load[PROG_BATCH_LANES] = {0}, sum = 0;
  bool taken[PROG_MAX_BATCH] = {false};
  for (int h = gi; h < gj; h++) sum += b->costs[h].t_us;
  for (int done = 0; done < gj - gi; done++) {
    int best = -1;
    for (int h = gi; h < gj; h++)
      if (!taken[h - gi] && (best < 0 || b->costs[h].t_us > b->costs[best].t_us)) best = h;
    int lane = 0;
    for (int l = 1; l < k; l++)
      if (load[l] < load[lane]) lane = l;
    taken[best - gi] = true;
    load[lane] += b->costs[best].t_us;
    prog->groups[best].batch_lane = (int16_t)lane;
  }
  double par = 0;
  for (int l = 0; l < k; l++) par = load[l] > par ? load[l] : par;
  par += m->wake_us;
  int threads = k > 1 && par < sum && sum >= PROG_BATCH_PAR_MIN_US ? k : 1;
  for (int h = gi; h < gj; h++) {
    prog->groups[h].batch_threads = (int16_t)threads;
    if (threads == 1) prog->groups[h].batch_lane = 0;
  }
  b->batch_serial_us[gi] = sum;
  b->batch_par_us[gi] = par;
}

/* Horizontal batches: runs of consecutive fused groups, each small (serial and predicted under
 * PROG_BATCH_US), at most PROG_MAX_BATCH, none reading or writing a buffer an earlier member
 * writes. The executor runs a batch as one parallel job when batch_threads > 1. */
#define PROG_BATCH_US 20.0
static void prog_batches(ProgBuild *b) {
  BudProgram *prog = b->prog;
  int32_t nbatch = 0;
  for (int gi = 0; gi < prog->ngroups; gi++) prog->groups[gi].batch = -1;
  for (int gi = 0; gi < prog->ngroups;) {
    int gj = gi;
    while (gj < prog->ngroups) {
      const Group *grp = &prog->groups[gj];
      if (grp->kind != GROUP_FUSED || grp->tiled || b->costs[gj].nthreads > 1 ||
          b->costs[gj].t_us > PROG_BATCH_US || gj - gi >= PROG_MAX_BATCH)
        break;
      bool dep = false;
      for (int h = gi; h < gj && !dep; h++)
        for (int bi = 0; bi < prog->nbuffers && !dep; bi++)
          dep = prog_group_writes(&prog->groups[h], bi) &&
                (prog_group_reads(grp, bi) || prog_group_writes(grp, bi));
      if (dep) break;
      gj++;
    }
    if (gj - gi >= 2) {
      for (int h = gi; h < gj; h++) prog->groups[h].batch = nbatch;
      prog_batch_lanes(b, gi, gj);
      nbatch++;
      gi = gj;
    } else {
      gi++;
    }
  }
}

static void prog_explain_costs(const ProgBuild *b, StrBuf *sb) {
  const BudProgram *prog = b->prog;
  sb_puts(sb, "== cost model ==\n");
  rt_machine_explain(rt_machine(), rt_cost_isa(b->ctx), sb);
  for (int gi = 0; gi < prog->ngroups; gi++)
    if (prog->groups[gi].kind == GROUP_FUSED) rt_cost_explain(&b->costs[gi], gi, sb);
  for (int gi = 0; gi < prog->ngroups;) {
    int32_t bt = prog->groups[gi].batch;
    if (bt < 0) {
      gi++;
      continue;
    }
    int first = gi;
    sb_printf(sb, "horizontal batch %d: groups", (int)bt);
    for (; gi < prog->ngroups && prog->groups[gi].batch == bt; gi++)
      sb_printf(sb, " %d (lane %d)", gi, (int)prog->groups[gi].batch_lane);
    const Group *g0 = &prog->groups[first];
    if (g0->batch_threads > 1)
      sb_printf(sb, ": one parallel job on %d threads, predicted %.2f us (one after another %.2f us)\n",
                (int)g0->batch_threads, b->batch_par_us[first], b->batch_serial_us[first]);
    else
      sb_printf(sb, ": one after another on the caller, predicted %.2f us (in parallel %.2f us "
                "with the wake-up)\n", b->batch_serial_us[first], b->batch_par_us[first]);
  }
  sb_puts(sb, "== buffers ==\n");
  int ntemp = 0;
  for (int bi = 0; bi < prog->nbuffers; bi++) {
    const Buffer *bf = &prog->buffers[bi];
    if (bf->kind != BUF_TEMP) continue;
    ntemp++;
    sb_printf(sb, "buf%d temp %%%d: slot %d, %lld bytes, written by group %d, last read by group %d\n",
              bi, (int)bf->node, (int)bf->index, (long long)prog_buffer_bytes(bf),
              (int)b->temp_writer[bi], (int)b->temp_last_reader[bi]);
  }
  sb_printf(sb, "temporaries: %d in %d slots, peak temporary memory %lld bytes (%lld without sharing)\n",
            ntemp, prog->ntemps, (long long)b->temp_bytes, (long long)b->temp_bytes_unshared);
}

static const char *prog_buf_kind(BufKind k) {
  return k == BUF_INPUT ? "input" : k == BUF_OUTPUT ? "output" : "temp";
}

static void prog_explain_buffer(const ProgBuild *b, StrBuf *sb, int32_t buf) {
  const Buffer *bf = &b->prog->buffers[buf];
  char shp[200];
  shape_format(&bf->shape, shp, sizeof shp);
  sb_printf(sb, " buf%d=%s", (int)buf, prog_buf_kind((BufKind)bf->kind));
  if (bf->kind == BUF_INPUT)
    sb_printf(sb, " '%s'", b->g->inputs[bf->index].name);
  else if (bf->kind == BUF_OUTPUT)
    sb_printf(sb, " '%s'", b->g->outputs[bf->index].name);
  else
    sb_printf(sb, " %%%d", (int)bf->node);
  sb_printf(sb, " %s%s", dtype_info((BudDType)bf->dtype)->name, shp);
}

static void prog_explain(const ProgBuild *b, StrBuf *sb) {
  const BudProgram *prog = b->prog;
  const IrGraph *g = b->g;
  sb_puts(sb, "== fusion groups ==\n");
  for (int32_t gi = 0; gi < prog->ngroups; gi++) {
    const Group *grp = &prog->groups[gi];
    if (grp->kind == GROUP_COPY) {
      sb_printf(sb, "group %d: copy", (int)gi);
      if (grp->in_buf[0] >= 0)
        prog_explain_buffer(b, sb, grp->in_buf[0]);
      else
        sb_printf(sb, " constant %%%d", (int)grp->node);
      sb_puts(sb, " ->");
      prog_explain_buffer(b, sb, grp->out_buf);
      sb_puts(sb, "\n");
      continue;
    }
    char shp[200];
    if (grp->kind == GROUP_DOT)
      shape_format(&g->nodes[grp->node].shape, shp, sizeof shp);
    else
      shape_format(&grp->plan.iter, shp, sizeof shp);
    sb_printf(sb, "group %d: %s, iteration %s\n  nodes:", (int)gi,
              grp->kind == GROUP_DOT ? "dot" : "fused", shp);
    for (int32_t id = 0; id < g->nnodes; id++)
      if (b->group[id] == gi) sb_printf(sb, " %%%d %s", (int)id, op_info(g->nodes[id].op)->name);
    sb_puts(sb, "\n  reads:");
    if (grp->kind == GROUP_DOT) {
      prog_explain_buffer(b, sb, grp->in_buf[0]);
      prog_explain_buffer(b, sb, grp->in_buf[1]);
      sb_puts(sb, "\n  writes:");
      prog_explain_buffer(b, sb, grp->out_buf);
    } else {
      const Plan *pl[2] = {&grp->plan, grp->epilogue ? &grp->epilogue->plan : NULL};
      for (int j = 0; j < 2 && pl[j]; j++)
        for (int k = 0; k < pl[j]->noperands; k++)
          if (!pl[j]->operands[k].is_output && (j == 0 || !prog_plan_writes(pl[0], pl[j]->operands[k].buffer)))
            prog_explain_buffer(b, sb, pl[j]->operands[k].buffer);
      sb_puts(sb, "\n  writes:");
      for (int j = 0; j < 2 && pl[j]; j++) {
        for (int k = 0; k < pl[j]->noperands; k++)
          if (pl[j]->operands[k].is_output) prog_explain_buffer(b, sb, pl[j]->operands[k].buffer);
        for (int r = 0; r < pl[j]->nreduces; r++)
          prog_explain_buffer(b, sb, pl[j]->reduces[r].buffer);
      }
      if (grp->epilogue) {
        sb_puts(sb, "\n  epilogue (once on the finished reductions, same call):");
        for (int32_t id = 0; id < g->nnodes; id++)
          if (b->group[id] == gi && !op_is_reduction(g->nodes[id].op) && b->epi_of[id])
            sb_printf(sb, " %%%d %s", (int)id, op_info(g->nodes[id].op)->name);
      }
    }
    sb_puts(sb, "\n");
    for (int32_t id = 0; id < g->nnodes; id++)
      if (b->group[id] == gi && b->why[id])
        sb_printf(sb, "  %%%d %s: %s\n", (int)id, op_info(g->nodes[id].op)->name, b->why[id]);
  }
  prog_explain_costs(b, sb);
  for (int32_t gi = 0; gi < prog->ngroups; gi++) {
    if (prog->groups[gi].kind != GROUP_FUSED) continue;
    sb_printf(sb, "== plan %d ==\n", (int)gi);
    plan_print(&prog->groups[gi].plan, sb);
    if (prog->groups[gi].tiled) {
      sb_printf(sb, "== plan %d tiled (what runs per row of a column tile) ==\n", (int)gi);
      plan_print(&prog->groups[gi].tiled->plan, sb);
    }
    if (prog->groups[gi].epilogue) {
      sb_printf(sb, "== plan %d epilogue ==\n", (int)gi);
      plan_print(&prog->groups[gi].epilogue->plan, sb);
    }
  }
}

#define PROG_ALLOC(ptr, count)                                                                     \
  do {                                                                                             \
    (ptr) = arena_alloc(&prog->arena, sizeof *(ptr) * (size_t)((count) > 0 ? (count) : 1));        \
    if (!(ptr)) ok = false;                                                                        \
  } while (0)

/* One attempt: fusion with `fuse_flags`, buffers, groups, plans into a new program (b->prog, with
 * b's arrays in its arena). On failure b->prog is freed and NULL. */
static BudStatus prog_build_once(BudContext *ctx, IrGraph *g, unsigned fuse_flags, ProgBuild *b_) {
  ProgBuild b;
  memset(&b, 0, sizeof b);
  BudProgram *prog = calloc(1, sizeof *prog);
  if (!prog) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory building a program");
  arena_init(&prog->arena);
  b.ctx = ctx;
  b.g = g;
  b.prog = prog;
  bool ok = true;
  int32_t nn = g->nnodes;
  PROG_ALLOC(b.group, nn);
  PROG_ALLOC(b.why, nn);
  PROG_ALLOC(b.buf_of_node, nn);
  PROG_ALLOC(b.copy_src_node, g->noutputs);
  PROG_ALLOC(prog->buffers, g->ninputs + g->noutputs + nn);
  PROG_ALLOC(prog->output_buf, g->noutputs);
  PROG_ALLOC(prog->input_names, g->ninputs);
  PROG_ALLOC(prog->input_dtypes, g->ninputs);
  PROG_ALLOC(prog->input_shapes, g->ninputs);
  PROG_ALLOC(prog->output_names, g->noutputs);
  PROG_ALLOC(b.costs, nn + g->noutputs);
  PROG_ALLOC(b.temp_writer, g->ninputs + g->noutputs + nn);
  PROG_ALLOC(b.temp_last_reader, g->ninputs + g->noutputs + nn);
  PROG_ALLOC(b.group_epi, nn);
  PROG_ALLOC(b.after_reduce, nn);
  PROG_ALLOC(b.epi_of, nn);
  PROG_ALLOC(b.batch_serial_us, nn + g->noutputs);
  PROG_ALLOC(b.batch_par_us, nn + g->noutputs);
  BudStatus st = ok ? BUD_OK : bud_fail(ctx, BUD_ERR_NOMEM, "out of memory building a program");
  if (st == BUD_OK) st = opt_fuse_why(ctx, g, b.group, &b.ngroups, b.why, fuse_flags);
  if (st == BUD_OK) {
    prog->ninputs = g->ninputs;
    prog->noutputs = g->noutputs;
    for (int i = 0; i < g->ninputs && ok; i++) {
      prog->input_names[i] = arena_strdup(&prog->arena, g->inputs[i].name);
      prog->input_dtypes[i] = g->inputs[i].dtype;
      prog->input_shapes[i] = g->inputs[i].shape;
      ok = prog->input_names[i] != NULL;
    }
    for (int o = 0; o < g->noutputs && ok; o++) {
      prog->output_names[o] = arena_strdup(&prog->arena, g->outputs[o].name);
      ok = prog->output_names[o] != NULL;
    }
    if (!ok) st = bud_fail(ctx, BUD_ERR_NOMEM, "out of memory building a program");
  }
  if (st == BUD_OK) st = prog_buffers(&b);
  int ncopies = 0;
  for (int o = 0; st == BUD_OK && o < g->noutputs; o++)
    ncopies += b.copy_src_node[o] >= 0;
  if (st == BUD_OK) {
    PROG_ALLOC(prog->groups, b.ngroups + ncopies);
    if (!ok) st = bud_fail(ctx, BUD_ERR_NOMEM, "out of memory building a program");
  }
  for (int32_t gi = 0; st == BUD_OK && gi < b.ngroups; gi++) {
    st = prog_group(&b, gi, &prog->groups[gi]);
    prog->ngroups++;
  }
  for (int o = 0; st == BUD_OK && o < g->noutputs; o++) {
    int32_t node = b.copy_src_node[o];
    if (node < 0) continue;
    Group *grp = &prog->groups[prog->ngroups++];
    memset(grp, 0, sizeof *grp);
    grp->kind = GROUP_COPY;
    grp->node = node;
    grp->in_buf[0] = b.buf_of_node[node]; /* an input, an earlier output, or -1: a constant */
    grp->in_buf[1] = -1;
    grp->out_buf = prog->output_buf[o];
  }
  if (st == BUD_OK) st = prog_temp_slots(&b);
  if (st == BUD_OK) {
    prog_costs(&b);
    prog_batches(&b);
  }
  if (st != BUD_OK) {
    program_free(prog); /* prog->graph is still NULL: the caller keeps g */
    b.prog = NULL;
  }
  *b_ = b;
  return st;
}

/* Rounds of fusion and recompute decisions (at most PROG_RECOMPUTE_ROUNDS): *g is replaced by
 * the rewritten graph (the old one freed unless it is `orig`, the caller's). */
#define PROG_RECOMPUTE_ROUNDS 3
static BudStatus prog_recompute(BudContext *ctx, IrGraph *orig, IrGraph **g, StrBuf *explain) {
  StrBuf notes;
  sb_init(&notes);
  BudStatus st = BUD_OK;
  for (int round = 0; round < PROG_RECOMPUTE_ROUNDS && st == BUD_OK; round++) {
    int32_t *group = malloc(sizeof *group * (size_t)((*g)->nnodes + 1)), ngroups = 0;
    if (!group) {
      st = bud_fail(ctx, BUD_ERR_NOMEM, "out of memory in fusion");
      break;
    }
    IrGraph *next = NULL;
    st = opt_fuse_why(ctx, *g, group, &ngroups, NULL, 0);
    if (st == BUD_OK) st = program_recompute(ctx, *g, group, &next, &notes);
    free(group);
    if (st == BUD_OK && next) st = ir_verify(next);
    if (st != BUD_OK || !next) {
      if (next) ir_graph_free(next);
      break;
    }
    if (*g != orig) ir_graph_free(*g);
    *g = next;
    if (explain) {
      sb_printf(explain, "== recompute or materialize (round %d) ==\n%s", round + 1,
                notes.data ? notes.data : "");
      sb_printf(explain, "== after recompute ==\n");
      ir_print(*g, explain);
    }
    notes.len = 0;
    if (notes.data) notes.data[0] = 0;
  }
  if (st == BUD_OK && explain && notes.len > 0)
    sb_printf(explain, "== recompute or materialize ==\n%s", notes.data);
  sb_free(&notes);
  return st;
}

BudStatus program_build(BudContext *ctx, IrGraph *g_in, BudProgram **out, StrBuf *explain) {
  *out = NULL;
  ProgBuild b;
  IrGraph *g = g_in;
  BudStatus st = prog_recompute(ctx, g_in, &g, explain);
  if (st != BUD_OK) {
    if (g != g_in) ir_graph_free(g);
    return st;
  }
  if (st == BUD_OK) st = prog_build_once(ctx, g, 0, &b);
  /* Merged groups may touch more arrays than one kernel can; unmerged ones only as many as the
   * graph's nodes themselves need. */
  if (st == BUD_ERR_LIMIT) st = prog_build_once(ctx, g, OPT_FUSE_NO_MERGE, &b);
  if (st != BUD_OK) {
    if (g != g_in) ir_graph_free(g);
    return st;
  }
  if (g != g_in) ir_graph_free(g_in); /* the program owns the rewritten graph instead */
  const char *debug = getenv("BUD_DEBUG");
  if (opt_debug_wants(debug, "fuse") || opt_debug_wants(debug, "plan")) {
    StrBuf dump;
    sb_init(&dump);
    prog_explain(&b, &dump);
    fputs(dump.data ? dump.data : "", stderr);
    sb_free(&dump);
  }
  if (explain) prog_explain(&b, explain);
  b.prog->graph = g;
  *out = b.prog;
  return BUD_OK;
}

void program_free(BudProgram *p) {
  if (!p) return;
  if (p->graph) ir_graph_free(p->graph);
  free(p->explain);
  arena_free(&p->arena);
  free(p);
}
