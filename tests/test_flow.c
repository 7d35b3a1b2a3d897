/* test_flow.c — the Flow front end: precedence (checked on the IR the parser builds, rendered as
 * S-expressions), literal forms, value-based typing through the IR, statements and outputs,
 * every error message (exact text with the caret line), limits, free names and a fuzz loop.
 */
#include "check.h"
#include "front/front.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers -----------------------------------------------------------------------------------
 */

static void render(const IrGraph *g, int32_t id, char *buf, size_t n, size_t *len) {
#define PUT(...) (*len += (size_t)snprintf(buf + *len, *len < n ? n - *len : 0, __VA_ARGS__))
  const IrNode *nd = &g->nodes[id];
  if (nd->op == OP_input) {
    PUT("%s", g->inputs[nd->input_index].name);
    return;
  }
  if (nd->op == OP_const) {
    if (nd->dtype == BUD_BOOL)
      PUT("%s", nd->value.i ? "True" : "False");
    else if (dtype_is_float(nd->dtype)) {
      char d[32];
      format_double(d, nd->value.f);
      PUT("%s", d);
    } else if (dtype_is_uint(nd->dtype))
      PUT("%llu", (unsigned long long)nd->value.u);
    else
      PUT("%lld", (long long)nd->value.i);
    if (nd->dtype != BUD_INT64 && nd->dtype != BUD_FLOAT64 && nd->dtype != BUD_BOOL)
      PUT(":%s", bud_dtype_name(nd->dtype));
    return;
  }
  if (nd->op == OP_cast)
    PUT("(%s", bud_dtype_name(nd->dtype));
  else
    PUT("(%s", op_info(nd->op)->name);
  if (op_is_reduction(nd->op)) {
    if (nd->axis == BUD_AXIS_ALL)
      PUT(":all");
    else
      PUT(":%d", (int)nd->axis);
  }
  for (int k = 0; k < nd->nin; k++) {
    PUT(" ");
    render(g, nd->in[k], buf, n, len);
  }
  PUT(")");
#undef PUT
}

typedef struct Env {
  BudContext *ctx;
  IrGraph *g;
  BudStatus st;
  char text[4096]; /* outputs rendered: "name=expr; name=expr" */
} Env;

/* Inputs a, b, c, d (int64[4]), f, h (float32[4]), i8 (int8[4]), u8 (uint8[4]), m (float64[3,4]),
 * s (float64 scalar with value 2.5). */
static void env_parse(Env *e, const char *src) {
  e->ctx = bud_context_new();
  e->g = ir_graph_new(e->ctx);
  Shape v4 = {1, {4}}, m34 = {2, {3, 4}}, s0 = {0, {0}};
  const char *ints[] = {"a", "b", "c", "d"};
  for (int k = 0; k < 4; k++)
    ir_input(e->g, ints[k], BUD_INT64, &v4, NULL);
  ir_input(e->g, "f", BUD_FLOAT32, &v4, NULL);
  ir_input(e->g, "h", BUD_FLOAT32, &v4, NULL);
  ir_input(e->g, "i8", BUD_INT8, &v4, NULL);
  ir_input(e->g, "u8", BUD_UINT8, &v4, NULL);
  ir_input(e->g, "m", BUD_FLOAT64, &m34, NULL);
  Shape s3 = {1, {3}};
  ir_input(e->g, "v3", BUD_FLOAT64, &s3, NULL);
  double sv = 2.5;
  ir_input(e->g, "s", BUD_FLOAT64, &s0, &sv);
  e->st = flow_parse(e->ctx, e->g, src);
  e->text[0] = '\0';
  size_t len = 0;
  if (e->st == BUD_OK) {
    for (int k = 0; k < e->g->noutputs; k++) {
      len += (size_t)snprintf(e->text + len, len < sizeof e->text ? sizeof e->text - len : 0,
                              "%s%s=", k ? "; " : "", e->g->outputs[k].name);
      render(e->g, e->g->outputs[k].node, e->text, sizeof e->text, &len);
    }
  }
}

static void env_free(Env *e) {
  ir_graph_free(e->g);
  bud_context_free(e->ctx);
}

