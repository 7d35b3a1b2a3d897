/* parser.c — the Flow parser: recursive descent over the token list, building Graph IR through
 * the builder in ir/ (which types every node as NumPy does). Statements `name = expr` separated by
 * ';' or newlines; outputs are the assigned names not starting with '_' and a trailing bare
 * expression ("out"). Literals stay pending until an operator needs them, so `-3` is one constant.
 * The same parser, run without a graph, lists the free variables of a source.
 * Entry points: flow_parse, flow_free_names.
 */
#include "front/front.h"
#include "front/flow_lex.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ------------------------------------------------------------------------------------
 */

enum { LIT_NONE, LIT_INT, LIT_UINT, LIT_FLOAT, LIT_BOOL };

/* A parsed subexpression: a node, or a literal not yet added to the graph. */
typedef struct Val {
  int32_t node;
  int lit;
  Scalar v;
} Val;

/* A name (a byte range of the source, or a static string) and, for assigned names, the node of
 * its latest assignment. */
typedef struct Binding {
  const char *name;
  int32_t len;
  int32_t node;
} Binding;

/* Names in order of insertion, with an open-addressing index (slots hold entry + 1; 0 = empty). */
typedef struct NameSet {
  Binding *e;
  int32_t n, cap;
  int32_t *slot;
  int32_t nslot; /* power of two, at least 2 * n */
} NameSet;

typedef struct Parser {
  BudContext *ctx;
  IrGraph *g; /* NULL when only collecting free names */
  const char *src;
  int32_t len;
  Token *tok;
  int32_t ntok, i;
  int depth;
  NameSet bound;   /* assigned names, in order of first assignment */
  NameSet unbound; /* free-names mode: variables used before any assignment (arena copies) */
  Arena *arena;
} Parser;

static BudStatus oom(Parser *p) {
  return bud_fail(p->ctx, BUD_ERR_NOMEM, "out of memory while parsing the expression");
}

static uint32_t name_hash(const char *s, int32_t n) {
  return (uint32_t)hash_bytes(s, (size_t)n, 0x666c6f77);
}

static int32_t set_find(const NameSet *t, const char *s, int32_t n) {
  if (!t->nslot) return -1;
  uint32_t mask = (uint32_t)t->nslot - 1;
  for (uint32_t h = name_hash(s, n) & mask;; h = (h + 1) & mask) {
    int32_t k = t->slot[h] - 1;
    if (k < 0) return -1;
    if (t->e[k].len == n && memcmp(t->e[k].name, s, (size_t)n) == 0) return k;
  }
}

static void set_index(NameSet *t, int32_t k) {
  uint32_t mask = (uint32_t)t->nslot - 1;
  uint32_t h = name_hash(t->e[k].name, t->e[k].len) & mask;
  while (t->slot[h])
    h = (h + 1) & mask;
  t->slot[h] = k + 1;
}

/* Appends a name not yet in t. */
static bool set_add(NameSet *t, Binding b) {
  if (t->n == t->cap) {
    int32_t cap = t->cap ? t->cap * 2 : 16;
    Binding *e = realloc(t->e, (size_t)cap * sizeof *e);
    if (!e) return false;
    t->e = e;
    t->cap = cap;
  }
  t->e[t->n++] = b;
  if ((int64_t)t->n * 2 > t->nslot) {
    int32_t nslot = t->nslot ? t->nslot * 2 : 64;
    int32_t *slot = calloc((size_t)nslot, sizeof *slot);
    if (!slot) return false;
    free(t->slot);
    t->slot = slot;
    t->nslot = nslot;
    for (int32_t k = 0; k < t->n; k++)
      set_index(t, k);
  } else {
    set_index(t, t->n - 1);
  }
  return true;
}

static void set_free(NameSet *t) {
  free(t->e);
  free(t->slot);
}

static BudStatus bind_name(Parser *p, const char *s, int32_t n, int32_t node) {
  int32_t k = set_find(&p->bound, s, n);
  if (k >= 0)
    p->bound.e[k].node = node;
  else if (!set_add(&p->bound, (Binding){s, n, node}))
    return oom(p);
  return BUD_OK;
}

