/* test_flow_lex.c — the Flow lexer alone: token kinds and positions, number values (every base,
 * exponent forms, the int64/uint64 boundary), comments, continuation lines, newlines inside
 * parentheses, and the error formatter's excerpt and caret for long and multi-line sources.
 */
#include "check.h"
#include "front/flow_lex.h"
#include "front/front.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Kinds of the tokens of src as a string of letters, one per token (EOF excluded). */
static const char kind_letter[TK_COUNT + 1] = "$n;NIF(),=+-*/d%p@lr&|^~<L>Ge!";

static const char *kinds(const char *src, TokList *t) {
  static char buf[256];
  BudContext ctx = {0};
  if (flow_lex(&ctx, src, (int32_t)strlen(src), t) != BUD_OK) {
    snprintf(buf, sizeof buf, "ERROR: %.200s", ctx.errmsg);
    return buf;
  }
  int k = 0;
  for (int32_t i = 0; i < t->n && k < 255; i++)
    if (t->tok[i].kind != TK_EOF) buf[k++] = kind_letter[t->tok[i].kind];
  buf[k] = '\0';
  return buf;
}

static void test_kinds(void) {
  _Static_assert(sizeof kind_letter == TK_COUNT + 1, "one letter per token kind");
  TokList t = {0};
  CHECK_EQ_STR(kinds("a1 = 0x1F + .5e1 // 2 ** 3 <= b != c", &t), "N=I+FdIpILN!N");
  CHECK_EQ_STR(kinds("a<<b>>c&d|e^~f@g%h", &t), "NlNrN&N|N^~N@N%N");
  CHECK_EQ_STR(kinds("a < b > c >= d == e", &t), "N<N>NGNeN");
  CHECK_EQ_STR(kinds("x = 1 # comment\ny = 2;", &t), "N=InN=I;");
  CHECK_EQ_STR(kinds("f(a,\n  b\n)\nz", &t), "N(N,N)nN");
  CHECK_EQ_STR(kinds("a + \\\n b", &t), "N+N");
  CHECK_EQ_STR(kinds("a - -b * / ", &t), "N--N*/");
  CHECK_EQ_STR(kinds("", &t), "");
  CHECK_EQ_STR(kinds("   \t\r\n", &t), "n");
  /* positions: the EOF token sits just after the last token */
  kinds("ab + 12 ", &t);
  CHECK_EQ_INT(t.n, 4);
  CHECK_EQ_INT(t.tok[0].pos, 0);
  CHECK_EQ_INT(t.tok[0].len, 2);
  CHECK_EQ_INT(t.tok[2].pos, 5);
  CHECK_EQ_INT(t.tok[2].len, 2);
  CHECK_EQ_INT(t.tok[3].kind, TK_EOF);
  CHECK_EQ_INT(t.tok[3].pos, 7);
  flow_tokens_free(&t);
}

static Token one(const char *src) {
  TokList t = {0};
  BudContext ctx = {0};
  Token r = {.kind = TK_COUNT};
  if (flow_lex(&ctx, src, (int32_t)strlen(src), &t) == BUD_OK && t.n == 2) r = t.tok[0];
  flow_tokens_free(&t);
  return r;
}

