/* test_ir_text.c — the IR text form: golden files in tests/golden/ir/NAME.ir print back identically;
 * builder graphs (random ones included, with extreme constants) round-trip node for node;
 * malformed text fails with a line/column message; mutated text never crashes the parser. */
#define _GNU_SOURCE
#include "check.h"
#include "ir/ir.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>

static char *print_graph(const IrGraph *g) {
  StrBuf sb;
  sb_init(&sb);
  ir_print(g, &sb);
  return sb_take(&sb);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if (buf) buf[n] = '\0';
  fclose(f);
  return buf;
}

static bool same_scalar(BudDType dt, Scalar a, Scalar b) {
  if (dtype_is_float(dt)) {
    if (isnan(a.f) || isnan(b.f)) return isnan(a.f) && isnan(b.f);
    return memcmp(&a.f, &b.f, sizeof a.f) == 0; /* -0.0 differs from 0.0 */
  }
  return a.u == b.u;
}

/* Node-for-node equality of two graphs. */
static bool same_graph(const IrGraph *a, const IrGraph *b) {
  if (a->nnodes != b->nnodes || a->ninputs != b->ninputs || a->noutputs != b->noutputs) return false;
  for (int32_t i = 0; i < a->nnodes; i++) {
    const IrNode *x = &a->nodes[i], *y = &b->nodes[i];
    if (x->op != y->op || x->dtype != y->dtype || !shape_eq(&x->shape, &y->shape) || x->nin != y->nin)
      return false;
    for (int k = 0; k < x->nin; k++)
      if (x->in[k] != y->in[k]) return false;
    if (op_is_reduction(x->op) && x->axis != y->axis) return false;
    if (x->op == OP_input && x->input_index != y->input_index) return false;
    if (x->has_value != y->has_value) return false;
    if (x->has_value && !same_scalar(x->dtype, x->value, y->value)) return false;
  }
  for (int k = 0; k < a->ninputs; k++)
    if (strcmp(a->inputs[k].name, b->inputs[k].name) != 0 || a->inputs[k].node != b->inputs[k].node)
      return false;
  for (int k = 0; k < a->noutputs; k++)
    if (strcmp(a->outputs[k].name, b->outputs[k].name) != 0 || a->outputs[k].node != b->outputs[k].node)
      return false;
  return true;
}

/* print -> parse -> print gives the same text and the same graph. */
static void check_round_trip(const IrGraph *g, const char *what) {
  BudContext ctx = {0};
  char *t1 = print_graph(g);
  IrGraph *h = ir_parse(&ctx, t1);
  CHECK_MSG(h != NULL, "%s: %s\n%s", what, ctx.errmsg, t1);
  if (h) {
    char *t2 = print_graph(h);
    CHECK_EQ_STR(t2, t1);
    CHECK_MSG(same_graph(g, h), "%s", what);
    CHECK_MSG(ir_verify(h) == BUD_OK, "%s: %s", what, ctx.errmsg);
    free(t2);
    ir_graph_free(h);
  }
  free(t1);
}

static void test_golden(void) {
  DIR *d = opendir("tests/golden/ir");
  CHECK(d != NULL);
  if (!d) return;
  int nfiles = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 4 || strcmp(e->d_name + n - 3, ".ir") != 0) continue;
    char path[512];
    snprintf(path, sizeof path, "tests/golden/ir/%s", e->d_name);
    char *text = read_file(path);
    CHECK_MSG(text != NULL, "%s", path);
    if (!text) continue;
    nfiles++;
    BudContext ctx = {0};
    IrGraph *g = ir_parse(&ctx, text);
    CHECK_MSG(g != NULL, "%s: %s", path, ctx.errmsg);
    if (g) {
      char *out = print_graph(g);
      CHECK_MSG(strcmp(out, text) == 0, "%s prints back differently:\n%s", path, out);
      CHECK_MSG(ir_verify(g) == BUD_OK, "%s: %s", path, ctx.errmsg);
      check_round_trip(g, path);
      free(out);
      ir_graph_free(g);
    }
    free(text);
  }
  closedir(d);
  CHECK(nfiles >= 4);
}