/* The rendered outputs of src, or "ERROR: <message>". */
static const char *parse_text(const char *src) {
  static char out[4096 + 16];
  Env e;
  env_parse(&e, src);
  if (e.st == BUD_OK)
    snprintf(out, sizeof out, "%s", e.text);
  else
    snprintf(out, sizeof out, "ERROR: %s", bud_last_error(e.ctx));
  env_free(&e);
  return out;
}

static BudStatus parse_status(const char *src) {
  Env e;
  env_parse(&e, src);
  BudStatus st = e.st;
  env_free(&e);
  return st;
}

/* The dtype of output 0 (or -1 on error). */
static int out_dtype(const char *src) {
  Env e;
  env_parse(&e, src);
  int dt = e.st == BUD_OK ? (int)e.g->nodes[e.g->outputs[0].node].dtype : -1;
  if (e.st != BUD_OK) fprintf(stderr, "out_dtype(%s): %s\n", src, bud_last_error(e.ctx));
  env_free(&e);
  return dt;
}

#define EXPECT(src, want) CHECK_EQ_STR(parse_text(src), want)

static void expect_error(int line, const char *src, BudStatus want_st, const char *want) {
  Env e;
  env_parse(&e, src);
  if (e.st != want_st || strcmp(bud_last_error(e.ctx), want) != 0) {
    check_nfail++;
    fprintf(stderr, "test_flow.c:%d: error for \"%s\"\n  got (%s):\n%s\n  expected (%s):\n%s\n",
            line, src, bud_status_name(e.st), bud_last_error(e.ctx), bud_status_name(want_st),
            want);
  } else {
    check_npass++;
  }
  env_free(&e);
}
#define EXPECT_ERR(src, st, msg) expect_error(__LINE__, src, st, msg)

/* ---- precedence --------------------------------------------------------------------------------
 */

static void test_precedence(void) {
  EXPECT("-a**2", "out=(negative (power a 2))");
  EXPECT("a+b*c", "out=(add a (multiply b c))");
  EXPECT("a<b|c", "out=(less a (bitwise_or b c))");
  EXPECT("2**-1", "out=0.5"); /* folded as Python does: 2 ** (-1) */
  EXPECT("a**-1", "out=(power a -1)");
  EXPECT("a**2**3", "out=(power a 8)");
  EXPECT("a//b%c", "out=(remainder (floor_divide a b) c)");
  EXPECT("a-b-c", "out=(subtract (subtract a b) c)");
  EXPECT("f/h/f", "out=(divide (divide f h) f)");
  EXPECT("a**b**c", "out=(power a (power b c))");
  EXPECT("a**-b", "out=(power a (negative b))");
  EXPECT("-a*b", "out=(multiply (negative a) b)");
  EXPECT("a*-b", "out=(multiply a (negative b))");
  EXPECT("(a+b)*c", "out=(multiply (add a b) c)");
  EXPECT("a & b | c ^ d", "out=(bitwise_or (bitwise_and a b) (bitwise_xor c d))");
  EXPECT("a | b ^ c & d", "out=(bitwise_or a (bitwise_xor b (bitwise_and c d)))");
  EXPECT("a << 1 + b", "out=(left_shift a (add 1 b))");
  EXPECT("a >> b & c", "out=(bitwise_and (right_shift a b) c)");
  EXPECT("~a & b", "out=(bitwise_and (invert a) b)");
  EXPECT("a == b | c", "out=(equal a (bitwise_or b c))");
  EXPECT("a != b + 1", "out=(not_equal a (add b 1))");
  EXPECT("a <= b", "out=(less_equal a b)");
  EXPECT("a >= b", "out=(greater_equal a b)");
  EXPECT("a > b", "out=(greater a b)");
  EXPECT("+a", "out=a");
  EXPECT("- -a", "out=(negative (negative a))");
  EXPECT("a + -3", "out=(add a -3)");
  EXPECT("a + -(3)", "out=(add a -3)");
  EXPECT("a - - 3", "out=(subtract a -3)");
  EXPECT("-2**2", "out=-4");
  EXPECT("-a**-2", "out=(negative (power a -2))");
  EXPECT("a + ~5", "out=(add a -6)");
  EXPECT("a % 3 * b", "out=(multiply (remainder a 3) b)");
  EXPECT("where(a > b, a, b)", "out=(where (greater a b) a b)");
  EXPECT("pow(a, 2)", "out=(power a 2)");
  EXPECT("minimum(a, b) + maximum(c, d)", "out=(add (minimum a b) (maximum c d))");
  EXPECT("clip(a, 0, 10)", "out=(clip a 0 10)");
  EXPECT("sum(a)", "out=(sum:all a)");
  EXPECT("sum(a * b, axis=0)", "out=(sum:0 (multiply a b))");
  EXPECT("sum(m, 1)", "out=(sum:1 m)");
  EXPECT("max(m, axis=-1)", "out=(max:1 m)");
  EXPECT("mean(m, axis=None)", "out=(mean:all m)");
  EXPECT("argmax(m, 0)", "out=(argmax:0 m)");
  EXPECT("any(a > 0)", "out=(any:all (greater a 0))");
  EXPECT("dot(a, b)", "out=(dot a b)");
  EXPECT("a @ b * 2", "out=(multiply (matmul a b) 2)");
  EXPECT("2 * a @ b", "out=(matmul (multiply 2 a) b)");
  EXPECT("sin(f)", "out=(sin f)");
  EXPECT("abs(a - b)", "out=(abs (subtract a b))");
  EXPECT("float32(a)", "out=(float32 a)");
  EXPECT("int8(f)", "out=(int8 f)");
  EXPECT("bool(a)", "out=(bool a)");
  EXPECT("(((a)))", "out=a");
  EXPECT("sum(\n  a,\n  axis=0\n)", "out=(sum:0 a)");
  EXPECT("a + \\\n b", "out=(add a b)");
  EXPECT("where(a > 0, a, 0,)", "out=(where (greater a 0) a 0)");
}

