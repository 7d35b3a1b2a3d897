/* recompute.c — program_recompute: recompute or materialize, decided by the cost model.
 *
 * After fusion, an element-wise node x whose users lie in several groups is materialized: one
 * group stores it, the others load it. The alternative is to recompute it: each other group
 * gets its own copy of x's cone (x and the element-wise nodes of x's group that feed only the
 * cone), reading the cone's leaves (inputs, other groups' buffers) instead of x.
 *
 * Contract.
 *   requires:   a verified graph g and its fusion (group[], from opt_fuse_why).
 *   produces:   NULL in *out when every node stays materialized; else a new graph in which each
 *               node chosen for recomputation is duplicated (its cone with it) once per group
 *               that reads it, except the group that keeps the original. Values are the same
 *               bit for bit: the copies compute the same ops on the same operands.
 *   decides:    per candidate x with S the group storing it (a user's group, or x's own group
 *               when none of its users is in it), m the other user groups, F the cone's weighted
 *               flops per element (rt_op_flops), E x's elements:
 *                 materialize = store x + m loads of x  (+ x's own group reading the leaves)
 *                 recompute   = for each other group: the leaves it does not read already
 *                               + F * E flops per copy
 *               (a copy costs F per element of its group's iteration: a broadcast cone is
 *               evaluated for every element it is broadcast to; x's own group, when it has
 *               none of x's users, disappears with its F * E flops), each converted to time on
 *               the machine model's one-thread roofline
 *               (rt_cost_time_us, bytes and flops added: a conservative bound for recompute).
 *               Recompute wins only when strictly cheaper. Graph outputs (stored anyway), nodes
 *               read by a dot, and graphs over 4096 nodes stay materialized.
 *   terminates: one pass over the candidates; the caller refuses again at most a few rounds.
 */
#include "opt/opt_internal.h"
#include "plan/plan.h"
#include "rt/cost.h"

#include <stdlib.h>
#include <string.h>

#define RC_MAX_NODES 4096
#define RC_MAX_CONE 32

typedef struct RcState {
  const IrGraph *g;
  const int32_t *group;
  int32_t *ustart, *users;
  bool *is_output;
  int32_t *root;  /* cone member -> its candidate (the root x), -1 otherwise */
  int32_t *keep;  /* root -> the group that keeps the original */
  /* clones: open addressing on (node, group) -> new id */
  int64_t *hkey;
  int32_t *hval;
  size_t hcap;
} RcState;

static int64_t rc_bytes(const IrNode *n) {
  int64_t e = 1;
  for (int d = 0; d < n->shape.ndim; d++) e *= n->shape.dim[d];
  return e * dtype_size(n->dtype);
}

static bool rc_computed_elemwise(const IrNode *n) {
  return n->op != OP_input && n->op != OP_const && op_is_elemwise(n->op);
}

/* Does group gid read node x (a node of gid has x as an operand)? */
static bool rc_group_reads(const RcState *s, int32_t gid, int32_t x) {
  for (int32_t u = s->ustart[x]; u < s->ustart[x + 1]; u++)
    if (s->group[s->users[u]] == gid) return true;
  return false;
}

/* Marks x's cone in mark[] (ids), returns its size and weighted flops per element. */
static int rc_cone(const RcState *s, int32_t x, bool *mark, double *flops) {
  const IrGraph *g = s->g;
  int size = 1;
  mark[x] = true;
  *flops = rt_op_flops(g->nodes[x].op, g->nodes[x].dtype);
  for (int32_t c = x - 1; c >= 0 && size < RC_MAX_CONE; c--) {
    const IrNode *n = &g->nodes[c];
    if (!rc_computed_elemwise(n) || s->group[c] != s->group[x] || s->is_output[c] ||
        s->ustart[c] == s->ustart[c + 1])
      continue;
    bool all = true;
    for (int32_t u = s->ustart[c]; u < s->ustart[c + 1] && all; u++) all = mark[s->users[u]];
    if (!all) continue;
    mark[c] = true;
    size++;
    *flops += rt_op_flops(n->op, n->dtype);
  }
  return size;
}

static int32_t *rc_hslot(RcState *s, int32_t node, int32_t gid) {
  int64_t key = (int64_t)node * 1000003 + gid;
  size_t h = (size_t)(key * 0x9E3779B97F4A7C15ull) & (s->hcap - 1);
  while (s->hkey[h] != -1 && s->hkey[h] != key) h = (h + 1) & (s->hcap - 1);
  if (s->hkey[h] == -1) {
    s->hkey[h] = key;
    s->hval[h] = -1;
  }
  return &s->hval[h];
}

/* The new id of old node c as group gid should read it: a copy of c when c belongs to a
 * recomputed cone whose original gid does not keep, else the mapped original. */
