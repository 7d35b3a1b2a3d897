/* simplify.c — algebraic simplification (opt_simplify): identities that are exact bit for bit.
 *
 * Contract.
 *   requires:   a verified graph (operands of element-wise nodes already carry the loop dtype).
 *   preserves:  every result bit for bit, for every input (-0.0, inf, integer wrap), except the
 *               payload and sign of NaNs (a NaN stays a NaN: x*1 quiets a signalling NaN, x
 *               does not; NumPy's own loops differ the same way), and
 *               every node's dtype and shape: a node is replaced by another only when both have
 *               the same dtype and shape. The rules:
 *                 x*1, 1*x, x/1 (floats), x//1 (ints), x**1 -> x
 *                 x+0, 0+x, x-0 (ints and bools)     -> x
 *                 x-(+0.0), x+(-0.0), (-0.0)+x       -> x   (floats: x+(+0.0) maps -0.0 to +0.0,
 *                                                             so it is NOT an identity, kept)
 *                 x**2 -> x*x, x**-1 -> 1/x (floats), x**0.5 -> sqrt(x) (float arrays):
 *                   NumPy's own semantics. For `array ** scalar` NumPy never calls pow with
 *                   these exponents: it computes square, reciprocal and sqrt (and for integer
 *                   arrays, ** 2 is square). The rewrite makes Bud bit-exact with NumPy where a
 *                   pow routine would not be: pow(-0.0, 0.5) is +0.0 but NumPy's a**0.5 gives
 *                   -0.0 (sqrt), and a pow routine need not be correctly rounded. x**0.5
 *                   applies only to arrays that are float in NumPy (not 0-d: a NumPy scalar
 *                   uses pow; not a cast of an integer array: NumPy uses pow there too); x*x
 *                   and 1/x agree with glibc's pow for every input, so they apply everywhere.
 *                 -(-x), ~~x, cast of x to its own dtype -> x
 *                 where(c,x,x), where(True,x,y), where(False,y,x) -> x
 *                 x&x, x|x, minimum(x,x), maximum(x,x) -> x
 *               Not rules (they change some result): x*0 on floats (NaN, inf, -0.0), x-x,
 *               x/x, x**0.5 on 0-d values (pow(-0.0,0.5) is +0.0, sqrt(-0.0) is -0.0).
 *   terminates: one forward walk; each node is rewritten once, looking only at operands that are
 *               already final, so chains (-(-(-(-x))))) collapse in the same walk.
 */
#include "opt/opt_internal.h"

#include <math.h>
#include <string.h>

/* Is new node id a 0-d constant equal to `v` (exactly: +0.0 and -0.0 differ)? */
static bool simp_const_is(const OptRewrite *rw, int32_t id, double v) {
  const IrNode *c = opt_rw_node(rw, id);
  if (c->op != OP_const) return false;
  switch (dtype_info(c->dtype)->kind) {
  case 'b':
    return (v == 0 || v == 1) && c->value.b == (v == 1);
  case 'i':
    return c->value.i == (int64_t)v && (double)(int64_t)v == v;
  case 'u':
    return v >= 0 && c->value.u == (uint64_t)v && (double)(uint64_t)v == v;
  default:
    return c->value.f == v && signbit(c->value.f) == signbit(v);
  }
}

/* The replacement of a node by new node x is legal when it has the same dtype and shape. */
static bool simp_same_type(const OptRewrite *rw, const IrNode *n, int32_t x) {
  const IrNode *m = opt_rw_node(rw, x);
  return m->dtype == n->dtype && shape_eq(&m->shape, &n->shape);
}

/* If n (operands already remapped to new ids) equals one of its operands, the id of that
 * operand; else -1. */
