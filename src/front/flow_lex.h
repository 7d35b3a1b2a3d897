/* flow_lex.h — private to src/front: the Flow token list (lexer.c) and the error formatter both
 * the lexer and the parser use. A token is a kind and a byte range of the source; numbers carry
 * their value. Entry points: flow_lex, flow_tokens_free, flow_error, flow_error_prefixed.
 */
#ifndef BUD_FLOW_LEX_H
#define BUD_FLOW_LEX_H

#include "base/base.h"

typedef enum TokKind {
  TK_EOF,
  TK_NEWLINE,
  TK_SEMI,
  TK_NAME,
  TK_INT,
  TK_FLOAT,
  TK_LPAREN,
  TK_RPAREN,
  TK_COMMA,
  TK_ASSIGN,
  TK_PLUS,
  TK_MINUS,
  TK_STAR,
  TK_SLASH,
  TK_DSLASH,
  TK_PERCENT,
  TK_DSTAR,
  TK_AT,
  TK_SHL,
  TK_SHR,
  TK_AMP,
  TK_PIPE,
  TK_CARET,
  TK_TILDE,
  TK_LT,
  TK_LE,
  TK_GT,
  TK_GE,
  TK_EQ,
  TK_NE,
  TK_COUNT
} TokKind;

typedef struct Token {
  TokKind kind;
  int32_t pos;  /* byte offset of the first character in the source */
  int32_t len;  /* bytes; 0 for TK_EOF (placed just after the last token) */
  bool is_uint; /* TK_INT whose value exceeds INT64_MAX: held in v.u */
  Scalar v;     /* TK_INT: v.i (or v.u); TK_FLOAT: v.f */
} Token;

typedef struct TokList {
  Token *tok; /* malloc'd; the last one is TK_EOF */
  int32_t n, cap;
} TokList;

/* Splits src (len bytes, len <= FLOW_MAX_SOURCE) into tokens. Newlines inside parentheses and
 * after a backslash are not tokens; comments are skipped. On failure the message (with position)
 * is on ctx and *out is empty. The caller frees *out with flow_tokens_free in every case. */
BudStatus flow_lex(BudContext *ctx, const char *src, int32_t len, TokList *out);
void flow_tokens_free(TokList *t);

/* The spelling of a token kind for messages: "'+'", "end of line", ... */
const char *flow_tok_spelling(TokKind k);

/* Fails with "<message> at [line L, ]column C<hint>", then the source line and a caret line under
 * byte offset pos. hint may be NULL. */
BudStatus flow_error(BudContext *ctx, BudStatus st, const char *src, int32_t len, int32_t pos,
                     const char *hint, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Fails with "at [line L, ]column C: <message>" and the same two lines (for errors the IR
 * builder reported: message is its text). */
BudStatus flow_error_prefixed(BudContext *ctx, BudStatus st, const char *src, int32_t len,
                              int32_t pos, const char *message);

/* Writes at most `max` bytes of s (n bytes long) to buf (>= max + 4 bytes), with "..." when cut. */
void flow_clip_name(char *buf, size_t max, const char *s, size_t n);

#endif /* BUD_FLOW_LEX_H */