static int32_t rc_get(RcState *s, OptRewrite *rw, int32_t c, int32_t gid) {
  int32_t r = s->root[c];
  if (r < 0 || s->keep[r] == gid) return rw->map[c];
  int32_t *slot = rc_hslot(s, c, gid);
  if (*slot >= 0) return *slot;
  IrNode n = s->g->nodes[c];
  for (int k = 0; k < n.nin; k++) {
    int32_t v = rc_get(s, rw, n.in[k], gid);
    if (v < 0) return v;
    n.in[k] = v;
  }
  int32_t id = opt_rw_append(rw, &n);
  slot = rc_hslot(s, c, gid); /* (the table does not move, but be plain about it) */
  *slot = id;
  return id;
}

static void rc_free(RcState *s) {
  free(s->ustart);
  free(s->users);
  free(s->is_output);
  free(s->root);
  free(s->keep);
  free(s->hkey);
  free(s->hval);
}

BudStatus program_recompute(BudContext *ctx, const IrGraph *g, const int32_t *group,
                            IrGraph **out, StrBuf *notes) {
  *out = NULL;
  if (g->nnodes > RC_MAX_NODES) return BUD_OK;
  RcState s;
  memset(&s, 0, sizeof s);
  s.g = g;
  s.group = group;
  size_t n = (size_t)g->nnodes + 1, nuses = 1;
  for (int32_t i = 0; i < g->nnodes; i++) nuses += (size_t)g->nodes[i].nin;
  s.ustart = calloc(n + 1, sizeof *s.ustart);
  s.users = calloc(nuses, sizeof *s.users);
  s.is_output = calloc(n, sizeof *s.is_output);
  s.root = malloc(n * sizeof *s.root);
  s.keep = malloc(n * sizeof *s.keep);
  bool *mark = calloc(n, sizeof *mark);
  int32_t *fill = calloc(n, sizeof *fill);
  s.hcap = 64;
  while (s.hcap < 4 * nuses) s.hcap *= 2;
  s.hkey = malloc(s.hcap * sizeof *s.hkey);
  s.hval = malloc(s.hcap * sizeof *s.hval);
  if (!s.ustart || !s.users || !s.is_output || !s.root || !s.keep || !mark || !fill || !s.hkey ||
      !s.hval) {
    rc_free(&s);
    free(mark);
    free(fill);
    return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory deciding recomputation");
  }
  for (size_t i = 0; i < s.hcap; i++) s.hkey[i] = -1;
  for (int32_t i = 0; i < g->nnodes; i++) {
    s.root[i] = s.keep[i] = -1;
    for (int k = 0; k < g->nodes[i].nin; k++) s.ustart[g->nodes[i].in[k] + 1]++;
  }
  for (int32_t i = 0; i < g->nnodes; i++) s.ustart[i + 1] += s.ustart[i];
  for (int32_t i = 0; i < g->nnodes; i++) fill[i] = s.ustart[i];
  for (int32_t i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i].nin; k++) s.users[fill[g->nodes[i].in[k]]++] = i;
  for (int o = 0; o < g->noutputs; o++) s.is_output[g->outputs[o].node] = true;

  const RtMachine *m = rt_machine();
  int isa = rt_cost_isa(ctx);
  int nchosen = 0;
  for (int32_t x = g->nnodes - 1; x >= 0; x--) {
    const IrNode *nx = &g->nodes[x];
    if (!rc_computed_elemwise(nx) || group[x] < 0) continue;
    /* distinct user groups, in the order of the users */
    int32_t ug[64];
    int nug = 0;
    bool in_own = false, dot_user = false, too_many = false;
    for (int32_t u = s.ustart[x]; u < s.ustart[x + 1]; u++) {
      int32_t gu = group[s.users[u]];
      const IrNode *nu = &g->nodes[s.users[u]];
      if (!op_is_elemwise(nu->op) && !op_is_reduction(nu->op)) dot_user = true;
      if (gu == group[x]) {
        in_own = true;
        continue;
      }
      bool seen = false;
      for (int k = 0; k < nug; k++) seen |= ug[k] == gu;
      if (!seen) {
        if (nug == 64) too_many = true;
        else ug[nug++] = gu;
      }
    }
    if (nug + in_own < 2) continue; /* every user in one group: nothing to decide */
    if (s.is_output[x]) {
      sb_printf(notes, "%%%d %s: materialized: a graph output, stored anyway\n", (int)x,
                op_info(nx->op)->name);
      continue;
    }
    if (dot_user || too_many) {
      sb_printf(notes, "%%%d %s: materialized: %s\n", (int)x, op_info(nx->op)->name,
                dot_user ? "a dot/matmul reads it" : "read by too many groups");
      continue;
    }
    memset(mark, 0, n * sizeof *mark);
    double cone_flops;
    int cone = rc_cone(&s, x, mark, &cone_flops);
    /* leaves: operands of the cone outside it, not constants */
    int64_t leaf_bytes = 0, extra = 0;
    int nleaves = 0;
    int32_t leaves[RC_MAX_CONE * IR_MAX_ARGS];
    for (int32_t c = 0; c <= x; c++) {
      if (!mark[c]) continue;
      for (int k = 0; k < g->nodes[c].nin; k++) {
        int32_t l = g->nodes[c].in[k];
        if (mark[l] || g->nodes[l].op == OP_const) continue;
        bool dup = false;
        for (int j = 0; j < nleaves; j++) dup |= leaves[j] == l;
        if (dup) continue;
        leaves[nleaves++] = l;
        leaf_bytes += rc_bytes(&g->nodes[l]);
      }
    }
    for (int k = 0; k < nug; k++)
      for (int j = 0; j < nleaves; j++)
        if (!rc_group_reads(&s, ug[k], leaves[j])) extra += rc_bytes(&g->nodes[leaves[j]]);
    int64_t xb = rc_bytes(nx), elems = xb / dtype_size(nx->dtype);
    int copies = in_own ? nug : nug - 1; /* new copies of the cone */
    /* a copy runs once per element of its group's iteration (a broadcast operand's cone is
     * evaluated for every element it is broadcast to): the users' element counts */
    double rec_flops = 0;
    for (int k = 0; k < nug; k++) {
      int64_t ue = elems;
      for (int32_t u = s.ustart[x]; u < s.ustart[x + 1]; u++) {
        const IrNode *nu = &g->nodes[s.users[u]];
        int64_t e = rc_bytes(nu) / dtype_size(nu->dtype);
        if (group[s.users[u]] == ug[k] && !op_is_reduction(nu->op) && e > ue) ue = e;
      }
      rec_flops += cone_flops * (double)ue;
    }
    double mat_flops = in_own ? 0 : cone_flops * (double)elems;
    double mat_bytes = (double)xb * (1 + nug) + (in_own ? 0 : (double)leaf_bytes);
    double rec_bytes = (double)extra;
    double t_mat = rt_cost_time_us(m, isa, mat_bytes, 0) + rt_cost_time_us(m, isa, 0, mat_flops);
    double t_rec = rt_cost_time_us(m, isa, rec_bytes, 0) + rt_cost_time_us(m, isa, 0, rec_flops);
    if (t_rec < t_mat) {
      nchosen++;
      s.keep[x] = in_own ? group[x] : ug[0];
      for (int32_t c = 0; c <= x; c++)
        if (mark[c]) s.root[c] = x;
      sb_printf(notes,
                "%%%d %s: recomputed in %d more group%s: cone of %d node%s, %.0f flops/element, "
                "reads %lld more bytes (%.2f us) < storing and loading %lld bytes (%.2f us)\n",
                (int)x, op_info(nx->op)->name, copies, copies == 1 ? "" : "s", cone,
                cone == 1 ? "" : "s", cone_flops, (long long)extra, t_rec,
                (long long)mat_bytes, t_mat);
    } else {
      sb_printf(notes,
                "%%%d %s: materialized: recompute costs %.0f flops/element x %d group%s and "
                "reads %lld more bytes (%.2f us) >= storing and loading %lld bytes (%.2f us)\n",
                (int)x, op_info(nx->op)->name, cone_flops, copies, copies == 1 ? "" : "s",
                (long long)extra, t_rec, (long long)mat_bytes, t_mat);
    }
  }
  free(mark);
  free(fill);
  BudStatus st = BUD_OK;
  if (nchosen > 0) {
    OptRewrite rw;
    st = opt_rw_begin(ctx, g, &rw);
    for (int32_t id = 0; st == BUD_OK && id < g->nnodes; id++) {
      IrNode nd = g->nodes[id];
      if (nd.op == OP_input) continue; /* opt_rw_begin copied the inputs */
      /* the original cone reads as the keeping group does (originals throughout) */
      int32_t as = s.root[id] >= 0 ? s.keep[s.root[id]] : group[id];
      for (int k = 0; k < nd.nin; k++) {
        int32_t v = rc_get(&s, &rw, nd.in[k], as);
        if (v < 0) {
          st = (BudStatus)v;
          break;
        }
        nd.in[k] = v;
      }
      if (st != BUD_OK) break;
      int32_t nid = opt_rw_append(&rw, &nd);
      if (nid < 0) st = (BudStatus)nid;
      else rw.map[id] = nid;
    }
    if (st == BUD_OK) st = opt_rw_finish(&rw, out);
    else opt_rw_abort(&rw);
  }
  rc_free(&s);
  return st;
}
