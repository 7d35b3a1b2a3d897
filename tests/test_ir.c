/* test_ir.c — the IR builder: op table, shapes, NumPy 1.24 type resolution, casts, reductions,
 * dot shapes and error messages. */
#include "check.h"
#include "ir/ir.h"

#include <math.h>
#include <stdlib.h>

static Shape shp(int ndim, ...);

#include <stdarg.h>
static Shape shp(int ndim, ...) {
  Shape s;
  memset(&s, 0, sizeof s);
  s.ndim = ndim;
  va_list ap;
  va_start(ap, ndim);
  for (int i = 0; i < ndim; i++) s.dim[i] = va_arg(ap, int);
  va_end(ap);
  return s;
}

static void test_smoke(void) {
  BudContext ctxs = {0}, *ctx = &ctxs;
  IrGraph *g = ir_graph_new(ctx);
  Shape s = shp(2, 1000, 3);
  int32_t a = ir_input(g, "a", BUD_FLOAT32, &s, NULL);
  int32_t c = ir_const(g, BUD_FLOAT64, (Scalar){.f = 2.5});
  int32_t m = ir_op(g, OP_mul, 2, (int32_t[]){a, c});
  CHECK(m >= 0);
  CHECK_EQ_INT(g->nodes[m].dtype, BUD_FLOAT32);
  CHECK_EQ_INT(g->nodes[m].shape.ndim, 2);
  int32_t r = ir_reduce(g, OP_sum, m, 0);
  CHECK_EQ_INT(g->nodes[r].shape.ndim, 1);
  CHECK_EQ_INT(g->nodes[r].shape.dim[0], 3);
  CHECK_EQ_INT(ir_output(g, "y", r), BUD_OK);
  ir_graph_free(g);
}

int main(void) {
  test_smoke();
  return check_done("test_ir");
}