static int32_t simp_identity(const OptRewrite *rw, const IrNode *n) {
  int32_t a = n->nin > 0 ? n->in[0] : -1, b = n->nin > 1 ? n->in[1] : -1;
  bool isf = dtype_is_float(n->dtype);
  int32_t r = -1;
  switch (n->op) {
  case OP_mul:
    if (simp_const_is(rw, b, 1))
      r = a;
    else if (simp_const_is(rw, a, 1))
      r = b;
    break;
  case OP_div:
    if (isf && simp_const_is(rw, b, 1)) r = a;
    break;
  case OP_floordiv:
    if (!isf && simp_const_is(rw, b, 1)) r = a; /* floats: 2.5 // 1 is 2.0 */
    break;
  case OP_pow:
    if (simp_const_is(rw, b, 1)) r = a;
    break;
  case OP_add:
    if (isf) {
      if (simp_const_is(rw, b, -0.0))
        r = a;
      else if (simp_const_is(rw, a, -0.0))
        r = b;
    } else {
      if (simp_const_is(rw, b, 0))
        r = a;
      else if (simp_const_is(rw, a, 0))
        r = b;
    }
    break;
  case OP_sub:
    if (simp_const_is(rw, b, 0)) r = a; /* +0 only (simp_const_is tells the signs apart) */
    break;
  case OP_neg:
  case OP_not: {
    const IrNode *x = opt_rw_node(rw, a);
    if (x->op == n->op) r = x->in[0];
    break;
  }
  case OP_cast:
    r = a; /* legal only when the dtype is the operand's: checked below */
    break;
  case OP_where:
    if (n->in[1] == n->in[2])
      r = n->in[1];
    else if (simp_const_is(rw, a, 1))
      r = n->in[1];
    else if (simp_const_is(rw, a, 0))
      r = n->in[2];
    break;
  case OP_and:
  case OP_or:
  case OP_minimum:
  case OP_maximum:
    if (a == b) r = a;
    break;
  default:
    break;
  }
  return r >= 0 && simp_same_type(rw, n, r) ? r : -1;
}

/* Is new node x an array that NumPy sees as a float array (not 0-d, not an integer array cast
 * to float by the loop's type resolution)? */
static bool simp_numpy_float_array(const OptRewrite *rw, int32_t x) {
  const IrNode *n = opt_rw_node(rw, x);
  if (!dtype_is_float(n->dtype) || n->shape.ndim == 0) return false;
  return n->op != OP_cast || dtype_is_float(opt_rw_node(rw, n->in[0])->dtype);
}

/* Rewrites of pow with NumPy's exponents (see the contract): x**2 -> x*x, x**-1 -> 1/x,
 * x**0.5 -> sqrt(x). False when no rule applies; else true with *nid the new id or a negative
 * status. */
static bool simp_rebuild(OptRewrite *rw, const IrNode *n, int32_t *nid) {
  if (n->op != OP_pow || n->nin != 2) return false;
  int32_t x = n->in[0], e = n->in[1];
  if (!simp_same_type(rw, n, x)) return false;
  IrNode m = *n;
  if (simp_const_is(rw, e, 2)) {
    m.op = OP_mul;
    m.in[1] = x;
    *nid = opt_rw_append(rw, &m);
    return true;
  }
  if (dtype_is_float(n->dtype) && simp_const_is(rw, e, -1)) {
    int32_t one = opt_rw_const(rw, n->dtype, 1.0);
    m.op = OP_div;
    m.in[0] = one;
    m.in[1] = x;
    *nid = one < 0 ? one : opt_rw_append(rw, &m);
    return true;
  }
  if (simp_numpy_float_array(rw, x) && simp_const_is(rw, e, 0.5)) {
    m.op = OP_sqrt;
    m.nin = 1;
    m.in[1] = 0;
    *nid = opt_rw_append(rw, &m);
    return true;
  }
  return false;
}

static int32_t simp_visit(OptRewrite *rw, const IrNode *old) {
  IrNode n = *old;
  for (int k = 0; k < n.nin; k++)
    n.in[k] = rw->map[n.in[k]];
  int32_t nid = simp_identity(rw, &n);
  if (nid < 0 && !simp_rebuild(rw, &n, &nid)) nid = opt_rw_append(rw, &n);
  return nid;
}

BudStatus opt_simplify(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  return opt_rw_map_nodes(ctx, in, out, simp_visit);
}
