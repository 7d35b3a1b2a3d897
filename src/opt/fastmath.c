/* fastmath.c — opt_strength (exact strength reduction, always on) and opt_fastmath (algebra that
 * changes rounding: only when the context's fast-math flag is set, bud_set_fast_math).
 *
 * opt_strength contract.
 *   requires:   a verified graph.
 *   preserves:  every result bit for bit: x / c -> x * (1/c) for float x and a 0-d float
 *               constant c that is a power of two whose reciprocal is a normal number of the
 *               dtype (then x/c and x*(1/c) are both the correctly rounded value of the same real
 *               number, overflow and subnormal results included); dtypes and shapes.
 *   terminates: one forward walk.
 *
 * opt_fastmath contract.
 *   requires:   a verified graph; the caller asked for fast-math.
 *   changes:    rounding (results within a few ulps of the exact ones for well-conditioned
 *               inputs; cancellation can make relative errors larger, as with any
 *               reassociation); never dtypes or shapes. The rules, on float nodes only:
 *                 affine chains: every node y*c, c*y, y+c, c+y, y-c, c-y, y/c, -y with c a 0-d
 *                 constant and y of the node's shape is written as base*a + b with a, b
 *                 composed in double and rounded once to the dtype: (x*0.5+1)*2-0.5 -> x+1.5,
 *                 (x+1)+2 -> x+3, (x*2)*3 -> x*6 (reassociation of constant chains), x/c ->
 *                 x*(1/c) for any c (strength reduction); a = 1 and b = 0 gives x itself;
 *                 contraction: a*b + c and c + a*b -> fma(a, b, c) when the product has no
 *                 other user (one rounding instead of two).
 *               The intermediate nodes an affine chain leaves unused are removed (DCE).
 *   terminates: two forward walks and a DCE.
 */
#include "opt/opt_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Is new node id a 0-d float constant? Its value in *v. */
static bool fm_const(const OptRewrite *rw, int32_t id, double *v) {
  const IrNode *c = opt_rw_node(rw, id);
  if (c->op != OP_const || c->shape.ndim != 0 || !dtype_is_float(c->dtype)) return false;
  *v = c->value.f;
  return true;
}

static int32_t fm_append2(OptRewrite *rw, const IrNode *like, Op op, int32_t x, int32_t y) {
  IrNode n = *like;
  n.op = op;
  n.nin = 2;
  n.in[0] = x;
  n.in[1] = y;
  n.in[2] = -1;
  n.has_value = false;
  return opt_rw_append(rw, &n);
}

/* ---- exact strength reduction ----------------------------------------------------------------- */

static int32_t strength_visit(OptRewrite *rw, const IrNode *n) {
  double c;
  if (n->op == OP_div && dtype_is_float(n->dtype) && fm_const(rw, rw->map[n->in[1]], &c) &&
      c != 0 && isfinite(c)) {
    int e;
    double mant = frexp(c, &e);
    double r = n->dtype == BUD_FLOAT32 ? (double)(1.0f / (float)c) : 1.0 / c;
    bool normal = n->dtype == BUD_FLOAT32 ? fabs(r) >= 0x1p-126 && fabs(r) <= 0x1p127
                                          : fabs(r) >= 0x1p-1022 && fabs(r) <= 0x1p1023;
    if (fabs(mant) == 0.5 && normal && r * c == 1.0) {
      int32_t k = opt_rw_const(rw, n->dtype, r);
      return k < 0 ? k : fm_append2(rw, n, OP_mul, rw->map[n->in[0]], k);
    }
  }
  return opt_rw_append_mapped(rw, n);
}

BudStatus opt_strength(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  return opt_rw_map_nodes(ctx, in, out, strength_visit);
}

/* ---- fast-math: affine chains ----------------------------------------------------------------- */

typedef struct Affine {
  int32_t base; /* new id */
  double a, b;  /* value = base * a + b */
} Affine;

/* The affine form of node n (operands already new ids) from its operands' forms, when n is an
 * affine step of a float operand of n's own shape; false otherwise. */
static bool fm_affine_step(const OptRewrite *rw, const Affine *aff, const IrNode *n,
                           const int32_t *in, Affine *r) {
  if (!dtype_is_float(n->dtype)) return false;
  double c;
  int32_t y = -1;
  bool c_first = false;
  if (n->op == OP_neg) {
    y = in[0];
    c = 0;
  } else if (n->nin == 2 && (n->op == OP_mul || n->op == OP_add || n->op == OP_sub ||
                             n->op == OP_div)) {
    if (fm_const(rw, in[1], &c)) y = in[0];
    else if (fm_const(rw, in[0], &c)) y = in[1], c_first = true;
  } else {
    return false;
  }
  if (y < 0 || !shape_eq(&opt_rw_node(rw, y)->shape, &n->shape)) return false;
  if (opt_rw_node(rw, y)->dtype != n->dtype) return false;
  Affine f = aff[y];
  switch (n->op) {
  case OP_neg: r->a = -f.a, r->b = -f.b; break;
  case OP_mul: r->a = f.a * c, r->b = f.b * c; break;
  case OP_add: r->a = f.a, r->b = f.b + c; break;
  case OP_sub:
    if (c_first) r->a = -f.a, r->b = c - f.b;
    else r->a = f.a, r->b = f.b - c;
    break;
  case OP_div:
    if (c_first || c == 0) return false; /* c / y is not affine; y / 0 keeps its infinities */
    r->a = f.a / c, r->b = f.b / c;
    break;
  default: return false;
  }
  r->base = f.base;
  return isfinite(r->a) && isfinite(r->b);
}

