/* fuse.c — the first fusion (opt_fuse, opt_fuse_why): assigns every computed node to a group
 * that becomes one kernel.
 *
 * Contract.
 *   requires:   a verified graph (after opt_pipeline: no dead nodes, so every node but an output
 *               has users).
 *   produces:   group[id] for every node (-1 for inputs and constants), groups numbered in an
 *               execution order: a group comes after every group it reads from.
 *   rules:      walking the nodes from last to first (users before operands):
 *               - a reduction joins the most recently started fused group that iterates over its
 *                 operand's shape (holding no reduction, or reductions over the same axis) when
 *                 that closes no cycle of groups (sum(x) and max(x) in one pass over x; c = a*2
 *                 and sum(a) in one pass over a); otherwise it starts a group whose iteration
 *                 shape is its operand's shape;
 *               - dot/matmul (and any op that is neither element-wise nor a reduction) is a group
 *                 of its own;
 *               - an element-wise node joins the group of its users when all of them are in one
 *                 and the same fused group and its shape broadcasts to that group's iteration
 *                 shape; a graph output joins only when its shape equals the iteration shape (it
 *                 becomes one more store of the group);
 *               - an element-wise node whose users are in several groups joins one of them whose
 *                 iteration shape is its own shape when that closes no cycle of groups: it
 *                 is stored there and the other groups read it (t = a*b; sum(t); t + sum(t):
 *                 one pass computes t, stores it and sums it);
 *               - an element-wise graph output without users joins the most recent fused group
 *                 iterating over its shape (horizontal: y = a+b; z = a-b is one loop);
 *               - otherwise it starts a group of its own, and `why` says which rule kept it out;
 *               - afterwards, a group that only finishes one group's reductions (element-wise
 *                 over their result shape, reading nothing else computed) joins that group as
 *                 its epilogue (fuse_epilogues: sum(a*b) + 1 is one group).
 *               Without the two merges (reductions, shared nodes) a joined node has every user in
 *               its group, so edges leave a group only from the node that started it, which has
 *               the group's largest id: the group graph is acyclic. A merge is made only when
 *               the group graph built so far shows it closes no cycle (fuse_would_cycle); as a
 *               safety net, should the final group graph have one, fusion is redone without.
 *   terminates: one backward walk; bounded searches forward; a topological sort; at most twice.
 *   deterministic: depends only on the graph.
 */
#include "opt/opt.h"

#include <stdlib.h>
#include <string.h>

typedef struct FuseGroup {
  Shape iter;    /* iteration shape */
  bool is_fused; /* element-wise / reduction group (others: dot and the like) */
  bool has_reduce;
  int32_t axis;    /* of its reductions */
  int32_t maxnode; /* largest node id in it (for a stable execution order) */
  int nhorizontal; /* outputs without users that joined it (fuse_horizontal) */
} FuseGroup;

typedef struct FuseState {
  const IrGraph *g;
  int32_t *ustart, *users; /* CSR: users of node i are users[ustart[i] .. ustart[i+1]) */
  bool *is_output;
  int32_t *mark; /* search stamps, by group */
  int32_t stamp;
  int32_t *stack;
  int32_t *ehead, *enext, *edst; /* group graph so far: edges G -> groups reading from G */
  int32_t nedges;
  FuseGroup *groups;
  int32_t ngroups;
  bool allow_merge; /* reductions into sibling groups, shared nodes into a user's group */
  bool has_cycle;   /* fuse_order found one: redo without merges */
} FuseState;

static void fuse_state_free(FuseState *s) {
  free(s->ustart);
  free(s->users);
  free(s->is_output);
  free(s->mark);
  free(s->stack);
  free(s->groups);
  free(s->ehead);
  free(s->enext);
  free(s->edst);
}

