/* test_npy.c — the .npy reader and writer: files written by NumPy 1.24 (tests/data), byte-exact
 * headers against NumPy's, round trips of every dtype (C and Fortran order, strided views), and
 * every kind of malformed input: handcrafted bad headers, truncation at every byte offset, random
 * corruption (must fail cleanly, never read out of bounds — run under ASan).
 */
#define _GNU_SOURCE
#include "check.h"
#include "front/npy.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *buf = malloc(1 << 20);
  *n = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

static double elem_f(const BudArray *a, int64_t i, int64_t j) {
  const char *p = (const char *)a->data + i * a->strides[0] + (a->ndim > 1 ? j * a->strides[1] : 0);
  Scalar s = scalar_load(a->dtype, p);
  if (dtype_is_float(a->dtype)) return s.f;
  if (dtype_is_uint(a->dtype)) return (double)s.u;
  return (double)s.i;
}

static void test_numpy_files(BudContext *ctx) {
  BudArray a;
  CHECK_EQ_INT(npy_load(ctx, "tests/data/f4_3x4.npy", &a), BUD_OK);
  CHECK_EQ_INT(a.dtype, BUD_FLOAT32);
  CHECK_EQ_INT(a.ndim, 2);
  CHECK_EQ_INT(a.shape[0], 3);
  CHECK_EQ_INT(a.shape[1], 4);
  CHECK_EQ_INT(a.strides[0], 16);
  CHECK_EQ_INT(a.strides[1], 4);
  CHECK(((uintptr_t)a.data & 63) == 0);
  CHECK(elem_f(&a, 2, 3) == 5.5 && elem_f(&a, 0, 1) == 0.5);
  bud_array_free(&a);
  CHECK(a.data == NULL && a.owner == NULL);

  CHECK_EQ_INT(npy_load(ctx, "tests/data/f8_fortran_2x3.npy", &a), BUD_OK);
  CHECK_EQ_INT(a.dtype, BUD_FLOAT64);
  CHECK_EQ_INT(a.strides[0], 8);
  CHECK_EQ_INT(a.strides[1], 16);
  /* np.arange(6).reshape(2,3) + 0.25: element (i,j) = 3i + j + 0.25 */
  int okf = 1;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) okf &= elem_f(&a, i, j) == 3 * i + j + 0.25;
  CHECK(okf);
  bud_array_free(&a);

  CHECK_EQ_INT(npy_load(ctx, "tests/data/i1_5.npy", &a), BUD_OK);
  CHECK_EQ_INT(a.dtype, BUD_INT8);
  CHECK(elem_f(&a, 0, 0) == -128 && elem_f(&a, 4, 0) == 127 && elem_f(&a, 1, 0) == -1);
  bud_array_free(&a);

  CHECK_EQ_INT(npy_load(ctx, "tests/data/b1_4.npy", &a), BUD_OK);
  CHECK_EQ_INT(a.dtype, BUD_BOOL);
  CHECK(((unsigned char *)a.data)[0] == 1 && ((unsigned char *)a.data)[1] == 0 &&
        ((unsigned char *)a.data)[3] == 1);
  bud_array_free(&a);

  CHECK_EQ_INT(npy_load(ctx, "tests/data/u8_3.npy", &a), BUD_OK);
  CHECK_EQ_INT(a.dtype, BUD_UINT64);
  CHECK(((uint64_t *)a.data)[2] == UINT64_MAX);
  bud_array_free(&a);

  CHECK_EQ_INT(npy_load(ctx, "tests/data/i8_scalar.npy", &a), BUD_OK);
  CHECK_EQ_INT(a.ndim, 0);
  CHECK(*(int64_t *)a.data == -42);
  bud_array_free(&a);

  CHECK_EQ_INT(npy_load(ctx, "tests/data/f4_empty_0x3.npy", &a), BUD_OK);
  CHECK_EQ_INT(a.ndim, 2);
  CHECK_EQ_INT(a.shape[0], 0);
  CHECK_EQ_INT(a.shape[1], 3);
  bud_array_free(&a);

  CHECK_EQ_INT(npy_load(ctx, "tests/data/i4_v2_2x2.npy", &a), BUD_OK);
  CHECK_EQ_INT(a.dtype, BUD_INT32);
  CHECK(((int32_t *)a.data)[3] == -4 && ((int32_t *)a.data)[1] == 2);
  bud_array_free(&a);

  CHECK_EQ_INT(npy_load(ctx, "tests/data/u2_v3_3.npy", &a), BUD_OK);
  CHECK_EQ_INT(a.dtype, BUD_UINT16);
  CHECK(((uint16_t *)a.data)[2] == 65535);
  bud_array_free(&a);

  CHECK_EQ_INT(npy_load(ctx, "tests/data/f4_bigendian.npy", &a), BUD_ERR_UNSUPPORTED);
  CHECK(strstr(bud_last_error(ctx), "big-endian .npy files are not supported") != NULL);
  CHECK(strstr(bud_last_error(ctx), "f4_bigendian.npy") != NULL);
  CHECK_EQ_INT(npy_load(ctx, "tests/data/f2_3.npy", &a), BUD_ERR_UNSUPPORTED);
  CHECK(strstr(bud_last_error(ctx), "'<f2'") != NULL);
  CHECK_EQ_INT(npy_load(ctx, "tests/data/no_such_file.npy", &a), BUD_ERR_IO);
  CHECK(strstr(bud_last_error(ctx), "no_such_file.npy") != NULL);
}