/* Parsed text has the meaning it says. */
static void test_parse_values(void) {
  BudContext ctx = {0};
  IrGraph *g = ir_parse(&ctx, "# a comment line\n"
                              "\n"
                              "  %0 = input \"a b\" = -5 : int8[]   # trailing comment\n"
                              "%1 = const -0.0 : float64[]\r\n"
                              "%2 = const 0.1 : float32[]\n"
                              "%3 = const nan : float64[]\n"
                              "%4 = input \"m\" : float64[2,3]\n"
                              "%5 = sum %4 axis=all : float64[]\n"
                              "%6 = add %4, %1 : float64[2,3]\n"
                              "output \"o\" = %6"); /* no final newline */
  CHECK_MSG(g != NULL, "%s", ctx.errmsg);
  if (!g) return;
  CHECK_EQ_INT(g->nnodes, 7);
  CHECK_EQ_STR(g->inputs[0].name, "a b");
  CHECK(g->nodes[0].has_value && g->nodes[0].value.i == -5);
  CHECK(g->nodes[1].value.f == 0 && signbit(g->nodes[1].value.f));
  CHECK(g->nodes[2].value.f == (double)0.1f);
  CHECK(isnan(g->nodes[3].value.f));
  CHECK_EQ_INT(g->nodes[5].axis, BUD_AXIS_ALL);
  CHECK(g->nodes[6].in[0] == 4 && g->nodes[6].in[1] == 1);
  CHECK(g->noutputs == 1 && g->outputs[0].node == 6);
  CHECK_EQ_INT(ir_verify(g), BUD_OK);
  ir_graph_free(g);
}

/* Each malformed text fails with BUD_ERR_PARSE (or the given status) and a located message. */
static void test_malformed(void) {
  static const struct {
    const char *text;
    const char *msg; /* a substring of the expected message */
  } cases[] = {
      {"%0 = frobnicate : float32[]\n", "line 1, column 6: unknown op 'frobnicate'"},
      {"%1 = const 1.0 : float32[]\n", "expected node %0 here"},
      {"%0 = const 1.0 : float32[]\n%0 = const 1.0 : float32[]\n", "line 2"},
      {"%0 = const 1.0 : float33[]\n", "unknown dtype 'float33'"},
      {"%0 = const 1.0 : float32\n", "expected '[' right after the dtype"},
      {"%0 = const 1.0 : float32[3\n", "expected ','"},
      {"%0 = const 1.0 : float32[-3]\n", "expected a dimension"},
      {"%0 = const 1.0 : float32[1,2,3,4,5,6,7,8,9]\n", "more than 8 dimensions"},
      {"%0 = const 1.0 : float32[99999999999999999999]\n", "too large"},
      {"%0 = const 1.0 : float32[4294967296,4294967296]\n", "overflows"},
      {"%0 = const 300 : int8[]\n", "value 300 is out of range for int8"},
      {"%0 = const -1 : uint8[]\n", "out of range for uint8"},
      {"%0 = const 18446744073709551616 : uint64[]\n", "out of range"},
      {"%0 = const 9223372036854775808 : int64[]\n", "out of range"},
      {"%0 = const 1.5 : int32[]\n", "malformed int32 value"},
      {"%0 = const 1 : bool[]\n", "true or false"},
      {"%0 = const 1e5x : float64[]\n", "column 15: expected ':', found 'x'"},
      {"%0 = const nand : float64[]\n", "malformed float value"},
      {"%0 = const 0x10 : float64[]\n", "expected ':', found 'x'"},
      {"%0 = const : float64[]\n", "expected a value"},
      {"%0 = input \"a\" : float32[3]\n%1 = negative %2 : float32[3]\n", "%2 is not defined"},
      {"%0 = input \"a\" : float32[3]\n%1 = add %0 : float32[3]\n", "expected ','"},
      {"%0 = input \"a\" : float32[3]\n%1 = negative %0, %0 : float32[3]\n", "takes 1 operands"},
      {"%0 = input \"a\" : float32[3]\n%1 = negative %0 : float64[3]\n", "line 2: %1 (negative)"},
      {"%0 = input \"a\" : float32[3]\n%1 = negative %0 : float32[4]\n", "shape (4,), expected (3,)"},
      {"%0 = input \"a\" : int8[3]\n%1 = sin %0 : float32[3]\n", "loop dtype is float32"},
      {"%0 = input \"a\" : float32[3]\n%1 = sum %0 : float32[]\n", "expected axis="},
      {"%0 = input \"a\" : float32[3]\n%1 = sum %0 axis=1 : float32[]\n", "axis 1"},
      {"%0 = input \"a\" : float32[3]\n%1 = sum %0 axis=9 : float32[]\n", "too large"},
      {"%0 = input \"a\" : float32[3]\n%1 = sum %0 axis=-1 : float32[]\n", "expected an axis"},
      {"%0 = input \"a\" : float32[3]\n%1 = input \"a\" : float32[3]\n", "duplicate input name 'a'"},
      {"%0 = input \"a\" = 1.0 : float32[3]\n", "only a 0-d input"},
      {"%0 = input a : float32[3]\n", "expected a quoted name"},
      {"%0 = input \"a : float32[3]\n", "unterminated name"},
      {"%0 = input \"\" : float32[3]\n", "empty name"},
      {"%0 = input \"a\\q\" : float32[3]\n", "unknown escape"},
      {"%0 = input \"a\\x00\" : float32[3]\n", "\\x00"},
      {"%0 = input \"a\tb\" : float32[3]\n", "control character"},
      {"%0 = input \"a\" : float32[3]\noutput \"y\" = %1\n", "%1 is not defined"},
      {"%0 = input \"a\" : float32[3]\noutput \"y\" = %0\noutput \"y\" = %0\n", "duplicate output name 'y'"},
      {"%0 = input \"a\" : float32[3]\noutput y = %0\n", "expected a quoted name"},
      {"%0 = input \"a\" : float32[3] extra\n", "unexpected text at the end of the line"},
      {"hello\n", "line 1, column 1"},
      {"%\n", "expected node number"},
      {"%0\n", "expected '='"},
      {"%0 =\n", "expected an op name"},
      {"%0 = input \"x\" : float32[]\n%1 = cast %0 : float32[2]\n", "shape differs"},
      {"%0 = const 1.0 : float32[]\n\x7f", "line 2, column 1"},
      {"%0 = input \"a\" : float32[3]\n%1 = negative %0 : float32[3]\n%2 = negative %1 : float32[3]\n"
       "%3 = add %1, %9 : float32[3]\n", "line 4, column 15: %9 is not defined"},
      {"%0 = input \"c\" : int8[3]\n%1 = where %0, %0, %0 : int8[3]\n", "not bool"},
      {"%0 = input \"a\" : float32[3,4]\n%1 = dot %0, %0 : float32[3,4]\n", "do not contract"},
      {"%0 = input \"a\" : bool[3]\n%1 = subtract %0, %0 : bool[3]\n", "no loop"},
      {"%0 = absolute %0 : float32[3]\n", "unknown op 'absolute'"},
  };
  for (size_t i = 0; i < BUD_ARRAY_LEN(cases); i++) {
    BudContext ctx = {0};
    IrGraph *g = ir_parse(&ctx, cases[i].text);
    CHECK_MSG(g == NULL, "case %zu parsed: %s", i, cases[i].text);
    ir_graph_free(g);
    CHECK_MSG(ctx.status < 0, "case %zu", i);
    CHECK_MSG(strstr(ctx.errmsg, "line ") != NULL && strstr(ctx.errmsg, cases[i].msg) != NULL,
              "case %zu: %s\n  message: %s\n  expected to contain: %s", i, cases[i].text,
              ctx.errmsg, cases[i].msg);
  }
  BudContext ctx = {0};
  CHECK(ir_parse(&ctx, NULL) == NULL && ctx.status == BUD_ERR_INVALID);
  IrGraph *g = ir_parse(&ctx, ""); /* the empty graph */
  CHECK(g && g->nnodes == 0);
  ir_graph_free(g);
}

