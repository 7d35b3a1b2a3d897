/* patterns.c — opt_patterns: expressions recognised as one op or rewritten into a cheaper exact
 * form: the sigmoid 1/(1+exp(-x)), and integer powers by small constants as multiplication
 * chains. Entry point: opt_patterns (opt.h); the pipeline runs it after simplify.
 *
 * Contract.
 *   requires:   a verified graph (operands of element-wise nodes carry the loop dtype).
 *   changes:    the rounding of the sigmoid only: 1/(1+exp(-x)), 1/(exp(-x)+1) (the constants
 *               exactly 1 in the dtype, `1.0` or `1`) on a float x of the node's dtype and shape
 *               -> sigmoid(x), one program of src/math within 1 ULP of the exact value (the four
 *               rounded steps NumPy takes are up to ~2.5 ULP off; the JIT emits the same program,
 *               so VM and JIT still agree bit for bit). Not matched: x of an integer dtype
 *               (NumPy negates in the integer type, so -x wraps at INT_MIN before exp), other
 *               numerators (2/(1+exp(-x))), exp(x) without the negation, mixed dtypes.
 *   preserves:  every other result bit for bit; dtypes and shapes. Integer x**k with a 0-d
 *               constant 3 <= k <= 16 -> a multiplication chain by repeated squaring (x**5 =
 *               ((x*x)*(x*x))*x): NumPy computes integer powers by repeated squaring with
 *               wrapping multiplications, and products modulo 2^bits do not depend on the order,
 *               so the bits are NumPy's (k = 2 is simplify's x*x; k = 1 is x; k = 0 and negative
 *               k stay power: ones, and NumPy's ValueError for negative exponents).
 *               Float powers are NOT chained: NumPy calls pow() for every exponent except 2,
 *               -1, 0.5, 1, 0 (simplify handles those), and x*x*x differs from the correctly
 *               rounded-ish pow(x, 3) in the last bit for many x.
 *   terminates: one forward walk; rewritten nodes are not revisited.
 */
#include "opt/opt_internal.h"

#include <string.h>

enum { PAT_MAX_POW = 16 };

/* Is new node id a 0-d constant equal to 1 of dtype dt? */
static bool pat_is_one(const OptRewrite *rw, int32_t id, BudDType dt) {
  const IrNode *c = opt_rw_node(rw, id);
  return c->op == OP_const && c->shape.ndim == 0 && c->dtype == dt && dtype_is_float(dt) &&
         c->value.f == 1.0;
}

/* n = 1 / (1 + exp(-x)) (operands new ids): x's new id, else -1. */
static int32_t pat_sigmoid_arg(const OptRewrite *rw, const IrNode *n) {
  if (n->op != OP_div || n->nin != 2 || !dtype_is_float(n->dtype)) return -1;
  BudDType dt = n->dtype;
  if (!pat_is_one(rw, n->in[0], dt)) return -1;
  const IrNode *d = opt_rw_node(rw, n->in[1]);
  if (d->op != OP_add || d->dtype != dt) return -1;
  int32_t e_id = pat_is_one(rw, d->in[0], dt)   ? d->in[1]
                 : pat_is_one(rw, d->in[1], dt) ? d->in[0]
                                                : -1;
  if (e_id < 0) return -1;
  const IrNode *e = opt_rw_node(rw, e_id);
  if (e->op != OP_exp || e->dtype != dt) return -1;
  const IrNode *g = opt_rw_node(rw, e->in[0]);
  if (g->op != OP_neg || g->dtype != dt) return -1;
  const IrNode *x = opt_rw_node(rw, g->in[0]);
  if (x->dtype != dt || !shape_eq(&x->shape, &n->shape)) return -1;
  return g->in[0];
}

/* n = x ** k with x an integer array and k a 0-d constant in [3, PAT_MAX_POW]: k, else 0. */
static int pat_int_pow(const OptRewrite *rw, const IrNode *n) {
  if (n->op != OP_pow || n->nin != 2) return 0;
  char kind = dtype_info(n->dtype)->kind;
  if (kind != 'i' && kind != 'u') return 0;
  const IrNode *x = opt_rw_node(rw, n->in[0]), *c = opt_rw_node(rw, n->in[1]);
  if (x->dtype != n->dtype || !shape_eq(&x->shape, &n->shape)) return 0;
  if (c->op != OP_const || c->shape.ndim != 0 || c->dtype != n->dtype) return 0;
  if (kind == 'i' ? c->value.i < 3 || c->value.i > PAT_MAX_POW
                  : c->value.u < 3 || c->value.u > PAT_MAX_POW)
    return 0;
  return (int)(kind == 'i' ? c->value.i : (int64_t)c->value.u);
}

static int32_t pat_mul(OptRewrite *rw, const IrNode *like, int32_t a, int32_t b) {
  IrNode m = *like;
  m.op = OP_mul;
  m.nin = 2;
  m.in[0] = a;
  m.in[1] = b;
  m.has_value = false;
  return opt_rw_append(rw, &m);
}

static int32_t pat_visit(OptRewrite *rw, const IrNode *old) {
  IrNode n = *old;
  for (int k = 0; k < n.nin; k++)
    n.in[k] = rw->map[n.in[k]];
  int32_t x = pat_sigmoid_arg(rw, &n);
  if (x >= 0) {
    IrNode s = n;
    s.op = OP_sigmoid;
    s.nin = 1;
    s.in[0] = x;
    s.in[1] = 0;
    return opt_rw_append(rw, &s);
  }
  int k = pat_int_pow(rw, &n);
  if (k > 0) { /* repeated squaring from the top bit of k */
    int top = 31 - __builtin_clz((unsigned)k);
    int32_t r = n.in[0];
    for (int b = top - 1; b >= 0 && r >= 0; b--) {
      r = pat_mul(rw, &n, r, r);
      if (r >= 0 && ((k >> b) & 1)) r = pat_mul(rw, &n, r, n.in[0]);
    }
    return r;
  }
  return opt_rw_append(rw, &n);
}

BudStatus opt_patterns(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  return opt_rw_map_nodes(ctx, in, out, pat_visit);
}
