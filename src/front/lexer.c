/* lexer.c — the Flow lexer: source bytes to a token list (numbers decoded, comments and
 * continuation lines dropped), and the one error formatter of the front end, which names a
 * position and shows the source line with a caret under it.
 * Entry points: flow_lex, flow_tokens_free, flow_error, flow_error_prefixed.
 */
#include "front/flow_lex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error messages ----------------------------------------------------------------------------
 */

#define SNIPPET_MAX 100 /* widest source excerpt shown under a message */

void flow_clip_name(char *buf, size_t max, const char *s, size_t n) {
  if (n <= max) {
    memcpy(buf, s, n);
    buf[n] = '\0';
  } else {
    memcpy(buf, s, max);
    memcpy(buf + max, "...", 4);
  }
}

/* A source is single-line when no newline precedes its last non-blank character. */
static bool is_multiline(const char *src, int32_t len) {
  int32_t end = len;
  while (end > 0 && (src[end - 1] == ' ' || src[end - 1] == '\t' || src[end - 1] == '\n' ||
                     src[end - 1] == '\r'))
    end--;
  return memchr(src, '\n', (size_t)end) != NULL;
}

/* Writes " at [line L, ]column C" into where, and the excerpt and caret lines into snippet. */
static void locate(const char *src, int32_t len, int32_t pos, char *where, size_t nwhere,
                   char *snippet, size_t nsnippet) {
  if (pos < 0) pos = 0;
  if (pos > len) pos = len;
  int32_t line = 1, bol = 0;
  for (int32_t i = 0; i < pos; i++)
    if (src[i] == '\n') line++, bol = i + 1;
  int32_t eol = pos;
  while (eol < len && src[eol] != '\n')
    eol++;
  if (eol > bol && src[eol - 1] == '\r') eol--;
  int32_t col = pos - bol + 1;
  if (is_multiline(src, len))
    snprintf(where, nwhere, "line %d, column %d", (int)line, (int)col);
  else
    snprintf(where, nwhere, "column %d", (int)col);
  /* An excerpt of at most SNIPPET_MAX bytes around pos, marked with "..." where cut. */
  int32_t s = bol, e = eol;
  bool cut_left = false, cut_right = false;
  if (e - s > SNIPPET_MAX) {
    if (pos - s > SNIPPET_MAX / 2) s = pos - SNIPPET_MAX / 2, cut_left = true;
    if (e - s > SNIPPET_MAX) e = s + SNIPPET_MAX, cut_right = true;
  }
  size_t k = 0;
  char caret[SNIPPET_MAX + 8];
  size_t kc = 0;
  char text[SNIPPET_MAX + 8];
  if (cut_left) {
    memcpy(text, "...", 3), k = 3;
    memcpy(caret, "   ", 3), kc = 3;
  }
  for (int32_t i = s; i < e; i++) {
    char c = src[i];
    text[k++] = (c == '\t' || (c >= 0x20 && c < 0x7f)) ? c : '?';
    if (i < pos) caret[kc++] = c == '\t' ? '\t' : ' ';
  }
  if (cut_right) memcpy(text + k, "...", 3), k += 3;
  text[k] = '\0';
  caret[kc++] = '^';
  caret[kc] = '\0';
  snprintf(snippet, nsnippet, "%s\n%s", text, caret);
}

BudStatus flow_error(BudContext *ctx, BudStatus st, const char *src, int32_t len, int32_t pos,
                     const char *hint, const char *fmt, ...) {
  char msg[BUD_ERRMSG_MAX], where[64], snippet[2 * SNIPPET_MAX + 32];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  locate(src, len, pos, where, sizeof where, snippet, sizeof snippet);
  return bud_fail(ctx, st, "%.700s at %s%.200s\n%s", msg, where, hint ? hint : "", snippet);
}

BudStatus flow_error_prefixed(BudContext *ctx, BudStatus st, const char *src, int32_t len,
                              int32_t pos, const char *message) {
  char where[64], snippet[2 * SNIPPET_MAX + 32];
  locate(src, len, pos, where, sizeof where, snippet, sizeof snippet);
  return bud_fail(ctx, st, "at %s: %.700s\n%s", where, message, snippet);
}

/* ---- tokens ------------------------------------------------------------------------------------
 */