/* ---- literals and typing ------------------------------------------------------------------------
 */

static void test_literals(void) {
  EXPECT("x = 0x1f", "x=31");
  EXPECT("x = 0XFF", "x=255");
  EXPECT("x = 0o17", "x=15");
  EXPECT("x = 0b101", "x=5");
  EXPECT("x = 1_000_000", "x=1000000");
  EXPECT("x = 0", "x=0");
  EXPECT("x = 00", "x=0");
  EXPECT("x = 1.", "x=1.0");
  EXPECT("x = .5", "x=0.5");
  EXPECT("x = 1e-9", "x=1e-09");
  EXPECT("x = 2.5E+3", "x=2.5e+03");
  EXPECT("x = 1_0.2_5", "x=10.25");
  EXPECT("x = 9223372036854775807", "x=9223372036854775807");
  EXPECT("x = 9223372036854775808", "x=9223372036854775808:uint64");
  EXPECT("x = 18446744073709551615", "x=18446744073709551615:uint64");
  EXPECT("x = 0xffffffffffffffff", "x=18446744073709551615:uint64");
  EXPECT("x = -9223372036854775808", "x=-9223372036854775808");
  EXPECT("x = -1.5", "x=-1.5");
  EXPECT("x = True; y = False", "x=True; y=False");
  EXPECT("x = inf; y = -inf; z = nan", "x=inf; y=-inf; z=nan");
  EXPECT("x = 1e999", "x=inf");
  /* literal arithmetic folds with Python's semantics */
  EXPECT("x = -7 // 2; y = -7 % 2; z = 7 % -2; w = 7 // -2", "x=-4; y=1; z=-1; w=-4");
  EXPECT("x = 2 * 3 + 1; y = 1 / 4; z = 2.5 * 2; w = 1 - 0.5", "x=7; y=0.25; z=5.0; w=0.5");
  EXPECT("x = (-1) ** 1000001; y = 3 ** 4; z = 0 ** 0", "x=-1; y=81; z=1");
  EXPECT("x = 1 / 0", "x=(divide 1.0 0.0)");
  EXPECT("x = 9223372036854775807 + 1", "x=(add 9223372036854775807 1)");
  EXPECT("x = 2 ** 64", "x=(power 2 64)");
  CHECK_EQ_INT(out_dtype("i8 + 2 * 150"), BUD_INT16);
  CHECK_EQ_INT(out_dtype("u8 * (0 - 1)"), BUD_INT16);
  CHECK_EQ_INT(out_dtype("f * (1 / 3)"), BUD_FLOAT32);

  CHECK_EQ_INT(out_dtype("f * 2.0"), BUD_FLOAT32);
  CHECK_EQ_INT(out_dtype("f * 2"), BUD_FLOAT32);
  CHECK_EQ_INT(out_dtype("f * s"), BUD_FLOAT32); /* 0-d float64 input: value-based too */
  CHECK_EQ_INT(out_dtype("i8 + -3"), BUD_INT8);
  CHECK_EQ_INT(out_dtype("i8 + 300"), BUD_INT16);
  CHECK_EQ_INT(out_dtype("i8 + 3.5"), BUD_FLOAT64);
  CHECK_EQ_INT(out_dtype("u8 + -3"), BUD_INT16);
  CHECK_EQ_INT(out_dtype("i8 + 9223372036854775808"), BUD_FLOAT64);
  CHECK_EQ_INT(out_dtype("a / b"), BUD_FLOAT64);
  CHECK_EQ_INT(out_dtype("f > 1"), BUD_BOOL);
  CHECK_EQ_INT(out_dtype("float32(a) + 1"), BUD_FLOAT32);
  CHECK_EQ_INT(out_dtype("uint8(a)"), BUD_UINT8);
  CHECK_EQ_INT(out_dtype("sin(i8)"), BUD_FLOAT32);
  CHECK_EQ_INT(out_dtype("sin(a)"), BUD_FLOAT64);
  CHECK_EQ_INT(out_dtype("i8 & True"), BUD_INT8);
  CHECK_EQ_INT(out_dtype("3"), BUD_INT64);
  CHECK_EQ_INT(out_dtype("(f > 0) & (h < 1)"), BUD_BOOL);
}

