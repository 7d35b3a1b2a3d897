/* test_ir.c — the IR builder: op table, shapes, NumPy 1.24 type resolution, casts, reductions,
 * dot shapes and error messages. */
#include "check.h"
#include "ir/ir.h"

#include <math.h>
#include <stdlib.h>

#include <stdarg.h>

#include "test_ir_types.h"

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

/* Builds operand "dtype" (an array of shape (4,)) or "dtype=value" (0-d with a known value, as a
 * constant when as_const, else as an input with an example value). */
static int32_t make_operand(IrGraph *g, const char *spec, int k, bool as_const) {
  char dtname[16];
  const char *eq = strchr(spec, '=');
  size_t len = eq ? (size_t)(eq - spec) : strlen(spec);
  memcpy(dtname, spec, len);
  dtname[len] = '\0';
  BudDType dt;
  if (bud_dtype_from_name(dtname, &dt) != BUD_OK) return -1000;
  char name[8] = {'a', (char)('0' + k), 0};
  if (!eq) {
    Shape s = shp(1, 4);
    return ir_input(g, name, dt, &s, NULL);
  }
  Scalar v;
  if (dt == BUD_BOOL) v.i = atoi(eq + 1) != 0;
  else if (dtype_is_float(dt)) v.f = strtod(eq + 1, NULL);
  else if (dtype_is_uint(dt)) v.u = strtoull(eq + 1, NULL, 10);
  else v.i = strtoll(eq + 1, NULL, 10);
  if (as_const) return ir_const(g, dt, v);
  unsigned char buf[8];
  scalar_store(dt, buf, v);
  Shape s0 = shp(0);
  return ir_input(g, name, dt, &s0, buf);
}

static void test_numpy_table(void) {
  int nbad = 0;
  for (size_t c = 0; c < BUD_ARRAY_LEN(type_cases); c++) {
    const TypeCase *tc = &type_cases[c];
    for (int as_const = 0; as_const < 2; as_const++) {
      BudContext ctxs = {0}, *ctx = &ctxs;
      IrGraph *g = ir_graph_new(ctx);
      int32_t in[3];
      int nin = 0;
      while (nin < 3 && tc->arg[nin]) {
        in[nin] = make_operand(g, tc->arg[nin], nin, as_const);
        nin++;
      }
      int op = op_lookup(tc->op);
      int32_t r;
      if (op < 0) r = -1000;
      else if (op_is_reduction((Op)op)) r = ir_reduce(g, (Op)op, in[0], BUD_AXIS_ALL);
      else r = ir_op(g, (Op)op, nin, in);
      const char *got = r >= 0 ? bud_dtype_name(g->nodes[r].dtype) : "!";
      bool ok = strcmp(got, tc->expect) == 0 && (r >= 0 || r == BUD_ERR_DTYPE);
      if (ok && r >= 0) ok = ir_verify(g) == BUD_OK;
      if (!ok && nbad++ < 40)
        fprintf(stderr, "numpy table: %s(%s, %s, %s)%s: got %s (%d %s), NumPy %s\n", tc->op,
                tc->arg[0], tc->arg[1] ? tc->arg[1] : "-", tc->arg[2] ? tc->arg[2] : "-",
                as_const ? " [const]" : "", got, (int)r, ctx->errmsg, tc->expect);
      CHECK(ok);
      ir_graph_free(g);
    }
  }
}

int main(void) {
  test_smoke();
  test_numpy_table();
  return check_done("test_ir");
}
