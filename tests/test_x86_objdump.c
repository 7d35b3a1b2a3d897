/* test_x86_objdump.c -- builds a small kernel with the encoder (an AVX2 loop adding two
 * float arrays, an AVX-512 masked tail, a RIP-relative constant, labels and branches),
 * disassembles it with objdump and compares every instruction's text; when the CPU can,
 * also runs it. Skips the disassembly (with a message) if objdump is missing.
 * Prints "x86_objdump: N passed, N failed". */
#define _GNU_SOURCE
#include "check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt/codemem.h"
#include "x86/cpu.h"
#include "x86/enc.h"


/* void kernel(float *dst, const float *a, const float *b, long n): dst = (a + b) * 2.
 * rdi=dst rsi=a rdx=b rcx=n. Full 8-lane AVX2 steps, then one AVX-512 masked step for the
 * n % 8 leftover elements (reached only when there are some). */
/* objdump -M intel text of each instruction, in order (RIP targets 0x80 = 2.0f, 0xc0 = lanes) */
static const char *expect[] = {
    "xor    rax,rax",
    "mov    r8,rcx",
    "and    r8,0xfffffffffffffff8",
    "vbroadcastss ymm3,DWORD PTR [rip+0x6d]",
    "je     0x35",
    "vmovups ymm0,YMMWORD PTR [rsi+rax*4]",
    "vaddps ymm0,ymm0,YMMWORD PTR [rdx+rax*4]",
    "vmulps ymm0,ymm0,ymm3",
    "vmovups YMMWORD PTR [rdi+rax*4],ymm0",
    "add    rax,0x8",
    "cmp    rax,r8",
    "jb     0x19",
    "cmp    rax,rcx",
    "je     0x74",
    "mov    r9,rcx",
    "sub    r9,rax",
    "vpbroadcastd zmm2,r9d",
    "vpcmpnled k1,zmm2,ZMMWORD PTR [rip+0x6b]",
    "vmovups zmm1{k1}{z},ZMMWORD PTR [rsi+rax*4]",
    "vaddps zmm1{k1}{z},zmm1,ZMMWORD PTR [rdx+rax*4]",
    "vmulps zmm1{k1}{z},zmm1,DWORD BCST [rip+0x13]",
    "vmovups ZMMWORD PTR [rdi+rax*4]{k1},zmm1",
    "vzeroupper",
    "ret",
};