/* ---- statements --------------------------------------------------------------------------------
 */

static void test_statements(void) {
  EXPECT("x = a + 1; y = x * 2", "x=(add a 1); y=(multiply (add a 1) 2)");
  EXPECT("_t = a * 2; r = _t + 1", "r=(add (multiply a 2) 1)");
  EXPECT("x = a; y = b; x = x + 1", "x=(add a 1); y=b");
  EXPECT("x = a\nx * 2", "x=a; out=(multiply a 2)");
  EXPECT("\n\n# comment\nx = a  # trailing\n\n;; y = b;\n", "x=a; y=b");
  EXPECT("a = a + 1; a * 2", "a=(add a 1); out=(multiply (add a 1) 2)");
  EXPECT("x = 2\ny = a * x", "x=2; y=(multiply a 2)");
  EXPECT("x = a\r\ny = b\r\n", "x=a; y=b");
  EXPECT("out = a; b + 1", "out=(add b 1)");
  EXPECT("sin = a; sin + 1", "sin=a; out=(add a 1)");

  /* multi-output graph node sharing: y uses x's node, not a copy */
  Env e;
  env_parse(&e, "x = a + b; y = x * x");
  CHECK_EQ_INT(e.st, BUD_OK);
  if (e.st == BUD_OK) {
    CHECK_EQ_INT(e.g->noutputs, 2);
    const IrNode *y = &e.g->nodes[e.g->outputs[1].node];
    CHECK_EQ_INT(y->in[0], e.g->outputs[0].node);
    CHECK_EQ_INT(y->in[1], e.g->outputs[0].node);
  }
  env_free(&e);
}

/* ---- errors ------------------------------------------------------------------------------------
 */