/* Emits base*a + b (simplified) shaped like n; returns the new id. */
static int32_t fm_emit_affine(OptRewrite *rw, const IrNode *n, const Affine *f) {
  BudDType dt = n->dtype;
  double a = dt == BUD_FLOAT32 ? (double)(float)f->a : f->a;
  double b = dt == BUD_FLOAT32 ? (double)(float)f->b : f->b;
  if (a == 1 && b == 0) return f->base;
  int32_t t = f->base;
  if (a == -1 && b != 0) { /* b - x */
    int32_t k = opt_rw_const(rw, dt, b);
    return k < 0 ? k : fm_append2(rw, n, OP_sub, k, t);
  }
  if (a != 1) {
    int32_t k = opt_rw_const(rw, dt, a);
    if (k < 0) return k;
    t = fm_append2(rw, n, OP_mul, t, k);
    if (t < 0 || b == 0) return t;
  }
  int32_t k = opt_rw_const(rw, dt, b);
  return k < 0 ? k : fm_append2(rw, n, OP_add, t, k);
}

static BudStatus fm_affine(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  OptRewrite rw;
  BudStatus st = opt_rw_begin(ctx, in, &rw);
  if (st != BUD_OK) return st;
  size_t cap = (size_t)in->nnodes * 4 + 16; /* each old node adds at most 4 new ones */
  Affine *aff = malloc(cap * sizeof *aff);
  if (!aff) {
    opt_rw_abort(&rw);
    return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory in fast-math");
  }
  for (int32_t i = 0; i < rw.out->nnodes; i++) aff[i] = (Affine){i, 1, 0};
  for (int32_t id = 0; id < in->nnodes; id++) {
    const IrNode *n = &in->nodes[id];
    if (n->op == OP_input) continue;
    int32_t mapped[IR_MAX_ARGS] = {-1, -1, -1};
    for (int k = 0; k < n->nin; k++) mapped[k] = rw.map[n->in[k]];
    Affine f;
    int32_t before = rw.out->nnodes;
    bool is_aff = fm_affine_step(&rw, aff, n, mapped, &f);
    int32_t nid = is_aff ? fm_emit_affine(&rw, n, &f) : opt_rw_append_mapped(&rw, n);
    if (nid < 0) {
      free(aff);
      opt_rw_abort(&rw);
      return (BudStatus)nid;
    }
    /* the nodes just appended are their own bases; nid (when new) carries the composed form */
    for (int32_t i = before; i < rw.out->nnodes; i++) aff[i] = (Affine){i, 1, 0};
    if (is_aff && nid >= before) aff[nid] = f;
    rw.map[id] = nid;
  }
  free(aff);
  return opt_rw_finish(&rw, out);
}

/* ---- fast-math: contraction to fma ------------------------------------------------------------ */

static BudStatus fm_contract(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  int32_t *uses = calloc((size_t)in->nnodes + 1, sizeof *uses);
  if (!uses) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory in fast-math");
  ir_use_counts(in, uses);
  OptRewrite rw;
  BudStatus st = opt_rw_begin(ctx, in, &rw);
  for (int32_t id = 0; st == BUD_OK && id < in->nnodes; id++) {
    const IrNode *n = &in->nodes[id];
    if (n->op == OP_input) continue;
    int32_t nid = -1;
    if (n->op == OP_add && dtype_is_float(n->dtype)) {
      for (int k = 0; k < 2 && nid < 0; k++) {
        const IrNode *m = &in->nodes[n->in[k]];
        if (m->op != OP_mul || m->dtype != n->dtype || uses[n->in[k]] != 1) continue;
        IrNode f = *n;
        f.op = OP_fma;
        f.nin = 3;
        f.in[0] = rw.map[m->in[0]];
        f.in[1] = rw.map[m->in[1]];
        f.in[2] = rw.map[n->in[1 - k]];
        nid = opt_rw_append(&rw, &f);
        if (nid < 0) st = (BudStatus)nid;
      }
    }
    if (st != BUD_OK) break;
    if (nid < 0) nid = opt_rw_append_mapped(&rw, n);
    if (nid < 0) st = (BudStatus)nid;
    else rw.map[id] = nid;
  }
  free(uses);
  if (st != BUD_OK) {
    opt_rw_abort(&rw);
    return st;
  }
  return opt_rw_finish(&rw, out);
}

BudStatus opt_fastmath(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  IrGraph *a = NULL, *b = NULL;
  BudStatus st = fm_affine(ctx, in, &a);
  if (st == BUD_OK) st = opt_dce(ctx, a, &b);
  if (a) ir_graph_free(a);
  if (st != BUD_OK) return st;
  st = fm_contract(ctx, b, out);
  ir_graph_free(b);
  return st;
}
