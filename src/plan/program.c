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
  return plan_lower(b->ctx, &b->prog->arena, g, b->group, gid, b->buf_of_node, &grp->plan);
}

/* Does group grp read buffer buf? */
static bool prog_group_reads(const Group *grp, int32_t buf) {
  if (grp->kind != GROUP_FUSED) return grp->in_buf[0] == buf || grp->in_buf[1] == buf;
  for (int k = 0; k < grp->plan.noperands; k++)
    if (!grp->plan.operands[k].is_output && grp->plan.operands[k].buffer == buf) return true;
  return false;
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
  }
}

/* Horizontal batches: runs of consecutive fused groups, each small (serial and predicted under
 * PROG_BATCH_US) and none reading a buffer an earlier member writes. */
#define PROG_BATCH_US 20.0
static void prog_batches(ProgBuild *b) {
  BudProgram *prog = b->prog;
  int32_t nbatch = 0;
  for (int gi = 0; gi < prog->ngroups; gi++) prog->groups[gi].batch = -1;
  for (int gi = 0; gi < prog->ngroups;) {
    int gj = gi;
    while (gj < prog->ngroups) {
      const Group *grp = &prog->groups[gj];
      if (grp->kind != GROUP_FUSED || b->costs[gj].nthreads > 1 || b->costs[gj].t_us > PROG_BATCH_US)
        break;
      bool dep = false;
      for (int h = gi; h < gj && !dep; h++) {
        const Plan *ph = &prog->groups[h].plan;
        for (int k = 0; k < ph->noperands && !dep; k++)
          dep = ph->operands[k].is_output && prog_group_reads(grp, ph->operands[k].buffer);
        for (int r = 0; r < ph->nreduces && !dep; r++) dep = prog_group_reads(grp, ph->reduces[r].buffer);
      }
      if (dep) break;
      gj++;
    }
    if (gj - gi >= 2) {
      for (int h = gi; h < gj; h++) prog->groups[h].batch = nbatch;
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
    sb_printf(sb, "horizontal batch %d: groups", (int)bt);
    for (; gi < prog->ngroups && prog->groups[gi].batch == bt; gi++) sb_printf(sb, " %d", gi);
    sb_puts(sb, " (small and independent: may run as one call)\n");
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
      for (int k = 0; k < grp->plan.noperands; k++)
        if (!grp->plan.operands[k].is_output)
          prog_explain_buffer(b, sb, grp->plan.operands[k].buffer);
      sb_puts(sb, "\n  writes:");
      for (int k = 0; k < grp->plan.noperands; k++)
        if (grp->plan.operands[k].is_output)
          prog_explain_buffer(b, sb, grp->plan.operands[k].buffer);
      for (int r = 0; r < grp->plan.nreduces; r++)
        prog_explain_buffer(b, sb, grp->plan.reduces[r].buffer);
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
