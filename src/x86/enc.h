/* enc.h -- the x86-64 instruction encoder: one table of instruction forms (forms.def,
 * enc_legacy.def, enc_vex.def, enc_evex.def) and one function that writes every byte.
 * Entry points: x86_buf_init/x86_buf_free, x86_emit (operands in Intel order), the
 * form-named wrappers below, labels (x86_label_new/bind, x86_jcc, x86_buf_finish) and
 * table queries (x86_op_info, x86_op_features, x86_op_by_name). See enc.c for the essay. */
#ifndef BUD_X86_ENC_H
#define BUD_X86_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "x86/cpu.h"

/* ---- the table ---- */

typedef enum {
#define X(id, name, enc, pfx, map, opc, w, l, form, ext, feat, tup) X86_##id,
#include "x86/enc_legacy.def"
#include "x86/enc_vex.def"
#include "x86/enc_evex.def"
#undef X
  X86_NOP_COUNT
} X86Op;

typedef enum {
#define X(name, order, rc, vc, mc, mk, imm) X86_FORM_##name,
#include "x86/forms.def"
#undef X
  X86_FORM_COUNT
} X86Form;

typedef enum { X86_ENC_LEG, X86_ENC_VEX, X86_ENC_EVEX } X86Enc;
typedef enum { X86_PFX_NP, X86_PFX_P66, X86_PFX_PF3, X86_PFX_PF2 } X86Pfx; /* = VEX.pp */
typedef enum { X86_MAP_M1, X86_MAP_M0F, X86_MAP_M0F38, X86_MAP_M0F3A } X86Map; /* = mmmmm */
typedef enum { X86_W_W0, X86_W_W1, X86_W_WIG } X86W;
/* LV: L from the operands; LY: the same, but 256 or 512 only */
typedef enum { X86_L_L128, X86_L_L256, X86_L_L512, X86_L_LIG, X86_L_LV, X86_L_LY } X86L;
/* HVM/QVM/OVM: half/quarter/eighth of the vector in memory (vpmovzx*, vpmov* down-converts) */
typedef enum { X86_TUP_T0, X86_TUP_FV, X86_TUP_FVM, X86_TUP_HV, X86_TUP_T1S, X86_TUP_T4, X86_TUP_HVM,
               X86_TUP_QVM, X86_TUP_OVM } X86Tuple;

typedef struct {
  const char *id;   /* row id, e.g. "vaddps", "evaddps", "mov_st" */
  const char *mnem; /* assembler mnemonic (jcc/cmovcc rows: "j"/"cmov" + condition) */
  uint8_t enc, pfx, map, opc, w, l, form;
  int8_t ext;       /* ModRM.reg digit, -1 if the reg field holds an operand */
  uint32_t feat;    /* X86Feat bits */
  uint8_t tup;      /* X86Tuple (EVEX disp8*N) */
} X86OpInfo;

const X86OpInfo *x86_op_info(X86Op op);        /* NULL when op is out of range */
X86Op x86_op_by_name(const char *id);          /* X86_NOP_COUNT when unknown */
/* Features an instruction needs at vector width vl_bits (128/256/512; 0 for scalar/GPR):
 * the row's feature, plus AVX512VL for EVEX forms below 512 bits. */
uint32_t x86_op_features(X86Op op, int vl_bits);

/* ---- operands ---- */

/* GPR8 4..7 are spl bpl sil dil (always with a REX prefix; ah..bh are not encodable) */
typedef enum { X86_RC_NONE, X86_RC_GPR64, X86_RC_GPR32, X86_RC_XMM, X86_RC_YMM, X86_RC_ZMM, X86_RC_K,
               X86_RC_GPR16, X86_RC_GPR8 } X86RegClass;
enum { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
       X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15, X86_NOREG = 0xFF };

typedef enum { X86_CC_O, X86_CC_NO, X86_CC_B, X86_CC_AE, X86_CC_E, X86_CC_NE, X86_CC_BE, X86_CC_A,
               X86_CC_S, X86_CC_NS, X86_CC_P, X86_CC_NP, X86_CC_L, X86_CC_GE, X86_CC_LE, X86_CC_G } X86Cond;

/* A register; mask (k1..k7, 0 = none) and zero ({z}) apply when it is the destination. */
typedef struct {
  uint8_t cls, num, mask, zero;
} X86Reg;

/* A memory operand [base + index*scale + disp], or [rip + disp], or [rip + label + disp].
 * bcast = N of an EVEX {1toN} broadcast (0 = none); size = bytes accessed, needed only where
 * the registers leave the vector length open (vcvtpd2ps xmm, m128 vs m256); mask applies
 * when the memory operand is the destination (masked stores). */
typedef struct {
  uint8_t base, index, scale, is_rip, bcast, mask;
  uint16_t size;
  int32_t disp;
  int32_t label; /* with is_rip: target label (0 = none); disp is added to it */
} X86Mem;

typedef enum { X86_OPND_NONE, X86_OPND_REG, X86_OPND_MEM, X86_OPND_IMM, X86_OPND_LABEL, X86_OPND_REL } X86OpndKind;

