/* basic.c — a first program with Bud's C API: compile `2*a + 3*b` for two float32 arrays, run it,
 * check the result against a plain loop and print it; then build the same computation node by
 * node with the graph builder (plus a reduction) and run that too. Exits 0 when every result is
 * right. Build: cc basic.c -lbud -lm -lpthread (or `make examples`).
 */
#include <bud.h>

#include <stdio.h>
#include <string.h>

#define N 10

static int fail(BudContext *ctx, const char *what) {
  fprintf(stderr, "basic: %s failed: %s (%s)\n", what, bud_last_error(ctx),
          bud_status_name(bud_last_status(ctx)));
  bud_context_free(ctx);
  return 1;
}

int main(void) {
  BudContext *ctx = bud_context_new();
  if (!ctx) return 1;

  /* 1. Arrays that view our own memory. */
  float a[N], b[N], out[N];
  for (int i = 0; i < N; i++) {
    a[i] = (float)i;
    b[i] = 0.5f * (float)i - 1.0f;
  }
  int64_t n = N;
  BudArray A, B, O;
  if (bud_array_view(ctx, &A, a, BUD_FLOAT32, 1, &n, NULL) ||
      bud_array_view(ctx, &B, b, BUD_FLOAT32, 1, &n, NULL) ||
      bud_array_view(ctx, &O, out, BUD_FLOAT32, 1, &n, NULL))
    return fail(ctx, "bud_array_view");

  /* 2. Compile once for these dtypes and shapes, run as often as needed. */
  BudInput inputs[2] = {{"a", &A}, {"b", &B}};
  BudProgram *prog;
  if (bud_compile(ctx, "2*a + 3*b", 2, inputs, &prog)) return fail(ctx, "bud_compile");
  BudArray args[2] = {A, B};
  if (bud_run(ctx, prog, 2, args, 1, &O)) return fail(ctx, "bud_run");
  int wrong = 0;
  printf("2*a + 3*b =");
  for (int i = 0; i < N; i++) {
    printf(" %g", out[i]);
    wrong += out[i] != 2 * a[i] + 3 * b[i];
  }
  printf("\n");
  bud_program_free(prog);

  /* 3. The same through bud_eval (compiled once, cached per context), output allocated by Bud. */
  BudArray R;
  memset(&R, 0, sizeof R);
  if (bud_eval(ctx, "sum(2*a + 3*b)", 2, inputs, 1, &R)) return fail(ctx, "bud_eval");
  float total = 0;
  for (int i = 0; i < N; i++) total += 2 * a[i] + 3 * b[i];
  printf("sum(2*a + 3*b) = %g (%s, %d-d)\n", *(float *)R.data, bud_dtype_name(R.dtype), R.ndim);
  wrong += *(float *)R.data != total;
  bud_array_free(&R);

  /* 4. Node by node: y = 2*a + 3*b and m = max(y). */
  BudGraph *g = bud_graph_new(ctx);
  if (!g) return fail(ctx, "bud_graph_new");
  int na = bud_graph_input(g, "a", BUD_FLOAT32, 1, &n);
  int nb = bud_graph_input(g, "b", BUD_FLOAT32, 1, &n);
  int two = bud_graph_const_f64(g, 2.0), three = bud_graph_const_f64(g, 3.0);
  int t1 = bud_graph_op(g, "multiply", 2, (int[]){two, na});
  int t2 = bud_graph_op(g, "multiply", 2, (int[]){three, nb});
  int y = bud_graph_op(g, "add", 2, (int[]){t1, t2});
  int m = bud_graph_reduce(g, "max", y, BUD_AXIS_ALL);
  if (na < 0 || nb < 0 || two < 0 || three < 0 || t1 < 0 || t2 < 0 || y < 0 || m < 0 ||
      bud_graph_output(g, "y", y) || bud_graph_output(g, "m", m))
    return fail(ctx, "graph building");
  if (bud_graph_compile(g, &prog)) return fail(ctx, "bud_graph_compile");
  BudArray outs[2];
  memset(outs, 0, sizeof outs);
  if (bud_run(ctx, prog, 2, args, 2, outs)) return fail(ctx, "bud_run (graph)");
  float *yv = outs[0].data, mv = *(float *)outs[1].data;
  for (int i = 0; i < N; i++) wrong += yv[i] != 2 * a[i] + 3 * b[i];
  wrong += mv != 2 * a[N - 1] + 3 * b[N - 1];
  printf("graph: y[%d] = %g, max(y) = %g\n", N - 1, yv[N - 1], mv);
  bud_array_free(&outs[0]);
  bud_array_free(&outs[1]);
  bud_program_free(prog);
  bud_graph_free(g);

  BudStats st;
  bud_stats(ctx, &st);
  printf("%llu compiles, %llu runs; %s\n", (unsigned long long)st.compiles,
         (unsigned long long)st.runs, wrong ? "WRONG RESULTS" : "all results correct");
  bud_context_free(ctx);
  return wrong != 0;
}
