/* print.c — prints arrays the way NumPy's repr does (close, not byte for byte): one shared format
 * per array (floats: shortest digits up to 8 decimals, aligned on the point, scientific when the
 * magnitudes call for it; ints right-aligned; bools as True/False), nested brackets per axis,
 * lines wrapped at 75 columns, and arrays over 1000 elements summarised with 3 edge items.
 * Entry point: cli_print_array.
 */
#include "cli.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CLI_THRESHOLD 1000
#define CLI_EDGE 3
#define CLI_LINEWIDTH 75

typedef struct PrintFmt {
  BudDType dt;
  bool sci;      /* floats: scientific notation */
  int prec;      /* floats: digits after the point (fixed) or in the mantissa (sci) */
  int int_w;     /* width left of the point (fixed floats), or the whole width */
  int frac_w;    /* width right of the point, including it (fixed floats) */
  bool summarise;
  double max_abs, min_abs; /* finite magnitudes seen (floats) */
} PrintFmt;

static double cli_value(BudDType dt, const char *p) {
  Scalar s = scalar_load(dt, p);
  if (dtype_is_float(dt)) return s.f;
  if (dtype_is_uint(dt)) return (double)s.u;
  return (double)s.i;
}

/* Does text read back as v at dt's precision? */
static bool cli_roundtrips(const char *text, double v, BudDType dt) {
  double r = strtod(text, NULL);
  if (dt == BUD_FLOAT32) return (float)r == (float)v;
  return r == v;
}

/* Fewest digits (<= 8) that print v exactly, in fixed ('f') or scientific ('e') form. */
static int cli_digits(double v, BudDType dt, char conv) {
  char buf[400];
  for (int d = 0; d < 8; d++) {
    snprintf(buf, sizeof buf, conv == 'f' ? "%.*f" : "%.*e", d, v);
    if (cli_roundtrips(buf, v, dt)) return d;
  }
  return 8;
}

static void cli_elem_text(const PrintFmt *pf, const char *p, char *buf, size_t n) {
  BudDType dt = pf->dt;
  Scalar s = scalar_load(dt, p);
  if (dt == BUD_BOOL) {
    snprintf(buf, n, "%s", s.i ? "True" : "False");
  } else if (dtype_is_uint(dt)) {
    snprintf(buf, n, "%llu", (unsigned long long)s.u);
  } else if (dtype_is_int(dt)) {
    snprintf(buf, n, "%lld", (long long)s.i);
  } else if (!isfinite(s.f)) {
    snprintf(buf, n, "%s", isnan(s.f) ? "nan" : s.f < 0 ? "-inf" : "inf");
  } else if (pf->sci) {
    snprintf(buf, n, "%.*e", pf->prec, s.f);
    /* "1e+00" with prec 0 is NumPy's "1.e+00". */
    if (pf->prec == 0) {
      char *e = strchr(buf, 'e');
      if (e) {
        memmove(e + 1, e, strlen(e) + 1);
        *e = '.';
      }
    }
  } else {
    int d = cli_digits(s.f, dt, 'f');
    snprintf(buf, n, "%.*f", d, s.f);
    if (d == 0) strncat(buf, ".", n - strlen(buf) - 1);
  }
}

/* Pads one element to the shared width; returns the text in out. */
static void cli_elem(const PrintFmt *pf, const char *p, char *out, size_t n) {
  char t[400];
  cli_elem_text(pf, p, t, sizeof t);
  if (dtype_is_float(pf->dt) && !pf->sci) {
    const char *dot = strchr(t, '.');
    int il = dot ? (int)(dot - t) : (int)strlen(t);
    int fl = dot ? (int)strlen(dot) : 0;
    snprintf(out, n, "%*s%s%*s", pf->int_w - il, "", t, pf->frac_w - fl, "");
  } else {
    snprintf(out, n, "%*s", pf->int_w, t);
  }
}

/* Calls fn on every element that will be shown. */
typedef void (*CliVisit)(PrintFmt *pf, const char *p);

static void cli_walk(const BudArray *a, PrintFmt *pf, int axis, const char *p, CliVisit fn) {
  if (axis == a->ndim) {
    fn(pf, p);
    return;
  }
  int64_t n = a->shape[axis];
  for (int64_t i = 0; i < n; i++) {
    if (pf->summarise && n > 2 * CLI_EDGE && i == CLI_EDGE) i = n - CLI_EDGE;
    cli_walk(a, pf, axis + 1, p + i * a->strides[axis], fn);
  }
}

static void cli_scan_mag(PrintFmt *pf, const char *p) {
  double v = fabs(cli_value(pf->dt, p));
  if (!isfinite(v)) return;
  if (v > pf->max_abs) pf->max_abs = v;
  if (v != 0 && v < pf->min_abs) pf->min_abs = v;
}

static void cli_scan_prec(PrintFmt *pf, const char *p) {
  double v = cli_value(pf->dt, p);
  if (!isfinite(v)) return;
  int d = cli_digits(v, pf->dt, 'e');
  if (d > pf->prec) pf->prec = d;
}