/* Writing what NumPy wrote gives NumPy's bytes exactly (header padding included). */
static void test_byte_exact(BudContext *ctx) {
  const char *files[] = {"tests/data/f4_3x4.npy", "tests/data/i1_5.npy", "tests/data/b1_4.npy",
                         "tests/data/u8_3.npy",   "tests/data/i8_scalar.npy",
                         "tests/data/f4_empty_0x3.npy"};
  for (size_t k = 0; k < BUD_ARRAY_LEN(files); k++) {
    size_t n;
    unsigned char *orig = read_all(files[k], &n);
    CHECK(orig != NULL);
    if (!orig) continue;
    BudArray a;
    CHECK_EQ_INT(npy_load_mem(ctx, files[k], orig, n, &a), BUD_OK);
    unsigned char *enc;
    size_t en;
    CHECK_EQ_INT(npy_encode(ctx, &a, &enc, &en), BUD_OK);
    CHECK_MSG(en == n && memcmp(enc, orig, n) == 0, "%s: encoded %zu bytes, NumPy wrote %zu",
              files[k], en, n);
    free(enc);
    bud_array_free(&a);
    free(orig);
  }
}

static void test_round_trips(BudContext *ctx) {
  char path[] = "/tmp/bud_test_npy_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  for (int dt = 0; dt < BUD_NDTYPES; dt++) {
    int64_t shape[3] = {2, 3, 5};
    BudArray a, b;
    CHECK_EQ_INT(bud_array_alloc(ctx, &a, (BudDType)dt, 3, shape), BUD_OK);
    unsigned char *p = a.data;
    int es = bud_dtype_size((BudDType)dt);
    for (int i = 0; i < 30 * es; i++) p[i] = (unsigned char)(i * 37 + dt);
    if (dt == BUD_BOOL)
      for (int i = 0; i < 30; i++) p[i] &= 1;
    CHECK_EQ_INT(npy_save(ctx, path, &a), BUD_OK);
    CHECK_EQ_INT(npy_load(ctx, path, &b), BUD_OK);
    CHECK_EQ_INT(b.dtype, dt);
    CHECK_EQ_INT(b.ndim, 3);
    CHECK(b.shape[0] == 2 && b.shape[1] == 3 && b.shape[2] == 5);
    CHECK(memcmp(a.data, b.data, (size_t)(30 * es)) == 0);
    bud_array_free(&b);
    /* A strided, reversed view: a[::-1, :, ::2] written in C order. */
    BudArray v = a;
    v.data = (char *)a.data + a.strides[0];
    v.strides[0] = -a.strides[0];
    v.shape[2] = 3;
    v.strides[2] = 2 * a.strides[2];
    unsigned char *enc;
    size_t en;
    CHECK_EQ_INT(npy_encode(ctx, &v, &enc, &en), BUD_OK);
    CHECK_EQ_INT(npy_load_mem(ctx, "view", enc, en, &b), BUD_OK);
    int ok = b.shape[0] == 2 && b.shape[1] == 3 && b.shape[2] == 3;
    for (int i = 0; ok && i < 2; i++)
      for (int j = 0; j < 3; j++)
        for (int k = 0; k < 3; k++)
          ok &= memcmp((char *)b.data + i * b.strides[0] + j * b.strides[1] + k * b.strides[2],
                       (char *)a.data + (1 - i) * a.strides[0] + j * a.strides[1] +
                           2 * k * a.strides[2],
                       (size_t)es) == 0;
    CHECK_MSG(ok, "strided round trip of %s", bud_dtype_name((BudDType)dt));
    free(enc);
    bud_array_free(&b);
    bud_array_free(&a);
  }
  /* Fortran order file -> C order file with the same values. */
  BudArray f, c;
  CHECK_EQ_INT(npy_load(ctx, "tests/data/f8_fortran_2x3.npy", &f), BUD_OK);
  CHECK_EQ_INT(npy_save(ctx, path, &f), BUD_OK);
  CHECK_EQ_INT(npy_load(ctx, path, &c), BUD_OK);
  CHECK_EQ_INT(c.strides[0], 24);
  double *cd = c.data;
  CHECK(cd[0] == 0.25 && cd[1] == 1.25 && cd[3] == 3.25 && cd[5] == 5.25);
  bud_array_free(&c);
  bud_array_free(&f);
  /* 0-d and empty. */
  int64_t z[1] = {0};
  CHECK_EQ_INT(bud_array_alloc(ctx, &f, BUD_UINT8, 1, z), BUD_OK);
  CHECK_EQ_INT(npy_save(ctx, path, &f), BUD_OK);
  CHECK_EQ_INT(npy_load(ctx, path, &c), BUD_OK);
  CHECK(c.ndim == 1 && c.shape[0] == 0 && c.dtype == BUD_UINT8);
  bud_array_free(&c);
  bud_array_free(&f);
  /* The writer refuses a directory and reports the path. */
  CHECK_EQ_INT(npy_save(ctx, "/tmp", &f), BUD_ERR_IO);
  CHECK(strstr(bud_last_error(ctx), "/tmp") != NULL);
  unlink(path);
}