/* One operand of x86_emit: a register, memory, an immediate, a label (branches) or a raw
 * branch displacement relative to the end of the instruction (X86_OPND_REL in imm). */
typedef struct {
  uint8_t kind;
  X86Reg reg;
  X86Mem mem;
  int64_t imm;
} X86Opnd;

static inline X86Reg x86_r64(int n) { X86Reg r = {X86_RC_GPR64, (uint8_t)n, 0, 0}; return r; }
static inline X86Reg x86_r32(int n) { X86Reg r = {X86_RC_GPR32, (uint8_t)n, 0, 0}; return r; }
static inline X86Reg x86_r16(int n) { X86Reg r = {X86_RC_GPR16, (uint8_t)n, 0, 0}; return r; }
static inline X86Reg x86_r8(int n) { X86Reg r = {X86_RC_GPR8, (uint8_t)n, 0, 0}; return r; }
static inline X86Reg x86_xmm(int n) { X86Reg r = {X86_RC_XMM, (uint8_t)n, 0, 0}; return r; }
static inline X86Reg x86_ymm(int n) { X86Reg r = {X86_RC_YMM, (uint8_t)n, 0, 0}; return r; }
static inline X86Reg x86_zmm(int n) { X86Reg r = {X86_RC_ZMM, (uint8_t)n, 0, 0}; return r; }
static inline X86Reg x86_kreg(int n) { X86Reg r = {X86_RC_K, (uint8_t)n, 0, 0}; return r; }
/* Vector register of vl_bits (128/256/512). */
static inline X86Reg x86_vreg(int vl_bits, int n) {
  return vl_bits >= 512 ? x86_zmm(n) : vl_bits == 256 ? x86_ymm(n) : x86_xmm(n);
}
/* r{k}{z}: write under opmask k (1..7); zero = 1 zeroes the masked-off elements. */
static inline X86Reg x86_masked(X86Reg r, int k, int zero) { r.mask = (uint8_t)k; r.zero = (uint8_t)zero; return r; }

/* [base + disp] */
static inline X86Mem x86_mem(int base, int32_t disp) {
  X86Mem m = {(uint8_t)base, X86_NOREG, 1, 0, 0, 0, 0, disp, 0}; return m;
}
/* [base + index*scale + disp]; base may be X86_NOREG */
static inline X86Mem x86_mem_idx(int base, int index, int scale, int32_t disp) {
  X86Mem m = {(uint8_t)base, (uint8_t)index, (uint8_t)scale, 0, 0, 0, 0, disp, 0}; return m;
}
/* [rip + disp]: disp is relative to the end of the instruction */
static inline X86Mem x86_mem_rip(int32_t disp) {
  X86Mem m = {X86_NOREG, X86_NOREG, 1, 1, 0, 0, 0, disp, 0}; return m;
}
/* [rip + label + disp]: resolved when the label is bound (constant pools) */
static inline X86Mem x86_mem_label(int32_t label, int32_t disp) {
  X86Mem m = {X86_NOREG, X86_NOREG, 1, 1, 0, 0, 0, disp, label}; return m;
}
static inline X86Mem x86_bcast(X86Mem m, int n) { m.bcast = (uint8_t)n; return m; }

static inline X86Opnd x86_oreg(X86Reg r) { X86Opnd o = {0}; o.kind = X86_OPND_REG; o.reg = r; return o; }
static inline X86Opnd x86_omem(X86Mem m) { X86Opnd o = {0}; o.kind = X86_OPND_MEM; o.mem = m; return o; }
static inline X86Opnd x86_oimm(int64_t v) { X86Opnd o = {0}; o.kind = X86_OPND_IMM; o.imm = v; return o; }
static inline X86Opnd x86_olabel(int32_t l) { X86Opnd o = {0}; o.kind = X86_OPND_LABEL; o.imm = l; return o; }
static inline X86Opnd x86_orel(int32_t rel) { X86Opnd o = {0}; o.kind = X86_OPND_REL; o.imm = rel; return o; }

/* ---- the code buffer ---- */

typedef enum {
  X86_OK = 0,
  X86_ERR_OPERAND = -1,  /* operand count, class, or combination not encodable by this row */
  X86_ERR_OVERFLOW = -2, /* fixed buffer full: nothing was written */
  X86_ERR_RANGE = -3,    /* rel8 branch or immediate out of range */
  X86_ERR_LABEL = -4,    /* unknown or unbound label */
  X86_ERR_NOMEM = -5,
  X86_ERR_OP = -6        /* no such X86Op */
} X86Status;

typedef struct {
  uint32_t pos;   /* offset of the displacement field */
  uint32_t end;   /* offset of the end of the instruction (rel base) */
  int32_t label;
  int32_t addend;
  uint8_t size;   /* 1 or 4 */
} X86Fixup;

/* Growable when created with mem == NULL, else fixed at cap bytes; never written past
 * cap. err keeps the first error; later emits still report their own status. */
