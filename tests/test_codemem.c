/* test_codemem.c -- emits small functions with the x86 encoder into code memory, seals and
 * calls them, and checks /proc/self/maps after every step: no mapping may be writable and
 * executable at once, and the block's own pages go rw- -> r-x -> ---. Also the pool (reuse
 * after free) and the byte bound. Prints "codemem: N passed, N failed". */
#define _GNU_SOURCE
#include "check.h"
#include <stdio.h>
#include <string.h>

#include "rt/codemem.h"
#include "x86/cpu.h"
#include "x86/enc.h"


/* Scans /proc/self/maps: returns the number of w+x mappings; perms of the mapping holding p. */
static int scan_maps(const void *p, char perms_of_p[5]) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  char line[512];
  int nwx = 0;
  if (perms_of_p) strcpy(perms_of_p, "none");
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3) continue;
    if (perms[1] == 'w' && perms[2] == 'x') nwx++;
    if (perms_of_p && (unsigned long)p >= lo && (unsigned long)p < hi) memcpy(perms_of_p, perms, 5);
  }
  fclose(f);
  return nwx;
}

#define STEP(p, want)                                                                              \
  do {                                                                                             \
    char pm[5];                                                                                    \
    int nwx = scan_maps((p), pm);                                                                  \
    CHECK_MSG(nwx == 0, "%d w+x mappings", nwx);                                                       \
    CHECK_MSG(strncmp(pm, want, 3) == 0, "block perms %s, want %s", pm, want);                         \
  } while (0)

typedef long (*Fn2)(long, long);
typedef void (*AddFn)(float *dst, const float *a, const float *b, long n);

/* long f(long a, long b) { return a * b + 7; } */
static void emit_muladd(X86Buf *b) {
  x86_r_rm(b, X86_mov, x86_r64(X86_RAX), x86_oreg(x86_r64(X86_RDI)));
  x86_r_rm(b, X86_imul, x86_r64(X86_RAX), x86_oreg(x86_r64(X86_RSI)));
  x86_rm_i(b, X86_add_i8, x86_oreg(x86_r64(X86_RAX)), 7);
  x86_np(b, X86_ret);
}

/* dst[i] = a[i] + b[i], n a multiple of 4, SSE2 (every x86-64 runs it) */
static void emit_add_sse(X86Buf *b) {
  int32_t top = x86_label_new(b), done = x86_label_new(b);
  x86_rm_r(b, X86_test, x86_oreg(x86_r64(X86_RCX)), x86_r64(X86_RCX));
  x86_jcc(b, X86_CC_E, done);
  x86_r_rm(b, X86_xor, x86_r64(X86_RAX), x86_oreg(x86_r64(X86_RAX)));
  x86_label_bind(b, top);
  x86_r_rm(b, X86_movups, x86_xmm(0), x86_omem(x86_mem_idx(X86_RSI, X86_RAX, 4, 0)));
  x86_r_rm(b, X86_addps, x86_xmm(0), x86_omem(x86_mem_idx(X86_RDX, X86_RAX, 4, 0)));
  x86_rm_r(b, X86_movups_st, x86_omem(x86_mem_idx(X86_RDI, X86_RAX, 4, 0)), x86_xmm(0));
  x86_rm_i(b, X86_add_i8, x86_oreg(x86_r64(X86_RAX)), 4);
  x86_r_rm(b, X86_cmp, x86_r64(X86_RAX), x86_oreg(x86_r64(X86_RCX)));
  x86_jcc(b, X86_CC_B, top);
  x86_label_bind(b, done);
  x86_np(b, X86_ret);
}

int main(void) {
  RtCodeMem cm;
  CHECK_MSG(rt_codemem_init(&cm, 0) == RT_CODE_OK, "init");
  CHECK_MSG(scan_maps(NULL, NULL) == 0, "no w+x mapping before we start");

  X86Buf b;
  x86_buf_init(&b, NULL, 0);
  emit_muladd(&b);
  CHECK_MSG(x86_buf_finish(&b) == X86_OK, "emit");
  RtCode code;
  CHECK_MSG(rt_code_alloc(&cm, b.len, &code) == RT_CODE_OK, "alloc");
  STEP(code.p, "rw-");
  memcpy(code.p, b.code, b.len);
  STEP(code.p, "rw-");
  int st = rt_code_seal(&cm, &code);
  CHECK_MSG(st == RT_CODE_OK, "seal: %d", st);
  STEP(code.p, "r-x");
  if (st == RT_CODE_OK) {
    Fn2 fn;
    memcpy(&fn, &code.p, sizeof fn);
    CHECK_MSG(fn(6, 7) == 49 && fn(-3, 5) == -8, "call gives %ld", fn(6, 7));
  }
  STEP(code.p, "r-x");
  CHECK_MSG(rt_code_seal(&cm, &code) == RT_CODE_ERR_STATE, "sealing twice");
  uint8_t *old = code.p;
  rt_code_free(&cm, &code);
  STEP(old, "---");
  CHECK_MSG(code.p == NULL, "free clears the handle");
  x86_buf_free(&b);

  /* the pool hands the same pages back, writable again */
  x86_buf_init(&b, NULL, 0);
  emit_add_sse(&b);
  CHECK_MSG(x86_buf_finish(&b) == X86_OK, "emit loop");
  CHECK_MSG(rt_code_alloc(&cm, b.len, &code) == RT_CODE_OK && code.p == old, "pool reuse");
  STEP(code.p, "rw-");
  memcpy(code.p, b.code, b.len);
  CHECK_MSG(rt_code_seal(&cm, &code) == RT_CODE_OK, "seal loop");
  STEP(code.p, "r-x");
  float x[12], y[12], z[12] = {0};
  for (int i = 0; i < 12; i++) x[i] = (float)i, y[i] = 0.5f * (float)i;
  AddFn add;
  memcpy(&add, &code.p, sizeof add);
  add(z, x, y, 12);
  int ok = 1;
  for (int i = 0; i < 12; i++) ok &= z[i] == 1.5f * (float)i;
  CHECK_MSG(ok, "array add");
  add(z, x, y, 0);
  rt_code_free(&cm, &code);
  x86_buf_free(&b);

  /* the byte bound: pooled pages are dropped first, live ones are not */
  size_t pg = cm.page;
  rt_codemem_set_limit(&cm, 2 * pg);
  RtCode c1, c2, c3;
  CHECK_MSG(rt_code_alloc(&cm, pg, &c1) == RT_CODE_OK, "first page");
  CHECK_MSG(rt_code_alloc(&cm, pg + 1, &c2) == RT_CODE_ERR_LIMIT, "over the bound");
  CHECK_MSG(rt_code_alloc(&cm, pg, &c2) == RT_CODE_OK, "second page");
  CHECK_MSG(rt_code_alloc(&cm, 1, &c3) == RT_CODE_ERR_LIMIT && c3.p == NULL, "bound holds");
  rt_code_free(&cm, &c1);
  CHECK_MSG(rt_code_alloc(&cm, 1, &c3) == RT_CODE_OK, "freed page reused under the bound");
  CHECK_MSG(cm.used <= 2 * pg, "used %zu", cm.used);
  rt_code_free(&cm, &c2);
  rt_code_free(&cm, &c3);
  CHECK_MSG(scan_maps(NULL, NULL) == 0, "no w+x mapping at the end");
  rt_codemem_destroy(&cm);

  return check_done("codemem");
}
