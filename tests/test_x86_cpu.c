/* test_x86_cpu.c -- checks CPU detection for consistency (implied features, caches, one
 * shared description across threads) and BUD_ISA selection, including the refusal text.
 * Prints "x86_cpu: N passed, N failed"; exit status non-zero on failure. */
#define _GNU_SOURCE
#include "check.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "x86/cpu.h"


#define IMPLIES(f, a, b) (!((f) & (a)) || ((f) & (b)))

static void *grab(void *p) {
  *(const X86Cpu **)p = x86_cpu();
  return NULL;
}

int main(void) {
  const X86Cpu *c = x86_cpu();
  char names[200];
  printf("cpu: %s | %s | family %u model %u | %s | L1d %u L2 %u L3 %u line %u\n", c->vendor, c->brand,
         c->family, c->model, x86_feat_names(c->feat, names, sizeof names), c->l1d, c->l2, c->l3, c->line);
  uint32_t f = c->feat;
  CHECK_MSG(f & X86_FEAT_SSE2, "x86-64 has SSE2");
  CHECK_MSG(IMPLIES(f, X86_FEAT_AVX2, X86_FEAT_AVX), "AVX2 implies AVX");
  CHECK_MSG(IMPLIES(f, X86_FEAT_FMA, X86_FEAT_AVX), "FMA implies AVX");
  CHECK_MSG(IMPLIES(f, X86_FEAT_AVX, X86_FEAT_SSE41), "AVX implies SSE4.1");
  CHECK_MSG(IMPLIES(f, X86_FEAT_AVX512VL | X86_FEAT_AVX512DQ | X86_FEAT_AVX512BW | X86_FEAT_AVX512CD, X86_FEAT_AVX512F),
        "AVX-512 subsets imply F");
  CHECK_MSG(IMPLIES(f, X86_FEAT_AVX512F, X86_FEAT_AVX2), "AVX-512F implies AVX2");
  CHECK_MSG(IMPLIES(f, X86_FEAT_AVX, 0) || c->has_os_ymm, "AVX only with OS YMM state");
  CHECK_MSG(!(f & X86_FEAT_AVX512F) || c->has_os_zmm, "AVX-512 only with OS ZMM state");
  CHECK_MSG(c->vendor[0] != 0 && strlen(c->vendor) == 12, "vendor '%s'", c->vendor);
  CHECK_MSG(c->l1d == 0 || (c->l1d >= 8192 && c->l1d <= (1u << 20)), "L1d %u", c->l1d);
  CHECK_MSG(c->l2 == 0 || c->l2 >= c->l1d, "L2 >= L1d");
  CHECK_MSG(c->line == 32 || c->line == 64 || c->line == 128, "line %u", c->line);

  X86Cpu again;
  x86_cpu_detect(&again);
  CHECK_MSG(again.feat == c->feat && again.l1d == c->l1d, "detection is repeatable");
  pthread_t th[4];
  const X86Cpu *seen[4];
  for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, grab, &seen[i]);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) CHECK_MSG(seen[i] == c, "one description for every thread");

  /* BUD_ISA on this machine: the default is allowed, vm always is */
  X86Isa isa = X86_ISA_VM;
  char msg[256];
  CHECK_MSG(x86_isa_select(NULL, c, &isa, msg, sizeof msg) == 0 && isa == x86_isa_best(f), "default = best");
  printf("default ISA: %s\n", x86_isa_name(isa));
  CHECK_MSG(x86_isa_select("vm", c, &isa, msg, sizeof msg) == 0 && isa == X86_ISA_VM, "vm");
  CHECK_MSG(x86_isa_select("sse2", c, &isa, msg, sizeof msg) == 0 && isa == X86_ISA_SSE2, "sse2");

  /* a Zen3-like CPU: AVX2 + FMA, no AVX-512 */
  X86Cpu zen = *c;
  zen.feat = X86_FEAT_SSE2 | X86_FEAT_SSE41 | X86_FEAT_AVX | X86_FEAT_AVX2 | X86_FEAT_FMA;
  CHECK_MSG(x86_isa_select("", &zen, &isa, msg, sizeof msg) == 0 && isa == X86_ISA_AVX2, "zen default avx2");
  isa = X86_ISA_VM;
  CHECK_MSG(x86_isa_select("avx512", &zen, &isa, msg, sizeof msg) == -1 && isa == X86_ISA_VM, "avx512 refused");
  CHECK_MSG(strcmp(msg, "BUD_ISA=avx512 requested but this CPU has no AVX-512F (found: sse2 sse4.1 avx avx2 fma)") == 0,
        "refusal text: %s", msg);
  CHECK_MSG(x86_isa_select("avx2", &zen, &isa, msg, sizeof msg) == 0 && isa == X86_ISA_AVX2, "avx2 on zen");
  zen.feat &= ~(uint32_t)X86_FEAT_FMA;
  CHECK_MSG(x86_isa_select("avx2", &zen, &isa, msg, sizeof msg) == -1 && strstr(msg, "has no FMA"), "no FMA: %s", msg);
  CHECK_MSG(x86_isa_select("avx9", &zen, &isa, msg, sizeof msg) == -1 && strstr(msg, "not one of"), "unknown: %s", msg);
  char tiny[8];
  CHECK_MSG(x86_isa_select("avx512", &zen, &isa, tiny, sizeof tiny) == -1 && strlen(tiny) == 7, "message truncated");
  CHECK_MSG(x86_isa_best(0) == X86_ISA_VM, "no SSE2 -> vm");
  CHECK_MSG(x86_isa_best(x86_isa_needs(X86_ISA_AVX512)) == X86_ISA_AVX512, "full AVX-512 -> avx512");
  CHECK_MSG(x86_isa_best(X86_FEAT_AVX512F | x86_isa_needs(X86_ISA_AVX2)) == X86_ISA_AVX2, "F alone is not enough");

  return check_done("x86_cpu");
}
