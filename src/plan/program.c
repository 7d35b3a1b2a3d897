/* program.c — program_build: from an optimized graph to a runnable BudProgram (fusion groups in
 * execution order, their plans, and the buffers between them); program_free.
 *
 * Buffers: one per graph input (BUF_INPUT), one per graph output (BUF_OUTPUT), and a BUF_TEMP for
 * each node computed in one group and read by another (or a reduction / dot result nobody else
 * holds). A node that is an output is read by later groups straight from the output buffer. An
 * output that names an input, a constant, or the same node as an earlier output is filled by a
 * GROUP_COPY group, placed after every computing group.
 */
#include "opt/opt.h"
#include "plan/plan.h"

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
  if (st != BUD_OK) {
    program_free(prog); /* prog->graph is still NULL: the caller keeps g */
    b.prog = NULL;
  }
  *b_ = b;
  return st;
}

BudStatus program_build(BudContext *ctx, IrGraph *g, BudProgram **out, StrBuf *explain) {
  *out = NULL;
  ProgBuild b;
  BudStatus st = prog_build_once(ctx, g, 0, &b);
  /* Merged groups may touch more arrays than one kernel can; unmerged ones only as many as the
   * graph's nodes themselves need. */
  if (st == BUD_ERR_LIMIT) st = prog_build_once(ctx, g, OPT_FUSE_NO_MERGE, &b);
  if (st != BUD_OK) return st;
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