static const char *const tok_spelling[TK_COUNT] = {
    [TK_EOF] = "end of expression",
    [TK_NEWLINE] = "end of line",
    [TK_SEMI] = "';'",
    [TK_NAME] = "name",
    [TK_INT] = "number",
    [TK_FLOAT] = "number",
    [TK_LPAREN] = "'('",
    [TK_RPAREN] = "')'",
    [TK_COMMA] = "','",
    [TK_ASSIGN] = "'='",
    [TK_PLUS] = "'+'",
    [TK_MINUS] = "'-'",
    [TK_STAR] = "'*'",
    [TK_SLASH] = "'/'",
    [TK_DSLASH] = "'//'",
    [TK_PERCENT] = "'%'",
    [TK_DSTAR] = "'**'",
    [TK_AT] = "'@'",
    [TK_SHL] = "'<<'",
    [TK_SHR] = "'>>'",
    [TK_AMP] = "'&'",
    [TK_PIPE] = "'|'",
    [TK_CARET] = "'^'",
    [TK_TILDE] = "'~'",
    [TK_LT] = "'<'",
    [TK_LE] = "'<='",
    [TK_GT] = "'>'",
    [TK_GE] = "'>='",
    [TK_EQ] = "'=='",
    [TK_NE] = "'!='",
};

const char *flow_tok_spelling(TokKind k) {
  return (unsigned)k < TK_COUNT ? tok_spelling[k] : "token";
}

void flow_tokens_free(TokList *t) {
  free(t->tok);
  t->tok = NULL;
  t->n = t->cap = 0;
}

typedef struct Lexer {
  BudContext *ctx;
  const char *src;
  int32_t len, i;
  int depth; /* open parentheses: newlines inside them are not statement separators */
  TokList *out;
} Lexer;

static BudStatus push(Lexer *L, TokKind kind, int32_t pos, int32_t len, Token **tok) {
  TokList *t = L->out;
  if (t->n == t->cap) {
    int32_t cap = t->cap ? t->cap * 2 : 64;
    Token *nt = realloc(t->tok, (size_t)cap * sizeof *nt);
    if (!nt) return bud_fail(L->ctx, BUD_ERR_NOMEM, "out of memory while reading the expression");
    t->tok = nt;
    t->cap = cap;
  }
  Token *k = &t->tok[t->n++];
  memset(k, 0, sizeof *k);
  k->kind = kind;
  k->pos = pos;
  k->len = len;
  if (tok) *tok = k;
  return BUD_OK;
}

