/* enc.c -- the x86-64 encoder: the only code in Bud that writes machine-code bytes.
 *
 * How an instruction is put together. Every form in the table is one opcode byte in one of
 * four opcode maps (one-byte, 0F, 0F38, 0F3A), selected by a mandatory prefix (none, 66, F3,
 * F2) and, for vector forms, by W and the vector length L. The operands live in at most
 * four places: ModRM.reg (a register, or a /digit that extends the opcode), ModRM.rm plus
 * SIB and displacement (a register or memory), VEX/EVEX.vvvv (a second source, or the
 * destination of the shift-by-immediate forms), and the immediate (an imm8/imm32/imm64, or
 * in vblendv a register in imm8[7:4]). A form (forms.def) says which asm operand goes where,
 * and what register class each place holds; a row (enc_*.def) gives the bytes.
 *
 *   legacy  [66|F2|F3] [REX 0100WRXB] [0F [38|3A]] opcode ModRM [SIB] [disp] [imm]
 *   VEX2    C5 [R vvvv L pp]                          -- only when X=B=0, W=0, map 0F
 *   VEX3    C4 [R X B mmmmm] [W vvvv L pp]
 *   EVEX    62 [R X B R' 0 0 mm] [W vvvv 1 pp] [z L'L b V' aaa]
 *
 * R, X, B, R', V' and vvvv are stored inverted in VEX/EVEX. R/R' extend ModRM.reg to 32
 * registers; B extends rm or the base; X extends the index, or for a register rm supplies
 * its bit 4 under EVEX; V' is bit 4 of vvvv. In EVEX, aaa is the opmask, z selects zeroing
 * instead of merging, and b turns a memory operand into a {1toN} broadcast.
 *
 * ModRM/SIB corner cases: rm=100 means "SIB follows", so an rsp/r12 base always takes a SIB;
 * mod=00 rm=101 means RIP+disp32, so an rbp/r13 base with no displacement is written as
 * disp8 = 0; index=100 means "no index", so rsp can never be an index (r12 can, via REX.X);
 * a SIB base of 101 with mod=00 means "no base, disp32". Displacements take the shortest
 * of none/disp8/disp32; under EVEX a disp8 is scaled by N (compressed disp8*N), where N
 * comes from the row's tuple type: the full vector (FV, FVM), half of it (HV), or the
 * element (T1S, and FV/HV under broadcast), so [rax+0x40] is disp8 = 1 for a zmm load.
 *
 * Every instruction is first built in a 16-byte scratch array and copied to the buffer
 * only when it is complete and fits, so a full fixed buffer never receives half an
 * instruction. Branch and RIP displacements to labels are recorded as fixups, relative to
 * the end of the instruction (after any immediate), and patched when the label is bound. */
#include "x86/enc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { C_N, C_V, C_H, C_X, C_G, C_D, C_K, C_W, C_B }; /* slot register classes */
enum { K_NONE, K_R, K_M, K_RM, K_O };                 /* what the rm slot may hold */
enum { I_I0, I_I8, I_I32, I_I64, I_IS4, I_R8, I_R32 }; /* immediate kinds */

typedef struct {
  const char *order;
  uint8_t rc, vc, mc, mk, imm;
} FormInfo;

static const FormInfo x86_forms[] = {
#define X(name, order, rc, vc, mc, mk, imm) {order, C_##rc, C_##vc, C_##mc, K_##mk, I_##imm},
#include "x86/forms.def"
#undef X
};