/* One handcrafted v1.0 file: header text (padded by this helper) and data bytes. */
static BudStatus load_hdr(BudContext *ctx, const char *dict, size_t ndata) {
  unsigned char buf[4096];
  size_t hl = strlen(dict);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(hl & 0xff);
  buf[9] = (unsigned char)(hl >> 8);
  memcpy(buf + 10, dict, hl);
  memset(buf + 10 + hl, 0x3f, ndata);
  BudArray a;
  BudStatus st = npy_load_mem(ctx, "bad.npy", buf, 10 + hl + ndata, &a);
  if (st == BUD_OK) bud_array_free(&a);
  return st;
}

static void test_malformed(BudContext *ctx) {
  /* A good one first, so the helper is known to work. */
  CHECK_EQ_INT(load_hdr(ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8),
               BUD_OK);
  CHECK_EQ_INT(load_hdr(ctx, "{\"descr\":\"=i2\",\"shape\":(1,2),\"fortran_order\":True}", 4),
               BUD_OK);
  CHECK_EQ_INT(load_hdr(ctx, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", 1),
               BUD_OK);
  /* Empty arrays with huge other dimensions are fine (as in NumPy); strides must not overflow. */
  CHECK_EQ_INT(load_hdr(ctx, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4611686018427387904), }", 0),
               BUD_OK);
  CHECK_EQ_INT(load_hdr(ctx, "{'descr': '<f8', 'fortran_order': True, 'shape': (0, 4611686018427387904), }", 0),
               BUD_OK);
  /* ... but, as NumPy, the running byte count overflows before the 0 is reached here. */
  CHECK_EQ_INT(load_hdr(ctx, "{'descr': '<f8', 'fortran_order': True, 'shape': (4611686018427387904, 0), }", 0),
               BUD_ERR_FORMAT);
  struct { const char *dict; size_t ndata; BudStatus want; const char *msg; } cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8, BUD_ERR_FORMAT, "truncated"},
      {"{'descr': '<f4', 'fortran_order': False, }", 4, BUD_ERR_FORMAT, "missing key 'shape'"},
      {"{'fortran_order': False, 'shape': (1,), }", 4, BUD_ERR_FORMAT, "missing key 'descr'"},
      {"{'descr': '<f4', 'shape': (1,), }", 4, BUD_ERR_FORMAT, "missing key 'fortran_order'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, BUD_ERR_FORMAT,
       "unexpected key 'x'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4,
       BUD_ERR_FORMAT, "duplicate"},
      {"{'descr': '<x4', 'fortran_order': False, 'shape': (1,), }", 4, BUD_ERR_FORMAT,
       "unknown dtype descr '<x4'"},
      {"{'descr': 'f4', 'fortran_order': False, 'shape': (1,), }", 4, BUD_ERR_FORMAT, "unknown"},
      {"{'descr': '<f', 'fortran_order': False, 'shape': (1,), }", 4, BUD_ERR_FORMAT, "unknown"},
      {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", 4, BUD_ERR_FORMAT, "True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1), }", 4, BUD_ERR_FORMAT, "not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", 4, BUD_ERR_FORMAT, "tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, BUD_ERR_FORMAT, "non-negative"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,,), }", 4, BUD_ERR_FORMAT, "integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (01,), }", 4, BUD_ERR_FORMAT, "leading zero"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4,
       BUD_ERR_FORMAT, "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 4,
       BUD_ERR_FORMAT, "overflows"},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,), }", 4,
       BUD_ERR_FORMAT, "overflows"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }", 4, BUD_ERR_FORMAT,
       "truncated"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", 4, BUD_ERR_FORMAT,
       "after the dict"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }", 4, BUD_ERR_FORMAT, "expected"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", 4, BUD_ERR_FORMAT, ""},
      {"['descr', '<f4']", 4, BUD_ERR_FORMAT, "expected '{'"},
      {"", 4, BUD_ERR_FORMAT, "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4, BUD_ERR_FORMAT, "expected"},
      {"{descr: '<f4', 'fortran_order': False, 'shape': (1,), }", 4, BUD_ERR_FORMAT, "quoted key"},
      {"{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", 8, BUD_ERR_UNSUPPORTED,
       "big-endian .npy files are not supported"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, BUD_ERR_UNSUPPORTED,
       "not supported"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 8,
       BUD_ERR_UNSUPPORTED, "structured"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
       BUD_ERR_LIMIT, "dimensions"},
  };
  for (size_t k = 0; k < BUD_ARRAY_LEN(cases); k++) {
    BudStatus st = load_hdr(ctx, cases[k].dict, cases[k].ndata);
    CHECK_MSG(st == cases[k].want && strstr(bud_last_error(ctx), cases[k].msg) &&
                  strstr(bud_last_error(ctx), "bad.npy"),
              "case %zu: %s -> %s \"%s\"", k, cases[k].dict, bud_status_name(st),
              bud_last_error(ctx));
  }
  /* Prefix problems. */
  BudArray a;
  CHECK_EQ_INT(npy_load_mem(ctx, "x.npy", "\x93NUMPX\x01\x00\x00\x00", 10, &a), BUD_ERR_FORMAT);
  CHECK(strstr(bud_last_error(ctx), "not a .npy file"));
  CHECK_EQ_INT(npy_load_mem(ctx, "x.npy", "\x93NUMPY\x04\x00\x00\x00", 10, &a), BUD_ERR_FORMAT);
  CHECK(strstr(bud_last_error(ctx), "version 4.0"));
  CHECK_EQ_INT(npy_load_mem(ctx, "x.npy", "\x93NUMPY\x01\x00\xff\xff{}", 12, &a), BUD_ERR_FORMAT);
  CHECK(strstr(bud_last_error(ctx), "header length"));
  CHECK_EQ_INT(npy_load_mem(ctx, "x.npy", "\x93NUMPY\x02\x00\xff\xff\xff\x7f{}", 14, &a),
               BUD_ERR_FORMAT);
  CHECK(strstr(bud_last_error(ctx), "larger than"));
  CHECK_EQ_INT(npy_load_mem(ctx, "x.npy", "", 0, &a), BUD_ERR_FORMAT);
  CHECK_EQ_INT(npy_load_mem(ctx, "x.npy", NULL, 0, &a), BUD_ERR_FORMAT);
  CHECK_EQ_INT(npy_load_mem(ctx, "x.npy", "abc", 3, NULL), BUD_ERR_INVALID);
}