static BudStatus add_free_name(Parser *p, const char *s, int32_t n) {
  if (set_find(&p->unbound, s, n) >= 0) return BUD_OK;
  const char *copy = arena_strndup(p->arena, s, (size_t)n);
  if (!copy || !set_add(&p->unbound, (Binding){copy, n, 0})) return oom(p);
  return BUD_OK;
}

/* ---- errors ------------------------------------------------------------------------------------
 */

static Token *cur(Parser *p) { return &p->tok[p->i]; }
static Token *peek(Parser *p, int k) {
  int32_t j = p->i + k;
  return &p->tok[j < p->ntok ? j : p->ntok - 1];
}

#define ERR(p, st, pos, hint, ...)                                                                 \
  flow_error((p)->ctx, st, (p)->src, (p)->len, pos, hint, __VA_ARGS__)

/* "unexpected '+' at column 3" and the like. */
static BudStatus unexpected(Parser *p, const Token *t, const char *hint) {
  if (t->kind == TK_NAME || t->kind == TK_INT || t->kind == TK_FLOAT) {
    char buf[72];
    flow_clip_name(buf, 60, p->src + t->pos, (size_t)t->len);
    return ERR(p, BUD_ERR_PARSE, t->pos, hint, "unexpected '%s'", buf);
  }
  return ERR(p, BUD_ERR_PARSE, t->pos, hint, "unexpected %s", flow_tok_spelling(t->kind));
}

/* A failure the IR builder reported (its message on g->ctx): repeated with the position. */
static BudStatus ir_failure(Parser *p, int32_t st, int32_t pos) {
  char msg[BUD_ERRMSG_MAX];
  BudContext *ictx = p->g && p->g->ctx ? p->g->ctx : p->ctx;
  snprintf(msg, sizeof msg, "%s", bud_last_error(ictx));
  if (!msg[0]) snprintf(msg, sizeof msg, "%s", bud_status_name((BudStatus)st));
  if (st == BUD_ERR_NOMEM) return bud_fail(p->ctx, BUD_ERR_NOMEM, "%s", msg);
  return flow_error_prefixed(p->ctx, (BudStatus)st, p->src, p->len, pos, msg);
}

/* ---- emitting nodes (no-ops in free-names mode) ------------------------------------------------
 */

static BudStatus materialize(Parser *p, Val *v, int32_t pos) {
  if (v->lit == LIT_NONE) return BUD_OK;
  if (!p->g) {
    v->lit = LIT_NONE;
    v->node = 0;
    return BUD_OK;
  }
  BudDType dt = v->lit == LIT_INT     ? BUD_INT64
                : v->lit == LIT_UINT  ? BUD_UINT64
                : v->lit == LIT_FLOAT ? BUD_FLOAT64
                                      : BUD_BOOL;
  int32_t id = ir_const(p->g, dt, v->v);
  if (id < 0) return ir_failure(p, id, pos);
  v->node = id;
  v->lit = LIT_NONE;
  return BUD_OK;
}

static BudStatus emit_op(Parser *p, Op op, int nin, Val *args, int32_t pos, Val *out) {
  int32_t in[IR_MAX_ARGS];
  for (int k = 0; k < nin; k++) {
    BudStatus st = materialize(p, &args[k], pos);
    if (st) return st;
    in[k] = args[k].node;
  }
  *out = (Val){0};
  if (!p->g) return BUD_OK;
  int32_t id = ir_op(p->g, op, nin, in);
  if (id < 0) return ir_failure(p, id, pos);
  out->node = id;
  return BUD_OK;
}

static BudStatus emit_cast(Parser *p, Val *x, BudDType to, int32_t pos, Val *out) {
  BudStatus st = materialize(p, x, pos);
  if (st) return st;
  *out = (Val){0};
  if (!p->g) return BUD_OK;
  int32_t id = ir_cast(p->g, x->node, to);
  if (id < 0) return ir_failure(p, id, pos);
  out->node = id;
  return BUD_OK;
}