static BudStatus fuse_state_init(BudContext *ctx, const IrGraph *g, FuseState *s) {
  memset(s, 0, sizeof *s);
  s->g = g;
  size_t n = (size_t)g->nnodes + 1, nuses = 1;
  for (int32_t i = 0; i < g->nnodes; i++)
    nuses += (size_t)g->nodes[i].nin;
  s->ustart = calloc(n + 1, sizeof *s->ustart);
  s->users = calloc(nuses, sizeof *s->users);
  s->is_output = calloc(n, sizeof *s->is_output);
  s->mark = calloc(n, sizeof *s->mark);
  s->stack = calloc(n, sizeof *s->stack);
  s->groups = calloc(n, sizeof *s->groups);
  s->ehead = calloc(n, sizeof *s->ehead);
  s->enext = calloc(nuses, sizeof *s->enext);
  s->edst = calloc(nuses, sizeof *s->edst);
  if (!s->ustart || !s->users || !s->is_output || !s->mark || !s->stack || !s->groups ||
      !s->ehead || !s->enext || !s->edst) {
    fuse_state_free(s);
    return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory in fusion");
  }
  for (int32_t i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i].nin; k++)
      s->ustart[g->nodes[i].in[k] + 1]++;
  for (int32_t i = 0; i < g->nnodes; i++)
    s->ustart[i + 1] += s->ustart[i];
  int32_t *fill = s->stack; /* borrowed as the fill cursor */
  for (int32_t i = 0; i < g->nnodes; i++)
    fill[i] = s->ustart[i];
  for (int32_t i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i].nin; k++)
      s->users[fill[g->nodes[i].in[k]]++] = i;
  for (int i = 0; i < g->noutputs; i++)
    s->is_output[g->outputs[i].node] = true;
  return BUD_OK;
}

/* Records the group-graph edges that placing node id creates: its group -> its users' groups. */
static void fuse_add_edges(FuseState *s, const int32_t *group, int32_t id) {
  for (int32_t u = s->ustart[id]; u < s->ustart[id + 1]; u++) {
    int32_t gu = group[s->users[u]];
    if (gu == group[id]) continue;
    s->edst[s->nedges] = gu;
    s->enext[s->nedges] = s->ehead[group[id]];
    s->ehead[group[id]] = s->nedges + 1; /* 0 = end of list */
    s->nedges++;
  }
}

/* Would putting node x into group gid close a cycle of groups? True when a user of x lies in a
 * group from which gid is reachable in the group graph so far (a user in gid itself counts
 * unless in_group_ok). Edges that later placements add never close a cycle on their own: a node
 * placed later either starts a group (no edge leads into it yet) or joins the group holding all
 * its users (no new edge), or goes through this test again. */
static bool fuse_would_cycle(FuseState *s, const int32_t *group, int32_t x, int32_t gid,
                             bool in_group_ok) {
  int32_t top = 0;
  s->stamp++;
  for (int32_t u = s->ustart[x]; u < s->ustart[x + 1]; u++) {
    int32_t gu = group[s->users[u]];
    if (gu == gid) {
      if (in_group_ok) continue;
      return true;
    }
    if (s->mark[gu] != s->stamp) s->mark[gu] = s->stamp, s->stack[top++] = gu;
  }
  while (top > 0) {
    int32_t h = s->stack[--top];
    for (int32_t e = s->ehead[h]; e != 0; e = s->enext[e - 1]) {
      int32_t w = s->edst[e - 1];
      if (w == gid) return true;
      if (s->mark[w] != s->stamp) s->mark[w] = s->stamp, s->stack[top++] = w;
    }
  }
  return false;
}

static int32_t fuse_new_group(FuseState *s, const Shape *iter, bool is_fused) {
  FuseGroup *fg = &s->groups[s->ngroups];
  memset(fg, 0, sizeof *fg);
  fg->iter = *iter;
  fg->is_fused = is_fused;
  fg->axis = -1;
  return s->ngroups++;
}

/* Node id has users in several groups. It may join one of them, G, and be stored there for the
 * others, when G is fused, iterates over exactly id's shape, and no other user's group leads back
 * into G (the others then read the stored value after G). Returns G or -1. Candidates are tried in
 * the order of id's users; searches are bounded. */
static int32_t fuse_store_in_user_group(FuseState *s, const int32_t *group, int32_t id) {
  const IrNode *n = &s->g->nodes[id];
  int tries = 0;
  for (int32_t c = s->ustart[id]; c < s->ustart[id + 1] && tries < 8; c++) {
    int32_t gid = group[s->users[c]];
    const FuseGroup *fg = &s->groups[gid];
    if (!fg->is_fused || !shape_eq(&fg->iter, &n->shape)) continue;
    tries++;
    if (!fuse_would_cycle(s, group, id, gid, true)) return gid;
  }
  return -1;
}

