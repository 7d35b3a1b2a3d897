/* text.c — the IR text form: ir_print writes one line per node, then the outputs; ir_parse reads
 * it back (print(parse(print(g))) == print(g)). Format:
 *   %0 = input "a" : float32[1000,3]
 *   %1 = input "x" = 2.5 : float64[]            (a 0-d input with an example value)
 *   %2 = const 2.5 : float32[]
 *   %3 = multiply %0, %2 : float32[1000,3]
 *   %4 = sum %3 axis=0 : float32[3]             (axis=all: over every axis)
 *   output "y" = %4
 * Values: true/false, decimal integers, floats as format_double writes them (nan, inf, -0.0).
 * Names are quoted with C escapes (\" \\ \n \t \xHH). '#' starts a comment; blank lines are
 * ignored. The parser checks everything (each node with the verifier's per-node check) and reports
 * "line L, column C: ..." as BUD_ERR_PARSE; it never trusts the text.
 */
#include "ir_private.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- printing ------------------------------------------------------------------------------------ */

static void print_value(StrBuf *sb, BudDType dt, Scalar v) {
  char buf[32];
  if (dt == BUD_BOOL) sb_puts(sb, v.i ? "true" : "false");
  else if (dtype_is_float(dt)) {
    format_double(buf, v.f);
    sb_puts(sb, buf);
  } else if (dtype_is_uint(dt)) sb_printf(sb, "%llu", (unsigned long long)v.u);
  else sb_printf(sb, "%lld", (long long)v.i);
}

static void print_name(StrBuf *sb, const char *s) {
  sb_puts(sb, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"') sb_puts(sb, "\\\"");
    else if (*p == '\\') sb_puts(sb, "\\\\");
    else if (*p == '\n') sb_puts(sb, "\\n");
    else if (*p == '\t') sb_puts(sb, "\\t");
    else if (*p < 0x20 || *p == 0x7f) sb_printf(sb, "\\x%02x", *p);
    else sb_printf(sb, "%c", *p);
  }
  sb_puts(sb, "\"");
}

static void print_type(StrBuf *sb, BudDType dt, const Shape *s) {
  sb_printf(sb, "%s[", bud_dtype_name(dt) ? bud_dtype_name(dt) : "?");
  for (int i = 0; i < s->ndim; i++) sb_printf(sb, i ? ",%lld" : "%lld", (long long)s->dim[i]);
  sb_puts(sb, "]");
}

void ir_print(const IrGraph *g, StrBuf *sb) {
  for (int32_t i = 0; i < g->nnodes; i++) {
    const IrNode *n = &g->nodes[i];
    bool op_ok = (int)n->op >= 0 && n->op < OP_COUNT;
    sb_printf(sb, "%%%d = %s", (int)i, op_ok ? op_info(n->op)->name : "?");
    if (n->op == OP_input) {
      sb_puts(sb, " ");
      int k = n->input_index;
      print_name(sb, k >= 0 && k < g->ninputs ? g->inputs[k].name : "?");
      if (n->has_value) {
        sb_puts(sb, " = ");
        print_value(sb, n->dtype, n->value);
      }
    } else if (n->op == OP_const) {
      sb_puts(sb, " ");
      print_value(sb, n->dtype, n->value);
    } else {
      for (int k = 0; k < n->nin && k < IR_MAX_ARGS; k++)
        sb_printf(sb, "%s%%%d", k ? ", " : " ", (int)n->in[k]);
      if (op_ok && op_is_reduction(n->op)) {
        if (n->axis == BUD_AXIS_ALL) sb_puts(sb, " axis=all");
        else sb_printf(sb, " axis=%d", (int)n->axis);
      }
    }
    sb_puts(sb, " : ");
    print_type(sb, n->dtype, &n->shape);
    sb_puts(sb, "\n");
  }
  for (int k = 0; k < g->noutputs; k++) {
    sb_puts(sb, "output ");
    print_name(sb, g->outputs[k].name);
    sb_printf(sb, " = %%%d\n", (int)g->outputs[k].node);
  }
}

/* ---- parsing ------------------------------------------------------------------------------------- */

#define IR_MAX_LINE_TOKEN 4096 /* longest name or number token */

