/* jit_math.c — vector math inline in fused kernels: the program math_prog(fn, dt) (src/math) is
 * walked step by step and each step becomes its instruction(s) on ymm (AVX2 + FMA) or zmm
 * (AVX-512), from one row per MathOp below (x86 facts keyed by the op enum, STYLE habit 4).
 * Entry points: jit_math_ok, jit_math_note, jit_math_emit (jit_int.h), x86_jit_math_op_status.
 *
 * Lanes. A program works on lanes of prog_lanebits(p) bits (64 today: doubles or their bits).
 * float64 runs directly on the plan's registers; a float32 value is stored to the math scratch,
 * each chunk of P = vector bytes / 8 floats is widened (vcvtps2pd from memory), the program runs,
 * and the result is rounded back (vcvtpd2ps) into the scratch, whence the vector is reloaded.
 * Registers. A small linear scan of its own, inside the plan allocator's state: the program may
 * use every vector register the plan has free at this instruction, its destination, the reload
 * scratches S0..S2 and T. Value liveness is a last-use scan of the steps (MOV is a rename; an
 * ESC keeps its mask, x and y alive to the OUT). Constants (K, KB, Horner coefficients) live in
 * the kernel's RIP-relative pool and are used as memory operands where the instruction allows,
 * else loaded into a register that caches them until their last use (dropped, not stored, when
 * registers run out). Other values are spilled to the math scratch, furthest next use first.
 * Source registers still live in the plan are read, never written.
 * ESC: lanes whose mask is set take the program's scalar escape (the C function the VM calls):
 * at OUT, vmovmskpd (vpmovq2m + kmovb on AVX-512) of the mask; when non-zero, a slow path stores
 * the result, x and y, saves every vector register, the caller-saved GPRs and k7 (rsp is 64-byte
 * aligned), calls esc(x[j], y[j]) for each set lane j, and reloads. Escapes are applied last
 * first, so the first ESC of the program wins, as in math_prog_run. OUT then turns NaN lanes into
 * the canonical NaN (vcmpunordpd + vblendvpd; vcmppd into k1 + a masked move on AVX-512). */
#include "x86/jit_int.h"

#include "math/math.h"

#include <stdio.h>
#include <string.h>

/* ---- the row table: MathOp -> emission kind and instructions ---- */

enum {
  MK_NONE = 0, /* no row: a bug (tests/test_jit_math.c walks every MathOp) */
  MK_CONST,    /* K, KB: a pool constant, no code */
  MK_MOV,      /* a rename */
  MK_BIN,      /* d = a op b[rm] */
  MK_UN,       /* d = op a[rm] */
  MK_CMP,      /* d = a pred b[rm] as a lane mask (imm = predicate; swapped: sw) */
  MK_FMA,      /* d = a*b + c: x[] = {231 form, 213 form} */
  MK_FNMA,     /* d = c - a*b: x[] = {231 form} */
  MK_SEL,      /* d = a ? b : c on a's sign bit */
  MK_SHIFT,    /* d = a shift imm */
  MK_HORNER,   /* FMA chain, d = d*a + coef[j] */
  MK_ESC,      /* at OUT: lanes of the mask take the scalar escape */
  MK_OUT,      /* NaN -> the canonical quiet NaN */
};

enum { ME_VEX, ME_EVEX, ME_N };    /* encodings this emitter serves */
enum { MW_32, MW_64, MW_N };       /* lane widths: ps/d forms and pd/q forms */

typedef struct MathRow {
  uint8_t kind;
  uint8_t only;     /* 0: both lane widths; 32 or 64: that width only (mops.def's "-") */
  uint8_t imm, sw;  /* MK_CMP: predicate, and the predicate with the operands swapped */
  uint8_t comm;     /* operands may be swapped (commutative, NaN-free or bitwise) */
  X86Op x[2][ME_N][MW_N]; /* [form][encoding][lane width]; second form: FMA's 213 */
} MathRow;