static BudStatus emit_reduce(Parser *p, Op op, Val *x, int axis, int32_t pos, Val *out) {
  BudStatus st = materialize(p, x, pos);
  if (st) return st;
  *out = (Val){0};
  if (!p->g) return BUD_OK;
  int32_t id = ir_reduce(p->g, op, x->node, axis);
  if (id < 0) return ir_failure(p, id, pos);
  out->node = id;
  return BUD_OK;
}

/* ---- folding literals --------------------------------------------------------------------------
 */

/* Python evaluates arithmetic on number literals before NumPy sees the result, so `i8 + 2*150`
 * is int8 + 300 (value-based casting sees 300). Folds int and float literals where Python's result
 * is an int64 or a float; anything else (overflow, division by zero, bools) is left to the IR. */
static double lit_double(const Val *v) { return v->lit == LIT_INT ? (double)v->v.i : v->v.f; }

static bool fold_binary(Op op, const Val *l, const Val *r, Val *out) {
  bool li = l->lit == LIT_INT, ri = r->lit == LIT_INT;
  if (!(li || l->lit == LIT_FLOAT) || !(ri || r->lit == LIT_FLOAT)) return false;
  Val v = {.lit = LIT_INT};
  if (li && ri) {
    int64_t a = l->v.i, b = r->v.i, res;
    switch (op) {
    case OP_add:
      if (__builtin_add_overflow(a, b, &res)) return false;
      break;
    case OP_sub:
      if (__builtin_sub_overflow(a, b, &res)) return false;
      break;
    case OP_mul:
      if (__builtin_mul_overflow(a, b, &res)) return false;
      break;
    case OP_floordiv:
    case OP_mod: {
      if (b == 0 || (a == INT64_MIN && b == -1)) return false;
      int64_t q = a / b, m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) q--, m += b;
      res = op == OP_floordiv ? q : m;
      break;
    }
    case OP_pow:
      if (b < 0) {
        if (a == 0) return false;
        v.lit = LIT_FLOAT;
        v.v.f = pow((double)a, (double)b);
        *out = v;
        return true;
      }
      res = 1;
      for (int64_t k = 0; k < b; k++) {
        if (__builtin_mul_overflow(res, a, &res)) return false;
        if (res == 0 || res == 1) break;
        if (res == -1) {
          res = ((b - k - 1) % 2) ? -res : res;
          break;
        }
      }
      break;
    case OP_div:
      if (b == 0) return false;
      v.lit = LIT_FLOAT;
      v.v.f = (double)a / (double)b;
      *out = v;
      return true;
    default:
      return false;
    }
    v.v.i = res;
    *out = v;
    return true;
  }
  double a = lit_double(l), b = lit_double(r);
  v.lit = LIT_FLOAT;
  switch (op) {
  case OP_add:
    v.v.f = a + b;
    break;
  case OP_sub:
    v.v.f = a - b;
    break;
  case OP_mul:
    v.v.f = a * b;
    break;
  case OP_div:
    if (b == 0) return false;
    v.v.f = a / b;
    break;
  default:
    return false;
  }
  *out = v;
  return true;
}

/* ---- names -------------------------------------------------------------------------------------
 */

static bool tok_is(const Parser *p, const Token *t, const char *word) {
  size_t n = strlen(word);
  return t->kind == TK_NAME && (size_t)t->len == n && memcmp(p->src + t->pos, word, n) == 0;
}

static bool is_literal_name(const Parser *p, const Token *t) {
  return tok_is(p, t, "True") || tok_is(p, t, "False") || tok_is(p, t, "inf") ||
         tok_is(p, t, "nan") || tok_is(p, t, "None");
}

/* ---- functions ---------------------------------------------------------------------------------
 */

enum { FN_OP, FN_REDUCE, FN_CAST };

typedef struct Func {
  int kind;
  Op op;
  BudDType dt;
  int nargs;
} Func;

/* Python's names for casts, besides the dtype names. */
static const struct {
  const char *name;
  BudDType dt;
} cast_aliases[] = {{"float", BUD_FLOAT64}, {"int", BUD_INT64}, {"double", BUD_FLOAT64}};

static bool user_callable(Op op) {
  const OpInfo *oi = op_info(op);
  return !(oi->flags & F_INTERNAL) && oi->nargs > 0 && op != OP_cast;
}