/* ---- random graphs ------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static int rndn(int n) { return (int)(rnd() % (uint64_t)n); }

static Scalar random_value(BudDType dt) {
  static const double fv[] = {0.0, -0.0, 1.5, 0.1, 1e-300, -1e300, 5e-324, 3.4028234663852886e+38};
  Scalar v;
  switch (rndn(6)) {
  case 0: v.u = rnd(); break;
  case 1: v.i = INT64_MIN; break;
  case 2: v.i = INT64_MAX; break;
  case 3: v.u = UINT64_MAX; break;
  default: v.i = rndn(600) - 300; break;
  }
  if (dtype_is_float(dt)) {
    int k = rndn(12);
    v.f = k < 8 ? fv[k] : k == 8 ? NAN : k == 9 ? -INFINITY : k == 10 ? INFINITY : (double)rnd() / 7.0;
  }
  return v;
}

/* A graph of up to 40 builder calls over random inputs; failed calls are simply skipped. */
static IrGraph *random_graph(BudContext *ctx) {
  IrGraph *g = ir_graph_new(ctx);
  static const Shape shapes[] = {{0, {0}}, {1, {4}}, {2, {3, 4}}, {2, {1, 4}}, {2, {3, 1}}, {1, {0}}};
  int32_t ids[64];
  int n = 0;
  for (int i = 0; i < 3; i++) {
    char name[16];
    snprintf(name, sizeof name, "in%d", i);
    BudDType dt = (BudDType)rndn(BUD_NDTYPES);
    const Shape *s = &shapes[rndn((int)BUD_ARRAY_LEN(shapes))];
    unsigned char ex[8];
    scalar_store(dt, ex, random_value(dt));
    int32_t id = ir_input(g, name, dt, s, rndn(2) ? ex : NULL);
    if (id >= 0) ids[n++] = id;
  }
  for (int step = 0; step < 40 && n < 64; step++) {
    int32_t id;
    int kind = rndn(10);
    if (kind == 0) {
      BudDType dt = (BudDType)rndn(BUD_NDTYPES);
      id = ir_const(g, dt, random_value(dt));
    } else if (kind == 1) {
      id = ir_cast(g, ids[rndn(n)], (BudDType)rndn(BUD_NDTYPES));
    } else if (kind == 2) {
      Op op = (Op)(OP_sum + rndn(9));
      id = ir_reduce(g, op, ids[rndn(n)], rndn(3) == 0 ? BUD_AXIS_ALL : rndn(3) - 1);
    } else {
      Op op = (Op)(OP_add + rndn(OP_cast - OP_add));
      int nargs = op_info(op)->nargs;
      int32_t in[3];
      for (int k = 0; k < nargs; k++) in[k] = ids[rndn(n)];
      id = ir_op(g, op, nargs, in);
      if (rndn(8) == 0) {
        int32_t x = ids[rndn(n)], y = ids[rndn(n)];
        id = ir_op(g, OP_dot, 2, (int32_t[]){x, y});
      }
    }
    if (id >= 0) ids[n++] = id;
  }
  for (int k = 0; k < 3; k++) {
    char name[16];
    snprintf(name, sizeof name, "out%d", k);
    ir_output(g, name, ids[rndn(n)]);
  }
  return g;
}