static void cli_scan_width(PrintFmt *pf, const char *p) {
  char t[400];
  cli_elem_text(pf, p, t, sizeof t);
  if (dtype_is_float(pf->dt) && !pf->sci) {
    const char *dot = strchr(t, '.');
    int il = dot ? (int)(dot - t) : (int)strlen(t);
    int fl = dot ? (int)strlen(dot) : 0;
    if (il > pf->int_w) pf->int_w = il;
    if (fl > pf->frac_w) pf->frac_w = fl;
  } else {
    int w = (int)strlen(t);
    if (w > pf->int_w) pf->int_w = w;
  }
}

typedef struct LineState {
  StrBuf *f; /* the text; trailing spaces of wrapped lines are dropped when it is written */
  int col;
} LineState;

static void cli_rows(const BudArray *a, const PrintFmt *pf, int axis, const char *p, LineState *ls) {
  int64_t n = a->shape[axis];
  sb_puts(ls->f, "[");
  ls->col++;
  if (axis == a->ndim - 1) {
    for (int64_t i = 0; i < n; i++) {
      char e[512];
      const char *text = e;
      if (pf->summarise && n > 2 * CLI_EDGE && i == CLI_EDGE) {
        text = "...";
        i = n - CLI_EDGE - 1;
      } else {
        cli_elem(pf, p + i * a->strides[axis], e, sizeof e);
      }
      int w = (int)strlen(text) + (i > 0 ? 1 : 0);
      if (i > 0 && ls->col + w + 1 > CLI_LINEWIDTH) {
        sb_printf(ls->f, "\n%*s", axis + 1, "");
        ls->col = axis + 1;
        sb_puts(ls->f, text);
        ls->col += (int)strlen(text);
      } else {
        if (i > 0) sb_puts(ls->f, " ");
        sb_puts(ls->f, text);
        ls->col += w;
      }
    }
  } else {
    int blank = a->ndim - axis - 2; /* blank lines between blocks, as NumPy */
    for (int64_t i = 0; i < n; i++) {
      if (i > 0) { /* NumPy's str(): rows separated by newlines only */
        for (int k = 0; k <= blank; k++) sb_puts(ls->f, "\n");
        sb_printf(ls->f, "%*s", axis + 1, "");
        ls->col = axis + 1;
      }
      if (pf->summarise && n > 2 * CLI_EDGE && i == CLI_EDGE) {
        sb_puts(ls->f, "...");
        i = n - CLI_EDGE - 1;
        continue;
      }
      cli_rows(a, pf, axis + 1, p + i * a->strides[axis], ls);
    }
  }
  sb_puts(ls->f, "]");
  ls->col++;
}

void cli_print_array(FILE *f, const BudArray *a) {
  PrintFmt pf;
  memset(&pf, 0, sizeof pf);
  pf.dt = a->dtype;
  pf.summarise = bud_array_size(a) > CLI_THRESHOLD;
  if (bud_array_size(a) == 0) {
    fputs("[]\n", f);
    return;
  }
  if (dtype_is_float(pf.dt)) {
    pf.max_abs = 0;
    pf.min_abs = DBL_MAX;
    cli_walk(a, &pf, 0, a->data, cli_scan_mag);
    if (a->ndim > 0 && (pf.max_abs >= 1e8 || (pf.min_abs != DBL_MAX && (pf.min_abs < 1e-4 ||
                                                                      pf.max_abs / pf.min_abs > 1e3)))) {
      pf.sci = true;
      cli_walk(a, &pf, 0, a->data, cli_scan_prec);
    }
  }
  if (a->ndim == 0) {
    char t[400];
    cli_elem_text(&pf, a->data, t, sizeof t);
    if (dtype_is_float(pf.dt) && isfinite(cli_value(pf.dt, a->data))) {
      /* A scalar prints as NumPy's repr of it: shortest round-trip digits, "5.0" not "5.". */
      double v = cli_value(pf.dt, a->data);
      for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (cli_roundtrips(t, v, pf.dt)) break;
      }
      if (!strpbrk(t, ".e")) strcat(t, ".0");
    }
    fprintf(f, "%s\n", t);
    return;
  }
  cli_walk(a, &pf, 0, a->data, cli_scan_width);
  if (pf.dt == BUD_BOOL && pf.int_w < 5) pf.int_w = 5;
  StrBuf sb;
  sb_init(&sb);
  LineState ls = {&sb, 0};
  cli_rows(a, &pf, 0, a->data, &ls);
  if (!sb.data) return; /* out of memory */
  for (size_t i = 0, start = 0; i <= sb.len; i++) {
    if (i < sb.len && sb.data[i] != '\n') continue;
    size_t end = i;
    while (end > start && sb.data[end - 1] == ' ') end--;
    fwrite(sb.data + start, 1, end - start, f);
    fputc('\n', f);
    start = i + 1;
  }
  sb_free(&sb);
}
