/* npy.c — the NumPy .npy format: a 6-byte magic "\x93NUMPY", a version (1.0: u16 header length;
 * 2.0/3.0: u32), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a newline, then the raw data. The dict is read by a strict little parser
 * over a bounded buffer (never evaluated); every size is checked before it is used, so a truncated,
 * lying or corrupted file yields BUD_ERR_FORMAT naming the file, never an out-of-bounds read.
 * Entry points: npy_load, npy_load_mem, npy_save, npy_encode.
 */
#define _GNU_SOURCE
#include "front/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

typedef struct NpyHeader {
  BudDType dtype;
  bool fortran;
  int ndim;
  int64_t shape[BUD_MAX_DIMS];
  size_t data_off; /* bytes before the data */
  int64_t nbytes;  /* bytes of data the shape needs */
} NpyHeader;

/* ---- header: the fixed prefix ------------------------------------------------------------------ */

/* Reads the magic, version and header length from the first n bytes of p; sets *data_off (the
 * length of magic + version + length field + header text) and *text_off. */
static BudStatus npy_prefix(BudContext *ctx, const char *name, const unsigned char *p, size_t n,
                            size_t *text_off, size_t *data_off) {
  if (n < 8 || memcmp(p, npy_magic, 6) != 0) {
    if (n >= 6 && memcmp(p, npy_magic, 6) == 0)
      return bud_fail(ctx, BUD_ERR_FORMAT, "%s: truncated .npy file (%zu bytes, no version)", name,
                      n);
    return bud_fail(ctx, BUD_ERR_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", name);
  }
  int major = p[6], minor = p[7];
  size_t hlen;
  if (major == 1 && minor == 0) {
    if (n < 10)
      return bud_fail(ctx, BUD_ERR_FORMAT, "%s: truncated .npy file (%zu bytes, no header length)",
                      name, n);
    hlen = (size_t)p[8] | (size_t)p[9] << 8;
    *text_off = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (n < 12)
      return bud_fail(ctx, BUD_ERR_FORMAT, "%s: truncated .npy file (%zu bytes, no header length)",
                      name, n);
    hlen = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
    *text_off = 12;
  } else {
    return bud_fail(ctx, BUD_ERR_FORMAT, "%s: unsupported .npy format version %d.%d", name, major,
                    minor);
  }
  if (hlen > NPY_MAX_HEADER)
    return bud_fail(ctx, BUD_ERR_FORMAT, "%s: .npy header length %zu is larger than %d bytes", name,
                    hlen, NPY_MAX_HEADER);
  *data_off = *text_off + hlen;
  return BUD_OK;
}

/* ---- header: the dict ------------------------------------------------------------------------------ */

typedef struct NpyLex {
  BudContext *ctx;
  const char *name;
  const char *s;
  size_t n, i;
} NpyLex;

static BudStatus npy_bad(NpyLex *lx, const char *what) {
  return bud_fail(lx->ctx, BUD_ERR_FORMAT, "%s: malformed .npy header: %s at offset %zu", lx->name,
                  what, lx->i);
}

static void npy_ws(NpyLex *lx) {
  while (lx->i < lx->n && (lx->s[lx->i] == ' ' || lx->s[lx->i] == '\t' || lx->s[lx->i] == '\n' ||
                           lx->s[lx->i] == '\r'))
    lx->i++;
}

static bool npy_peek(NpyLex *lx, char c) { return lx->i < lx->n && lx->s[lx->i] == c; }

/* A quoted string ('...' or "..."), no escapes; copies into buf (cap bytes). */
static BudStatus npy_string(NpyLex *lx, char *buf, size_t cap, const char *what) {
  if (lx->i >= lx->n || (lx->s[lx->i] != '\'' && lx->s[lx->i] != '"')) return npy_bad(lx, what);
  char q = lx->s[lx->i++];
  size_t start = lx->i;
  while (lx->i < lx->n && lx->s[lx->i] != q) {
    if (lx->s[lx->i] == '\\' || lx->s[lx->i] == '\n') return npy_bad(lx, "unexpected character in string");
    lx->i++;
  }
  if (lx->i >= lx->n) return npy_bad(lx, "unterminated string");
  size_t len = lx->i - start;
  lx->i++;
  if (len >= cap) return npy_bad(lx, "string too long");
  memcpy(buf, lx->s + start, len);
  buf[len] = '\0';
  return BUD_OK;
}

static BudStatus npy_descr(NpyLex *lx, const char *d, BudDType *out) {
  static const struct { char kind; int size; BudDType dt; } table[] = {
      {'b', 1, BUD_BOOL},   {'i', 1, BUD_INT8},   {'i', 2, BUD_INT16},  {'i', 4, BUD_INT32},
      {'i', 8, BUD_INT64},  {'u', 1, BUD_UINT8},  {'u', 2, BUD_UINT16}, {'u', 4, BUD_UINT32},
      {'u', 8, BUD_UINT64}, {'f', 4, BUD_FLOAT32}, {'f', 8, BUD_FLOAT64},
  };
  char order = d[0];
  if (order != '<' && order != '>' && order != '|' && order != '=')
    return bud_fail(lx->ctx, BUD_ERR_FORMAT, "%s: malformed .npy header: unknown dtype descr '%s'",
                    lx->name, d);
  char kind = d[1];
  if (!kind || !strchr("biufcUSOMmVa", kind))
    return bud_fail(lx->ctx, BUD_ERR_FORMAT, "%s: malformed .npy header: unknown dtype descr '%s'",
                    lx->name, d);
  int size = 0;
  const char *p = d + 2;
  if (*p < '1' || *p > '9')
    return bud_fail(lx->ctx, BUD_ERR_FORMAT, "%s: malformed .npy header: unknown dtype descr '%s'",
                    lx->name, d);
  while (*p >= '0' && *p <= '9' && size < 100000) size = size * 10 + (*p++ - '0');
  if (*p != '\0' && !(kind == 'M' || kind == 'm')) /* datetime units like '<M8[ns]' */
    return bud_fail(lx->ctx, BUD_ERR_FORMAT, "%s: malformed .npy header: unknown dtype descr '%s'",
                    lx->name, d);
  for (size_t k = 0; k < BUD_ARRAY_LEN(table); k++) {
    if (table[k].kind != kind || table[k].size != size) continue;
    if (order == '>' && size > 1)
      return bud_fail(lx->ctx, BUD_ERR_UNSUPPORTED,
                      "%s: big-endian .npy files are not supported (dtype '%s')", lx->name, d);
    *out = table[k].dt;
    return BUD_OK;
  }
  return bud_fail(lx->ctx, BUD_ERR_UNSUPPORTED, "%s: dtype '%s' is not supported by Bud", lx->name,
                  d);
}

static BudStatus npy_shape(NpyLex *lx, NpyHeader *h) {
  if (!npy_peek(lx, '(')) return npy_bad(lx, "expected a tuple for 'shape'");
  lx->i++;
  h->ndim = 0;
  npy_ws(lx);
  if (npy_peek(lx, ')')) {
    lx->i++;
    return BUD_OK;
  }
  for (;;) {
    npy_ws(lx);
    if (lx->i >= lx->n || lx->s[lx->i] < '0' || lx->s[lx->i] > '9')
      return npy_bad(lx, "expected a non-negative integer in 'shape'");
    if (lx->s[lx->i] == '0' && lx->i + 1 < lx->n && lx->s[lx->i + 1] >= '0' &&
        lx->s[lx->i + 1] <= '9')
      return npy_bad(lx, "integer with a leading zero in 'shape'");
    int64_t v = 0;
    while (lx->i < lx->n && lx->s[lx->i] >= '0' && lx->s[lx->i] <= '9') {
      if (!size_mul_ok(v, 10, &v) || !size_add_ok(v, lx->s[lx->i] - '0', &v))
        return npy_bad(lx, "dimension too large in 'shape'");
      lx->i++;
    }
    if (h->ndim >= BUD_MAX_DIMS)
      return bud_fail(lx->ctx, BUD_ERR_LIMIT,
                      "%s: .npy array has more than %d dimensions, Bud's limit", lx->name,
                      BUD_MAX_DIMS);
    h->shape[h->ndim++] = v;
    npy_ws(lx);
    if (npy_peek(lx, ')')) {
      if (h->ndim == 1) return npy_bad(lx, "'shape' is not a tuple (missing ',')");
      lx->i++;
      return BUD_OK;
    }
    if (!npy_peek(lx, ',')) return npy_bad(lx, "expected ',' or ')' in 'shape'");
    lx->i++;
    npy_ws(lx);
    if (npy_peek(lx, ')')) {
      lx->i++;
      return BUD_OK;
    }
  }
}

static BudStatus npy_dict(BudContext *ctx, const char *name, const char *text, size_t n,
                          NpyHeader *h) {
  NpyLex lx = {ctx, name, text, n, 0};
  bool seen_descr = false, seen_fortran = false, seen_shape = false;
  BudStatus st;
  npy_ws(&lx);
  if (!npy_peek(&lx, '{')) return npy_bad(&lx, "expected '{'");
  lx.i++;
  for (;;) {
    npy_ws(&lx);
    if (npy_peek(&lx, '}')) break;
    char key[32], val[64];
    if ((st = npy_string(&lx, key, sizeof key, "expected a quoted key"))) return st;
    npy_ws(&lx);
    if (!npy_peek(&lx, ':')) return npy_bad(&lx, "expected ':'");
    lx.i++;
    npy_ws(&lx);
    if (strcmp(key, "descr") == 0) {
      if (seen_descr) return npy_bad(&lx, "duplicate key 'descr'");
      seen_descr = true;
      if (npy_peek(&lx, '['))
        return bud_fail(ctx, BUD_ERR_UNSUPPORTED, "%s: structured dtypes are not supported", name);
      if ((st = npy_string(&lx, val, sizeof val, "expected a string for 'descr'"))) return st;
      if ((st = npy_descr(&lx, val, &h->dtype))) return st;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (seen_fortran) return npy_bad(&lx, "duplicate key 'fortran_order'");
      seen_fortran = true;
      if (lx.n - lx.i >= 4 && memcmp(lx.s + lx.i, "True", 4) == 0) {
        h->fortran = true;
        lx.i += 4;
      } else if (lx.n - lx.i >= 5 && memcmp(lx.s + lx.i, "False", 5) == 0) {
        h->fortran = false;
        lx.i += 5;
      } else {
        return npy_bad(&lx, "expected True or False for 'fortran_order'");
      }
    } else if (strcmp(key, "shape") == 0) {
      if (seen_shape) return npy_bad(&lx, "duplicate key 'shape'");
      seen_shape = true;
      if ((st = npy_shape(&lx, h))) return st;
    } else {
      return bud_fail(ctx, BUD_ERR_FORMAT, "%s: malformed .npy header: unexpected key '%s'", name,
                      key);
    }
    npy_ws(&lx);
    if (npy_peek(&lx, ',')) {
      lx.i++;
      continue;
    }
    if (npy_peek(&lx, '}')) break;
    return npy_bad(&lx, "expected ',' or '}'");
  }
  lx.i++; /* '}' */
  npy_ws(&lx);
  if (lx.i != lx.n) return npy_bad(&lx, "unexpected text after the dict");
  if (!seen_descr || !seen_fortran || !seen_shape)
    return bud_fail(ctx, BUD_ERR_FORMAT, "%s: malformed .npy header: missing key '%s'", name,
                    !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
  int64_t nbytes = dtype_size(h->dtype);
  for (int d = 0; d < h->ndim; d++)
    if (!size_mul_ok(nbytes, h->shape[d], &nbytes))
      return bud_fail(ctx, BUD_ERR_FORMAT, "%s: .npy shape overflows: its size exceeds 2^63 bytes",
                      name);
  h->nbytes = nbytes;
  return BUD_OK;
}

/* Parses the complete header held in p[0..n) (n >= data_off, known from npy_prefix). */
static BudStatus npy_header(BudContext *ctx, const char *name, const unsigned char *p, size_t n,
                            NpyHeader *h) {
  size_t text_off, data_off;
  BudStatus st = npy_prefix(ctx, name, p, n, &text_off, &data_off);
  if (st) return st;
  if (data_off > n)
    return bud_fail(ctx, BUD_ERR_FORMAT,
                    "%s: truncated .npy file: header length says %zu bytes, file has %zu", name,
                    data_off, n);
  memset(h, 0, sizeof *h);
  for (size_t i = text_off; i < data_off; i++)
    if (p[i] == 0)
      return bud_fail(ctx, BUD_ERR_FORMAT, "%s: malformed .npy header: NUL byte at offset %zu",
                      name, i);
  if ((st = npy_dict(ctx, name, (const char *)p + text_off, data_off - text_off, h))) return st;
  h->data_off = data_off;
  return BUD_OK;
}

/* Fills out with an owning array for h, with data copied from src by the caller. */
static BudStatus npy_make_array(BudContext *ctx, const char *name, const NpyHeader *h,
                                BudArray *out) {
  memset(out, 0, sizeof *out);
  void *mem = bud_aligned_alloc((size_t)h->nbytes);
  if (!mem)
    return bud_fail(ctx, BUD_ERR_NOMEM, "%s: out of memory allocating %lld bytes", name,
                    (long long)h->nbytes);
  out->data = mem;
  out->owner = mem;
  out->dtype = h->dtype;
  out->ndim = h->ndim;
  int64_t s = dtype_size(h->dtype);
  for (int d = 0; d < h->ndim; d++) out->shape[d] = h->shape[d];
  if (h->fortran) {
    for (int d = 0; d < h->ndim; d++) {
      out->strides[d] = s;
      if (!size_mul_ok(s, h->shape[d] ? h->shape[d] : 1, &s)) s = 0; /* empty array */
    }
  } else {
    for (int d = h->ndim - 1; d >= 0; d--) {
      out->strides[d] = s;
      if (!size_mul_ok(s, h->shape[d] ? h->shape[d] : 1, &s)) s = 0; /* empty array */
    }
  }
  return BUD_OK;
}

BudStatus npy_load_mem(BudContext *ctx, const char *name, const void *buf, size_t n,
                       BudArray *out) {
  if (!name) name = "<memory>";
  if (!out || (!buf && n)) return bud_fail(ctx, BUD_ERR_INVALID, "npy_load_mem: NULL argument");
  NpyHeader h;
  BudStatus st = npy_header(ctx, name, buf, n, &h);
  if (st) return st;
  if ((uint64_t)h.nbytes > n - h.data_off)
    return bud_fail(ctx, BUD_ERR_FORMAT,
                    "%s: truncated .npy file: shape needs %lld bytes of data, file has %zu", name,
                    (long long)h.nbytes, n - h.data_off);
  if ((st = npy_make_array(ctx, name, &h, out))) return st;
  if (h.nbytes) memcpy(out->data, (const unsigned char *)buf + h.data_off, (size_t)h.nbytes);
  return BUD_OK;
}

BudStatus npy_load(BudContext *ctx, const char *path, BudArray *out) {
  if (!path || !out) return bud_fail(ctx, BUD_ERR_INVALID, "npy_load: NULL argument");
  FILE *f = fopen(path, "rb");
  if (!f) return bud_fail(ctx, BUD_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  BudStatus st = BUD_OK;
  unsigned char pre[12];
  unsigned char *hdr = NULL;
  size_t got = fread(pre, 1, sizeof pre, f), text_off, data_off;
  if (got < sizeof pre && ferror(f)) {
    st = bud_fail(ctx, BUD_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    goto done;
  }
  if ((st = npy_prefix(ctx, path, pre, got, &text_off, &data_off))) goto done;
  hdr = malloc(data_off);
  if (!hdr) {
    st = bud_fail(ctx, BUD_ERR_NOMEM, "%s: out of memory reading the header", path);
    goto done;
  }
  size_t have = got < data_off ? got : data_off;
  memcpy(hdr, pre, have);
  if (have < data_off) have += fread(hdr + have, 1, data_off - have, f);
  else if (fseek(f, (long)data_off, SEEK_SET) != 0) {
    st = bud_fail(ctx, BUD_ERR_IO, "cannot seek in '%s': %s", path, strerror(errno));
    goto done;
  }
  NpyHeader h;
  if ((st = npy_header(ctx, path, hdr, have, &h))) goto done;
  struct stat sb;
  if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
      (sb.st_size < 0 || (uint64_t)sb.st_size < h.data_off ||
       (uint64_t)h.nbytes > (uint64_t)sb.st_size - h.data_off)) {
    st = bud_fail(ctx, BUD_ERR_FORMAT,
                  "%s: truncated .npy file: shape needs %lld bytes of data, file has %lld", path,
                  (long long)h.nbytes,
                  (long long)((uint64_t)sb.st_size > h.data_off ? sb.st_size - (off_t)h.data_off : 0));
    goto done;
  }
  if ((st = npy_make_array(ctx, path, &h, out))) goto done;
  if (h.nbytes && fread(out->data, 1, (size_t)h.nbytes, f) != (size_t)h.nbytes) {
    bud_array_free(out);
    st = bud_fail(ctx, BUD_ERR_FORMAT, "%s: truncated .npy file: data shorter than the shape says",
                  path);
  }
done:
  free(hdr);
  fclose(f);
  return st;
}

/* ---- writing ---------------------------------------------------------------------------------- */

/* The header (prefix + dict + padding + newline) for a, into buf (cap >= 512 bytes). */
static size_t npy_make_header(const BudArray *a, unsigned char *buf, size_t cap) {
  const DTypeInfo *di = dtype_info(a->dtype);
  char dict[400];
  int len = snprintf(dict, sizeof dict, "{'descr': '%c%c%d', 'fortran_order': False, 'shape': (",
                     di->size == 1 ? '|' : '<', di->kind, di->size);
  for (int d = 0; d < a->ndim; d++)
    len += snprintf(dict + len, sizeof dict - (size_t)len, d ? ", %lld" : "%lld",
                    (long long)a->shape[d]);
  len += snprintf(dict + len, sizeof dict - (size_t)len, "%s), }", a->ndim == 1 ? "," : "");
  /* Like NumPy (1.23+): spare spaces so the first axis can grow in place to 21 digits. */
  if (a->ndim > 0) {
    char first[32];
    int fl = snprintf(first, sizeof first, "%lld", (long long)a->shape[0]);
    for (int k = fl; k < 21; k++) dict[len++] = ' ';
    dict[len] = '\0';
  }
  /* NumPy's padding: 64 - (prefix + header + newline) % 64 spaces (a whole 64 when aligned). */
  size_t pre = 10;
  if (pre + (size_t)len + 1 + 64 > 65535 + 10) pre = 12;
  size_t pad = 64 - (pre + (size_t)len + 1) % 64;
  size_t total = pre + (size_t)len + pad + 1;
  size_t hlen = total - pre;
  if (total > cap) return 0;
  memcpy(buf, npy_magic, 6);
  buf[6] = pre == 10 ? 1 : 2;
  buf[7] = 0;
  buf[8] = (unsigned char)(hlen & 0xff);
  buf[9] = (unsigned char)(hlen >> 8 & 0xff);
  if (pre == 12) {
    buf[10] = (unsigned char)(hlen >> 16 & 0xff);
    buf[11] = (unsigned char)(hlen >> 24 & 0xff);
  }
  memcpy(buf + pre, dict, (size_t)len);
  memset(buf + pre + len, ' ', pad);
  buf[total - 1] = '\n';
  return total;
}

typedef bool (*NpySink)(void *sink, const void *p, size_t n);

static bool npy_sink_file(void *sink, const void *p, size_t n) {
  return fwrite(p, 1, n, (FILE *)sink) == n;
}

static bool npy_sink_mem(void *sink, const void *p, size_t n) {
  unsigned char **cur = sink;
  memcpy(*cur, p, n);
  *cur += n;
  return true;
}

static BudStatus npy_check_array(BudContext *ctx, const BudArray *a, int64_t *nbytes) {
  if (!a) return bud_fail(ctx, BUD_ERR_INVALID, "npy: NULL array");
  if (!dtype_valid((int)a->dtype))
    return bud_fail(ctx, BUD_ERR_INVALID, "npy: invalid dtype %d", (int)a->dtype);
  if (a->ndim < 0 || a->ndim > BUD_MAX_DIMS)
    return bud_fail(ctx, BUD_ERR_INVALID, "npy: ndim %d is out of range", a->ndim);
  int64_t nb = dtype_size(a->dtype);
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] < 0 || !size_mul_ok(nb, a->shape[d], &nb))
      return bud_fail(ctx, BUD_ERR_OVERFLOW, "npy: array size overflows");
  if (nb && !a->data) return bud_fail(ctx, BUD_ERR_INVALID, "npy: array data is NULL");
  *nbytes = nb;
  return BUD_OK;
}

/* Writes a's elements in C order. */
static bool npy_write_data(const BudArray *a, int64_t nbytes, NpySink sink, void *s) {
  if (nbytes == 0) return true;
  int es = dtype_size(a->dtype);
  bool contig = true;
  int64_t want = es;
  for (int d = a->ndim - 1; d >= 0; d--) {
    if (a->shape[d] != 1 && a->strides[d] != want) contig = false;
    want *= a->shape[d];
  }
  if (contig) return sink(s, a->data, (size_t)nbytes);
  /* Row by row: the last axis packed into a chunk. */
  int nd = a->ndim;
  int64_t inner = nd ? a->shape[nd - 1] : 1, istride = nd ? a->strides[nd - 1] : 0;
  unsigned char chunk[4096];
  int64_t idx[BUD_MAX_DIMS] = {0};
  for (;;) {
    const char *row = a->data;
    for (int d = 0; d < nd - 1; d++) row += idx[d] * a->strides[d];
    size_t fill = 0;
    for (int64_t k = 0; k < inner; k++) {
      memcpy(chunk + fill, row + k * istride, (size_t)es);
      fill += (size_t)es;
      if (fill == sizeof chunk) {
        if (!sink(s, chunk, fill)) return false;
        fill = 0;
      }
    }
    if (fill && !sink(s, chunk, fill)) return false;
    int d = nd - 2;
    for (; d >= 0; d--) {
      if (++idx[d] < a->shape[d]) break;
      idx[d] = 0;
    }
    if (d < 0) return true;
  }
}

BudStatus npy_encode(BudContext *ctx, const BudArray *a, unsigned char **out, size_t *n) {
  if (!out || !n) return bud_fail(ctx, BUD_ERR_INVALID, "npy_encode: NULL argument");
  int64_t nbytes;
  BudStatus st = npy_check_array(ctx, a, &nbytes);
  if (st) return st;
  unsigned char hdr[1024];
  size_t hl = npy_make_header(a, hdr, sizeof hdr);
  if ((uint64_t)nbytes > SIZE_MAX - hl) return bud_fail(ctx, BUD_ERR_OVERFLOW, "npy: too large");
  unsigned char *buf = malloc(hl + (size_t)nbytes);
  if (!buf) return bud_fail(ctx, BUD_ERR_NOMEM, "npy: out of memory encoding an array");
  memcpy(buf, hdr, hl);
  unsigned char *cur = buf + hl;
  npy_write_data(a, nbytes, npy_sink_mem, &cur);
  *out = buf;
  *n = hl + (size_t)nbytes;
  return BUD_OK;
}

BudStatus npy_save(BudContext *ctx, const char *path, const BudArray *a) {
  if (!path) return bud_fail(ctx, BUD_ERR_INVALID, "npy_save: NULL path");
  int64_t nbytes;
  BudStatus st = npy_check_array(ctx, a, &nbytes);
  if (st) return st;
  unsigned char hdr[1024];
  size_t hl = npy_make_header(a, hdr, sizeof hdr);
  FILE *f = fopen(path, "wb");
  if (!f) return bud_fail(ctx, BUD_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
  bool ok = fwrite(hdr, 1, hl, f) == hl && npy_write_data(a, nbytes, npy_sink_file, f);
  int err = errno;
  if (fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) return bud_fail(ctx, BUD_ERR_IO, "cannot write '%s': %s", path, strerror(err));
  return BUD_OK;
}