/* Every prefix of every valid file fails cleanly with BUD_ERR_FORMAT; the same through files. */
static void test_truncation(BudContext *ctx) {
  const char *files[] = {"tests/data/f4_3x4.npy", "tests/data/f8_fortran_2x3.npy",
                         "tests/data/i4_v2_2x2.npy", "tests/data/u2_v3_3.npy",
                         "tests/data/i8_scalar.npy", "tests/data/b1_4.npy"};
  char path[] = "/tmp/bud_test_trunc_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  for (size_t k = 0; k < BUD_ARRAY_LEN(files); k++) {
    size_t n;
    unsigned char *orig = read_all(files[k], &n);
    CHECK(orig != NULL);
    if (!orig) continue;
    int bad = 0, badf = 0;
    for (size_t cut = 0; cut < n; cut++) {
      /* An exact-size copy, so ASan sees any read past the end. */
      unsigned char *buf = malloc(cut ? cut : 1);
      memcpy(buf, orig, cut);
      BudArray a;
      BudStatus st = npy_load_mem(ctx, "t.npy", buf, cut, &a);
      if (st != BUD_ERR_FORMAT) {
        bad++;
        if (st == BUD_OK) bud_array_free(&a);
      }
      free(buf);
      /* Through a file: every offset in the prefix, then a spread of offsets (file I/O is slow). */
      if (cut > 16 && cut % 13 != 0 && cut != n - 1) continue;
      FILE *f = fopen(path, "wb");
      fwrite(orig, 1, cut, f);
      fclose(f);
      st = npy_load(ctx, path, &a);
      if (st != BUD_ERR_FORMAT || !strstr(bud_last_error(ctx), path)) {
        badf++;
        if (st == BUD_OK) bud_array_free(&a);
      }
    }
    CHECK_MSG(bad == 0 && badf == 0, "%s: %d memory and %d file truncations not refused", files[k],
              bad, badf);
    free(orig);
  }
  unlink(path);
}