static void test_errors(void) {
  EXPECT_ERR("2 + sinn(a)", BUD_ERR_NAME,
             "unknown function 'sinn' at column 5; did you mean 'sin'?\n2 + sinn(a)\n    ^");
  EXPECT_ERR("a + frobnicate(b)", BUD_ERR_NAME,
             "unknown function 'frobnicate' at column 5\na + frobnicate(b)\n    ^");
  EXPECT_ERR("a + b + bb", BUD_ERR_NAME,
             "unknown variable 'bb' at column 9\na + b + bb\n        ^");
  EXPECT_ERR("sin(a, b)", BUD_ERR_PARSE,
             "function 'sin' takes 1 argument, 2 given at column 1\nsin(a, b)\n^");
  EXPECT_ERR("where(a, b)", BUD_ERR_PARSE,
             "function 'where' takes 3 arguments, 2 given at column 1\nwhere(a, b)\n^");
  EXPECT_ERR("sum(a, 0, 1)", BUD_ERR_PARSE,
             "function 'sum' takes 1 or 2 arguments, 3 given at column 1\nsum(a, 0, 1)\n^");
  EXPECT_ERR("a > 1 and b", BUD_ERR_PARSE,
             "'and' is not supported at column 7; use '&'\na > 1 and b\n      ^");
  EXPECT_ERR("a or b", BUD_ERR_PARSE, "'or' is not supported at column 3; use '|'\na or b\n  ^");
  EXPECT_ERR("not a", BUD_ERR_PARSE, "'not' is not supported at column 1; use '~'\nnot a\n^");
  EXPECT_ERR("a if b else c", BUD_ERR_PARSE,
             "'if' is not supported at column 3; use where(condition, a, b)\na if b else c\n  ^");
  EXPECT_ERR("lambda: a", BUD_ERR_PARSE, "'lambda' is not supported at column 1\nlambda: a\n^");
  EXPECT_ERR("a < b < c", BUD_ERR_PARSE,
             "chained comparison at column 7 is not supported; write (a < b) & (b < c)\n"
             "a < b < c\n      ^");
  EXPECT_ERR("a + 1j", BUD_ERR_PARSE,
             "complex numbers are not supported at column 5\na + 1j\n    ^");
  EXPECT_ERR("a + 'x'", BUD_ERR_PARSE, "strings are not supported at column 5\na + 'x'\n    ^");
  EXPECT_ERR("a + \"x\"", BUD_ERR_PARSE, "strings are not supported at column 5\na + \"x\"\n    ^");
  EXPECT_ERR("", BUD_ERR_PARSE, "empty expression");
  EXPECT_ERR("  # nothing\n;\n", BUD_ERR_PARSE, "empty expression");
  EXPECT_ERR("a + 1; b", BUD_ERR_PARSE,
             "expression statement has no effect at column 1\na + 1; b\n^");
  EXPECT_ERR("x = a\nb + 1\ny = c", BUD_ERR_PARSE,
             "expression statement has no effect at line 2, column 1\nb + 1\n^");
  EXPECT_ERR("x = a\ny = bb", BUD_ERR_NAME,
             "unknown variable 'bb' at line 2, column 5\ny = bb\n    ^");
  EXPECT_ERR("a + b[0]", BUD_ERR_PARSE,
             "indexing with '[' ']' is not supported at column 6\na + b[0]\n     ^");
  EXPECT_ERR("a +", BUD_ERR_PARSE, "unexpected end of expression at column 4\na +\n   ^");
  EXPECT_ERR("a + * b", BUD_ERR_PARSE, "unexpected '*' at column 5\na + * b\n    ^");
  EXPECT_ERR("a b", BUD_ERR_PARSE, "unexpected 'b' at column 3\na b\n  ^");
  EXPECT_ERR("(a + b", BUD_ERR_PARSE, "'(' is never closed at column 1\n(a + b\n^");
  EXPECT_ERR("a + b)", BUD_ERR_PARSE, "unexpected ')' at column 6\na + b)\n     ^");
  EXPECT_ERR("sum(m, axis=k)", BUD_ERR_PARSE,
             "axis must be an integer literal at column 13\nsum(m, axis=k)\n            ^");
  EXPECT_ERR("sum(m, 1.0)", BUD_ERR_PARSE,
             "axis must be an integer literal at column 8\nsum(m, 1.0)\n       ^");
  EXPECT_ERR("sin(a, axis=0)", BUD_ERR_PARSE,
             "function 'sin' has no argument 'axis' at column 8\nsin(a, axis=0)\n       ^");
  EXPECT_ERR("sum(m, axis=2)", BUD_ERR_SHAPE,
             "at column 1: axis 2 is out of bounds for array of dimension 2\nsum(m, axis=2)\n^");
  EXPECT_ERR("a + v3", BUD_ERR_SHAPE,
             "at column 3: operands could not be broadcast together with shapes (4,) (3,)\n"
             "a + v3\n  ^");
  EXPECT_ERR("real(a)", BUD_ERR_PARSE,
             "function 'real' is not supported at column 1; complex numbers are not supported\n"
             "real(a)\n^");
  EXPECT_ERR("contains(a, b)", BUD_ERR_PARSE,
             "function 'contains' is not supported at column 1; strings are not supported\n"
             "contains(a, b)\n^");
  EXPECT_ERR("fma(a, b, c)", BUD_ERR_NAME,
             "unknown function 'fma' at column 1; did you mean 'fmod'?\nfma(a, b, c)\n^");
  EXPECT_ERR("x = 18446744073709551616", BUD_ERR_PARSE,
             "integer literal is too large at column 5; the largest is 18446744073709551615\n"
             "x = 18446744073709551616\n    ^");
  EXPECT_ERR("x = 012", BUD_ERR_PARSE,
             "leading zeros in an integer literal at column 5; write 0o for octal\nx = 012\n    ^");
  EXPECT_ERR("x = 1e", BUD_ERR_PARSE, "invalid number literal at column 5\nx = 1e\n    ^");
  EXPECT_ERR("x = 0x", BUD_ERR_PARSE, "invalid number literal at column 5\nx = 0x\n    ^");
  EXPECT_ERR("x = 2a", BUD_ERR_PARSE, "invalid number literal at column 5\nx = 2a\n    ^");
  EXPECT_ERR("a $ b", BUD_ERR_PARSE, "unexpected character '$' at column 3\na $ b\n  ^");
  EXPECT_ERR("a + \xc3\xa9", BUD_ERR_PARSE,
             "non-ASCII character (byte 0xc3) at column 5\na + ??\n    ^");
  EXPECT_ERR("a +\x01 b", BUD_ERR_PARSE,
             "invalid control character (byte 0x01) at column 4\na +? b\n   ^");
  EXPECT_ERR("\tx = bb", BUD_ERR_NAME, "unknown variable 'bb' at column 6\n\tx = bb\n\t    ^");
  EXPECT_ERR("True = a", BUD_ERR_PARSE, "cannot assign to 'True' at column 1\nTrue = a\n^");
  EXPECT_ERR("a + 1 = b", BUD_ERR_PARSE,
             "unexpected '=' at column 7; only a name can be assigned\na + 1 = b\n      ^");
  EXPECT_ERR("_x = a", BUD_ERR_PARSE,
             "the program has no outputs at column 1; names starting with '_' are not outputs\n"
             "_x = a\n^");
  EXPECT_ERR("a - -9223372036854775809", BUD_ERR_PARSE,
             "integer literal is too small at column 5; the smallest is -9223372036854775808\n"
             "a - -9223372036854775809\n    ^");
  EXPECT_ERR("-True", BUD_ERR_DTYPE,
             "at column 1: The numpy boolean negative, the `-` operator, is not supported, use "
             "the `~` operator or the logical_not function instead.\n-True\n^");

  /* the message keeps the status of the IR and its own text after the position */
  CHECK_EQ_INT(parse_status("sin(a > 0)"), BUD_OK); /* bool -> float16 in NumPy: IR decides */
  CHECK_EQ_INT(parse_status("a @ m"), BUD_ERR_SHAPE);
  CHECK_EQ_INT(parse_status("a + -"), BUD_ERR_PARSE);
  CHECK_EQ_INT(parse_status("x = "), BUD_ERR_PARSE);
  CHECK_EQ_INT(parse_status("= a"), BUD_ERR_PARSE);
  CHECK_EQ_INT(parse_status("a.b"), BUD_ERR_PARSE);
  CHECK_EQ_INT(parse_status("a(b"), BUD_ERR_NAME); /* 'a' is not a function */
  CHECK_EQ_INT(parse_status("sum(m, axis=0, axis=1)"), BUD_ERR_PARSE);
  CHECK_EQ_INT(parse_status("sum(axis=0)"), BUD_ERR_PARSE);
  CHECK_EQ_INT(parse_status("sum(m, axis=-128)"), BUD_ERR_SHAPE);
}

