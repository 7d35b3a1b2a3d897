/* cpu.c -- CPUID/XGETBV feature detection, cache sizes and the BUD_ISA choice.
 * Entry points: x86_cpu() (the one lazily initialised, immutable CPU description; computed
 * under pthread_once), x86_cpu_detect(), x86_isa_select(). A feature counts only when the OS
 * also saves its register state (XCR0), so AVX is off under an OS that does not enable YMM. */
#define _GNU_SOURCE
#include "x86/cpu.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
  uint32_t bit;
  const char *name, *label; /* "found:" list name; name in "has no ..." */
} feat_names[X86_NFEAT] = {
    {X86_FEAT_SSE2, "sse2", "SSE2"},           {X86_FEAT_SSE41, "sse4.1", "SSE4.1"},
    {X86_FEAT_SSE42, "sse4.2", "SSE4.2"},      {X86_FEAT_AVX, "avx", "AVX"},
    {X86_FEAT_AVX2, "avx2", "AVX2"},           {X86_FEAT_FMA, "fma", "FMA"},
    {X86_FEAT_BMI1, "bmi1", "BMI1"},           {X86_FEAT_BMI2, "bmi2", "BMI2"},
    {X86_FEAT_AVX512F, "avx512f", "AVX-512F"}, {X86_FEAT_AVX512VL, "avx512vl", "AVX-512VL"},
    {X86_FEAT_AVX512DQ, "avx512dq", "AVX-512DQ"}, {X86_FEAT_AVX512BW, "avx512bw", "AVX-512BW"},
    {X86_FEAT_AVX512CD, "avx512cd", "AVX-512CD"},
};
_Static_assert(X86_FEAT_AVX512CD == 1u << (X86_NFEAT - 1), "feat_names covers every bit");

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  r[0] = r[1] = r[2] = r[3] = 0;
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t)hi << 32 | lo;
}

/* Deterministic cache parameters: leaf 4 (Intel) and 0x8000001D (AMD) share the layout. */
static void caches_from_leaf(X86Cpu *c, uint32_t leaf) {
  for (uint32_t i = 0; i < 16; i++) {
    uint32_t r[4];
    cpuid(leaf, i, r);
    uint32_t type = r[0] & 0x1F, level = (r[0] >> 5) & 7;
    if (type == 0) break;
    if (type != 1 && type != 3) continue; /* data or unified */
    uint32_t line = (r[1] & 0xFFF) + 1, parts = ((r[1] >> 12) & 0x3FF) + 1;
    uint32_t ways = ((r[1] >> 22) & 0x3FF) + 1, sets = r[2] + 1;
    uint32_t size = ways * parts * line * sets;
    if (level == 1) c->l1d = size, c->line = line;
    if (level == 2) c->l2 = size;
    if (level == 3) c->l3 = size;
  }
}

void x86_cpu_detect(X86Cpu *c) {
  memset(c, 0, sizeof *c);
  uint32_t r[4];
  cpuid(0, 0, r);
  uint32_t maxleaf = r[0];
  memcpy(c->vendor, &r[1], 4), memcpy(c->vendor + 4, &r[3], 4), memcpy(c->vendor + 8, &r[2], 4);
  cpuid(1, 0, r);
  uint32_t ecx1 = r[2], edx1 = r[3];
  c->family = ((r[0] >> 8) & 0xF) + ((r[0] >> 8 & 0xF) == 0xF ? (r[0] >> 20) & 0xFF : 0);
  c->model = ((r[0] >> 4) & 0xF) | ((r[0] >> 12) & 0xF0);
  uint32_t ebx7 = 0;
  if (maxleaf >= 7) cpuid(7, 0, r), ebx7 = r[1];
  if (ecx1 & (1u << 27)) { /* OSXSAVE: XCR0 is readable */
    uint64_t xcr0 = xgetbv0();
    c->has_os_ymm = (xcr0 & 0x6) == 0x6;
    c->has_os_zmm = c->has_os_ymm && (xcr0 & 0xE0) == 0xE0;
  }
  uint32_t f = 0;
  if (edx1 & (1u << 26)) f |= X86_FEAT_SSE2;
  if (ecx1 & (1u << 19)) f |= X86_FEAT_SSE41;
  if (ecx1 & (1u << 20)) f |= X86_FEAT_SSE42;
  if (ebx7 & (1u << 3)) f |= X86_FEAT_BMI1;
  if (ebx7 & (1u << 8)) f |= X86_FEAT_BMI2;
  if (c->has_os_ymm) {
    if (ecx1 & (1u << 28)) f |= X86_FEAT_AVX;
    if ((ecx1 & (1u << 12)) && (f & X86_FEAT_AVX)) f |= X86_FEAT_FMA;
    if ((ebx7 & (1u << 5)) && (f & X86_FEAT_AVX)) f |= X86_FEAT_AVX2;
  }
  if (c->has_os_zmm && (ebx7 & (1u << 16))) {
    f |= X86_FEAT_AVX512F;
    if (ebx7 & (1u << 31)) f |= X86_FEAT_AVX512VL;
    if (ebx7 & (1u << 17)) f |= X86_FEAT_AVX512DQ;
    if (ebx7 & (1u << 30)) f |= X86_FEAT_AVX512BW;
    if (ebx7 & (1u << 28)) f |= X86_FEAT_AVX512CD;
  }
  c->feat = f;

  cpuid(0x80000000u, 0, r);
  uint32_t maxext = r[0];
  if (maxext >= 0x80000004u) {
    for (uint32_t i = 0; i < 3; i++) {
      cpuid(0x80000002u + i, 0, r);
      memcpy(c->brand + 16 * i, r, 16);
    }
    c->brand[48] = 0;
    char *s = c->brand; /* some brands are padded with leading spaces */
    while (*s == ' ') s++;
    memmove(c->brand, s, strlen(s) + 1);
  }
  if (strcmp(c->vendor, "AuthenticAMD") == 0 || strcmp(c->vendor, "HygonGenuine") == 0) {
    cpuid(0x80000001u, 0, r);
    if (maxext >= 0x8000001Du && (r[2] & (1u << 22))) caches_from_leaf(c, 0x8000001Du);
  } else if (maxleaf >= 4) {
    caches_from_leaf(c, 4);
  }
  long v;
  if (!c->l1d && (v = sysconf(_SC_LEVEL1_DCACHE_SIZE)) > 0) c->l1d = (uint32_t)v;
  if (!c->l2 && (v = sysconf(_SC_LEVEL2_CACHE_SIZE)) > 0) c->l2 = (uint32_t)v;
  if (!c->l3 && (v = sysconf(_SC_LEVEL3_CACHE_SIZE)) > 0) c->l3 = (uint32_t)v;
  if (!c->line && (v = sysconf(_SC_LEVEL1_DCACHE_LINESIZE)) > 0) c->line = (uint32_t)v;
  if (!c->line) c->line = 64;
}