/* Horizontal fusion: an element-wise graph output without users joins the most recently started
 * fused group that iterates over its shape (one loop instead of two; inputs they share are read
 * once). It adds no edge to the group graph, so it cannot close a cycle. At most
 * FUSE_MAX_HORIZONTAL such nodes per group, to bound the arrays one kernel touches. */
#define FUSE_MAX_HORIZONTAL 8
static int32_t fuse_horizontal(FuseState *s, const IrNode *n) {
  for (int32_t gid = s->ngroups - 1; gid >= 0; gid--) {
    FuseGroup *fg = &s->groups[gid];
    if (fg->is_fused && fg->nhorizontal < FUSE_MAX_HORIZONTAL && shape_eq(&fg->iter, &n->shape)) {
      fg->nhorizontal++;
      return gid;
    }
  }
  return -1;
}

/* Chooses the group of node id (all its users already placed); returns it, and in *why the
 * reason when the node starts a new group. */
static int32_t fuse_place(FuseState *s, const int32_t *group, int32_t id, const char **why) {
  const IrNode *n = &s->g->nodes[id];
  *why = NULL;
  if (op_is_reduction(n->op)) {
    const Shape *xs = &s->g->nodes[n->in[0]].shape;
    int tries = 0; /* bounds the searches: a few candidate groups are plenty */
    for (int32_t gid = s->ngroups - 1; s->allow_merge && gid >= 0 && tries < 8; gid--) {
      FuseGroup *fg = &s->groups[gid];
      if (!fg->is_fused || (fg->has_reduce && fg->axis != n->axis) || !shape_eq(&fg->iter, xs))
        continue;
      tries++;
      if (!fuse_would_cycle(s, group, id, gid, false)) {
        fg->has_reduce = true;
        fg->axis = n->axis;
        return gid;
      }
    }
    int32_t gid = fuse_new_group(s, xs, true);
    s->groups[gid].has_reduce = true;
    s->groups[gid].axis = n->axis;
    *why = "reduction (its users need the finished result)";
    return gid;
  }
  if (!op_is_elemwise(n->op)) {
    *why = op_info(n->op)->pclass == PC_OUTFUSABLE ? "dot/matmul runs as its own kernel"
                                                   : "not an element-wise op";
    return fuse_new_group(s, &n->shape, false);
  }
  int32_t target = -1;
  bool several = false;
  for (int32_t u = s->ustart[id]; u < s->ustart[id + 1]; u++) {
    int32_t gu = group[s->users[u]];
    if (target == -1)
      target = gu;
    else if (gu != target)
      several = true;
  }
  if (target < 0) {
    int32_t g2 = s->allow_merge ? fuse_horizontal(s, n) : -1;
    if (g2 >= 0) return g2;
    *why = "graph output without users";
    return fuse_new_group(s, &n->shape, true);
  }
  if (several) {
    int32_t g2 = s->allow_merge ? fuse_store_in_user_group(s, group, id) : -1;
    if (g2 >= 0) {
      *why = "also read by other groups: stored by this one";
      return g2;
    }
    *why = "its users are in different groups (materialized)";
    return fuse_new_group(s, &n->shape, true);
  }
  const FuseGroup *fg = &s->groups[target];
  Shape b;
  if (!fg->is_fused)
    *why = "its user is a dot/matmul (materialized)";
  else if (s->is_output[id] && !shape_eq(&n->shape, &fg->iter))
    *why = "graph output whose shape differs from its users' iteration shape";
  else if (!shape_broadcast(&n->shape, &fg->iter, &b) || !shape_eq(&b, &fg->iter))
    *why = "its shape does not broadcast to its users' iteration shape";
  else
    return target;
  return fuse_new_group(s, &n->shape, true);
}