typedef struct {
  uint8_t *code;
  size_t len, cap;
  int is_fixed;
  int err;
  int32_t *labels; /* bound offset, or -1 */
  size_t nlabels, caplabels;
  X86Fixup *fix;
  size_t nfix, capfix;
  size_t last_start, last_end; /* the last instruction written */
  int32_t last_rip;            /* offset of its rip-relative disp32, -1 if none */
} X86Buf;

void x86_buf_init(X86Buf *b, void *mem, size_t cap);
void x86_buf_free(X86Buf *b);
/* Resolves every fixup; X86_ERR_LABEL if some label was never bound. */
int x86_buf_finish(X86Buf *b);

/* Labels are small positive integers owned by the buffer. */
int32_t x86_label_new(X86Buf *b);
int x86_label_bind(X86Buf *b, int32_t label); /* at the current end of the code */
/* Rewrites the disp32 at disp_pos (which belongs to an instruction ending at end) so that
 * it reaches target; both offsets are into b->code (see last_rip / last_end). */
int x86_patch_rel32(X86Buf *b, size_t disp_pos, size_t end, size_t target);

/* ---- emitting ---- */

/* Raw bytes (constant pools placed after the code) and padding to a multiple of align
 * (a power of two) with fill (0xCC = int3 between code and data, 0x90 = nop). */
int x86_data(X86Buf *b, const void *p, size_t n);
int x86_align(X86Buf *b, size_t align, uint8_t fill);

/* The one encoder: operands in Intel order (destination first), as the assembler writes
 * them. cc is used by the jcc/cmovcc rows only. Returns X86_OK or a negative X86Status. */
int x86_emit_cc(X86Buf *b, X86Op op, X86Cond cc, int nops, const X86Opnd *ops);
int x86_emit(X86Buf *b, X86Op op, int nops, const X86Opnd *ops);

/* Form-named shorthands (all call x86_emit); rm is x86_oreg(...) or x86_omem(...). */
/* op */
int x86_np(X86Buf *b, X86Op op);
/* op r, r/m          (vmovups ymm, ymm/m256; mov r64, r/m64; vcvtps2pd ymm, xmm/m128) */
int x86_r_rm(X86Buf *b, X86Op op, X86Reg r, X86Opnd rm);
/* op r/m, r          (vmovups m256, ymm; mov r/m64, r64; kmovw m16, k) */
int x86_rm_r(X86Buf *b, X86Op op, X86Opnd rm, X86Reg r);
/* op r, v, r/m       (vaddps ymm, ymm, ymm/m256; vcmpeqd k, zmm, zmm/m512/m32bcst) */
int x86_r_v_rm(X86Buf *b, X86Op op, X86Reg r, X86Reg v, X86Opnd rm);
/* op m, v, r         (vmaskmovps m256, ymm mask, ymm) */
int x86_rm_v_r(X86Buf *b, X86Op op, X86Opnd rm, X86Reg v, X86Reg r);
/* op r, r/m, imm     (vroundps ymm, ymm/m256, imm8; imul r64, r/m64, imm32) */
int x86_r_rm_i(X86Buf *b, X86Op op, X86Reg r, X86Opnd rm, int64_t imm);
/* op r, v, r/m, imm8 (vcmpps ymm, ymm, ymm/m256, imm8; vpternlogd; vinsertf128) */
int x86_r_v_rm_i(X86Buf *b, X86Op op, X86Reg r, X86Reg v, X86Opnd rm, int64_t imm);
/* op r, v, r/m, r4   (vblendvps ymm, ymm, ymm/m256, ymm) */
int x86_r_v_rm_r(X86Buf *b, X86Op op, X86Reg r, X86Reg v, X86Opnd rm, X86Reg r4);
/* op v, r/m, imm8    (vpslld ymm, ymm, imm8: the destination is VEX.vvvv) */
int x86_v_rm_i(X86Buf *b, X86Op op, X86Reg v, X86Opnd rm, int64_t imm);
/* op r/m, imm        (add r/m64, imm32; pslld xmm, imm8; movabs r64, imm64) */
int x86_rm_i(X86Buf *b, X86Op op, X86Opnd rm, int64_t imm);
/* op r/m, r, imm8    (vextractf128 xmm/m128, ymm, imm8) */
int x86_rm_r_i(X86Buf *b, X86Op op, X86Opnd rm, X86Reg r, int64_t imm);
/* op r/m             (inc r/m64; push r64; prefetcht0 m8; call r/m64) */
int x86_rm(X86Buf *b, X86Op op, X86Opnd rm);
/* cmovcc r64, r/m64 */
int x86_cmov(X86Buf *b, X86Cond cc, X86Reg r, X86Opnd rm);
/* jcc label: rel8 when the label is bound and near, else rel32 */
int x86_jcc(X86Buf *b, X86Cond cc, int32_t label);
/* jcc label with rel8 forced (forward short branches; X86_ERR_RANGE at bind if too far) */
int x86_jcc8(X86Buf *b, X86Cond cc, int32_t label);
/* jmp label (rel8 when backward and near, else rel32) */
int x86_jmp(X86Buf *b, int32_t label);

#endif