static void test_numbers(void) {
  struct {
    const char *src;
    int64_t v;
  } ints[] = {{"0", 0},        {"7", 7},
              {"0x1f", 31},    {"0XfF", 255},
              {"0o777", 511},  {"0b1011", 11},
              {"1_000", 1000}, {"0x_ff", 255},
              {"000", 0},      {"9223372036854775807", INT64_MAX}};
  for (size_t i = 0; i < BUD_ARRAY_LEN(ints); i++) {
    Token k = one(ints[i].src);
    CHECK_MSG(k.kind == TK_INT && !k.is_uint && k.v.i == ints[i].v, "%s", ints[i].src);
  }
  Token k = one("9223372036854775808");
  CHECK(k.kind == TK_INT && k.is_uint && k.v.u == (uint64_t)1 << 63);
  k = one("18446744073709551615");
  CHECK(k.kind == TK_INT && k.is_uint && k.v.u == UINT64_MAX);
  k = one("0b"
          "1111111111111111111111111111111111111111111111111111111111111111");
  CHECK(k.kind == TK_INT && k.is_uint && k.v.u == UINT64_MAX);
  CHECK_EQ_INT(one("18446744073709551616").kind, TK_COUNT);
  CHECK_EQ_INT(one("0x10000000000000000").kind, TK_COUNT);
  struct {
    const char *src;
    double v;
  } flts[] = {{"1.", 1.0},        {".5", 0.5},    {"1e-9", 1e-9}, {"2.5E+3", 2500.0},
              {"1_0.2_5", 10.25}, {"3e2", 300.0}, {"0.1", 0.1},   {"1e999", INFINITY},
              {"0e0", 0.0},       {"00.5", 0.5}};
  for (size_t i = 0; i < BUD_ARRAY_LEN(flts); i++) {
    k = one(flts[i].src);
    CHECK_MSG(k.kind == TK_FLOAT && k.v.f == flts[i].v, "%s", flts[i].src);
  }
  const char *bad[] = {"1j", "2.5J", "1e", "1e+",   "0x",  "0b2",   "0o8", "1__0",
                       "1_", "1._5", "2a", "1.2.3", "012", "0x1.5", "1e5x"};
  for (size_t i = 0; i < BUD_ARRAY_LEN(bad); i++)
    CHECK_MSG(one(bad[i]).kind == TK_COUNT, "%s should not lex", bad[i]);
}

static void test_messages(void) {
  BudContext ctx = {0};
  const char *src = "x = 1\n  y = a $ b\n";
  flow_error(&ctx, BUD_ERR_PARSE, src, (int32_t)strlen(src), 12, NULL, "bad '%c'", '$');
  CHECK_EQ_STR(ctx.errmsg, "bad '$' at line 2, column 7\n  y = a $ b\n      ^");
  flow_error_prefixed(&ctx, BUD_ERR_SHAPE, src, (int32_t)strlen(src), 4, "it failed");
  CHECK_EQ_STR(ctx.errmsg, "at line 1, column 5: it failed\nx = 1\n    ^");
  CHECK_EQ_INT(ctx.status, BUD_ERR_SHAPE);
  /* a trailing newline does not make a source multi-line */
  src = "a + b\n\n";
  flow_error(&ctx, BUD_ERR_PARSE, src, (int32_t)strlen(src), 2, "; hint", "oops");
  CHECK_EQ_STR(ctx.errmsg, "oops at column 3; hint\na + b\n  ^");
  /* a long line is excerpted around the position */
  char *longsrc = malloc(1001);
  for (int i = 0; i < 1000; i++)
    longsrc[i] = (char)('a' + i % 26);
  longsrc[1000] = '\0';
  flow_error(&ctx, BUD_ERR_PARSE, longsrc, 1000, 999, NULL, "end");
  char want[256];
  int n = sprintf(want, "end at column 1000\n...%.51s\n", longsrc + 949);
  for (int i = 0; i < 53; i++)
    want[n++] = ' ';
  strcpy(want + n, "^");
  CHECK_EQ_STR(ctx.errmsg, want);
  flow_error(&ctx, BUD_ERR_PARSE, longsrc, 1000, 0, NULL, "start");
  n = sprintf(want, "start at column 1\n%.100s...\n^", longsrc);
  CHECK_EQ_STR(ctx.errmsg, want);
  free(longsrc);
  char clip[80];
  flow_clip_name(clip, 5, "abcdefgh", 8);
  CHECK_EQ_STR(clip, "abcde...");
  flow_clip_name(clip, 5, "abc", 3);
  CHECK_EQ_STR(clip, "abc");
}

int main(void) {
  test_kinds();
  test_numbers();
  test_messages();
  return check_done("flow_lex");
}