static void test_random_round_trip(void) {
  int nbuilt = 0;
  for (int iter = 0; iter < 300; iter++) {
    BudContext ctx = {0};
    IrGraph *g = random_graph(&ctx);
    nbuilt += g->nnodes;
    CHECK_MSG(ir_verify(g) == BUD_OK, "random graph %d: %s", iter, ctx.errmsg);
    check_round_trip(g, "random graph");
    ir_graph_free(g);
  }
  CHECK(nbuilt > 3000);
}

/* Mutated valid text: the parser must fail cleanly or give a graph that verifies and round-trips. */
static void test_mutations(void) {
  static const char *files[] = {"tests/golden/ir/basic.ir", "tests/golden/ir/extremes.ir",
                                "tests/golden/ir/reductions.ir", "tests/golden/ir/where_dot.ir"};
  static const char alphabet[] = "%=,:[]\"\\# \n\t0123456789-.eabcdfinoptuxyz\x01\xff";
  int nparsed = 0, nfailed = 0;
  for (size_t f = 0; f < BUD_ARRAY_LEN(files); f++) {
    char *text = read_file(files[f]);
    CHECK(text != NULL);
    if (!text) continue;
    size_t len = strlen(text);
    for (int iter = 0; iter < 1500; iter++) {
      char *m = malloc(len + 16);
      memcpy(m, text, len + 1);
      size_t mlen = len;
      int nmut = 1 + rndn(3);
      for (int k = 0; k < nmut && mlen > 0; k++) {
        size_t at = (size_t)rndn((int)mlen);
        char c = alphabet[rndn((int)sizeof alphabet - 1)];
        switch (rndn(4)) {
        case 0: m[at] = c; break;                                       /* replace */
        case 1: memmove(m + at, m + at + 1, mlen - at); mlen--; break;  /* delete */
        case 2: memmove(m + at + 1, m + at, mlen - at + 1); m[at] = c; mlen++; break; /* insert */
        default: m[at] = '\0'; mlen = at; break;                        /* truncate */
        }
      }
      m[mlen] = '\0';
      BudContext ctx = {0};
      IrGraph *g = ir_parse(&ctx, m);
      if (g) {
        nparsed++;
        CHECK_MSG(ir_verify(g) == BUD_OK, "mutated text parsed to an invalid graph: %s\n%s",
                  ctx.errmsg, m);
        check_round_trip(g, "mutated text");
        ir_graph_free(g);
      } else {
        nfailed++;
        CHECK(ctx.status < 0 && ctx.errmsg[0] != '\0');
      }
      free(m);
    }
    free(text);
  }
  CHECK(nparsed > 0 && nfailed > 0);
}

int main(void) {
  test_golden();
  test_parse_values();
  test_malformed();
  test_random_round_trip();
  test_mutations();
  return check_done("test_ir_text");
}