static const X86OpInfo x86_ops[] = {
#define X(id, name, enc, pfx, map, opc, w, l, form, ext, feat, tup)                                \
  {#id, name, X86_ENC_##enc, X86_PFX_##pfx, X86_MAP_##map, opc, X86_W_##w, X86_L_##l,              \
   X86_FORM_##form, ext, X86_FEAT_##feat, X86_TUP_##tup},
#include "x86/enc_legacy.def"
#include "x86/enc_vex.def"
#include "x86/enc_evex.def"
#undef X
};

_Static_assert(sizeof x86_forms / sizeof x86_forms[0] == X86_FORM_COUNT, "forms table/enum");
_Static_assert(sizeof x86_ops / sizeof x86_ops[0] == X86_NOP_COUNT, "op table/enum");
/* The prefix and map enums are written straight into VEX.pp and VEX.mmmmm / EVEX.mm. */
_Static_assert(X86_PFX_NP == 0 && X86_PFX_P66 == 1 && X86_PFX_PF3 == 2 && X86_PFX_PF2 == 3, "pp");
_Static_assert(X86_MAP_M0F == 1 && X86_MAP_M0F38 == 2 && X86_MAP_M0F3A == 3, "mmmmm");
/* Vector classes are consecutive so that XMM + L picks the class of length L. */
_Static_assert(X86_RC_YMM == X86_RC_XMM + 1 && X86_RC_ZMM == X86_RC_XMM + 2, "vector classes");
_Static_assert(X86_CC_O == 0 && X86_CC_E == 4 && X86_CC_G == 15, "condition codes = tttn");

const X86OpInfo *x86_op_info(X86Op op) {
  return (unsigned)op < X86_NOP_COUNT ? &x86_ops[op] : NULL;
}

X86Op x86_op_by_name(const char *id) {
  for (int i = 0; i < X86_NOP_COUNT; i++)
    if (strcmp(x86_ops[i].id, id) == 0) return (X86Op)i;
  return X86_NOP_COUNT;
}

uint32_t x86_op_features(X86Op op, int vl_bits) {
  const X86OpInfo *oi = x86_op_info(op);
  if (!oi) return 0;
  uint32_t f = oi->feat;
  if (oi->enc == X86_ENC_EVEX && oi->l >= X86_L_LV && vl_bits > 0 && vl_bits < 512) f |= X86_FEAT_AVX512VL;
  return f;
}

/* ---- buffer, labels, fixups ---- */

static int fail(X86Buf *b, int st) {
  if (b->err == X86_OK) b->err = st;
  return st;
}

void x86_buf_init(X86Buf *b, void *mem, size_t cap) {
  memset(b, 0, sizeof *b);
  b->code = mem;
  b->cap = mem ? cap : 0;
  b->is_fixed = mem != NULL;
  b->last_rip = -1;
}

void x86_buf_free(X86Buf *b) {
  if (!b->is_fixed) free(b->code);
  free(b->labels);
  free(b->fix);
  memset(b, 0, sizeof *b);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 64;
  while (n < need) n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

int32_t x86_label_new(X86Buf *b) {
  if (grow((void **)&b->labels, &b->caplabels, b->nlabels + 1, sizeof *b->labels)) {
    fail(b, X86_ERR_NOMEM);
    return 0;
  }
  b->labels[b->nlabels++] = -1;
  return (int32_t)b->nlabels;
}

static int32_t label_pos(const X86Buf *b, int32_t l) {
  return l >= 1 && (size_t)l <= b->nlabels ? b->labels[l - 1] : -2;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* Writes one fixup if its label is bound: X86_OK, 1 when still pending, or an error. */
static int resolve(X86Buf *b, const X86Fixup *f) {
  int32_t at = label_pos(b, f->label);
  if (at == -2) return X86_ERR_LABEL;
  if (at < 0) return 1;
  int64_t rel = (int64_t)at + f->addend - (int64_t)f->end;
  if (f->size == 1) {
    if (rel < -128 || rel > 127) return X86_ERR_RANGE;
    b->code[f->pos] = (uint8_t)(int8_t)rel;
  } else {
    if (rel < INT32_MIN || rel > INT32_MAX) return X86_ERR_RANGE;
    put32(b->code + f->pos, (uint32_t)(int32_t)rel);
  }
  return X86_OK;
}

int x86_label_bind(X86Buf *b, int32_t label) {
  if (label_pos(b, label) != -1) return fail(b, X86_ERR_LABEL);
  b->labels[label - 1] = (int32_t)b->len;
  int st = X86_OK;
  for (size_t i = 0; i < b->nfix; i++) {
    if (b->fix[i].label != label) continue;
    int r = resolve(b, &b->fix[i]);
    if (r < 0 && st == X86_OK) st = r;
  }
  return st == X86_OK ? X86_OK : fail(b, st);
}

int x86_buf_finish(X86Buf *b) {
  for (size_t i = 0; i < b->nfix; i++) {
    int r = resolve(b, &b->fix[i]);
    if (r != X86_OK) fail(b, r > 0 ? X86_ERR_LABEL : r);
  }
  return b->err;
}

int x86_patch_rel32(X86Buf *b, size_t disp_pos, size_t end, size_t target) {
  if (end > b->len || end < 4 || disp_pos > end - 4) return fail(b, X86_ERR_RANGE);
  int64_t rel = (int64_t)target - (int64_t)end;
  if (rel < INT32_MIN || rel > INT32_MAX) return fail(b, X86_ERR_RANGE);
  put32(b->code + disp_pos, (uint32_t)(int32_t)rel);
  return X86_OK;
}

/* ---- one instruction ---- */

typedef struct {
  uint8_t p[16];
  int n;
  int rip_at;   /* offset of a RIP disp32, or -1 */
  int rel_at;   /* offset of a branch displacement, or -1 */
  int rel_size;
} Ins;

static void ins_byte(Ins *in, unsigned v) { in->p[in->n++] = (uint8_t)v; }
static void ins_32(Ins *in, uint32_t v) { put32(in->p + in->n, v); in->n += 4; }

static int is_vec(int cls) { return cls == X86_RC_XMM || cls == X86_RC_YMM || cls == X86_RC_ZMM; }
static int bit(int v, int b) { return v == X86_NOREG ? 0 : (v >> b) & 1; }

/* ModRM (+ SIB + displacement) for a register or memory rm; n8 scales disp8 (EVEX). */
static void put_modrm(Ins *in, int regf, const X86Opnd *m, int n8) {
  int r = (regf & 7) << 3;
  if (m->kind == X86_OPND_REG) {
    ins_byte(in, 0xC0 | r | (m->reg.num & 7));
    return;
  }
  const X86Mem *x = &m->mem;
  int ss = x->scale == 8 ? 3 : x->scale == 4 ? 2 : x->scale == 2 ? 1 : 0;
  int idx = x->index == X86_NOREG ? 4 : x->index & 7;
  if (x->is_rip) {
    ins_byte(in, r | 5);
    in->rip_at = in->n;
    ins_32(in, (uint32_t)x->disp);
    return;
  }
  if (x->base == X86_NOREG) {
    ins_byte(in, r | 4);
    ins_byte(in, (x->index == X86_NOREG ? 0 : ss << 6) | idx << 3 | 5);
    ins_32(in, (uint32_t)x->disp);
    return;
  }
  int mod;
  int32_t d = x->disp;
  if (d == 0 && (x->base & 7) != 5) mod = 0;
  else if (d % n8 == 0 && d / n8 >= -128 && d / n8 <= 127) mod = 1, d /= n8;
  else mod = 2;
  if (x->index != X86_NOREG || (x->base & 7) == 4) {
    ins_byte(in, mod << 6 | r | 4);
    ins_byte(in, (x->index == X86_NOREG ? 0 : ss << 6) | idx << 3 | (x->base & 7));
  } else {
    ins_byte(in, mod << 6 | r | (x->base & 7));
  }
  if (mod == 1) ins_byte(in, (uint8_t)(int8_t)d);
  if (mod == 2) ins_32(in, (uint32_t)d);
}

/* Register class a slot of class c holds at vector length L (0/1/2). */
static int slot_class(int c, int L) {
  switch (c) {
  case C_V: return X86_RC_XMM + L;
  case C_H: return X86_RC_XMM + (L > 0 ? L - 1 : 0);
  case C_X: return X86_RC_XMM;
  case C_G: return X86_RC_GPR64;
  case C_D: return X86_RC_GPR32;
  case C_K: return X86_RC_K;
  case C_W: return X86_RC_GPR16;
  case C_B: return X86_RC_GPR8;
  default: return X86_RC_NONE;
  }
}

/* L of an LV row, from the first operand that states it. */
static int infer_l(const X86OpInfo *oi, const FormInfo *fi, const X86Opnd *r, const X86Opnd *v,
                   const X86Opnd *m) {
  const X86Opnd *sl[3] = {r, v, m};
  const int cl[3] = {fi->rc, fi->vc, fi->mc};
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < 3; i++) {
      const X86Opnd *o = sl[i];
      if (!o || (cl[i] != C_V && cl[i] != C_H)) continue;
      int up = cl[i] == C_H;
      if (pass == 0 && o->kind == X86_OPND_REG && is_vec(o->reg.cls)) {
        int L = o->reg.cls - X86_RC_XMM + up;
        /* an xmm in an H slot may be half of xmm (L0) or of ymm (L1): only trust V slots */
        if (!up || o->reg.cls != X86_RC_XMM) return L;
      }
      if (pass == 1 && o->kind == X86_OPND_MEM) {
        int bytes = o->mem.bcast ? o->mem.bcast * (oi->w == X86_W_W1 ? 8 : 4) : o->mem.size;
        if (up) bytes *= 2;
        if (bytes == 16) return 0;
        if (bytes == 32) return 1;
        if (bytes == 64) return 2;
      }
    }
  }
  /* e.g. vcvtpd2ps xmm, [mem] without a size: m128 and m256 are both possible */
  return -1;
}

static int check_reg(const X86OpInfo *oi, const X86Reg *r, int cls) {
  if (r->cls != cls) return 0;
  if (cls == X86_RC_K) return r->num < 8;
  if (is_vec(cls)) return r->num < (oi->enc == X86_ENC_EVEX ? 32 : 16);
  return r->num < 16;
}

static int check_mem(const X86Mem *x) {
  if (x->is_rip) return x->base == X86_NOREG && x->index == X86_NOREG;
  if (x->base != X86_NOREG && x->base > 15) return 0;
  if (x->index != X86_NOREG) {
    if (x->index > 15 || x->index == X86_RSP) return 0;
    if (x->scale != 1 && x->scale != 2 && x->scale != 4 && x->scale != 8) return 0;
  }
  return x->base != X86_NOREG || x->index != X86_NOREG;
}

/* disp8 scale N of an EVEX memory operand. */
static int disp8_n(const X86OpInfo *oi, int L, int bcast) {
  int vl = 16 << L, esz = oi->w == X86_W_W1 ? 8 : 4;
  switch (oi->tup) {
  case X86_TUP_FV: return bcast ? esz : vl;
  case X86_TUP_FVM: return vl;
  case X86_TUP_HV: return bcast ? esz : vl / 2;
  case X86_TUP_T1S: return esz;
  case X86_TUP_T4: return 4 * esz;
  case X86_TUP_HVM: return vl / 2;
  case X86_TUP_QVM: return vl / 4;
  case X86_TUP_OVM: return vl / 8;
  default: return 1;
  }
}

static int encode(const X86OpInfo *oi, X86Cond cc, int nops, const X86Opnd *ops, Ins *in) {
  const FormInfo *fi = &x86_forms[oi->form];
  const X86Opnd *R = NULL, *V = NULL, *M = NULL, *I = NULL, *S = NULL, *B = NULL;
  int nord = (int)strlen(fi->order);
  int is_evex = oi->enc == X86_ENC_EVEX, is_vex = oi->enc == X86_ENC_VEX;

  if (nops > nord || nops < nord - (strchr(fi->order, '0') ? 1 : 0)) return X86_ERR_OPERAND;
  for (int i = 0; i < nops; i++) {
    const X86Opnd *o = &ops[i];
    switch (fi->order[i]) {
    case 'r': R = o; break;
    case 'v': V = o; break;
    case 'm': M = o; break;
    case 'i': I = o; break;
    case 's': S = o; break;
    case 'l': B = o; break;
    case '0':
      if (o->kind != X86_OPND_REG || o->reg.cls != X86_RC_XMM || o->reg.num != 0) return X86_ERR_OPERAND;
      break;
    }
  }
  if ((R && R->kind != X86_OPND_REG) || (V && V->kind != X86_OPND_REG) || (S && S->kind != X86_OPND_REG))
    return X86_ERR_OPERAND;
  if (I && I->kind != X86_OPND_IMM) return X86_ERR_OPERAND;
  if (B && B->kind != X86_OPND_LABEL && B->kind != X86_OPND_REL) return X86_ERR_OPERAND;
  if (M) {
    int ok = M->kind == X86_OPND_REG ? (fi->mk == K_R || fi->mk == K_RM || fi->mk == K_O)
                                      : M->kind == X86_OPND_MEM && (fi->mk == K_M || fi->mk == K_RM);
    if (!ok || (M->kind == X86_OPND_MEM && !check_mem(&M->mem))) return X86_ERR_OPERAND;
  }

  /* vector length */
  int L = 0;
  if (oi->l <= X86_L_L512) L = oi->l;
  else if (oi->l >= X86_L_LV && (L = infer_l(oi, fi, R, V, M)) < 0) return X86_ERR_OPERAND;
  if (oi->l == X86_L_LY && L == 0) return X86_ERR_OPERAND;
  if (L > (is_evex ? 2 : is_vex ? 1 : 0)) return X86_ERR_OPERAND;

  /* register classes and numbers */
  if (R && !check_reg(oi, &R->reg, slot_class(fi->rc, L))) return X86_ERR_OPERAND;
  if (V && !check_reg(oi, &V->reg, slot_class(fi->vc, L))) return X86_ERR_OPERAND;
  if (S && (!check_reg(oi, &S->reg, slot_class(C_V, L)) || S->reg.num > 15)) return X86_ERR_OPERAND;
  if (M && M->kind == X86_OPND_REG && !check_reg(oi, &M->reg, slot_class(fi->mc, L))) return X86_ERR_OPERAND;

  /* masking belongs to the destination (the first operand) and to EVEX */
  int aaa = 0, z = 0, bc = 0;
  for (int i = 0; i < nops; i++) {
    int mk = ops[i].kind == X86_OPND_REG ? ops[i].reg.mask : ops[i].kind == X86_OPND_MEM ? ops[i].mem.mask : 0;
    int zz = ops[i].kind == X86_OPND_REG ? ops[i].reg.zero : 0;
    if ((mk || zz) && (i != 0 || !is_evex)) return X86_ERR_OPERAND;
    if (i == 0) aaa = mk, z = zz;
  }
  if (aaa > 7 || (z && !aaa) || (z && fi->rc == C_K)) return X86_ERR_OPERAND;
  if (M && M->kind == X86_OPND_MEM && M->mem.bcast) {
    int esz = oi->w == X86_W_W1 ? 8 : 4, vl = 16 << L;
    int want = oi->tup == X86_TUP_FV ? vl / esz : oi->tup == X86_TUP_HV ? vl / 2 / esz : 0;
    if (!is_evex || M->mem.bcast != want) return X86_ERR_OPERAND;
    bc = 1;
  }

  /* field values */
  int regf = R ? R->reg.num : oi->ext >= 0 ? oi->ext : 0;
  int vnum = V ? V->reg.num : 0;
  int rmreg = M && M->kind == X86_OPND_REG ? M->reg.num : -1;
  const X86Mem *mem = M && M->kind == X86_OPND_MEM ? &M->mem : NULL;
  int xb = mem ? bit(mem->index, 3) : rmreg >= 0 ? (rmreg >> 4) & 1 : 0;
  int bb = mem ? bit(mem->base, 3) : rmreg >= 0 ? (rmreg >> 3) & 1 : 0;
  int rb = (regf >> 3) & 1;
  int w = oi->w == X86_W_W1;
  int opc = oi->opc;
  if (oi->form == X86_FORM_JCC8 || oi->form == X86_FORM_JCC32 || oi->form == X86_FORM_G_RMG_CC) {
    if ((unsigned)cc > 15) return X86_ERR_OPERAND;
    opc += cc;
  }
  if (fi->mk == K_O) opc += rmreg & 7;

  in->n = 0, in->rip_at = -1, in->rel_at = -1;
  if (oi->enc == X86_ENC_LEG) {
    static const uint8_t pfx[4] = {0, 0x66, 0xF3, 0xF2};
    if (oi->pfx) ins_byte(in, pfx[oi->pfx]);
    int rex = w << 3 | rb << 2 | (mem ? bit(mem->index, 3) : 0) << 1 | bb;
    /* spl bpl sil dil need a REX prefix (without one, 4..7 name ah ch dh bh) */
    bool rex8 = (R && R->reg.cls == X86_RC_GPR8 && R->reg.num >= 4) ||
                (M && M->kind == X86_OPND_REG && M->reg.cls == X86_RC_GPR8 && M->reg.num >= 4);
    if (rex || rex8) ins_byte(in, 0x40 | rex);
    if (oi->map >= X86_MAP_M0F) ins_byte(in, 0x0F);
    if (oi->map == X86_MAP_M0F38) ins_byte(in, 0x38);
    if (oi->map == X86_MAP_M0F3A) ins_byte(in, 0x3A);
  } else if (is_vex) {
    if (!xb && !bb && !w && oi->map == X86_MAP_M0F) {
      ins_byte(in, 0xC5);
      ins_byte(in, (!rb) << 7 | (~vnum & 15) << 3 | L << 2 | oi->pfx);
    } else {
      ins_byte(in, 0xC4);
      ins_byte(in, (!rb) << 7 | (!xb) << 6 | (!bb) << 5 | oi->map);
      ins_byte(in, w << 7 | (~vnum & 15) << 3 | L << 2 | oi->pfx);
    }
  } else {
    int r2 = (regf >> 4) & 1, v2 = (vnum >> 4) & 1;
    ins_byte(in, 0x62);
    ins_byte(in, (!rb) << 7 | (!xb) << 6 | (!bb) << 5 | (!r2) << 4 | oi->map);
    ins_byte(in, w << 7 | (~vnum & 15) << 3 | 4 | oi->pfx);
    ins_byte(in, z << 7 | L << 5 | bc << 4 | (!v2) << 3 | aaa);
  }
  ins_byte(in, opc);

  if (oi->form == X86_FORM_NP_MODRM) ins_byte(in, 0xC0 | oi->ext << 3);
  else if (M && fi->mk != K_O) put_modrm(in, regf, M, is_evex && mem ? disp8_n(oi, L, bc) : 1);

  if (I) {
    int64_t v = I->imm;
    switch (x86_forms[oi->form].imm) {
    case I_I8:
      if (v < -128 || v > 255) return X86_ERR_RANGE;
      ins_byte(in, (uint8_t)v);
      break;
    case I_I32:
      if (v < INT32_MIN || v > (int64_t)UINT32_MAX) return X86_ERR_RANGE;
      if (oi->w == X86_W_W1 && v > INT32_MAX) return X86_ERR_RANGE; /* would sign-extend */
      ins_32(in, (uint32_t)v);
      break;
    case I_I64:
      ins_32(in, (uint32_t)v);
      ins_32(in, (uint32_t)((uint64_t)v >> 32));
      break;
    }
  }
  if (S) ins_byte(in, S->reg.num << 4);
  if (B) {
    int size = fi->imm == I_R8 ? 1 : 4;
    in->rel_at = in->n, in->rel_size = size;
    int64_t rel = B->kind == X86_OPND_REL ? B->imm : 0;
    if (size == 1 && (rel < -128 || rel > 127)) return X86_ERR_RANGE;
    if (size == 1) ins_byte(in, (uint8_t)(int8_t)rel);
    else ins_32(in, (uint32_t)(int32_t)rel);
  }
  return X86_OK;
}

static int add_fixup(X86Buf *b, size_t pos, size_t end, int32_t label, int32_t addend, int size) {
  if (label_pos(b, label) == -2) return X86_ERR_LABEL;
  if (grow((void **)&b->fix, &b->capfix, b->nfix + 1, sizeof *b->fix)) return X86_ERR_NOMEM;
  X86Fixup *f = &b->fix[b->nfix++];
  f->pos = (uint32_t)pos, f->end = (uint32_t)end, f->label = label, f->addend = addend, f->size = (uint8_t)size;
  int r = resolve(b, f);
  return r > 0 ? X86_OK : r;
}

static int reserve(X86Buf *b, size_t n) {
  if (b->len + n <= b->cap) return X86_OK;
  if (b->is_fixed) return X86_ERR_OVERFLOW;
  return grow((void **)&b->code, &b->cap, b->len + n, 1) ? X86_ERR_NOMEM : X86_OK;
}

int x86_emit_cc(X86Buf *b, X86Op op, X86Cond cc, int nops, const X86Opnd *ops) {
  const X86OpInfo *oi = x86_op_info(op);
  if (!oi) return fail(b, X86_ERR_OP);
  if (nops < 0 || (nops > 0 && !ops)) return fail(b, X86_ERR_OPERAND);
  Ins in;
  int st = encode(oi, cc, nops, ops, &in);
  if (st != X86_OK) return fail(b, st);
  if ((st = reserve(b, (size_t)in.n)) != X86_OK) return fail(b, st);
  size_t start = b->len;
  memcpy(b->code + start, in.p, (size_t)in.n);
  b->len += (size_t)in.n;
  b->last_start = start, b->last_end = b->len;
  b->last_rip = in.rip_at >= 0 ? (int32_t)(start + (size_t)in.rip_at) : -1;
  for (int i = 0; i < nops; i++) {
    const X86Opnd *o = &ops[i];
    if (o->kind == X86_OPND_MEM && o->mem.is_rip && o->mem.label)
      st = add_fixup(b, start + (size_t)in.rip_at, b->len, o->mem.label, o->mem.disp, 4);
    if (o->kind == X86_OPND_LABEL)
      st = add_fixup(b, start + (size_t)in.rel_at, b->len, (int32_t)o->imm, 0, in.rel_size);
    if (st != X86_OK) return fail(b, st);
  }
  return X86_OK;
}

int x86_emit(X86Buf *b, X86Op op, int nops, const X86Opnd *ops) {
  return x86_emit_cc(b, op, X86_CC_O, nops, ops);
}

int x86_data(X86Buf *b, const void *p, size_t n) {
  int st = reserve(b, n);
  if (st != X86_OK) return fail(b, st);
  if (n) memcpy(b->code + b->len, p, n);
  b->len += n;
  return X86_OK;
}

int x86_align(X86Buf *b, size_t align, uint8_t fill) {
  if (align == 0 || (align & (align - 1))) return fail(b, X86_ERR_RANGE);
  size_t n = (align - b->len % align) % align;
  int st = reserve(b, n);
  if (st != X86_OK) return fail(b, st);
  memset(b->code + b->len, fill, n);
  b->len += n;
  return X86_OK;
}

/* ---- form-named shorthands ---- */

int x86_np(X86Buf *b, X86Op op) { return x86_emit(b, op, 0, NULL); }
int x86_r_rm(X86Buf *b, X86Op op, X86Reg r, X86Opnd rm) {
  X86Opnd o[2] = {x86_oreg(r), rm};
  return x86_emit(b, op, 2, o);
}
int x86_rm_r(X86Buf *b, X86Op op, X86Opnd rm, X86Reg r) {
  X86Opnd o[2] = {rm, x86_oreg(r)};
  return x86_emit(b, op, 2, o);
}
int x86_r_v_rm(X86Buf *b, X86Op op, X86Reg r, X86Reg v, X86Opnd rm) {
  X86Opnd o[3] = {x86_oreg(r), x86_oreg(v), rm};
  return x86_emit(b, op, 3, o);
}
int x86_rm_v_r(X86Buf *b, X86Op op, X86Opnd rm, X86Reg v, X86Reg r) {
  X86Opnd o[3] = {rm, x86_oreg(v), x86_oreg(r)};
  return x86_emit(b, op, 3, o);
}
int x86_r_rm_i(X86Buf *b, X86Op op, X86Reg r, X86Opnd rm, int64_t imm) {
  X86Opnd o[3] = {x86_oreg(r), rm, x86_oimm(imm)};
  return x86_emit(b, op, 3, o);
}
int x86_r_v_rm_i(X86Buf *b, X86Op op, X86Reg r, X86Reg v, X86Opnd rm, int64_t imm) {
  X86Opnd o[4] = {x86_oreg(r), x86_oreg(v), rm, x86_oimm(imm)};
  return x86_emit(b, op, 4, o);
}
int x86_r_v_rm_r(X86Buf *b, X86Op op, X86Reg r, X86Reg v, X86Opnd rm, X86Reg r4) {
  X86Opnd o[4] = {x86_oreg(r), x86_oreg(v), rm, x86_oreg(r4)};
  return x86_emit(b, op, 4, o);
}
int x86_v_rm_i(X86Buf *b, X86Op op, X86Reg v, X86Opnd rm, int64_t imm) {
  X86Opnd o[3] = {x86_oreg(v), rm, x86_oimm(imm)};
  return x86_emit(b, op, 3, o);
}
int x86_rm_i(X86Buf *b, X86Op op, X86Opnd rm, int64_t imm) {
  X86Opnd o[2] = {rm, x86_oimm(imm)};
  return x86_emit(b, op, 2, o);
}
int x86_rm_r_i(X86Buf *b, X86Op op, X86Opnd rm, X86Reg r, int64_t imm) {
  X86Opnd o[3] = {rm, x86_oreg(r), x86_oimm(imm)};
  return x86_emit(b, op, 3, o);
}
int x86_rm(X86Buf *b, X86Op op, X86Opnd rm) { return x86_emit(b, op, 1, &rm); }

int x86_cmov(X86Buf *b, X86Cond cc, X86Reg r, X86Opnd rm) {
  X86Opnd o[2] = {x86_oreg(r), rm};
  return x86_emit_cc(b, X86_cmovcc, cc, 2, o);
}

/* Short form when the label is already bound and within reach of a rel8. */
static int near_back(const X86Buf *b, int32_t label, int len) {
  int32_t at = label_pos(b, label);
  return at >= 0 && (int64_t)at - (int64_t)(b->len + (size_t)len) >= -128;
}

int x86_jcc(X86Buf *b, X86Cond cc, int32_t label) {
  X86Opnd o = x86_olabel(label);
  return x86_emit_cc(b, near_back(b, label, 2) ? X86_jcc8 : X86_jcc32, cc, 1, &o);
}
int x86_jcc8(X86Buf *b, X86Cond cc, int32_t label) {
  X86Opnd o = x86_olabel(label);
  return x86_emit_cc(b, X86_jcc8, cc, 1, &o);
}
int x86_jmp(X86Buf *b, int32_t label) {
  X86Opnd o = x86_olabel(label);
  return x86_emit(b, near_back(b, label, 2) ? X86_jmp8 : X86_jmp32, 1, &o);
}