/* Random corruption of header bytes: any status but a crash; OK only with data inside the file. */
static void test_corruption(BudContext *ctx) {
  size_t n;
  unsigned char *orig = read_all("tests/data/f4_3x4.npy", &n);
  CHECK(orig != NULL);
  if (!orig) return;
  uint64_t seed = 12345;
  int bad = 0, nok = 0;
  for (int iter = 0; iter < 20000; iter++) {
    unsigned char *buf = malloc(n);
    memcpy(buf, orig, n);
    int nflip = 1 + iter % 4;
    for (int f = 0; f < nflip; f++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      size_t pos = (size_t)(seed >> 33) % 128; /* the header */
      const char *interesting = "0123456789(),:' {}<>|=TrueFalsbifuc\n";
      buf[pos] = (seed >> 20) & 1 ? (unsigned char)(seed >> 40)
                                  : (unsigned char)interesting[(seed >> 40) % 36];
    }
    BudArray a;
    BudStatus st = npy_load_mem(ctx, "c.npy", buf, n, &a);
    if (st == BUD_OK) {
      nok++;
      int64_t nb = bud_array_size(&a) * bud_dtype_size(a.dtype);
      if (nb > (int64_t)n) bad++;
      bud_array_free(&a);
    } else if (st != BUD_ERR_FORMAT && st != BUD_ERR_UNSUPPORTED && st != BUD_ERR_LIMIT) {
      bad++;
    }
    free(buf);
  }
  CHECK_MSG(bad == 0, "%d corrupted files gave a wrong status", bad);
  CHECK(nok > 0); /* some corruptions (padding) are harmless */
  free(orig);
}

int main(void) {
  BudContext *ctx = bud_context_new();
  test_numpy_files(ctx);
  test_byte_exact(ctx);
  test_round_trips(ctx);
  test_malformed(ctx);
  test_truncation(ctx);
  test_corruption(ctx);
  bud_context_free(ctx);
  return check_done("npy");
}