static void emit_kernel(X86Buf *b) {
  int32_t top = x86_label_new(b), tail = x86_label_new(b), done = x86_label_new(b);
  int32_t two = x86_label_new(b), iota = x86_label_new(b);
  X86Reg rax = x86_r64(X86_RAX), rcx = x86_r64(X86_RCX), r8 = x86_r64(X86_R8), r9 = x86_r64(X86_R9);
  x86_r_rm(b, X86_xor, rax, x86_oreg(rax));
  x86_r_rm(b, X86_mov, r8, x86_oreg(rcx));
  x86_rm_i(b, X86_and_i8, x86_oreg(r8), -8);
  x86_r_rm(b, X86_vbroadcastss, x86_ymm(3), x86_omem(x86_mem_label(two, 0)));
  x86_jcc(b, X86_CC_E, tail);
  x86_label_bind(b, top);
  x86_r_rm(b, X86_vmovups, x86_ymm(0), x86_omem(x86_mem_idx(X86_RSI, X86_RAX, 4, 0)));
  x86_r_v_rm(b, X86_vaddps, x86_ymm(0), x86_ymm(0), x86_omem(x86_mem_idx(X86_RDX, X86_RAX, 4, 0)));
  x86_r_v_rm(b, X86_vmulps, x86_ymm(0), x86_ymm(0), x86_oreg(x86_ymm(3)));
  x86_rm_r(b, X86_vmovups_st, x86_omem(x86_mem_idx(X86_RDI, X86_RAX, 4, 0)), x86_ymm(0));
  x86_rm_i(b, X86_add_i8, x86_oreg(rax), 8);
  x86_r_rm(b, X86_cmp, rax, x86_oreg(r8));
  x86_jcc(b, X86_CC_B, top);
  x86_label_bind(b, tail);
  x86_r_rm(b, X86_cmp, rax, x86_oreg(rcx));
  x86_jcc(b, X86_CC_E, done);
  x86_r_rm(b, X86_mov, r9, x86_oreg(rcx));
  x86_r_rm(b, X86_sub, r9, x86_oreg(rax));
  x86_r_rm(b, X86_evpbroadcastd_r, x86_zmm(2), x86_oreg(x86_r32(X86_R9)));
  X86Opnd cmp[4] = {x86_oreg(x86_kreg(1)), x86_oreg(x86_zmm(2)), x86_omem(x86_mem_label(iota, 0)), x86_oimm(6)};
  x86_emit(b, X86_evpcmpd, 4, cmp);
  x86_r_rm(b, X86_evmovups, x86_masked(x86_zmm(1), 1, 1), x86_omem(x86_mem_idx(X86_RSI, X86_RAX, 4, 0)));
  x86_r_v_rm(b, X86_evaddps, x86_masked(x86_zmm(1), 1, 1), x86_zmm(1), x86_omem(x86_mem_idx(X86_RDX, X86_RAX, 4, 0)));
  x86_r_v_rm(b, X86_evmulps, x86_masked(x86_zmm(1), 1, 1), x86_zmm(1), x86_omem(x86_bcast(x86_mem_label(two, 0), 16)));
  X86Mem st = x86_mem_idx(X86_RDI, X86_RAX, 4, 0);
  st.mask = 1;
  x86_rm_r(b, X86_evmovups_st, x86_omem(st), x86_zmm(1));
  x86_label_bind(b, done);
  x86_np(b, X86_vzeroupper);
  x86_np(b, X86_ret);
  /* constant pool: 2.0f and the lane numbers 0..15, each 64-byte aligned, int3 padding */
  static const float two_f = 2.0f;
  static const int32_t lanes[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  x86_align(b, 64, 0xCC);
  x86_label_bind(b, two);
  x86_data(b, &two_f, sizeof two_f);
  x86_align(b, 64, 0xCC);
  x86_label_bind(b, iota);
  x86_data(b, lanes, sizeof lanes);
}

int main(void) {
  X86Buf b;
  x86_buf_init(&b, NULL, 0);
  emit_kernel(&b);
  CHECK_MSG(x86_buf_finish(&b) == X86_OK, "kernel encodes");
  char path[] = "/tmp/bud_x86_objdump_XXXXXX";
  int fd = mkstemp(path);
  CHECK_MSG(fd >= 0, "mkstemp");
  if (fd >= 0) {
    CHECK_MSG(write(fd, b.code, b.len) == (ssize_t)b.len, "write");
    close(fd);
  }
  if (system("objdump --version >/dev/null 2>&1") != 0) {
    printf("x86_objdump: objdump not found, skipping the disassembly comparison\n");
  } else if (fd >= 0) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "objdump -D -b binary -mi386:x86-64 -M intel %s", path);
    FILE *p = popen(cmd, "r");
    char line[512];
    size_t n = 0, nexp = sizeof expect / sizeof expect[0];
    while (p && fgets(line, sizeof line, p)) {
      char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
      if (!t2 || !strchr(line, ':')) continue;
      char *text = t2 + 1, *hash = strchr(text, '#');
      if (hash) *hash = 0;
      size_t k = strlen(text);
      while (k && (text[k - 1] == '\n' || text[k - 1] == ' ')) text[--k] = 0;
      if (n < nexp) CHECK_MSG(strcmp(text, expect[n]) == 0, "insn %zu: got '%s' want '%s'", n, text, expect[n]);
      else if (getenv("BUD_TEST_VERBOSE")) printf("  (pool) %s\n", text);
      n++;
      if (n == nexp) break;
    }
    if (p) pclose(p);
    CHECK_MSG(n == nexp, "%zu instructions disassembled, want %zu", n, nexp);
  }
  if (fd >= 0) unlink(path);

  /* run it where the CPU allows: AVX2 for whole steps, AVX-512 for the masked tail */
  const X86Cpu *cpu = x86_cpu();
  RtCodeMem cm;
  RtCode code;
  rt_codemem_init(&cm, 0);
  if ((cpu->feat & (X86_FEAT_AVX2 | X86_FEAT_FMA)) == (X86_FEAT_AVX2 | X86_FEAT_FMA) &&
      rt_code_alloc(&cm, b.len, &code) == RT_CODE_OK) {
    memcpy(code.p, b.code, b.len);
    CHECK_MSG(rt_code_seal(&cm, &code) == RT_CODE_OK, "seal");
    void (*fn)(float *, const float *, const float *, long);
    memcpy(&fn, &code.p, sizeof fn);
    int has512 = (cpu->feat & X86_FEAT_AVX512F) != 0;
    long sizes[] = {0, 8, 16, 13, 21, 7};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      long n = sizes[s];
      if (n % 8 && !has512) continue;
      float a[32], bb[32], d[32];
      for (int i = 0; i < 32; i++) a[i] = (float)i, bb[i] = 1.0f, d[i] = -1.0f;
      fn(d, a, bb, n);
      int ok = 1;
      for (int i = 0; i < 32; i++) ok &= d[i] == (i < n ? 2.0f * ((float)i + 1.0f) : -1.0f);
      CHECK_MSG(ok, "kernel result for n=%ld", n);
    }
    rt_code_free(&cm, &code);
  } else {
    printf("x86_objdump: CPU lacks AVX2+FMA, not running the kernel\n");
  }
  rt_codemem_destroy(&cm);
  x86_buf_free(&b);
  return check_done("x86_objdump");
}
