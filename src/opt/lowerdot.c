/* lowerdot.c — opt_lower_dot: a 1-D·1-D dot product of floats becomes a fused reduction, so it
 * runs as one streaming kernel (JIT or VM) instead of the scalar reference dot kernel:
 *     dot(a, b) : float32  ->  float32(sum(float64(a) * float64(b)))
 *     dot(a, b) : float64  ->  sum(a * b)
 *
 * Contract.
 *   requires:   a verified graph.
 *   preserves:  every node's dtype and shape; every result other than such dots bit for bit. A
 *               rewritten float32 dot is at least as accurate as the reference kernel it replaces
 *               (products exact in double, then a pairwise double sum, where the reference adds
 *               them in order); a float64 dot rounds each product once (as the reference does)
 *               and sums pairwise. NumPy's own dot (BLAS) fixes no summation order either, so no
 *               bit-exact promise existed to break. Integer and bool dots (wrap-around and
 *               logical semantics in their own dtype) and 2-D operands are left alone.
 *   terminates: one forward walk; each node is visited once.
 * Only from LOWER_DOT_MIN elements on: below that the reference kernel's single small group beats
 * the reduction plus its separate 0-d epilogue group (measured at n = 16 and 256: 263 and 398 ns
 * per call against about 620; at 4096: 2.6 us against 1.2 us).
 * A float32 dot of two arrays (both operands graph inputs) is left to the dot group: the
 * executor's vector dot kernel (rt/exec_dot.c, float32 lanes in blocks, then double) is 3-10x
 * faster than the double-lane reduction at 4K-64K elements, at the accuracy rt/exec_fast.h
 * states; a dot of computed operands is still lowered, so its producers fuse into it.
 */
#include "opt/opt_internal.h"

enum { LOWER_DOT_MIN = 1024 };

/* The rewritten value of old dot node n whose operands already map to new ids a and b. */
static int32_t lower_dot_node(OptRewrite *rw, const IrNode *n, int32_t a, int32_t b) {
  IrGraph *g = rw->out;
  if (n->dtype == BUD_FLOAT32) {
    int32_t a64 = ir_cast(g, a, BUD_FLOAT64), b64 = ir_cast(g, b, BUD_FLOAT64);
    int32_t prod = ir_op(g, OP_mul, 2, (int32_t[]){a64, b64});
    return ir_cast(g, ir_reduce(g, OP_sum, prod, BUD_AXIS_ALL), BUD_FLOAT32);
  }
  return ir_reduce(g, OP_sum, ir_op(g, OP_mul, 2, (int32_t[]){a, b}), BUD_AXIS_ALL);
}

static int32_t lower_dot_visit(OptRewrite *rw, const IrNode *n) {
  const IrGraph *in = rw->in;
  if ((n->op == OP_dot || n->op == OP_matmul) && dtype_is_float(n->dtype) &&
      in->nodes[n->in[0]].shape.ndim == 1 && in->nodes[n->in[1]].shape.ndim == 1 &&
      in->nodes[n->in[0]].shape.dim[0] >= LOWER_DOT_MIN &&
      !(n->dtype == BUD_FLOAT32 && in->nodes[n->in[0]].op == OP_input &&
        in->nodes[n->in[1]].op == OP_input))
    return lower_dot_node(rw, n, rw->map[n->in[0]], rw->map[n->in[1]]);
  return opt_rw_append_mapped(rw, n);
}

BudStatus opt_lower_dot(BudContext *ctx, const IrGraph *in, IrGraph **out) {
  return opt_rw_map_nodes(ctx, in, out, lower_dot_visit);
}