/* Reduction epilogues: a fused group E without reductions whose nodes read only constants, graph
 * inputs, nodes of E and the reduction results of one group G, and whose iteration shape is the
 * shape of G's results (every reduction of G has the same axis and operand, so the same result
 * shape), joins G: it becomes G's epilogue, run once on the finished results in the same call
 * (sum(a*b) + 1, sum(a)/n*2, max(a) - min(a)). plan lowering tells the epilogue apart: its nodes
 * are the group's element-wise nodes that depend on a reduction of the group. No cycle: every
 * edge into E came from G, so a path from the merged group back to it existed before, through E.
 * Returns how many groups were merged; they are left empty (fuse_compact drops them). */
static int fuse_epilogues(FuseState *s, int32_t *group, const char **why) {
  const IrGraph *g = s->g;
  int32_t ng = s->ngroups;
  int32_t *host = s->mark; /* per group: the G it may join, -1 unknown, -2 refused */
  int merged = 0;
  bool *dep = calloc((size_t)g->nnodes + 1, sizeof *dep); /* node depends on a reduction */
  if (!dep) return 0; /* an optimisation only: without memory, no epilogues */
  for (int32_t h = 0; h < ng; h++) host[h] = s->groups[h].is_fused && !s->groups[h].has_reduce ? -1 : -2;
  for (int32_t id = 0; id < g->nnodes; id++) {
    int32_t e = group[id];
    if (e < 0 || host[e] == -2) continue;
    const IrNode *n = &g->nodes[id];
    for (int k = 0; k < n->nin && host[e] != -2; k++) {
      int32_t x = n->in[k], gx = group[x];
      const IrNode *xn = &g->nodes[x];
      if (xn->op == OP_const || xn->op == OP_input) continue;
      if (gx == e) {
        dep[id] = dep[id] || dep[x];
        continue;
      }
      if (!op_is_reduction(xn->op) || !shape_eq(&xn->shape, &s->groups[e].iter) ||
          (host[e] >= 0 && host[e] != gx))
        host[e] = -2;
      else
        host[e] = gx, dep[id] = true;
    }
    /* every node of an epilogue works on the reductions (plan lowering relies on it: a node
     * that does not, exp(b) for a 0-d input b, would run once per element of the pass) */
    if (!dep[id]) host[e] = -2;
  }
  free(dep);
  for (int32_t id = 0; id < g->nnodes; id++) {
    int32_t e = group[id];
    if (e < 0 || host[e] < 0) continue;
    group[id] = host[e];
    if (why) why[id] = "reduction epilogue: runs once on the finished reductions, in their group";
  }
  for (int32_t h = 0; h < ng; h++) merged += host[h] >= 0;
  for (int32_t h = 0; h < ng; h++) s->mark[h] = 0;
  s->stamp = 0;
  return merged;
}

/* Drops empty groups (merged away), keeping the others' relative numbering. */
static void fuse_compact(FuseState *s, int32_t *group) {
  const IrGraph *g = s->g;
  int32_t *newid = s->stack, ng = 0;
  for (int32_t h = 0; h < s->ngroups; h++) newid[h] = -1;
  for (int32_t id = 0; id < g->nnodes; id++)
    if (group[id] >= 0) newid[group[id]] = 0;
  for (int32_t h = 0; h < s->ngroups; h++)
    if (newid[h] == 0) {
      newid[h] = ng;
      s->groups[ng++] = s->groups[h];
    }
  for (int32_t id = 0; id < g->nnodes; id++)
    if (group[id] >= 0) group[id] = newid[group[id]];
  s->ngroups = ng;
}

/* Renumbers groups in execution order: Kahn's algorithm, taking among the ready groups the one
 * whose largest node id is smallest (so the order follows the source where it can). */