static X86Cpu the_cpu;
static pthread_once_t the_cpu_once = PTHREAD_ONCE_INIT;
static void init_cpu(void) { x86_cpu_detect(&the_cpu); }

const X86Cpu *x86_cpu(void) {
  pthread_once(&the_cpu_once, init_cpu);
  return &the_cpu;
}

uint32_t x86_isa_needs(X86Isa isa) {
  switch (isa) {
  case X86_ISA_VM: return 0;
  case X86_ISA_SSE2: return X86_FEAT_SSE2;
  case X86_ISA_AVX2: return X86_FEAT_SSE2 | X86_FEAT_AVX | X86_FEAT_AVX2 | X86_FEAT_FMA;
  case X86_ISA_AVX512:
    return X86_FEAT_SSE2 | X86_FEAT_AVX | X86_FEAT_AVX2 | X86_FEAT_FMA | X86_FEAT_AVX512F |
           X86_FEAT_AVX512VL | X86_FEAT_AVX512DQ | X86_FEAT_AVX512BW;
  }
  return ~0u;
}

X86Isa x86_isa_best(uint32_t feat) {
  static const X86Isa order[] = {X86_ISA_AVX512, X86_ISA_AVX2, X86_ISA_SSE2};
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    if ((feat & x86_isa_needs(order[i])) == x86_isa_needs(order[i])) return order[i];
  return X86_ISA_VM;
}

static const char *isa_names[] = {"vm", "sse2", "avx2", "avx512"};
_Static_assert(X86_ISA_VM == 0 && X86_ISA_AVX512 == 3, "isa_names order");

const char *x86_isa_name(X86Isa isa) { return (unsigned)isa < 4 ? isa_names[isa] : "?"; }

char *x86_feat_names(uint32_t feat, char *buf, size_t nbuf) {
  size_t n = 0;
  if (nbuf) buf[0] = 0;
  for (int i = 0; i < X86_NFEAT && nbuf; i++) {
    if (!(feat & feat_names[i].bit)) continue;
    int k = snprintf(buf + n, nbuf - n, "%s%s", n ? " " : "", feat_names[i].name);
    if (k < 0 || (size_t)k >= nbuf - n) break;
    n += (size_t)k;
  }
  return buf;
}

int x86_isa_select(const char *request, const X86Cpu *cpu, X86Isa *out, char *msg, size_t nmsg) {
  if (nmsg) msg[0] = 0;
  if (!request || !*request) {
    *out = x86_isa_best(cpu->feat);
    return 0;
  }
  int isa = -1;
  for (int i = 0; i < 4; i++)
    if (strcmp(request, isa_names[i]) == 0) isa = i;
  if (isa < 0) {
    if (nmsg) snprintf(msg, nmsg, "BUD_ISA=%s is not one of vm, sse2, avx2, avx512", request);
    return -1;
  }
  uint32_t missing = x86_isa_needs((X86Isa)isa) & ~cpu->feat;
  if (missing) {
    int i = 0;
    while (!(missing & feat_names[i].bit)) i++;
    char found[160];
    x86_feat_names(cpu->feat, found, sizeof found);
    if (nmsg) snprintf(msg, nmsg, "BUD_ISA=%s requested but this CPU has no %s (found: %s)", request,
                       feat_names[i].label, found[0] ? found : "none");
    return -1;
  }
  *out = (X86Isa)isa;
  return 0;
}