/* ---- limits ------------------------------------------------------------------------------------
 */

static char *repeat(const char *pre, int n, const char *mid, const char *post, int m) {
  size_t lp = strlen(pre), lm = strlen(mid), lq = strlen(post);
  char *s = malloc(lp * (size_t)n + lm + lq * (size_t)m + 1);
  size_t k = 0;
  for (int i = 0; i < n; i++)
    memcpy(s + k, pre, lp), k += lp;
  memcpy(s + k, mid, lm), k += lm;
  for (int i = 0; i < m; i++)
    memcpy(s + k, post, lq), k += lq;
  s[k] = '\0';
  return s;
}

static void test_limits(void) {
  char *s = repeat(" ", 70000, "a", "", 0);
  EXPECT_ERR(s, BUD_ERR_LIMIT, "expression is 70001 bytes long; the limit is 65536");
  free(s);
  s = repeat("a+", 32767, "a", "", 0); /* 65535 bytes: allowed */
  CHECK_EQ_INT(parse_status(s), BUD_OK);
  free(s);
  s = repeat("(", 200, "a", ")", 200);
  CHECK_EQ_STR(parse_text(s), "out=a");
  free(s);
  s = repeat("(", 201, "a", ")", 201);
  CHECK_EQ_INT(parse_status(s), BUD_ERR_LIMIT);
  free(s);
  s = repeat("(", 100000, "", "", 0);
  CHECK_EQ_INT(parse_status(s), BUD_ERR_LIMIT);
  free(s);
  s = repeat("(", 60000, "a", ")", 5000);
  CHECK_EQ_INT(parse_status(s), BUD_ERR_LIMIT);
  free(s);
  s = repeat("-", 60000, "a", "", 0);
  CHECK_EQ_INT(parse_status(s), BUD_ERR_LIMIT);
  free(s);
  s = repeat("a**", 20000, "a", "", 0);
  CHECK_EQ_INT(parse_status(s), BUD_ERR_LIMIT);
  free(s);
  s = repeat("sin(", 15000, "f", ")", 15000);
  CHECK_EQ_INT(parse_status(s), BUD_ERR_LIMIT);
  free(s);
  s = repeat("-", 150, "a", "", 0);
  CHECK_EQ_INT(parse_status(s), BUD_OK);
  free(s);
  /* the message of a deep nest points at the first level too deep, excerpted */
  s = repeat("(", 300, "a", ")", 300);
  Env e;
  env_parse(&e, s);
  char want[512];
  int k0 = sprintf(want, "expression nests deeper than 200 levels at column 202\n...");
  for (int i = 0; i < 100; i++)
    want[k0++] = '(';
  k0 += sprintf(want + k0, "...\n");
  for (int i = 0; i < 53; i++)
    want[k0++] = ' ';
  strcpy(want + k0, "^");
  CHECK_EQ_STR(bud_last_error(e.ctx), want);
  env_free(&e);
  free(s);
  /* many statements, many names */
  char *big = malloc(64000);
  size_t k = 0;
  for (int i = 0; i < 3000; i++)
    k += (size_t)sprintf(big + k, "v%d = a + %d\n", i, i);
  big[k] = '\0';
  env_parse(&e, big);
  CHECK_EQ_INT(e.st, BUD_OK);
  CHECK_EQ_INT(e.g->noutputs, 3000);
  env_free(&e);
  free(big);
}