static bool find_function(const char *name, Func *f) {
  BudDType dt;
  if (bud_dtype_from_name(name, &dt) == BUD_OK) {
    *f = (Func){FN_CAST, OP_cast, dt, 1};
    return true;
  }
  for (size_t k = 0; k < BUD_ARRAY_LEN(cast_aliases); k++)
    if (strcmp(name, cast_aliases[k].name) == 0) {
      *f = (Func){FN_CAST, OP_cast, cast_aliases[k].dt, 1};
      return true;
    }
  int op = strcmp(name, "pow") == 0 ? (int)OP_pow : op_lookup(name);
  if (op < 0 || !user_callable((Op)op)) return false;
  const OpInfo *oi = op_info((Op)op);
  *f = (Func){oi->pclass == PC_REDUCTION ? FN_REDUCE : FN_OP, (Op)op, BUD_BOOL, oi->nargs};
  return true;
}

static int edit_distance(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  int row[40];
  if (na >= 40 || nb >= 40) return 99;
  for (size_t j = 0; j <= nb; j++)
    row[j] = (int)j;
  for (size_t i = 1; i <= na; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= nb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      if (up + 1 < best) best = up + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

/* The callable name closest to `name` within edit distance 2, or NULL. */
static const char *suggest_function(const char *name) {
  const char *best = NULL;
  int bestd = 3;
  size_t n = strlen(name);
#define TRY(cand)                                                                                  \
  do {                                                                                             \
    int d_ = edit_distance(name, cand);                                                            \
    if (d_ < bestd && (size_t)d_ < n) bestd = d_, best = cand;                                     \
  } while (0)
  for (int op = 0; op < OP_COUNT; op++)
    if (user_callable((Op)op)) TRY(op_info((Op)op)->name);
  for (int dt = 0; dt < BUD_NDTYPES; dt++)
    TRY(bud_dtype_name((BudDType)dt));
  TRY("pow");
#undef TRY
  return best;
}

/* ---- expressions -------------------------------------------------------------------------------
 */

static BudStatus parse_expr(Parser *p, Val *out);
static BudStatus parse_factor(Parser *p, Val *out);

#define MAX_CALL_ARGS 4

static BudStatus expect_close(Parser *p, int32_t open_pos) {
  Token *t = cur(p);
  if (t->kind == TK_RPAREN) {
    p->i++;
    return BUD_OK;
  }
  if (t->kind == TK_EOF) return ERR(p, BUD_ERR_PARSE, open_pos, NULL, "'(' is never closed");
  return unexpected(p, t, "; expected ')'");
}

/* axis := ['-' | '+'] integer | None, followed by ',' or ')'. */
static BudStatus parse_axis(Parser *p, int *axis) {
  int32_t pos = cur(p)->pos;
  if (tok_is(p, cur(p), "None")) {
    p->i++;
    *axis = BUD_AXIS_ALL;
  } else {
    bool neg = false;
    if (cur(p)->kind == TK_MINUS || cur(p)->kind == TK_PLUS) neg = cur(p)->kind == TK_MINUS, p->i++;
    Token *t = cur(p);
    if (t->kind != TK_INT)
      return ERR(p, BUD_ERR_PARSE, pos, NULL, "axis must be an integer literal");
    p->i++;
    int64_t v = t->is_uint ? INT64_MAX : t->v.i;
    if (neg) v = -v;
    if (v < -BUD_MAX_DIMS - 1 || v > BUD_MAX_DIMS + 1)
      return ERR(p, BUD_ERR_SHAPE, pos, NULL, "axis %s%.*s is out of bounds", neg ? "-" : "",
                 t->len > 40 ? 40 : (int)t->len, p->src + t->pos);
    *axis = (int)v;
  }
  if (cur(p)->kind != TK_COMMA && cur(p)->kind != TK_RPAREN)
    return ERR(p, BUD_ERR_PARSE, pos, NULL, "axis must be an integer literal");
  return BUD_OK;
}

static BudStatus parse_call(Parser *p, Val *out) {
  Token *name_tok = cur(p);
  int32_t fpos = name_tok->pos;
  char name[72];
  flow_clip_name(name, 64, p->src + name_tok->pos, (size_t)name_tok->len);
  if (!strcmp(name, "conj") || !strcmp(name, "real") || !strcmp(name, "imag") ||
      !strcmp(name, "complex"))
    return ERR(p, BUD_ERR_PARSE, fpos, "; complex numbers are not supported",
               "function '%s' is not supported", name);
  if (!strcmp(name, "contains"))
    return ERR(p, BUD_ERR_PARSE, fpos, "; strings are not supported",
               "function '%s' is not supported", name);
  Func f;
  if (name_tok->len > 64 || !find_function(name, &f)) {
    const char *s = name_tok->len <= 64 ? suggest_function(name) : NULL;
    char hint[96] = "";
    if (s) snprintf(hint, sizeof hint, "; did you mean '%s'?", s);
    return ERR(p, BUD_ERR_NAME, fpos, hint, "unknown function '%s'", name);
  }
  int32_t open_pos = peek(p, 1)->pos;
  p->i += 2;
  Val args[MAX_CALL_ARGS];
  int nargs = 0;
  bool has_axis = false;
  int axis = BUD_AXIS_ALL;
  BudStatus st;
  while (cur(p)->kind != TK_RPAREN) {
    Token *t = cur(p);
    if (t->kind == TK_NAME && peek(p, 1)->kind == TK_ASSIGN) { /* keyword argument */
      if (f.kind != FN_REDUCE || !tok_is(p, t, "axis")) {
        char kwname[72];
        flow_clip_name(kwname, 60, p->src + t->pos, (size_t)t->len);
        return ERR(p, BUD_ERR_PARSE, t->pos, NULL, "function '%s' has no argument '%s'", name,
                   kwname);
      }
      if (has_axis || nargs > 1) return ERR(p, BUD_ERR_PARSE, t->pos, NULL, "axis is given twice");
      p->i += 2;
      if ((st = parse_axis(p, &axis))) return st;
      has_axis = true;
    } else {
      if (has_axis) return ERR(p, BUD_ERR_PARSE, t->pos, NULL, "positional argument follows axis=");
      Val v = {0};
      if (f.kind == FN_REDUCE && nargs == 1) {
        if ((st = parse_axis(p, &axis))) return st;
      } else if ((st = parse_expr(p, &v))) {
        return st;
      }
      if (nargs < MAX_CALL_ARGS) args[nargs] = v;
      nargs++;
    }
    if (cur(p)->kind == TK_COMMA) {
      p->i++;
      continue;
    }
    if (cur(p)->kind != TK_RPAREN) break;
  }
  if ((st = expect_close(p, open_pos))) return st;
  if (f.kind == FN_REDUCE) {
    int total = nargs + (has_axis ? 1 : 0);
    if (nargs < 1 || total > 2)
      return ERR(p, BUD_ERR_PARSE, fpos, NULL, "function '%s' takes 1 or 2 arguments, %d given",
                 name, total);
    return emit_reduce(p, f.op, &args[0], axis, fpos, out);
  }
  if (nargs != f.nargs)
    return ERR(p, BUD_ERR_PARSE, fpos, NULL, "function '%s' takes %d argument%s, %d given", name,
               f.nargs, f.nargs == 1 ? "" : "s", nargs);
  if (f.kind == FN_CAST) return emit_cast(p, &args[0], f.dt, fpos, out);
  return emit_op(p, f.op, nargs, args, fpos, out);
}

static BudStatus parse_variable(Parser *p, const Token *t, Val *out) {
  const char *s = p->src + t->pos;
  int32_t n = t->len;
  *out = (Val){0};
  int32_t b = set_find(&p->bound, s, n);
  if (b >= 0) {
    out->node = p->bound.e[b].node;
    return BUD_OK;
  }
  if (!p->g) return add_free_name(p, s, n);
  for (int k = 0; k < p->g->ninputs; k++) {
    const char *in = p->g->inputs[k].name;
    if (in && strlen(in) == (size_t)n && memcmp(in, s, (size_t)n) == 0) {
      out->node = p->g->inputs[k].node;
      return BUD_OK;
    }
  }
  char name[72];
  flow_clip_name(name, 64, s, (size_t)n);
  return ERR(p, BUD_ERR_NAME, t->pos, NULL, "unknown variable '%s'", name);
}

static BudStatus parse_primary(Parser *p, Val *out) {
  Token *t = cur(p);
  *out = (Val){0};
  switch (t->kind) {
  case TK_INT:
    p->i++;
    out->lit = t->is_uint ? LIT_UINT : LIT_INT;
    out->v = t->v;
    return BUD_OK;
  case TK_FLOAT:
    p->i++;
    out->lit = LIT_FLOAT;
    out->v = t->v;
    return BUD_OK;
  case TK_LPAREN: {
    p->i++;
    BudStatus st = parse_expr(p, out);
    return st ? st : expect_close(p, t->pos);
  }
  case TK_NAME: {
    if (peek(p, 1)->kind == TK_LPAREN) return parse_call(p, out);
    if (tok_is(p, t, "None")) return ERR(p, BUD_ERR_PARSE, t->pos, NULL, "'None' is not supported");
    p->i++;
    if (tok_is(p, t, "True") || tok_is(p, t, "False")) {
      out->lit = LIT_BOOL;
      out->v.i = tok_is(p, t, "True");
      return BUD_OK;
    }
    if (tok_is(p, t, "inf") || tok_is(p, t, "nan")) {
      out->lit = LIT_FLOAT;
      out->v.f = tok_is(p, t, "inf") ? INFINITY : NAN;
      return BUD_OK;
    }
    return parse_variable(p, t, out);
  }
  default:
    return unexpected(p, t, NULL);
  }
}

/* power := primary ['**' factor]   (right-associative; binds tighter than a unary on its left) */
static BudStatus parse_power(Parser *p, Val *out) {
  BudStatus st = parse_primary(p, out);
  if (st || cur(p)->kind != TK_DSTAR) return st;
  int32_t pos = cur(p)->pos;
  p->i++;
  Val args[2] = {*out, {0}};
  if ((st = parse_factor(p, &args[1]))) return st;
  if (fold_binary(OP_pow, &args[0], &args[1], out)) return BUD_OK;
  return emit_op(p, OP_pow, 2, args, pos, out);
}

/* Negation and inversion of literals, as Python evaluates them before NumPy sees them. */
static bool fold_unary(TokKind k, Val *v) {
  if (k == TK_MINUS) {
    if (v->lit == LIT_INT) {
      if (v->v.i == INT64_MIN)
        v->lit = LIT_UINT, v->v.u = (uint64_t)1 << 63;
      else
        v->v.i = -v->v.i;
      return true;
    }
    if (v->lit == LIT_UINT && v->v.u == (uint64_t)1 << 63) {
      v->lit = LIT_INT;
      v->v.i = INT64_MIN;
      return true;
    }
    if (v->lit == LIT_FLOAT) {
      v->v.f = -v->v.f;
      return true;
    }
  } else if (k == TK_TILDE && v->lit == LIT_INT) {
    v->v.i = ~v->v.i;
    return true;
  }
  return false;
}

/* factor := ('+' | '-' | '~') factor | power */
static BudStatus parse_factor(Parser *p, Val *out) {
  Token *t = cur(p);
  if (p->depth >= FLOW_MAX_DEPTH + 1)
    return ERR(p, BUD_ERR_LIMIT, t->pos, NULL, "expression nests deeper than %d levels",
               FLOW_MAX_DEPTH);
  p->depth++;
  BudStatus st;
  if (t->kind == TK_PLUS || t->kind == TK_MINUS || t->kind == TK_TILDE) {
    p->i++;
    st = parse_factor(p, out);
    if (!st && t->kind != TK_PLUS && !fold_unary(t->kind, out)) {
      if (out->lit == LIT_UINT && t->kind == TK_MINUS)
        st = ERR(p, BUD_ERR_PARSE, t->pos, "; the smallest is -9223372036854775808",
                 "integer literal is too small");
      else {
        Val arg = *out;
        st = emit_op(p, t->kind == TK_MINUS ? OP_neg : OP_not, 1, &arg, t->pos, out);
      }
    }
  } else {
    st = parse_power(p, out);
  }
  p->depth--;
  return st;
}

/* Binary levels, loosest first (Python's order); comparisons are handled in parse_expr. */
enum { LV_OR, LV_XOR, LV_AND, LV_SHIFT, LV_ARITH, LV_TERM, LV_COUNT };

static bool level_op(int level, TokKind k, Op *op) {
  switch (level) {
  case LV_OR:
    return k == TK_PIPE ? (*op = OP_or, true) : false;
  case LV_XOR:
    return k == TK_CARET ? (*op = OP_xor, true) : false;
  case LV_AND:
    return k == TK_AMP ? (*op = OP_and, true) : false;
  case LV_SHIFT:
    if (k == TK_SHL) return *op = OP_shl, true;
    if (k == TK_SHR) return *op = OP_shr, true;
    return false;
  case LV_ARITH:
    if (k == TK_PLUS) return *op = OP_add, true;
    if (k == TK_MINUS) return *op = OP_sub, true;
    return false;
  case LV_TERM:
    switch (k) {
    case TK_STAR:
      return *op = OP_mul, true;
    case TK_SLASH:
      return *op = OP_div, true;
    case TK_DSLASH:
      return *op = OP_floordiv, true;
    case TK_PERCENT:
      return *op = OP_mod, true;
    case TK_AT:
      return *op = OP_matmul, true;
    default:
      return false;
    }
  default:
    return false;
  }
}

static BudStatus parse_binary(Parser *p, int level, Val *out) {
  if (level == LV_COUNT) return parse_factor(p, out);
  BudStatus st = parse_binary(p, level + 1, out);
  Op op;
  while (!st && level_op(level, cur(p)->kind, &op)) {
    int32_t pos = cur(p)->pos;
    p->i++;
    Val args[2] = {*out, {0}};
    if ((st = parse_binary(p, level + 1, &args[1]))) break;
    if (!fold_binary(op, &args[0], &args[1], out)) st = emit_op(p, op, 2, args, pos, out);
  }
  return st;
}

static bool compare_op(TokKind k, Op *op) {
  switch (k) {
  case TK_LT:
    return *op = OP_lt, true;
  case TK_LE:
    return *op = OP_le, true;
  case TK_GT:
    return *op = OP_gt, true;
  case TK_GE:
    return *op = OP_ge, true;
  case TK_EQ:
    return *op = OP_eq, true;
  case TK_NE:
    return *op = OP_ne, true;
  default:
    return false;
  }
}

/* expr := or_expr [compare or_expr]   (a chained comparison is refused) */
static BudStatus parse_expr(Parser *p, Val *out) {
  BudStatus st = parse_binary(p, LV_OR, out);
  Op op, next;
  if (st || !compare_op(cur(p)->kind, &op)) return st;
  int32_t pos = cur(p)->pos;
  p->i++;
  Val args[2] = {*out, {0}};
  if ((st = parse_binary(p, LV_OR, &args[1]))) return st;
  if (compare_op(cur(p)->kind, &next))
    return ERR(p, BUD_ERR_PARSE, cur(p)->pos, " is not supported; write (a < b) & (b < c)",
               "chained comparison");
  return emit_op(p, op, 2, args, pos, out);
}

/* ---- statements --------------------------------------------------------------------------------
 */

static bool at_separator(Parser *p) {
  TokKind k = cur(p)->kind;
  return k == TK_NEWLINE || k == TK_SEMI || k == TK_EOF;
}

static void skip_separators(Parser *p) {
  while (cur(p)->kind == TK_NEWLINE || cur(p)->kind == TK_SEMI)
    p->i++;
}

static BudStatus add_outputs(Parser *p) {
  int n = 0;
  for (int32_t k = 0; k < p->bound.n; k++) {
    const Binding *b = &p->bound.e[k];
    if (b->name[0] == '_') continue;
    char *name = arena_strndup(&p->g->arena, b->name, (size_t)b->len);
    if (!name) return oom(p);
    BudStatus st = ir_output(p->g, name, b->node);
    if (st < 0) {
      bool in_src = b->name >= p->src && b->name < p->src + p->len;
      return ir_failure(p, st, in_src ? (int32_t)(b->name - p->src) : 0);
    }
    n++;
  }
  if (n == 0)
    return ERR(p, BUD_ERR_PARSE, 0, "; names starting with '_' are not outputs",
               "the program has no outputs");
  return BUD_OK;
}

static BudStatus parse_program(Parser *p) {
  static const char out_name[] = "out";
  skip_separators(p);
  if (cur(p)->kind == TK_EOF) return bud_fail(p->ctx, BUD_ERR_PARSE, "empty expression");
  int32_t bare_pos = -1;
  Val bare = {0};
  BudStatus st;
  while (cur(p)->kind != TK_EOF) {
    Token *t = cur(p);
    int32_t spos = t->pos;
    if (bare_pos >= 0)
      return ERR(p, BUD_ERR_PARSE, bare_pos, NULL, "expression statement has no effect");
    Val v;
    if (t->kind == TK_NAME && peek(p, 1)->kind == TK_ASSIGN) {
      if (is_literal_name(p, t)) {
        char name[16];
        flow_clip_name(name, 8, p->src + t->pos, (size_t)t->len);
        return ERR(p, BUD_ERR_PARSE, spos, NULL, "cannot assign to '%s'", name);
      }
      p->i += 2;
      if ((st = parse_expr(p, &v)) || (st = materialize(p, &v, spos))) return st;
      if ((st = bind_name(p, p->src + t->pos, t->len, v.node))) return st;
    } else {
      if ((st = parse_expr(p, &v)) || (st = materialize(p, &v, spos))) return st;
      bare = v;
      bare_pos = spos;
    }
    if (!at_separator(p)) {
      if (cur(p)->kind == TK_ASSIGN)
        return ERR(p, BUD_ERR_PARSE, cur(p)->pos, "; only a name can be assigned",
                   "unexpected '='");
      return unexpected(p, cur(p), NULL);
    }
    skip_separators(p);
  }
  if (bare_pos >= 0 && (st = bind_name(p, out_name, 3, bare.node))) return st;
  return p->g ? add_outputs(p) : BUD_OK;
}

static void parser_free(Parser *p) {
  set_free(&p->bound);
  set_free(&p->unbound);
}

static BudStatus run_parser(Parser *p, const char *source) {
  size_t n = strlen(source);
  if (n > FLOW_MAX_SOURCE)
    return bud_fail(p->ctx, BUD_ERR_LIMIT, "expression is %zu bytes long; the limit is %d", n,
                    FLOW_MAX_SOURCE);
  TokList toks = {0};
  p->src = source;
  p->len = (int32_t)n;
  BudStatus st = flow_lex(p->ctx, source, p->len, &toks);
  if (st == BUD_OK) {
    p->tok = toks.tok;
    p->ntok = toks.n;
    st = parse_program(p);
  }
  flow_tokens_free(&toks);
  return st;
}

BudStatus flow_parse(BudContext *ctx, IrGraph *g, const char *source) {
  if (!g || !source) return bud_fail(ctx, BUD_ERR_INVALID, "flow_parse: no graph or no source");
  Parser p = {.ctx = ctx ? ctx : g->ctx, .g = g};
  BudStatus st = run_parser(&p, source);
  parser_free(&p);
  return st;
}

int flow_free_names(BudContext *ctx, Arena *arena, const char *source, const char ***names) {
  if (!arena || !source || !names)
    return bud_fail(ctx, BUD_ERR_INVALID, "flow_free_names: missing argument");
  Parser p = {.ctx = ctx, .arena = arena};
  BudStatus st = run_parser(&p, source);
  int result = st;
  if (st == BUD_OK) {
    const char **list = arena_alloc(arena, sizeof *list * (size_t)(p.unbound.n + 1));
    if (!list)
      result = oom(&p);
    else {
      for (int32_t k = 0; k < p.unbound.n; k++)
        list[k] = p.unbound.e[k].name;
      *names = list;
      result = p.unbound.n;
    }
  }
  parser_free(&p);
  return result;
}
