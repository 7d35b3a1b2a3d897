/* cpu.h -- x86-64 CPU description: features (CPUID + XGETBV), caches, vendor, and the
 * BUD_ISA selection. Entry points: x86_cpu() (lazily initialised once, thread-safe),
 * x86_isa_select(), x86_isa_name(), x86_feat_names(). The feature bits are shared with
 * the encoder table (enc.h), which states what each instruction form needs. */
#ifndef BUD_X86_CPU_H
#define BUD_X86_CPU_H

#include <stddef.h>
#include <stdint.h>

/* Feature bits; BASE is x86-64 itself. The order is the order of x86_feat_names(). */
typedef enum {
  X86_FEAT_BASE = 0,
  X86_FEAT_SSE2 = 1u << 0,
  X86_FEAT_SSE41 = 1u << 1,
  X86_FEAT_SSE42 = 1u << 2,
  X86_FEAT_AVX = 1u << 3,
  X86_FEAT_AVX2 = 1u << 4,
  X86_FEAT_FMA = 1u << 5,
  X86_FEAT_BMI1 = 1u << 6,
  X86_FEAT_BMI2 = 1u << 7,
  X86_FEAT_AVX512F = 1u << 8,
  X86_FEAT_AVX512VL = 1u << 9,
  X86_FEAT_AVX512DQ = 1u << 10,
  X86_FEAT_AVX512BW = 1u << 11,
  X86_FEAT_AVX512CD = 1u << 12,
} X86Feat;
enum { X86_NFEAT = 13 };

/* Instruction-set paths the JIT can take; the core maps these onto its own tiers. */
typedef enum { X86_ISA_VM, X86_ISA_SSE2, X86_ISA_AVX2, X86_ISA_AVX512 } X86Isa;

typedef struct {
  uint32_t feat;            /* X86Feat bits usable now (CPU and OS agree) */
  int has_os_ymm, has_os_zmm; /* XCR0 enables YMM / opmask+ZMM state */
  char vendor[13];          /* "GenuineIntel", "AuthenticAMD", ... */
  char brand[49];
  uint32_t family, model;
  uint32_t l1d, l2, l3;     /* data/unified cache sizes in bytes, 0 if unknown */
  uint32_t line;            /* cache line size in bytes */
} X86Cpu;

/* The machine's description, computed on first call; never NULL. */
const X86Cpu *x86_cpu(void);

/* Fills *cpu from CPUID/XGETBV (what x86_cpu() caches). Exposed for tests. */
void x86_cpu_detect(X86Cpu *cpu);

/* Features each ISA path needs (SSE2 path: SSE2 only; AVX2: AVX AVX2 FMA; AVX512: + F VL DQ BW). */
uint32_t x86_isa_needs(X86Isa isa);

/* Best path the features allow. */
X86Isa x86_isa_best(uint32_t feat);

/* Implements BUD_ISA: request is NULL/"" (take the best), or "vm", "sse2", "avx2",
 * "avx512". Returns 0 and sets *out, or -1 with a message in msg[0..nmsg) naming what is
 * missing, e.g. "BUD_ISA=avx512 requested but this CPU has no AVX-512F (found: sse2 ...)". */
int x86_isa_select(const char *request, const X86Cpu *cpu, X86Isa *out, char *msg, size_t nmsg);

const char *x86_isa_name(X86Isa isa);

/* Writes the names of the bits in feat ("sse2 sse4.1 avx ...") into buf; returns buf. */
char *x86_feat_names(uint32_t feat, char *buf, size_t nbuf);

#endif