/* ---- free names --------------------------------------------------------------------------------
 */

static void test_free_names(void) {
  BudContext *ctx = bud_context_new();
  Arena ar;
  arena_init(&ar);
  const char **names = NULL;
  int n = flow_free_names(
      ctx, &ar, "x = a + b; y = x * c + sin(a) + float32(zz)\nout2 = b + sum(m, axis=0)", &names);
  CHECK_EQ_INT(n, 5);
  if (n == 5) {
    CHECK_EQ_STR(names[0], "a");
    CHECK_EQ_STR(names[1], "b");
    CHECK_EQ_STR(names[2], "c");
    CHECK_EQ_STR(names[3], "zz");
    CHECK_EQ_STR(names[4], "m");
  }
  n = flow_free_names(ctx, &ar, "b = b + 1; c = b + True + inf", &names);
  CHECK_EQ_INT(n, 1);
  if (n == 1) CHECK_EQ_STR(names[0], "b");
  n = flow_free_names(ctx, &ar, "2 * 3", &names);
  CHECK_EQ_INT(n, 0);
  n = flow_free_names(ctx, &ar, "a + (b", &names);
  CHECK_EQ_INT(n, BUD_ERR_PARSE);
  CHECK(strlen(bud_last_error(ctx)) > 0);
  n = flow_free_names(ctx, &ar, "sinn(a)", &names);
  CHECK_EQ_INT(n, BUD_ERR_NAME);
  arena_free(&ar);
  bud_context_free(ctx);
}