typedef struct Parser {
  BudContext *ctx;
  IrGraph *g;
  const char *src, *p, *line_start;
  int line;
  char *buf; /* scratch for names, IR_MAX_LINE_TOKEN + 1 bytes */
  char found[16];
} Parser;

static int col(const Parser *ps) { return (int)(ps->p - ps->line_start) + 1; }

static BudStatus perr(Parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static BudStatus perr(Parser *ps, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return bud_fail(ps->ctx, BUD_ERR_PARSE, "line %d, column %d: %s", ps->line, col(ps), msg);
}

static void skip_ws(Parser *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r') ps->p++;
}

static bool accept(Parser *ps, char c) {
  skip_ws(ps);
  if (*ps->p != c) return false;
  ps->p++;
  return true;
}

/* What the parser found at the cursor, for messages ("'x'", "end of line"). */
static const char *describe(Parser *ps) {
  unsigned char c = (unsigned char)*ps->p;
  if (c == '\0') return "end of text";
  if (c == '\n') return "end of line";
  if (c < 0x20 || c >= 0x7f) snprintf(ps->found, sizeof ps->found, "byte 0x%02x", c);
  else snprintf(ps->found, sizeof ps->found, "'%c'", c);
  return ps->found;
}

static BudStatus expect(Parser *ps, char c) {
  if (accept(ps, c)) return BUD_OK;
  return perr(ps, "expected '%c', found %s", c, describe(ps));
}

static bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* An identifier into ps->buf (at most 63 characters). */
static BudStatus parse_ident(Parser *ps, const char *what) {
  skip_ws(ps);
  size_t n = 0;
  while (is_ident_char(ps->p[n])) {
    if (n >= 63) return perr(ps, "%s is too long", what);
    n++;
  }
  if (n == 0) return perr(ps, "expected %s, found %s", what, describe(ps));
  memcpy(ps->buf, ps->p, n);
  ps->buf[n] = '\0';
  ps->p += n;
  return BUD_OK;
}

/* A non-negative decimal integer no larger than max. */
static BudStatus parse_uint(Parser *ps, int64_t max, const char *what, int64_t *out) {
  skip_ws(ps);
  if (*ps->p < '0' || *ps->p > '9') return perr(ps, "expected %s, found %s", what, describe(ps));
  int64_t v = 0;
  const char *start = ps->p;
  while (*ps->p >= '0' && *ps->p <= '9') {
    int d = *ps->p - '0';
    if (v > max / 10 || (v == max / 10 && d > max % 10)) {
      ps->p = start;
      return perr(ps, "%s is too large (at most %lld)", what, (long long)max);
    }
    v = v * 10 + d;
    ps->p++;
  }
  if (is_ident_char(*ps->p)) return perr(ps, "malformed %s", what);
  *out = v;
  return BUD_OK;
}

/* "%N" naming an existing node. */
static BudStatus parse_ref(Parser *ps, int32_t *out) {
  skip_ws(ps);
  if (*ps->p != '%') return perr(ps, "expected a node reference %%N, found %s", describe(ps));
  ps->p++;
  const char *at = ps->p;
  int64_t v;
  BudStatus st = parse_uint(ps, IR_MAX_NODES, "node number", &v);
  if (st != BUD_OK) return st;
  if (v >= ps->g->nnodes) {
    ps->p = at;
    return perr(ps, "%%%lld is not defined before this line", (long long)v);
  }
  *out = (int32_t)v;
  return BUD_OK;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A quoted name into ps->buf. */
static BudStatus parse_string(Parser *ps) {
  skip_ws(ps);
  if (*ps->p != '"') return perr(ps, "expected a quoted name, found %s", describe(ps));
  ps->p++;
  size_t n = 0;
  for (;;) {
    unsigned char c = (unsigned char)*ps->p;
    if (c == '"') break;
    if (c == '\0' || c == '\n') return perr(ps, "unterminated name");
    if (n >= IR_MAX_LINE_TOKEN) return perr(ps, "name longer than %d bytes", IR_MAX_LINE_TOKEN);
    if (c < 0x20 || c == 0x7f) return perr(ps, "control character in a name (write \\x%02x)", c);
    if (c == '\\') {
      char e = ps->p[1];
      if (e == '"' || e == '\\') c = (unsigned char)e, ps->p += 2;
      else if (e == 'n') c = '\n', ps->p += 2;
      else if (e == 't') c = '\t', ps->p += 2;
      else if (e == 'x' && hexval(ps->p[2]) >= 0 && hexval(ps->p[3]) >= 0) {
        c = (unsigned char)(hexval(ps->p[2]) * 16 + hexval(ps->p[3]));
        if (c == 0) return perr(ps, "\\x00 in a name");
        ps->p += 4;
      } else {
        return perr(ps, "unknown escape in a name");
      }
    } else {
      ps->p++;
    }
    ps->buf[n++] = (char)c;
  }
  ps->p++;
  if (n == 0) return perr(ps, "empty name");
  ps->buf[n] = '\0';
  return BUD_OK;
}

/* The text of a value: [-]digits[.digits][e[+-]digits], true, false, nan, inf, -inf. Only
 * scanned here; converted once the dtype is known. */
typedef struct ValueTok {
  const char *at;
  size_t len;
  int line_col;
} ValueTok;

static BudStatus scan_value(Parser *ps, ValueTok *vt) {
  skip_ws(ps);
  const char *s = ps->p, *q = s;
  if (*q == '-' || *q == '+') q++;
  if (is_ident_char(*q) && !(*q >= '0' && *q <= '9')) {
    while (is_ident_char(*q)) q++;
  } else {
    while (*q >= '0' && *q <= '9') q++;
    if (*q == '.') {
      q++;
      while (*q >= '0' && *q <= '9') q++;
    }
    if (*q == 'e' || *q == 'E') {
      q++;
      if (*q == '-' || *q == '+') q++;
      while (*q >= '0' && *q <= '9') q++;
    }
  }
  if (q == s) return perr(ps, "expected a value, found %s", describe(ps));
  if ((size_t)(q - s) > 400) return perr(ps, "value is too long");
  vt->at = s;
  vt->len = (size_t)(q - s);
  vt->line_col = col(ps);
  ps->p = q;
  return BUD_OK;
}

static bool digits_only(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

/* Converts a scanned value to dtype dt. */
static BudStatus convert_value(Parser *ps, const ValueTok *vt, BudDType dt, Scalar *out) {
  char t[408];
  memcpy(t, vt->at, vt->len);
  t[vt->len] = '\0';
  const char *saved = ps->p;
  ps->p = ps->line_start + vt->line_col - 1; /* report at the value */
  BudStatus st = BUD_OK;
  out->u = 0;
  if (dt == BUD_BOOL) {
    if (strcmp(t, "true") == 0) out->i = 1;
    else if (strcmp(t, "false") == 0) out->i = 0;
    else st = perr(ps, "bool value must be true or false, not '%s'", t);
  } else if (dtype_is_float(dt)) {
    const char *m = t[0] == '-' || t[0] == '+' ? t + 1 : t;
    bool is_word = !(m[0] >= '0' && m[0] <= '9');
    if (is_word) {
      if (strcmp(m, "nan") == 0) out->f = t[0] == '-' ? -NAN : NAN;
      else if (strcmp(m, "inf") == 0) out->f = t[0] == '-' ? -INFINITY : INFINITY;
      else st = perr(ps, "malformed float value '%s'", t);
    } else {
      char *end;
      out->f = strtod(t, &end);
      if (*end) st = perr(ps, "malformed float value '%s'", t);
      else if (dt == BUD_FLOAT32) out->f = (double)(float)out->f;
    }
  } else {
    bool neg = t[0] == '-';
    const char *m = t[0] == '-' || t[0] == '+' ? t + 1 : t;
    if (!digits_only(m) || strlen(m) > 20) {
      st = perr(ps, "malformed %s value '%s'", bud_dtype_name(dt), t);
    } else {
      unsigned long long mag = 0;
      bool over = false;
      for (const char *c = m; *c; c++) {
        unsigned d = (unsigned)(*c - '0');
        if (mag > (~0ULL - d) / 10) over = true;
        else mag = mag * 10 + d;
      }
      int bits = dtype_info(dt)->bits;
      if (dtype_is_uint(dt)) {
        uint64_t max = bits == 64 ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
        if (over || (neg && mag != 0) || mag > max)
          st = perr(ps, "value %s is out of range for %s", t, bud_dtype_name(dt));
        else out->u = mag;
      } else {
        uint64_t lim = (uint64_t)1 << (bits - 1); /* |min| */
        if (over || (neg ? mag > lim : mag >= lim))
          st = perr(ps, "value %s is out of range for %s", t, bud_dtype_name(dt));
        else out->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
      }
    }
  }
  ps->p = saved;
  return st;
}

/* dtype[d0,d1,...] */
static BudStatus parse_type(Parser *ps, BudDType *dt, Shape *s) {
  BudStatus st = parse_ident(ps, "a dtype");
  if (st != BUD_OK) return st;
  if (bud_dtype_from_name(ps->buf, dt) != BUD_OK) return perr(ps, "unknown dtype '%s'", ps->buf);
  memset(s, 0, sizeof *s);
  if (*ps->p != '[') return perr(ps, "expected '[' right after the dtype");
  ps->p++;
  if (!accept(ps, ']')) {
    for (;;) {
      if (s->ndim >= BUD_MAX_DIMS) return perr(ps, "more than %d dimensions", BUD_MAX_DIMS);
      int64_t d;
      st = parse_uint(ps, INT64_MAX, "a dimension", &d);
      if (st != BUD_OK) return st;
      s->dim[s->ndim++] = d;
      if (accept(ps, ']')) break;
      st = expect(ps, ',');
      if (st != BUD_OK) return st;
    }
  }
  int64_t n;
  if (!shape_size(s, &n)) return perr(ps, "the shape's element count overflows");
  return BUD_OK;
}

static BudStatus end_of_line(Parser *ps) {
  skip_ws(ps);
  if (*ps->p == '#')
    while (*ps->p && *ps->p != '\n') ps->p++;
  if (*ps->p == '\n' || *ps->p == '\0') return BUD_OK;
  return perr(ps, "unexpected text at the end of the line");
}

static BudStatus parse_output(Parser *ps) {
  BudStatus st = parse_string(ps);
  if (st != BUD_OK) return st;
  char name[IR_MAX_LINE_TOKEN + 1];
  strcpy(name, ps->buf);
  if ((st = expect(ps, '=')) != BUD_OK) return st;
  int32_t ref;
  if ((st = parse_ref(ps, &ref)) != BUD_OK) return st;
  for (int k = 0; k < ps->g->noutputs; k++)
    if (strcmp(ps->g->outputs[k].name, name) == 0) return perr(ps, "duplicate output name '%s'", name);
  st = ir_output(ps->g, name, ref);
  return st == BUD_OK ? end_of_line(ps) : st;
}

static bool find_input_name(const IrGraph *g, const char *name) {
  for (int k = 0; k < g->ninputs; k++)
    if (strcmp(g->inputs[k].name, name) == 0) return true;
  return false;
}

static BudStatus parse_node(Parser *ps) {
  IrGraph *g = ps->g;
  int64_t id;
  BudStatus st = parse_uint(ps, IR_MAX_NODES, "node number", &id);
  if (st != BUD_OK) return st;
  if (id != g->nnodes) return perr(ps, "expected node %%%d here, found %%%lld", (int)g->nnodes, (long long)id);
  if (g->nnodes >= IR_MAX_NODES)
    return bud_fail(ps->ctx, BUD_ERR_LIMIT, "line %d: more than %d nodes", ps->line, IR_MAX_NODES);
  if ((st = expect(ps, '=')) != BUD_OK) return st;
  const char *op_at = ps->p;
  if ((st = parse_ident(ps, "an op name")) != BUD_OK) return st;
  int op = op_lookup(ps->buf);
  if (op < 0 || strcmp(op_info((Op)op)->name, ps->buf) != 0) {
    skip_ws(ps);
    ps->p = op_at;
    skip_ws(ps);
    return perr(ps, "unknown op '%s'", ps->buf);
  }
  IrNode n;
  memset(&n, 0, sizeof n);
  n.op = (Op)op;
  char name[IR_MAX_LINE_TOKEN + 1];
  ValueTok vt = {NULL, 0, 0};
  bool has_value = false;
  if (op == OP_input) {
    if ((st = parse_string(ps)) != BUD_OK) return st;
    strcpy(name, ps->buf);
    if (find_input_name(g, name)) return perr(ps, "duplicate input name '%s'", name);
    if (accept(ps, '=')) {
      if ((st = scan_value(ps, &vt)) != BUD_OK) return st;
      has_value = true;
    }
  } else if (op == OP_const) {
    if ((st = scan_value(ps, &vt)) != BUD_OK) return st;
    has_value = true;
  } else {
    int nargs = op_info((Op)op)->nargs;
    for (int k = 0; k < nargs; k++) {
      if (k && (st = expect(ps, ',')) != BUD_OK) return st;
      if ((st = parse_ref(ps, &n.in[k])) != BUD_OK) return st;
    }
    n.nin = nargs;
    skip_ws(ps);
    if (*ps->p == ',') return perr(ps, "%s takes %d operands", op_info((Op)op)->name, nargs);
    if (op_is_reduction((Op)op)) {
      if ((st = parse_ident(ps, "axis=")) != BUD_OK) return st;
      if (strcmp(ps->buf, "axis") != 0) return perr(ps, "expected axis=, found '%s'", ps->buf);
      if (*ps->p != '=') return perr(ps, "expected '=' right after axis");
      ps->p++;
      if (strncmp(ps->p, "all", 3) == 0 && !is_ident_char(ps->p[3])) {
        n.axis = BUD_AXIS_ALL;
        ps->p += 3;
      } else {
        int64_t ax;
        if ((st = parse_uint(ps, BUD_MAX_DIMS - 1, "an axis", &ax)) != BUD_OK) return st;
        n.axis = (int32_t)ax;
      }
    }
  }
  if ((st = expect(ps, ':')) != BUD_OK) return st;
  if ((st = parse_type(ps, &n.dtype, &n.shape)) != BUD_OK) return st;
  if ((st = end_of_line(ps)) != BUD_OK) return st;
  Scalar v = {.u = 0};
  if (has_value && (st = convert_value(ps, &vt, n.dtype, &v)) != BUD_OK) return st;
  int32_t r;
  if (op == OP_input) {
    if (has_value && n.shape.ndim != 0) return perr(ps, "only a 0-d input may carry a value");
    r = ir_append_input(g, name, n.dtype, &n.shape, has_value, v);
  } else {
    if (op == OP_const) {
      n.has_value = true;
      n.value = v;
    }
    r = ir_append(g, &n);
  }
  if (r < 0) return r;
  char where[48];
  snprintf(where, sizeof where, "line %d", ps->line);
  return ir_verify_node(g, r, BUD_ERR_PARSE, where);
}

IrGraph *ir_parse(BudContext *ctx, const char *text) {
  if (!text) {
    bud_fail(ctx, BUD_ERR_INVALID, "ir_parse: no text");
    return NULL;
  }
  Parser ps;
  memset(&ps, 0, sizeof ps);
  ps.ctx = ctx;
  ps.g = ir_graph_new(ctx);
  ps.buf = malloc(IR_MAX_LINE_TOKEN + 1);
  if (!ps.g || !ps.buf) {
    ir_graph_free(ps.g);
    free(ps.buf);
    bud_fail(ctx, BUD_ERR_NOMEM, "out of memory parsing IR");
    return NULL;
  }
  ps.src = ps.p = ps.line_start = text;
  ps.line = 1;
  BudStatus st = BUD_OK;
  while (*ps.p && st == BUD_OK) {
    skip_ws(&ps);
    if (*ps.p == '%') {
      ps.p++;
      st = parse_node(&ps);
    } else if (strncmp(ps.p, "output", 6) == 0 && !is_ident_char(ps.p[6])) {
      ps.p += 6;
      st = parse_output(&ps);
    } else {
      st = end_of_line(&ps);
      if (st != BUD_OK) st = perr(&ps, "expected '%%N = ...', 'output \"name\" = %%N' or a comment");
    }
    if (st != BUD_OK) break;
    while (*ps.p && *ps.p != '\n') ps.p++; /* (end_of_line left us at '\n' or '\0') */
    if (*ps.p == '\n') {
      ps.p++;
      ps.line++;
      ps.line_start = ps.p;
    }
  }
  free(ps.buf);
  if (st != BUD_OK) {
    ir_graph_free(ps.g);
    return NULL;
  }
  return ps.g;
}