static bool is_ident_start(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_ident(int c) { return is_ident_start(c) || is_digit(c); }

static int digit_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

static BudStatus lex_error(Lexer *L, int32_t pos, const char *hint, const char *what) {
  return flow_error(L->ctx, BUD_ERR_PARSE, L->src, L->len, pos, hint, "%s", what);
}

/* Reads digits of `base` with single '_' between them, accumulating into *acc (when acc is
 * not NULL). Returns false on a misplaced '_'; *overflow is set when the value exceeds uint64. */
static bool read_digits(Lexer *L, int base, uint64_t *acc, bool *overflow, int32_t *ndigits) {
  const char *s = L->src;
  *ndigits = 0;
  while (L->i < L->len) {
    int c = s[L->i];
    if (c == '_') {
      if (*ndigits == 0 && base == 10) return false; /* "_1" cannot occur; "1__2" can */
      if (L->i + 1 >= L->len || digit_value(s[L->i + 1]) >= base) return false;
      L->i++;
      continue;
    }
    int d = digit_value(c);
    if (d >= base) break;
    if (acc && !*overflow) {
      if (*acc > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
        *overflow = true;
      else
        *acc = *acc * (uint64_t)base + (uint64_t)d;
    }
    (*ndigits)++;
    L->i++;
  }
  return true;
}

static BudStatus finish_int(Lexer *L, Token *t, int32_t start, uint64_t v, bool overflow) {
  if (overflow)
    return lex_error(L, start, "; the largest is 18446744073709551615",
                     "integer literal is too large");
  if (v > (uint64_t)INT64_MAX)
    t->is_uint = true, t->v.u = v;
  else
    t->v.i = (int64_t)v;
  return BUD_OK;
}

/* A number literal starting at L->i (a digit, or '.' followed by a digit). */
static BudStatus lex_number(Lexer *L) {
  const char *s = L->src;
  int32_t start = L->i;
  uint64_t v = 0;
  bool overflow = false, is_float = false, has_underscore = false;
  int32_t nd = 0;
  Token *t;
  int base = 10;
  if (s[start] == '0' && start + 1 < L->len) {
    char c = s[start + 1];
    if (c == 'x' || c == 'X')
      base = 16;
    else if (c == 'o' || c == 'O')
      base = 8;
    else if (c == 'b' || c == 'B')
      base = 2;
  }
  if (base != 10) {
    L->i += 2;
    if (L->i < L->len && s[L->i] == '_') L->i++; /* Python allows 0x_ff */
    if (!read_digits(L, base, &v, &overflow, &nd) || nd == 0 ||
        (L->i < L->len && (is_ident(s[L->i]) || s[L->i] == '.')))
      return lex_error(L, start, NULL, "invalid number literal");
    BudStatus st = push(L, TK_INT, start, L->i - start, &t);
    return st ? st : finish_int(L, t, start, v, overflow);
  }
  if (!read_digits(L, 10, &v, &overflow, &nd))
    return lex_error(L, start, NULL, "invalid number literal");
  int32_t int_digits = nd;
  if (L->i < L->len && s[L->i] == '.') {
    is_float = true;
    L->i++;
    if (L->i < L->len && s[L->i] == '_') return lex_error(L, start, NULL, "invalid number literal");
    if (!read_digits(L, 10, NULL, &overflow, &nd))
      return lex_error(L, start, NULL, "invalid number literal");
  }
  if (L->i < L->len && (s[L->i] == 'e' || s[L->i] == 'E')) {
    int32_t save = L->i;
    L->i++;
    if (L->i < L->len && (s[L->i] == '+' || s[L->i] == '-')) L->i++;
    if (L->i >= L->len || !is_digit(s[L->i])) {
      L->i = save;
      return lex_error(L, start, NULL, "invalid number literal");
    }
    if (!read_digits(L, 10, NULL, &overflow, &nd))
      return lex_error(L, start, NULL, "invalid number literal");
    is_float = true;
  }
  if (L->i < L->len && (s[L->i] == 'j' || s[L->i] == 'J'))
    return lex_error(L, start, NULL, "complex numbers are not supported");
  if (L->i < L->len && (is_ident(s[L->i]) || s[L->i] == '.'))
    return lex_error(L, start, NULL, "invalid number literal");
  int32_t n = L->i - start;
  if (memchr(s + start, '_', (size_t)n)) has_underscore = true;
  if (!is_float) {
    /* Python forbids leading zeros in a non-zero decimal literal (ambiguous with C octal). */
    if (s[start] == '0' && v != 0 && int_digits > 0)
      return lex_error(L, start, "; write 0o for octal", "leading zeros in an integer literal");
    if (s[start] == '0' && !overflow) {
      for (int32_t k = start; k < L->i; k++)
        if (s[k] != '0' && s[k] != '_') return lex_error(L, start, NULL, "invalid number literal");
    }
    BudStatus st = push(L, TK_INT, start, n, &t);
    return st ? st : finish_int(L, t, start, v, overflow);
  }
  /* strtod reads exactly the validated text: the character after it cannot continue a number. */
  double d;
  if (has_underscore) {
    char *buf = malloc((size_t)n + 1);
    if (!buf) return bud_fail(L->ctx, BUD_ERR_NOMEM, "out of memory while reading the expression");
    size_t k = 0;
    for (int32_t j = start; j < L->i; j++)
      if (s[j] != '_') buf[k++] = s[j];
    buf[k] = '\0';
    d = strtod(buf, NULL);
    free(buf);
  } else {
    d = strtod(s + start, NULL);
  }
  BudStatus st = push(L, TK_FLOAT, start, n, &t);
  if (st) return st;
  t->v.f = d;
  return BUD_OK;
}

static BudStatus lex_bad_char(Lexer *L) {
  unsigned char c = (unsigned char)L->src[L->i];
  int32_t pos = L->i;
  char what[96];
  if (c == '"' || c == '\'') return lex_error(L, pos, NULL, "strings are not supported");
  if (c >= 0x80) {
    snprintf(what, sizeof what, "non-ASCII character (byte 0x%02x)", c);
    return lex_error(L, pos, NULL, what);
  }
  if (c < 0x20 || c == 0x7f) {
    snprintf(what, sizeof what, "invalid control character (byte 0x%02x)", c);
    return lex_error(L, pos, NULL, what);
  }
  if (c == '[' || c == ']')
    return lex_error(L, pos, NULL, "indexing with '[' ']' is not supported");
  if (c == '!')
    return lex_error(L, pos, "; use '~' for not, '!=' for inequality", "unexpected character '!'");
  snprintf(what, sizeof what, "unexpected character '%c'", c);
  return lex_error(L, pos, NULL, what);
}

/* Python keywords Flow does not have, with what to write instead ("None" is left to the parser:
 * it may be an axis). */
static const struct {
  const char *word;
  const char *hint;
} keywords[] = {
    {"and", "; use '&'"},
    {"or", "; use '|'"},
    {"not", "; use '~'"},
    {"if", "; use where(condition, a, b)"},
    {"else", "; use where(condition, a, b)"},
    {"is", "; use '=='"},
    {"lambda", NULL},
    {"in", NULL},
    {"for", NULL},
    {"while", NULL},
    {"def", NULL},
    {"return", NULL},
    {"import", NULL},
    {"from", NULL},
    {"elif", NULL},
    {"yield", NULL},
    {"await", NULL},
    {"async", NULL},
    {"class", NULL},
    {"del", NULL},
    {"global", NULL},
    {"nonlocal", NULL},
    {"pass", NULL},
    {"raise", NULL},
    {"try", NULL},
    {"except", NULL},
    {"finally", NULL},
    {"with", NULL},
    {"as", NULL},
    {"assert", NULL},
    {"break", NULL},
    {"continue", NULL},
};

static BudStatus check_keyword(Lexer *L, int32_t start) {
  size_t n = (size_t)(L->i - start);
  for (size_t k = 0; k < BUD_ARRAY_LEN(keywords); k++)
    if (strlen(keywords[k].word) == n && memcmp(L->src + start, keywords[k].word, n) == 0)
      return flow_error(L->ctx, BUD_ERR_PARSE, L->src, L->len, start, keywords[k].hint,
                        "'%s' is not supported", keywords[k].word);
  return BUD_OK;
}

/* Operators, longest first. */
static const struct {
  const char *text;
  TokKind kind;
} operators[] = {
    {"**", TK_DSTAR}, {"//", TK_DSLASH}, {"<<", TK_SHL},    {">>", TK_SHR},  {"<=", TK_LE},
    {">=", TK_GE},    {"==", TK_EQ},     {"!=", TK_NE},     {"+", TK_PLUS},  {"-", TK_MINUS},
    {"*", TK_STAR},   {"/", TK_SLASH},   {"%", TK_PERCENT}, {"@", TK_AT},    {"&", TK_AMP},
    {"|", TK_PIPE},   {"^", TK_CARET},   {"~", TK_TILDE},   {"<", TK_LT},    {">", TK_GT},
    {"=", TK_ASSIGN}, {"(", TK_LPAREN},  {")", TK_RPAREN},  {",", TK_COMMA}, {";", TK_SEMI},
};

BudStatus flow_lex(BudContext *ctx, const char *src, int32_t len, TokList *out) {
  Lexer L = {.ctx = ctx, .src = src, .len = len, .out = out};
  out->n = 0;
  int32_t last_end = 0;
  BudStatus st = BUD_OK;
  while (L.i < len && st == BUD_OK) {
    char c = src[L.i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
      L.i++;
      continue;
    }
    if (c == '#') {
      while (L.i < len && src[L.i] != '\n')
        L.i++;
      continue;
    }
    if (c == '\\') {
      int32_t j = L.i + 1;
      if (j < len && src[j] == '\r') j++;
      if (j < len && src[j] == '\n') {
        L.i = j + 1;
        continue;
      }
      st = lex_error(&L, L.i, NULL, "unexpected character '\\'");
      break;
    }
    if (c == '\n') {
      if (L.depth == 0) st = push(&L, TK_NEWLINE, L.i, 1, NULL);
      L.i++;
      continue;
    }
    int32_t start = L.i;
    if (is_digit(c) || (c == '.' && L.i + 1 < len && is_digit(src[L.i + 1]))) {
      st = lex_number(&L);
    } else if (is_ident_start(c)) {
      while (L.i < len && is_ident(src[L.i]))
        L.i++;
      if (L.i < len && (src[L.i] == '"' || src[L.i] == '\'')) {
        st = lex_error(&L, start, NULL, "strings are not supported"); /* b'..', r".." */
        break;
      }
      if ((st = check_keyword(&L, start))) break;
      st = push(&L, TK_NAME, start, L.i - start, NULL);
    } else {
      size_t k;
      for (k = 0; k < BUD_ARRAY_LEN(operators); k++) {
        size_t n = strlen(operators[k].text);
        if ((size_t)(len - L.i) >= n && memcmp(src + L.i, operators[k].text, n) == 0) break;
      }
      if (k == BUD_ARRAY_LEN(operators)) {
        st = lex_bad_char(&L);
        break;
      }
      TokKind kind = operators[k].kind;
      int32_t n = (int32_t)strlen(operators[k].text);
      if (kind == TK_LPAREN) L.depth++;
      if (kind == TK_RPAREN && L.depth > 0) L.depth--;
      st = push(&L, kind, start, n, NULL);
      L.i += n;
    }
    last_end = L.i;
  }
  if (st == BUD_OK) st = push(&L, TK_EOF, last_end, 0, NULL);
  if (st != BUD_OK) out->n = 0;
  return st;
}