/* ---- fuzz --------------------------------------------------------------------------------------
 */

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void fuzz_one(const char *src, int *bad) {
  Env e;
  env_parse(&e, src);
  if (e.st == BUD_OK) {
    if (e.g->noutputs < 1) (*bad)++, fprintf(stderr, "fuzz: no outputs for \"%s\"\n", src);
  } else if (e.st >= 0 || !bud_last_error(e.ctx)[0]) {
    (*bad)++;
    fprintf(stderr, "fuzz: status %d, empty message for \"%s\"\n", (int)e.st, src);
  }
  env_free(&e);
  BudContext *ctx = bud_context_new();
  Arena ar;
  arena_init(&ar);
  const char **names;
  int n = flow_free_names(ctx, &ar, src, &names);
  if (n < 0 && !bud_last_error(ctx)[0]) (*bad)++;
  arena_free(&ar);
  bud_context_free(ctx);
}

static void test_fuzz(void) {
  static const char *const soup[] = {
      "a",   "b",    "f",       "m",    "s",    "i8",   "x",   "_t",  "1",
      "0",   "2.5",  "1e3",     ".5",   "0x1f", "True", "inf", "+",   "-",
      "*",   "/",    "//",      "%",    "**",   "<<",   ">>",  "&",   "|",
      "^",   "~",    "<",       "<=",   ">",    ">=",   "==",  "!=",  "(",
      ")",   ",",    "=",       ";",    "\n",   " ",    "@",   "sin", "where",
      "sum", "axis", "float32", "and",  "not",  "#",    "'",   "[",   "9223372036854775808",
      "-3",  "clip", "dot",     "\\\n", "1j",   "None",
  };
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int bad = 0;
  char buf[512];
  for (int iter = 0; iter < 3000; iter++) {
    size_t k = 0;
    int ntok = 1 + (int)(rng_next(&seed) % 24);
    for (int t = 0; t < ntok; t++) {
      const char *w = soup[rng_next(&seed) % BUD_ARRAY_LEN(soup)];
      size_t n = strlen(w);
      if (k + n + 1 >= sizeof buf) break;
      memcpy(buf + k, w, n), k += n;
      if (rng_next(&seed) % 2) buf[k++] = ' ';
    }
    buf[k] = '\0';
    fuzz_one(buf, &bad);
  }
  for (int iter = 0; iter < 2000; iter++) {
    int n = (int)(rng_next(&seed) % 64);
    for (int i = 0; i < n; i++) {
      unsigned c = (unsigned)(rng_next(&seed) % 255) + 1; /* no NUL: the source is a C string */
      if (rng_next(&seed) % 4) c = (unsigned)"ab1.e+-*/()=;\n ~<>&|^%,x_0"[rng_next(&seed) % 27];
      buf[i] = (char)c;
    }
    buf[n] = '\0';
    fuzz_one(buf, &bad);
  }
  /* mutations of valid programs: deletions, insertions, duplications of bytes */
  static const char *const corpus[] = {
      "x = a + b * c; y = where(x > 0, x, -x)\nsum(y, axis=0)",
      "-a**2 + sin(f) * 2.5e-3 // 7 % 3",
      "r = clip(m, 0, 1) @ m; _t = max(m, -1); q = _t >> 2 << 1",
      "float32(a) | (b & ~c) ^ d != 0x1f",
      "(((a + 1) * (b - 2)) / (c ** 0.5))\n",
      "z = mean(m, axis=None) + argmin(a) + dot(a, b) - 9223372036854775808",
  };
  char line[256];
  for (int iter = 0; iter < 3000; iter++) {
    const char *base = corpus[rng_next(&seed) % BUD_ARRAY_LEN(corpus)];
    size_t n = strlen(base);
    memcpy(line, base, n + 1);
    int nmut = 1 + (int)(rng_next(&seed) % 4);
    for (int k = 0; k < nmut && n > 1 && n < sizeof line - 2; k++) {
      size_t at = (size_t)(rng_next(&seed) % n);
      switch (rng_next(&seed) % 3) {
      case 0:
        memmove(line + at, line + at + 1, n - at), n--;
        break;
      case 1:
        memmove(line + at + 1, line + at, n - at + 1), n++;
        line[at] = line[rng_next(&seed) % n];
        break;
      default:
        line[at] = line[rng_next(&seed) % n];
        break;
      }
    }
    fuzz_one(line, &bad);
  }
  CHECK_EQ_INT(bad, 0);
}

int main(void) {
  test_precedence();
  test_literals();
  test_statements();
  test_errors();
  test_limits();
  test_free_names();
  test_fuzz();
  return check_done("flow");
}