#define N_ X86_NOP_COUNT
#define X86_N X86_NOP_COUNT
#define F1(v32, v64, e32, e64) {{{X86_##v32, X86_##v64}, {X86_##e32, X86_##e64}}, {{N_, N_}, {N_, N_}}}
#define F2(v32, v64, e32, e64, w32, w64, f32, f64)                                                \
  {{{X86_##v32, X86_##v64}, {X86_##e32, X86_##e64}}, {{X86_##w32, X86_##w64}, {X86_##f32, X86_##f64}}}
#define NOX {{{N_, N_}, {N_, N_}}, {{N_, N_}, {N_, N_}}}

static const MathRow math_rows[MOP_COUNT] = {
    [MOP_K] = {MK_CONST, 0, 0, 0, 0, NOX},
    [MOP_KB] = {MK_CONST, 0, 0, 0, 0, NOX},
    [MOP_MOV] = {MK_MOV, 0, 0, 0, 0, NOX},
    [MOP_ADD] = {MK_BIN, 0, 0, 0, 1, F1(vaddps, vaddpd, evaddps, evaddpd)},
    [MOP_SUB] = {MK_BIN, 0, 0, 0, 0, F1(vsubps, vsubpd, evsubps, evsubpd)},
    [MOP_MUL] = {MK_BIN, 0, 0, 0, 1, F1(vmulps, vmulpd, evmulps, evmulpd)},
    [MOP_DIV] = {MK_BIN, 0, 0, 0, 0, F1(vdivps, vdivpd, evdivps, evdivpd)},
    [MOP_SQRT] = {MK_UN, 0, 0, 0, 0, F1(vsqrtps, vsqrtpd, evsqrtps, evsqrtpd)},
    [MOP_FMA] = {MK_FMA, 0, 0, 0, 0,
                 F2(vfmadd231ps, vfmadd231pd, evfmadd231ps, evfmadd231pd, vfmadd213ps, vfmadd213pd,
                    evfmadd213ps, evfmadd213pd)},
    [MOP_FNMA] = {MK_FNMA, 0, 0, 0, 0, F1(vfnmadd231ps, vfnmadd231pd, evfnmadd231ps, evfnmadd231pd)},
    /* x86 max/min return the second operand unless the first is strictly better: the rows' rule */
    [MOP_MAX] = {MK_BIN, 0, 0, 0, 0, F1(vmaxps, vmaxpd, evmaxps, evmaxpd)},
    [MOP_MIN] = {MK_BIN, 0, 0, 0, 0, F1(vminps, vminpd, evminps, evminpd)},
    /* ordered-quiet predicates: LT_OQ 0x11 (swapped GT_OQ 0x1E), LE_OQ 0x12 (GE_OQ 0x1D),
     * EQ_OQ 0x00, UNORD_Q 0x03 */
    [MOP_CLT] = {MK_CMP, 0, 0x11, 0x1E, 0, F1(vcmpps, vcmppd, evcmpps, evcmppd)},
    [MOP_CLE] = {MK_CMP, 0, 0x12, 0x1D, 0, F1(vcmpps, vcmppd, evcmpps, evcmppd)},
    [MOP_CEQ] = {MK_CMP, 0, 0x00, 0x00, 0, F1(vcmpps, vcmppd, evcmpps, evcmppd)},
    [MOP_CUNORD] = {MK_CMP, 0, 0x03, 0x03, 0, F1(vcmpps, vcmppd, evcmpps, evcmppd)},
    [MOP_AND] = {MK_BIN, 0, 0, 0, 1, F1(vandps, vandpd, evpandd, evpandq)},
    [MOP_OR] = {MK_BIN, 0, 0, 0, 1, F1(vorps, vorpd, evpord, evporq)},
    [MOP_XOR] = {MK_BIN, 0, 0, 0, 1, F1(vxorps, vxorpd, evpxord, evpxorq)},
    [MOP_ANDN] = {MK_BIN, 0, 0, 0, 0, F1(vandnps, vandnpd, evpandnd, evpandnq)},
    /* x[0]: the blend (VEX: vblendv on the mask's sign; EVEX: vpblendm under k1), x[1] EVEX: the
     * sign bits into k1 */
    [MOP_SEL] = {MK_SEL, 0, 0, 0, 0,
                 F2(vblendvps, vblendvpd, evpblendmd, evpblendmq, vblendvps, vblendvpd, evpmovd2m,
                    evpmovq2m)},
    [MOP_IADD] = {MK_BIN, 0, 0, 0, 1, F1(vpaddd, vpaddq, evpaddd, evpaddq)},
    [MOP_ISUB] = {MK_BIN, 0, 0, 0, 0, F1(vpsubd, vpsubq, evpsubd, evpsubq)},
    /* signed integer a > b: VEX into the register, EVEX into k1 then a mask of lanes */
    [MOP_ICGT] = {MK_CMP, 0, 0xFF, 0xFF, 0, F1(vpcmpgtd, vpcmpgtq, evpcmpgtd, evpcmpgtq)},
    [MOP_SRA] = {MK_SHIFT, 32, 0, 0, 0, F1(vpsrad, N, evpsrad, N)},
    [MOP_CVTF] = {MK_UN, 32, 0, 0, 0, F1(vcvtdq2ps, N, evcvtdq2ps, N)},
    [MOP_SHL] = {MK_SHIFT, 0, 0, 0, 0, F1(vpslld, vpsllq, evpslld, evpsllq)},
    [MOP_SHR] = {MK_SHIFT, 0, 0, 0, 0, F1(vpsrld, vpsrlq, evpsrld, evpsrlq)},
    [MOP_HORNER] = {MK_HORNER, 0, 0, 0, 0,
                    F2(vfmadd213ps, vfmadd213pd, evfmadd213ps, evfmadd213pd, vmovaps, vmovapd,
                       evmovaps, evmovapd)},
    /* x[0]: the mask's sign bits into a GPR (EVEX: into k1, x[1]: k1 into the GPR) */
    [MOP_ESC] = {MK_ESC, 0, 0, 0, 0,
                 F2(vmovmskps, vmovmskpd, evpmovd2m, evpmovq2m, vmovmskps, vmovmskpd, kmovw_rk,
                    kmovb_rk)},
    /* x[0]: the unordered compare, x[1]: the blend (EVEX: a masked move) */
    [MOP_OUT] = {MK_OUT, 0, 0x03, 0, 0,
                 F2(vcmpps, vcmppd, evcmpps, evcmppd, vblendvps, vblendvpd, evmovaps, evmovapd)},
};
#undef F1
#undef F2
#undef NOX

_Static_assert(MK_NONE == 0, "forgotten rows read as MK_NONE");

int x86_jit_math_op_status(int mop) {
  if (mop < 0 || mop >= MOP_COUNT) return -1;
  const MathRow *r = &math_rows[mop];
  if (r->kind == MK_NONE) return -1;
  if (r->kind == MK_CONST || r->kind == MK_MOV) return 1;
  for (int e = 0; e < ME_N; e++)
    for (int w = 0; w < MW_N; w++)
      if ((r->only == 0 || r->only == (w == MW_64 ? 64 : 32)) && r->x[0][e][w] == N_) return 0;
  return 1;
}

/* The program's lane width (MathProg.lanebits: 64 double lanes, 32 float lanes). */
static int prog_lanebits(const MathProg *p) { return p->lanebits == 32 ? 32 : 64; }

/* ---- checks before emitting ---- */

static const MathProg *prog_of(const Jit *J, const LInst *in) {
  MathFn fn = math_fn_of_op((Op)in->op);
  int dt = J->p->vreg_dtype[in->src[0]];
  if (fn == MATH_FN_COUNT || (dt != BUD_FLOAT32 && dt != BUD_FLOAT64) || in->dtype != dt)
    return NULL;
  for (int k = 1; k < in->nin; k++)
    if (J->p->vreg_dtype[in->src[k]] != dt) return NULL;
  return math_prog(fn, (BudDType)dt);
}

int jit_math_ok(Jit *J, const LInst *in) {
  const char *name = op_info((Op)in->op)->name;
  const char *dt = dtype_info((BudDType)J->p->vreg_dtype[in->src[0]])->name;
  const MathProg *p = prog_of(J, in);
  if (!p) {
    jit_fail(J, "op %s (%s): no math program for this dtype (libm in the VM)", name, dt);
    return -1;
  }
  if (J->enc == JE_LEG) {
    jit_fail(J, "op %s (%s): the inline math program needs FMA3 (AVX2 path or better), not on "
             "the sse2 path: runs in the VM", name, dt);
    return -1;
  }
  return 0;
}

enum { MV_FREE = -1, MV_NA = -2, MAXV = 256 };

/* Stack bytes of the math scratch: inputs (3 x 64), result chunks, x, y, the escape results and
 * lane bits, then one 64-byte spill slot per program value. */
enum { MS_IN = 0, MS_OUT = 192, MS_X = 256, MS_Y = 320, MS_RES = 384, MS_BITS = 448,
       MS_SPILL = 512 };

/* Most non-constant values live at once in p (the registers it wants besides its result). */
static int prog_pressure(const MathProg *p) {
  int16_t last[MAXV];
  bool kv[MAXV] = {false};
  for (int v = 0; v < MAXV; v++) last[v] = -1;
  for (int i = 0; i < p->nsteps; i++) {
    const MathStep *s = &p->steps[i];
    if (s->op == MOP_K || s->op == MOP_KB) kv[s->d] = true;
    uint8_t ops[3] = {s->a, s->b, s->c};
    for (int k = 0; k < 3; k++)
      if (ops[k] != MATH_V_NONE) last[ops[k]] = (int16_t)i;
  }
  int live = 0, peak = 0;
  for (int i = 0; i < p->nsteps; i++) {
    const MathStep *s = &p->steps[i];
    if (s->op != MOP_ESC && s->op != MOP_OUT && !kv[s->d]) live++;
    if (live > peak) peak = live;
    uint8_t ops[3] = {s->a, s->b, s->c};
    for (int k = 0; k < 3; k++)
      if (ops[k] != MATH_V_NONE && last[ops[k]] == i && !kv[ops[k]]) live--, last[ops[k]] = -1;
  }
  return peak + 1;
}

void jit_math_note(Jit *J, const LInst *in) {
  const MathProg *p = prog_of(J, in);
  if (!p) return;
  int bytes = MS_SPILL + 64 * p->nvalues;
  if (bytes > J->math_bytes) J->math_bytes = bytes;
  int regs = prog_pressure(p);
  if (regs > J->math_regs) J->math_regs = regs;
  for (int i = 0; i < p->nsteps; i++)
    if (p->steps[i].op == MOP_ESC) J->math_esc = true;
}

/* ---- the emitter's state for one program run ---- */


typedef struct Em {
  Jit *J;
  const MathProg *p;
  int vb;                /* program vector bytes (the register width) */
  int w;                 /* MW_32 / MW_64 */
  int e;                 /* ME_VEX / ME_EVEX */
  int nr;                /* vector registers of the path */
  int step;              /* step being emitted */
  int16_t owner[32];     /* value held, MV_FREE, or MV_NA (not ours) */
  bool borrowed[32];     /* a plan register we may read (a live source), never write */
  int16_t reg[MAXV];     /* register of value, -1 */
  bool inmem[MAXV];      /* its spill slot is valid */
  bool is_const[MAXV];
  uint64_t kbits[MAXV];  /* constant bits */
  uint8_t alias[MAXV];   /* MOV: the value whose location this one shares */
  int16_t last[MAXV];    /* last step reading it (by alias root) */
  int16_t lock[4];       /* values this step reads: never spilled for it */
  int nlock;
  /* AVX-512: a compare whose value only ever selects (SEL's mask, ESC's mask) stays in an opmask
   * register k2..k6 (k1 is the temporary, k7 the tail mask) instead of a vector of lanes */
  bool konly[MAXV];
  int8_t kreg[MAXV];     /* k register holding the value, 0 none */
  int16_t kown[8];       /* value held by k register, -1 free */
} Em;

static X86Reg vr(const Em *m, int r) { return jit_vreg(m->J, m->vb, r); }

static void est(Em *m, int rc) {
  if (rc != X86_OK && !m->J->err) jit_fail(m->J, "math: encoder error %d", rc);
}

static bool has(Em *m, X86Op op) {
  if (m->J->err) return false;
  if (op == JIT_NO) {
    jit_fail(m->J, "math %s: no instruction on the %s path", m->p->name, x86_isa_name(m->J->isa));
    return false;
  }
  uint32_t need = x86_op_features(op, m->vb * 8);
  if (need & ~m->J->feat) {
    char buf[96];
    jit_fail(m->J, "math %s: %s needs %s, not on the %s path", m->p->name, x86_op_info(op)->mnem,
             x86_feat_names(need & ~m->J->feat, buf, sizeof buf), x86_isa_name(m->J->isa));
    return false;
  }
  return true;
}

static X86Op row_op(const Em *m, int mop, int form) { return math_rows[mop].x[form][m->e][m->w]; }

static X86Mem scratch(const Em *m, int off) { return x86_mem(X86_RSP, m->J->math_slot + off); }

static int root(const Em *m, int v) {
  while (m->alias[v] != v) v = m->alias[v];
  return v;
}

static int lw(const Em *m) { return m->w == MW_64 ? 8 : 4; }

static X86Opnd pool_k(Em *m, uint64_t bits) { return jit_pool_splat(m->J, bits, lw(m), m->vb); }

static uint64_t dbits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

/* A K constant's lane bits: the double, or (32-bit lanes) the float it holds exactly. */
static uint64_t kbits(const Em *m, double k) {
  if (m->w == MW_64) return dbits(k);
  float f = (float)k;
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* HORNER's coefficient j at the lane width. */
static uint64_t coef_bits(const Em *m, const MathStep *s, int j) {
  return m->w == MW_64 ? dbits(s->coef[j]) : kbits(m, (double)s->coef32[j]);
}

static bool locked(const Em *m, int v) {
  for (int i = 0; i < m->nlock; i++)
    if (m->lock[i] == v) return true;
  return false;
}

/* First step at or after `from` that reads v (a large number when none). */
static int next_use(const Em *m, int v, int from) {
  const MathProg *p = m->p;
  for (int i = from; i < p->nsteps; i++) {
    const MathStep *s = &p->steps[i];
    if ((s->a != MATH_V_NONE && root(m, s->a) == v) || (s->b != MATH_V_NONE && root(m, s->b) == v) ||
        (s->c != MATH_V_NONE && root(m, s->c) == v))
      return i;
  }
  return m->last[v] >= from ? m->last[v] : 1 << 20;
}

static void release(Em *m, int r) { m->owner[r] = m->borrowed[r] ? MV_NA : MV_FREE; }

/* A free register (spilling the value needed furthest ahead when none is). */
static int alloc_r(Em *m) {
  for (int r = 0; r < m->nr; r++)
    if (m->owner[r] == MV_FREE) return r;
  int victim = -1, far = -1;
  for (int r = 0; r < m->nr; r++) {
    int v = m->owner[r];
    if (v < 0 || m->borrowed[r] || locked(m, v)) continue;
    int nu = next_use(m, v, m->step) + (m->is_const[v] ? 8 : 0); /* constants reload cheaply */
    if (nu > far) far = nu, victim = r;
  }
  if (victim < 0) {
    jit_fail(m->J, "math %s: out of vector registers", m->p->name);
    return 0;
  }
  int v = m->owner[victim];
  if (!m->is_const[v] && !m->inmem[v]) {
    jit_store(m->J, scratch(m, MS_SPILL + 64 * v), vr(m, victim), m->vb, lw(m));
    m->inmem[v] = true;
  }
  m->reg[v] = -1;
  m->owner[victim] = MV_FREE;
  return victim;
}

static void take(Em *m, int r, int v) {
  m->owner[r] = (int16_t)v;
  m->reg[v] = (int16_t)r;
}

/* The register holding v (loading a constant or a spilled value into a new one). */
static X86Reg in_reg(Em *m, int v) {
  v = root(m, v);
  if (m->reg[v] >= 0) return vr(m, m->reg[v]);
  int r = alloc_r(m);
  if (m->J->err) return vr(m, 0);
  if (m->is_const[v]) jit_load(m->J, vr(m, r), pool_k(m, m->kbits[v]).mem, m->vb, lw(m));
  else if (m->inmem[v]) jit_load(m->J, vr(m, r), scratch(m, MS_SPILL + 64 * v), m->vb, lw(m));
  else jit_fail(m->J, "math %s: internal: value %d has no location", m->p->name, v);
  take(m, r, v);
  return vr(m, r);
}

/* v as an r/m operand: its register, the pool, or its spill slot. */
static X86Opnd in_rm(Em *m, int v) {
  v = root(m, v);
  if (m->reg[v] >= 0) return x86_oreg(vr(m, m->reg[v]));
  if (m->is_const[v]) return pool_k(m, m->kbits[v]);
  if (m->inmem[v]) return x86_omem(scratch(m, MS_SPILL + 64 * v));
  jit_fail(m->J, "math %s: internal: value %d has no location", m->p->name, v);
  return x86_oreg(vr(m, 0));
}

static bool in_r(const Em *m, int v) { return m->reg[root(m, v)] >= 0; }

/* Frees the registers of operands whose last use is this step. */
static void free_dying(Em *m, const MathStep *s) {
  uint8_t ops[3] = {s->a, s->b, s->c};
  for (int i = 0; i < 3; i++) {
    if (ops[i] == MATH_V_NONE) continue;
    int v = root(m, ops[i]);
    if (m->last[v] <= m->step && m->reg[v] >= 0) {
      release(m, m->reg[v]);
      m->reg[v] = -1;
    }
    if (m->last[v] <= m->step && m->kreg[v]) {
      m->kown[m->kreg[v]] = -1;
      m->kreg[v] = 0;
    }
  }
}

/* The register of a dying operand v that is ours (not borrowed) to overwrite, or -1. */
static int dying_reg(const Em *m, int v) {
  if (v == MATH_V_NONE) return -1;
  v = root(m, v);
  int r = m->reg[v];
  if (r < 0 || m->borrowed[r] || m->last[v] > m->step) return -1;
  return r;
}

static void lock3(Em *m, const MathStep *s) {
  m->nlock = 0;
  uint8_t ops[3] = {s->a, s->b, s->c};
  for (int i = 0; i < 3; i++)
    if (ops[i] != MATH_V_NONE) m->lock[m->nlock++] = (int16_t)root(m, ops[i]);
}

/* Defines value d in register r (r taken over from whatever dying operand held it). */
static void def(Em *m, int d, int r) {
  int old = m->owner[r]; /* a dying operand not yet released (the register is ours) */
  if (old >= 0 && old < MAXV && old != d && m->reg[old] == r) m->reg[old] = -1;
  take(m, r, d);
  m->inmem[d] = false;
}

/* ---- one step ---- */

static void e_step(Em *m, const MathStep *s) {
  Jit *J = m->J;
  X86Buf *b = J->b;
  const MathRow *row = &math_rows[s->op];
  X86Op op = row_op(m, s->op, 0);
  lock3(m, s);
  switch (row->kind) {
  case MK_BIN: {
    int a = s->a, bb = s->b;
    if (row->comm && !in_r(m, a) && in_r(m, bb)) a = s->b, bb = s->a;
    if (!has(m, op)) return;
    X86Reg ra = in_reg(m, a);
    X86Opnd rb = in_rm(m, bb);
    free_dying(m, s);
    int r = alloc_r(m);
    est(m, x86_r_v_rm(b, op, vr(m, r), ra, rb));
    def(m, s->d, r);
    break;
  }
  case MK_UN: {
    if (!has(m, op)) return;
    X86Opnd ra = in_rm(m, s->a);
    free_dying(m, s);
    int r = alloc_r(m);
    est(m, x86_r_rm(b, op, vr(m, r), ra));
    def(m, s->d, r);
    break;
  }
  case MK_SHIFT: {
    if (!has(m, op)) return;
    X86Opnd ra = m->e == ME_VEX ? x86_oreg(in_reg(m, s->a)) : in_rm(m, s->a);
    free_dying(m, s);
    int r = alloc_r(m);
    est(m, x86_v_rm_i(b, op, vr(m, r), ra, s->n));
    def(m, s->d, r);
    break;
  }
  case MK_CMP: {
    bool icmp = row->sw == 0xFF; /* integer a > b: no predicate, not swappable */
    int a = s->a, bb = s->b, pred = row->imm;
    if (!icmp && !in_r(m, a) && in_r(m, bb)) a = s->b, bb = s->a, pred = row->sw;
    if (!has(m, op)) return;
    X86Reg ra = in_reg(m, a);
    X86Opnd rb = in_rm(m, bb);
    free_dying(m, s);
    int kr = 0;
    for (int k = 2; k <= 6 && m->e == ME_EVEX && m->konly[s->d] && !kr; k++)
      if (m->kown[k] < 0) kr = k;
    if (kr) { /* the mask stays in kr */
      if (icmp) est(m, x86_r_v_rm(b, op, x86_kreg(kr), ra, rb));
      else est(m, x86_r_v_rm_i(b, op, x86_kreg(kr), ra, rb, pred));
      m->kown[kr] = (int16_t)s->d;
      m->kreg[s->d] = (int8_t)kr;
      break;
    }
    int r = alloc_r(m);
    if (m->e == ME_VEX) {
      if (icmp) est(m, x86_r_v_rm(b, op, vr(m, r), ra, rb));
      else est(m, x86_r_v_rm_i(b, op, vr(m, r), ra, rb, pred));
    } else {
      X86Op mv = m->w == MW_64 ? X86_evpmovm2q : X86_evpmovm2d;
      if (!has(m, mv)) return;
      if (icmp) est(m, x86_r_v_rm(b, op, x86_kreg(1), ra, rb));
      else est(m, x86_r_v_rm_i(b, op, x86_kreg(1), ra, rb, pred));
      est(m, x86_r_rm(b, mv, vr(m, r), x86_oreg(x86_kreg(1))));
    }
    def(m, s->d, r);
    break;
  }
  case MK_FMA: case MK_FNMA: {
    /* 231: d = c, d += a*b (b r/m); FMA with a or b dying in a register of ours: 213, d = a,
     * d = d*b + c (c r/m) */
    X86Op f213 = row_op(m, s->op, 1);
    if (!has(m, op)) return;
    int rc = dying_reg(m, s->c), ra = dying_reg(m, s->a), rb = dying_reg(m, s->b);
    if (rc >= 0 && root(m, s->c) != root(m, s->a) && root(m, s->c) != root(m, s->b)) {
      int a = s->a, bb = s->b;
      if (!in_r(m, a) && in_r(m, bb)) a = s->b, bb = s->a;
      X86Reg xa = in_reg(m, a);
      X86Opnd xb = in_rm(m, bb);
      est(m, x86_r_v_rm(b, op, vr(m, rc), xa, xb));
      free_dying(m, s);
      def(m, s->d, rc);
    } else if (row->kind == MK_FMA && f213 != N_ && (ra >= 0 || rb >= 0) &&
               root(m, s->a) != root(m, s->c) && root(m, s->b) != root(m, s->c) &&
               root(m, s->a) != root(m, s->b)) {
      if (!has(m, f213)) return;
      int dr = ra >= 0 ? ra : rb, other = ra >= 0 ? s->b : s->a;
      X86Reg xo = in_reg(m, other);
      X86Opnd xc = in_rm(m, s->c);
      est(m, x86_r_v_rm(b, f213, vr(m, dr), xo, xc));
      free_dying(m, s);
      def(m, s->d, dr);
    } else {
      int a = s->a, bb = s->b;
      if (!in_r(m, a) && in_r(m, bb)) a = s->b, bb = s->a;
      X86Reg xa = in_reg(m, a);
      X86Opnd xb = in_rm(m, bb);
      X86Opnd xc = in_rm(m, s->c);
      int r = alloc_r(m); /* operands locked: never a register they are in */
      if (J->err) return;
      if (xc.kind == X86_OPND_REG) jit_mov(J, vr(m, r), xc.reg);
      else jit_load(J, vr(m, r), xc.mem, m->vb, lw(m));
      est(m, x86_r_v_rm(b, op, vr(m, r), xa, xb));
      free_dying(m, s);
      def(m, s->d, r);
    }
    break;
  }
  case MK_SEL: {
    if (!has(m, op)) return;
    int km = m->kreg[root(m, s->a)];
    X86Reg xa = km ? vr(m, 0) : in_reg(m, s->a), xc = in_reg(m, s->c);
    X86Opnd xb = in_rm(m, s->b);
    free_dying(m, s);
    int r = alloc_r(m);
    if (m->e == ME_VEX) {
      est(m, x86_r_v_rm_r(b, op, vr(m, r), xc, xb, xa));
    } else {
      X86Op tok = row_op(m, s->op, 1);
      if (!has(m, tok)) return;
      if (!km) est(m, x86_r_rm(b, tok, x86_kreg(1), x86_oreg(xa)));
      est(m, x86_r_v_rm(b, op, x86_masked(vr(m, r), km ? km : 1, 0), xc, xb));
    }
    def(m, s->d, r);
    break;
  }
  case MK_HORNER: {
    /* d = coef[n-1]; d = d*a + coef[j], j = n-2 .. 0 (fma(r, a, c[j]), as math_prog_run) */
    if (!has(m, op)) return;
    X86Reg xa = in_reg(m, s->a);
    int r = alloc_r(m); /* a is locked: r is not its register */
    if (J->err) return;
    jit_load(J, vr(m, r), pool_k(m, coef_bits(m, s, s->n - 1)).mem, m->vb, lw(m));
    for (int j = s->n - 2; j >= 0; j--)
      est(m, x86_r_v_rm(b, op, vr(m, r), xa, pool_k(m, coef_bits(m, s, j))));
    free_dying(m, s);
    def(m, s->d, r);
    break;
  }
  default: break; /* CONST, MOV, ESC, OUT: handled by the walker */
  }
}

/* ---- escapes and the result ---- */

static void save_all(Em *m) {
  Jit *J = m->J;
  static const int gprs[] = {X86_RAX, X86_RCX, X86_RDX, X86_RSI, X86_RDI, X86_R8, X86_R9, X86_R10};
  for (int r = 0; r < m->nr; r++)
    jit_store(J, x86_mem(X86_RSP, J->vsave_slot + 64 * r), jit_vreg(J, J->vbytes, r), J->vbytes, 8);
  for (int i = 0; i < 8; i++)
    est(m, x86_rm_r(J->b, X86_mov_st, x86_omem(x86_mem(X86_RSP, J->gsave_slot + 8 * i)),
                    x86_r64(gprs[i])));
  if (J->mode == JIT_MODE_MASK_K)
    est(m, x86_rm_r(J->b, X86_kmovw_st, x86_omem(x86_mem(X86_RSP, J->gsave_slot + 64)), x86_kreg(7)));
  for (int k = 2; k <= 6; k++) /* masks of later escapes */
    if (m->kown[k] >= 0)
      est(m, x86_rm_r(J->b, X86_kmovw_st, x86_omem(x86_mem(X86_RSP, J->gsave_slot + 64 + 2 * k)),
                      x86_kreg(k)));
  est(m, x86_np(J->b, X86_vzeroupper));
}

static void restore_all(Em *m) {
  Jit *J = m->J;
  static const int gprs[] = {X86_RAX, X86_RCX, X86_RDX, X86_RSI, X86_RDI, X86_R8, X86_R9, X86_R10};
  if (J->mode == JIT_MODE_MASK_K)
    est(m, x86_r_rm(J->b, X86_kmovw, x86_kreg(7), x86_omem(x86_mem(X86_RSP, J->gsave_slot + 64))));
  for (int k = 2; k <= 6; k++)
    if (m->kown[k] >= 0)
      est(m, x86_r_rm(J->b, X86_kmovw, x86_kreg(k),
                      x86_omem(x86_mem(X86_RSP, J->gsave_slot + 64 + 2 * k))));
  for (int i = 0; i < 8; i++)
    est(m, x86_r_rm(J->b, X86_mov, x86_r64(gprs[i]),
                    x86_omem(x86_mem(X86_RSP, J->gsave_slot + 8 * i))));
  for (int r = 0; r < m->nr; r++)
    jit_load(J, jit_vreg(J, J->vbytes, r), x86_mem(X86_RSP, J->vsave_slot + 64 * r), J->vbytes, 8);
}

/* Lanes of mask value mk take esc(x, y): result register rr is updated (through MS_RES). */
static void e_escape(Em *m, const MathStep *s, int rr) {
  Jit *J = m->J;
  X86Buf *b = J->b;
  int lanes = m->vb * 8 / (m->w == MW_64 ? 64 : 32), z = lw(m);
  int km = m->kreg[root(m, s->a)];
  X86Reg mk = km ? vr(m, 0) : in_reg(m, s->a);
  X86Op op = row_op(m, MOP_ESC, 0), op2 = row_op(m, MOP_ESC, 1);
  if (!has(m, op)) return;
  if (m->e == ME_VEX) {
    est(m, x86_r_rm(b, op, x86_r32(X86_R11), x86_oreg(mk)));
  } else {
    if (!has(m, op2)) return;
    if (!km) est(m, x86_r_rm(b, op, x86_kreg(1), x86_oreg(mk)));
    est(m, x86_r_rm(b, op2, x86_r32(X86_R11), x86_oreg(x86_kreg(km ? km : 1))));
  }
  int32_t skip = x86_label_new(b);
  est(m, x86_rm_r(b, X86_test, x86_oreg(x86_r64(X86_R11)), x86_r64(X86_R11)));
  est(m, x86_jcc(b, X86_CC_E, skip));
  /* the slow path: x, y and the result to the scratch, everything saved, one call per lane */
  est(m, x86_rm_r(b, X86_mov_st, x86_omem(scratch(m, MS_BITS)), x86_r64(X86_R11)));
  jit_store(J, scratch(m, MS_RES), vr(m, rr), m->vb, z);
  jit_store(J, scratch(m, MS_X), in_reg(m, MATH_V_X), m->vb, z);
  if (m->p->nin > 1) jit_store(J, scratch(m, MS_Y), in_reg(m, MATH_V_Y), m->vb, z);
  save_all(m);
  double (*fn)(double, double) = s->esc;
  uint64_t addr;
  memcpy(&addr, &fn, sizeof addr);
  int32_t foff = jit_pool(J, &addr, 8);
  for (int j = 0; j < lanes; j++) {
    int32_t next = x86_label_new(b);
    est(m, x86_rm_i(b, X86_test_i32, x86_omem(scratch(m, MS_BITS)), 1 << j));
    est(m, x86_jcc(b, X86_CC_E, next));
    X86Reg x0 = x86_xmm(0), x1 = x86_xmm(1);
    if (z == 8) { /* esc(x, y) on doubles */
      est(m, x86_r_rm(b, X86_vmovsd, x0, x86_omem(scratch(m, MS_X + 8 * j))));
      if (m->p->nin > 1) est(m, x86_r_rm(b, X86_vmovsd, x1, x86_omem(scratch(m, MS_Y + 8 * j))));
    } else { /* float lanes: esc((double)x, (double)y), rounded to float */
      est(m, x86_r_v_rm(b, X86_vxorpd, x0, x0, x86_oreg(x0)));
      est(m, x86_r_v_rm(b, X86_vcvtss2sd, x0, x0, x86_omem(scratch(m, MS_X + 4 * j))));
      if (m->p->nin > 1) {
        est(m, x86_r_v_rm(b, X86_vxorpd, x1, x1, x86_oreg(x1)));
        est(m, x86_r_v_rm(b, X86_vcvtss2sd, x1, x1, x86_omem(scratch(m, MS_Y + 4 * j))));
      }
    }
    if (m->p->nin < 2) est(m, x86_r_v_rm(b, X86_vxorpd, x1, x1, x86_oreg(x1)));
    est(m, x86_rm(b, X86_call, x86_omem(x86_mem_label(J->pool_label, foff))));
    if (z == 8) {
      est(m, x86_rm_r(b, X86_vmovsd_st, x86_omem(scratch(m, MS_RES + 8 * j)), x0));
    } else {
      est(m, x86_r_v_rm(b, X86_vcvtsd2ss, x0, x0, x86_oreg(x0)));
      est(m, x86_rm_r(b, X86_vmovss_st, x86_omem(scratch(m, MS_RES + 4 * j)), x0));
    }
    est(m, x86_label_bind(b, next));
  }
  restore_all(m);
  jit_load(J, vr(m, rr), scratch(m, MS_RES), m->vb, z);
  est(m, x86_label_bind(b, skip));
}

/* OUT: escapes, then NaN lanes -> the canonical NaN; returns the register holding the result. */
static int e_out(Em *m, const MathStep *s) {
  Jit *J = m->J;
  X86Buf *b = J->b;
  const MathProg *p = m->p;
  lock3(m, s);
  /* the result in a register of our own */
  int v = root(m, s->a), rr = dying_reg(m, s->a);
  bool has_esc = false;
  for (int i = 0; i < p->nsteps; i++) has_esc = has_esc || p->steps[i].op == MOP_ESC;
  if (rr < 0 || has_esc) { /* x, y, masks may share it: a fresh copy */
    X86Opnd src = in_rm(m, v);
    rr = alloc_r(m);
    if (J->err) return 0;
    if (src.kind == X86_OPND_REG) jit_mov(J, vr(m, rr), src.reg);
    else jit_load(J, vr(m, rr), src.mem, m->vb, lw(m));
  }
  for (int u = 0; u < MAXV; u++) /* held outside the values: never spilled or reused */
    if (m->reg[u] == rr) m->reg[u] = -1;
  m->owner[rr] = MV_NA;
  for (int i = p->nsteps - 1; i >= 0 && !J->err; i--)
    if (p->steps[i].op == MOP_ESC) e_escape(m, &p->steps[i], rr);
  uint64_t canon = m->w == MW_64 ? 0x7ff8000000000000ull : 0x7fc00000ull;
  X86Op cmp = row_op(m, MOP_OUT, 0), bl = row_op(m, MOP_OUT, 1);
  if (!has(m, cmp) || !has(m, bl)) return rr;
  if (m->e == ME_VEX) {
    int t = alloc_r(m);
    est(m, x86_r_v_rm_i(b, cmp, vr(m, t), vr(m, rr), x86_oreg(vr(m, rr)), 0x03));
    est(m, x86_r_v_rm_r(b, bl, vr(m, rr), vr(m, rr), pool_k(m, canon), vr(m, t)));
  } else {
    est(m, x86_r_v_rm_i(b, cmp, x86_kreg(1), vr(m, rr), x86_oreg(vr(m, rr)), 0x03));
    est(m, x86_r_rm(b, bl, x86_masked(vr(m, rr), 1, 0), pool_k(m, canon)));
  }
  return rr;
}

/* ---- one program over one chunk ---- */

/* Sets up value locations (x, y in xr/yr: a register, borrowed or ours; -1: none), walks the
 * steps, and returns the register holding the result. */
static int run_prog(Em *m, const int *usable, int xr, int yr, bool xborrow, bool yborrow) {
  const MathProg *p = m->p;
  Jit *J = m->J;
  for (int r = 0; r < 32; r++) {
    m->owner[r] = usable[r] ? MV_FREE : MV_NA;
    m->borrowed[r] = false;
  }
  for (int v = 0; v < MAXV; v++) {
    m->reg[v] = -1;
    m->inmem[v] = m->is_const[v] = false;
    m->alias[v] = (uint8_t)v;
    m->last[v] = -1;
    m->konly[v] = false;
    m->kreg[v] = 0;
  }
  for (int k = 0; k < 8; k++) m->kown[k] = -1;
  for (int i = 0; i < p->nsteps; i++) {
    const MathStep *s = &p->steps[i];
    if (s->op == MOP_K || s->op == MOP_KB) {
      m->is_const[s->d] = true;
      m->kbits[s->d] = s->op == MOP_K ? kbits(m, s->k) : s->bits;
    } else if (s->op == MOP_MOV) {
      m->alias[s->d] = (uint8_t)root(m, s->a);
    }
  }
  int out_step = p->nsteps - 1;
  bool esc = false;
  for (int i = 0; i < p->nsteps; i++) {
    const MathStep *s = &p->steps[i];
    int at = s->op == MOP_ESC ? out_step : i;
    esc = esc || s->op == MOP_ESC;
    uint8_t ops[3] = {s->a, s->b, s->c};
    for (int k = 0; k < 3; k++)
      if (ops[k] != MATH_V_NONE && s->op != MOP_MOV) {
        int v = root(m, ops[k]);
        if (m->last[v] < at) m->last[v] = (int16_t)at;
      }
  }
  /* compares only ever used as SEL's or ESC's mask (through MOV renames too) */
  for (int i = 0; i < p->nsteps; i++)
    if (math_rows[p->steps[i].op].kind == MK_CMP) m->konly[p->steps[i].d] = true;
  for (int i = 0; i < p->nsteps; i++) {
    const MathStep *s = &p->steps[i];
    if (s->op == MOP_MOV) continue;
    uint8_t ops[3] = {s->a, s->b, s->c};
    for (int k = 0; k < 3; k++) {
      if (ops[k] == MATH_V_NONE) continue;
      bool as_mask = k == 0 && (s->op == MOP_SEL || s->op == MOP_ESC);
      if (!as_mask) m->konly[root(m, ops[k])] = false;
    }
  }
  if (esc) {
    m->last[MATH_V_X] = (int16_t)out_step;
    if (p->nin > 1) m->last[MATH_V_Y] = (int16_t)out_step;
  }
  if (xr >= 0) {
    take(m, xr, MATH_V_X);
    m->borrowed[xr] = xborrow;
  }
  if (yr >= 0 && p->nin > 1) {
    if (yr == xr) m->alias[MATH_V_Y] = MATH_V_X, m->last[MATH_V_X] = m->last[MATH_V_X] > m->last[MATH_V_Y] ? m->last[MATH_V_X] : m->last[MATH_V_Y];
    else take(m, yr, MATH_V_Y), m->borrowed[yr] = yborrow;
  }
  /* x, y never read: give their registers back */
  for (int v = MATH_V_X; v <= MATH_V_Y; v++)
    if (m->reg[v] >= 0 && m->last[v] < 0) {
      release(m, m->reg[v]);
      m->reg[v] = -1;
    }
  int rr = -1;
  for (int i = 0; i < p->nsteps && !J->err; i++) {
    m->step = i;
    const MathStep *s = &p->steps[i];
    if (s->op == MOP_OUT) {
      rr = e_out(m, s);
      break;
    }
    if (math_rows[s->op].kind == MK_NONE) {
      jit_fail(J, "math %s: step %d: no emission for this op", p->name, i);
      return 0;
    }
    e_step(m, s);
  }
  if (rr < 0 && !J->err) jit_fail(J, "math %s: no OUT step", p->name);
  return rr < 0 ? 0 : rr;
}

void jit_math_emit(Jit *J, const LInst *in, X86Reg d, const X86Reg *a) {
  Em m;
  memset(&m, 0, sizeof m);
  m.J = J;
  m.p = prog_of(J, in);
  if (!m.p) {
    jit_math_ok(J, in);
    return;
  }
  m.e = J->enc == JE_EVEX ? ME_EVEX : ME_VEX;
  m.w = prog_lanebits(m.p) == 64 ? MW_64 : MW_32;
  /* double lanes fill the register; float lanes run at the float value's width (an xmm of 4
   * on AVX2 when the plan also has float64 values) */
  m.vb = m.w == MW_64 ? J->vbytes : J->L * 4;
  m.nr = J->isa == X86_ISA_AVX512 ? 32 : 16;
  if (J->enc == JE_LEG) {
    jit_math_ok(J, in);
    return;
  }
  int dt = in->dtype;
  /* registers the program may use: free in the plan, the destination, the scratches */
  int usable[32] = {0};
  for (int r = 0; r < J->nregs; r++) usable[r] = J->owner[r] < 0;
  usable[d.num] = 1;
  usable[J->S[0]] = usable[J->S[1]] = usable[J->S[2]] = usable[J->T] = 1;
  int nin = in->nin;
  bool live_src[3] = {false, false, false};
  for (int k = 0; k < nin; k++) {
    int o = a[k].num < J->nregs ? J->owner[a[k].num] : -1;
    live_src[k] = a[k].num != d.num && o >= 0; /* still held by the plan: read only */
    if (live_src[k]) usable[a[k].num] = 0;
  }
  bool f32 = dt == BUD_FLOAT32 && m.w == MW_64;
  if (!f32) {
    for (int k = 0; k < nin; k++) usable[a[k].num] = 1; /* ours or borrowed, run_prog knows */
    int rr = run_prog(&m, usable, a[0].num, nin > 1 ? a[1].num : -1, live_src[0],
                      nin > 1 && live_src[1]);
    if (!J->err) jit_mov(J, d, vr(&m, rr));
    return;
  }
  /* float32 on 64-bit lanes: chunks of P floats, each widened in registers (the upper one
   * extracted first), run, rounded back; chunk 0's result waits in its register and the halves
   * are joined by an insert (no trip through memory: a load spanning two stores would stall) */
  int vbs = J->L * 4;                 /* the float32 vector's bytes */
  int chunk = m.vb / 2;               /* bytes of P floats */
  int nch = (vbs + chunk - 1) / chunk;
  X86Op cvt_in = m.e == ME_VEX ? X86_vcvtps2pd : X86_evcvtps2pd;
  X86Op cvt_out = m.e == ME_VEX ? X86_vcvtpd2ps : X86_evcvtpd2ps;
  X86Op ext = m.e == ME_VEX ? X86_vextractf128 : X86_evextractf64x4;
  X86Op ins = m.e == ME_VEX ? X86_vinsertf128 : X86_evinsertf64x4;
  if (!has(&m, cvt_in) || !has(&m, cvt_out) || (nch > 1 && (!has(&m, ext) || !has(&m, ins))))
    return;
  /* few registers to spare: the inputs wait in the scratch instead (converted from memory) */
  int nfree = 0;
  for (int r = 0; r < m.nr; r++) nfree += usable[r] && r != a[0].num && (nin < 2 || r != a[1].num);
  bool in_mem = nch > 1 && nfree < 8;
  for (int k = 0; k < nin; k++) {
    if (in_mem) jit_store(J, scratch(&m, MS_IN + 64 * k), a[k], vbs, 4);
    usable[a[k].num] = in_mem && !live_src[k]; /* else held until the last chunk */
  }
  int rr0 = -1;
  for (int h = 0; h < nch && !J->err; h++) {
    /* x (and y) into the first free registers */
    int xy[2] = {-1, -1};
    for (int r = 0; r < m.nr; r++)
      if (usable[r]) {
        if (xy[0] < 0) xy[0] = r;
        else if (xy[1] < 0 && nin > 1) xy[1] = r;
      }
    for (int k = 0; k < nin; k++) {
      X86Reg hx = jit_vreg(J, chunk, xy[k]); /* the P floats of chunk h */
      if (in_mem) {
        est(&m, x86_r_rm(J->b, cvt_in, vr(&m, xy[k]),
                         x86_omem(scratch(&m, MS_IN + 64 * k + h * chunk))));
      } else if (h == 0) {
        est(&m, x86_r_rm(J->b, cvt_in, vr(&m, xy[k]), x86_oreg(jit_vreg(J, chunk, a[k].num))));
      } else {
        est(&m, x86_rm_r_i(J->b, ext, x86_oreg(hx), a[k], 1));
        est(&m, x86_r_rm(J->b, cvt_in, vr(&m, xy[k]), x86_oreg(hx)));
      }
    }
    if (h == nch - 1 && !in_mem) /* the inputs are read: their registers are free (not rr0's) */
      for (int k = 0; k < nin; k++)
        if (!live_src[k] && a[k].num != rr0) usable[a[k].num] = 1;
    if (h == nch - 1 && rr0 < 0) usable[d.num] = 1;
    int rr = run_prog(&m, usable, xy[0], xy[1], false, false);
    if (J->err) return;
    X86Reg half = jit_vreg(J, chunk, rr);
    est(&m, x86_r_rm(J->b, cvt_out, half, x86_oreg(vr(&m, rr))));
    if (nch == 1) {
      jit_mov(J, d, half);
      return;
    }
    if (h == 0) {
      rr0 = rr;
      usable[rr0] = 0;
    } else {
      est(&m, x86_r_v_rm_i(J->b, ins, d, jit_vreg(J, vbs, rr0), x86_oreg(half), 1));
    }
  }
}