static BudStatus fuse_order(BudContext *ctx, FuseState *s, int32_t *group) {
  const IrGraph *g = s->g;
  int32_t ng = s->ngroups;
  size_t nedges = 0;
  for (int32_t i = 0; i < g->nnodes; i++)
    nedges += (size_t)g->nodes[i].nin;
  int32_t *estart = calloc((size_t)ng + 1, sizeof *estart);
  int32_t *edst = calloc(nedges + 1, sizeof *edst);
  int32_t *fill = calloc((size_t)ng + 1, sizeof *fill);
  int32_t *indeg = calloc((size_t)ng + 1, sizeof *indeg);
  int32_t *newid = calloc((size_t)ng + 1, sizeof *newid);
  BudStatus st = BUD_OK;
  if (!estart || !edst || !fill || !indeg || !newid) {
    st = bud_fail(ctx, BUD_ERR_NOMEM, "out of memory ordering fusion groups");
    goto done;
  }
  for (int32_t i = 0; i < g->nnodes; i++) {
    if (group[i] < 0) continue;
    if (i > s->groups[group[i]].maxnode) s->groups[group[i]].maxnode = i;
    for (int k = 0; k < g->nodes[i].nin; k++) {
      int32_t h = group[g->nodes[i].in[k]];
      if (h >= 0 && h != group[i]) estart[h + 1]++, indeg[group[i]]++;
    }
  }
  for (int32_t h = 0; h < ng; h++)
    estart[h + 1] += estart[h];
  memcpy(fill, estart, sizeof *fill * (size_t)ng);
  for (int32_t i = 0; i < g->nnodes; i++) {
    if (group[i] < 0) continue;
    for (int k = 0; k < g->nodes[i].nin; k++) {
      int32_t h = group[g->nodes[i].in[k]];
      if (h >= 0 && h != group[i]) edst[fill[h]++] = group[i];
    }
  }
  for (int32_t h = 0; h < ng; h++)
    newid[h] = -1;
  for (int32_t next = 0; next < ng; next++) {
    int32_t best = -1;
    for (int32_t h = 0; h < ng; h++)
      if (newid[h] < 0 && indeg[h] == 0 &&
          (best < 0 || s->groups[h].maxnode < s->groups[best].maxnode))
        best = h;
    if (best < 0) {
      s->has_cycle = true; /* the caller retries without merges; no error message yet */
      goto done;
    }
    newid[best] = next;
    for (int32_t e = estart[best]; e < estart[best + 1]; e++)
      indeg[edst[e]]--;
  }
  for (int32_t i = 0; i < g->nnodes; i++)
    if (group[i] >= 0) group[i] = newid[group[i]];
done:
  free(estart);
  free(edst);
  free(fill);
  free(indeg);
  free(newid);
  return st;
}

/* One fusion attempt; with allow_merge false every group has a single starting node, whose id
 * exceeds every id in the group, and an edge G -> H implies start(H) > start(G): no cycle. */
static BudStatus fuse_run(BudContext *ctx, const IrGraph *g, int32_t *group, int32_t *ngroups,
                          const char **why, bool allow_merge, bool *has_cycle) {
  FuseState s;
  *ngroups = 0;
  BudStatus st = fuse_state_init(ctx, g, &s);
  if (st != BUD_OK) return st;
  s.allow_merge = allow_merge;
  for (int32_t id = g->nnodes - 1; id >= 0; id--) {
    const IrNode *n = &g->nodes[id];
    const char *reason = NULL;
    group[id] = (n->op == OP_input || n->op == OP_const) ? -1 : fuse_place(&s, group, id, &reason);
    if (group[id] >= 0) fuse_add_edges(&s, group, id);
    if (why) why[id] = reason;
  }
  if (allow_merge && fuse_epilogues(&s, group, why) > 0) fuse_compact(&s, group);
  st = fuse_order(ctx, &s, group);
  *has_cycle = s.has_cycle;
  if (st == BUD_OK) *ngroups = s.ngroups;
  fuse_state_free(&s);
  return st;
}

BudStatus opt_fuse_why(BudContext *ctx, const IrGraph *g, int32_t *group, int32_t *ngroups,
                       const char **why, unsigned flags) {
  bool has_cycle = false;
  bool merge = !(flags & OPT_FUSE_NO_MERGE);
  BudStatus st = fuse_run(ctx, g, group, ngroups, why, merge, &has_cycle);
  if (st == BUD_OK && has_cycle) st = fuse_run(ctx, g, group, ngroups, why, false, &has_cycle);
  if (st == BUD_OK && has_cycle)
    st = bud_fail(ctx, BUD_ERR_INTERNAL, "fusion produced a cycle between groups");
  return st;
}

BudStatus opt_fuse(BudContext *ctx, const IrGraph *g, int32_t *group, int32_t *ngroups) {
  return opt_fuse_why(ctx, g, group, ngroups, NULL, 0);
}
