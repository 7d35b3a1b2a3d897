/* jit_emit.c — instruction selection for one plan instruction: each emitter kind of the target
 * table (jit_ops.c) becomes a short sequence per encoding (legacy SSE two-address forms, VEX
 * three-address forms, EVEX with opmasks). Every instruction is checked against the features the
 * ISA path may use; a missing one fails the compile with the reason (the plan then runs in the
 * VM). Also the constant pool and the width-generic moves. Entry points: jit_emit_op, jit_load,
 * jit_store, jit_mov, jit_pool*.
 *
 * Semantics the VM fixes and these sequences reproduce bit for bit: minimum/maximum return the
 * first operand when it is NaN or strictly better, else the second (x86 min/max return the second
 * operand on NaN, hence the fix-up); comparisons are ordered except !=; neg/abs flip/clear the sign
 * bit; integer arithmetic wraps; float->int32 truncates with INT32_MIN for NaN/out of range.
 */
#include "x86/jit_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jit_fail(Jit *J, const char *fmt, ...) {
  if (J->err) return;
  J->err = -1;
  J->fail_inst = J->cur_inst;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(J->why, J->nwhy, fmt, ap);
  va_end(ap);
}

X86Reg jit_vreg(const Jit *J, int vb, int n) {
  if (J->enc == JE_LEG || vb <= 16) return x86_xmm(n);
  return vb == 32 ? x86_ymm(n) : x86_zmm(n);
}

static const char *dt_name(int dt) { return dtype_info((BudDType)dt)->name; }

/* Is instruction op usable at vb bytes on this path? Else fails the compile, naming the
 * instruction and the missing feature. */
static bool avail(Jit *J, X86Op op, int vb, const char *what) {
  if (J->err) return false;
  if (op == JIT_NO) {
    jit_fail(J, "%s: no instruction on the %s path", what, x86_isa_name(J->isa));
    return false;
  }
  uint32_t need = x86_op_features(op, vb > 0 ? (vb < 16 ? 128 : vb * 8) : 0);
  if (need & ~J->feat) {
    char buf[128];
    jit_fail(J, "%s: %s needs %s, not on the %s path", what, x86_op_info(op)->mnem,
             x86_feat_names(need & ~J->feat, buf, sizeof buf), x86_isa_name(J->isa));
    return false;
  }
  return true;
}

static void st(Jit *J, int rc) {
  if (rc != X86_OK && !J->err) jit_fail(J, "encoder error %d", rc);
}

/* ---- pool ---- */

int32_t jit_pool(Jit *J, const void *bytes, size_t n) {
  size_t align = n >= 64 ? 64 : n >= 32 ? 32 : 16;
  for (size_t off = 0; off + n <= J->npool; off += align)
    if (memcmp(J->pool + off, bytes, n) == 0) return (int32_t)off;
  size_t off = (J->npool + align - 1) & ~(align - 1);
  if (off + n > J->cappool) {
    size_t cap = J->cappool ? J->cappool * 2 : 1024;
    while (cap < off + n) cap *= 2;
    uint8_t *np = realloc(J->pool, cap);
    if (!np) {
      jit_fail(J, "out of memory");
      return 0;
    }
    J->pool = np;
    J->cappool = cap;
  }
  memset(J->pool + J->npool, 0, off - J->npool);
  memcpy(J->pool + off, bytes, n);
  J->npool = off + n;
  return (int32_t)off;
}

X86Opnd jit_pool_opnd(Jit *J, int32_t off) { return x86_omem(x86_mem_label(J->pool_label, off)); }

X86Opnd jit_pool_splat(Jit *J, uint64_t v, int lw, int vb) {
  uint8_t buf[64];
  if (vb < 16) vb = 16; /* legacy SSE memory operands are 16 bytes (and aligned) */
  for (int i = 0; i < vb; i += lw) memcpy(buf + i, &v, (size_t)lw);
  return jit_pool_opnd(J, jit_pool(J, buf, (size_t)vb));
}

/* ---- moves ---- */

static bool same(X86Reg a, X86Reg b) { return a.num == b.num; }
static X86Opnd R(X86Reg r) { return x86_oreg(r); }

void jit_mov(Jit *J, X86Reg d, X86Reg s) {
  if (same(d, s)) return;
  X86Op op = J->enc == JE_LEG ? X86_movaps : J->enc == JE_VEX ? X86_vmovaps : X86_evmovaps;
  st(J, x86_r_rm(J->b, op, d, R(s)));
}

void jit_load(Jit *J, X86Reg d, X86Mem m, int vb, int lw) {
  (void)lw;
  X86Op op;
  if (J->enc == JE_LEG) op = vb >= 16 ? X86_movups : vb == 8 ? X86_movsd : X86_movss;
  else op = J->enc == JE_VEX ? X86_vmovups : X86_evmovups;
  st(J, x86_r_rm(J->b, op, d, x86_omem(m)));
}

void jit_store(Jit *J, X86Mem m, X86Reg s, int vb, int lw) {
  (void)lw;
  X86Op op;
  if (J->enc == JE_LEG) op = vb >= 16 ? X86_movups_st : vb == 8 ? X86_movsd_st : X86_movss_st;
  else op = J->enc == JE_VEX ? X86_vmovups_st : X86_evmovups_st;
  st(J, x86_rm_r(J->b, op, x86_omem(m), s));
}

/* ---- generic shapes ---- */

/* d = a op b (b a register or memory); legacy SSE is two-address: copy a first, or use T. */
static void e_bin(Jit *J, X86Op op, X86Reg d, X86Reg a, X86Opnd b, bool comm, int vb,
                  const char *what) {
  if (!avail(J, op, vb, what)) return;
  if (J->enc != JE_LEG) {
    st(J, x86_r_v_rm(J->b, op, d, a, b));
    return;
  }
  if (same(d, a)) {
    st(J, x86_r_rm(J->b, op, d, b));
  } else if (b.kind == X86_OPND_REG && same(d, b.reg)) {
    /* no operand swap even when commutative: with two NaNs, x86 returns the first
     * operand's payload, and so does the VM's a op b */
    (void)comm;
    {
      X86Reg t = jit_vreg(J, vb, J->T);
      jit_mov(J, t, a);
      st(J, x86_r_rm(J->b, op, t, b));
      jit_mov(J, d, t);
    }
  } else {
    jit_mov(J, d, a);
    st(J, x86_r_rm(J->b, op, d, b));
  }
}

/* Same with an imm8 (cmpps). */
static void e_bin_i(Jit *J, X86Op op, X86Reg d, X86Reg a, X86Opnd b, int imm, int vb,
                    const char *what) {
  if (!avail(J, op, vb, what)) return;
  if (J->enc != JE_LEG) {
    st(J, x86_r_v_rm_i(J->b, op, d, a, b, imm));
    return;
  }
  if (same(d, a)) {
    st(J, x86_r_rm_i(J->b, op, d, b, imm));
  } else if (b.kind == X86_OPND_REG && same(d, b.reg)) {
    X86Reg t = jit_vreg(J, vb, J->T);
    jit_mov(J, t, a);
    st(J, x86_r_rm_i(J->b, op, t, b, imm));
    jit_mov(J, d, t);
  } else {
    jit_mov(J, d, a);
    st(J, x86_r_rm_i(J->b, op, d, b, imm));
  }
}

/* EVEX: d = all-ones where opmask k is set, else zero. */
static void e_k2vec(Jit *J, X86Reg d, int k, int lw, int vb) {
  X86Op op = lw == 8 ? X86_evpternlogq : X86_evpternlogd;
  if (!avail(J, op, vb, "mask")) return;
  st(J, x86_r_v_rm_i(J->b, op, x86_masked(d, k, 1), d, R(d), 0xFF));
}

/* Float compare a pred b into a lane mask d (pred: VEX/EVEX predicate number). */
static void e_fcmp(Jit *J, int jd, X86Reg d, X86Reg a, X86Opnd b, int pred, int vb,
                   const char *what) {
  int lw = jd == JD_F64 ? 8 : 4;
  if (J->enc == JE_EVEX) {
    X86Op op = jd == JD_F64 ? X86_evcmppd : X86_evcmpps;
    if (!avail(J, op, vb, what)) return;
    st(J, x86_r_v_rm_i(J->b, op, x86_kreg(1), a, b, pred));
    e_k2vec(J, d, 1, lw, vb);
  } else if (J->enc == JE_VEX) {
    e_bin_i(J, jd == JD_F64 ? X86_vcmppd : X86_vcmpps, d, a, b, pred, vb, what);
  } else {
    X86Op op = jd == JD_F64 ? X86_cmppd : X86_cmpps;
    if (pred == 0x0E || pred == 0x0D) { /* gt/ge: swap to lt/le */
      if (b.kind != X86_OPND_REG) {
        jit_fail(J, "%s: internal: swapped compare with memory operand", what);
        return;
      }
      e_bin_i(J, op, d, b.reg, R(a), pred == 0x0E ? 1 : 2, vb, what);
    } else {
      e_bin_i(J, op, d, a, b, pred & 7, vb, what);
    }
  }
}

/* Selects a's bits where lane mask m is set, else b's: d = m ? a : b (d distinct from all). */
static void e_select(Jit *J, int lw, X86Reg d, X86Reg m, X86Reg a, X86Reg b, int vb,
                     const char *what) {
  if (J->enc == JE_VEX) {
    X86Op op = lw == 8 ? X86_vblendvpd : X86_vblendvps;
    if (!avail(J, op, vb, what)) return;
    st(J, x86_r_v_rm_r(J->b, op, d, b, R(a), m));
  } else if (J->enc == JE_EVEX) {
    X86Op cmp = lw == 8 ? X86_evpcmpeqq : X86_evpcmpeqd;
    X86Op bl = lw == 8 ? X86_evpblendmq : X86_evpblendmd;
    if (!avail(J, cmp, vb, what) || !avail(J, bl, vb, what)) return;
    st(J, x86_r_v_rm(J->b, cmp, x86_kreg(1), m, jit_pool_splat(J, ~0ull, lw, vb)));
    st(J, x86_r_v_rm(J->b, bl, x86_masked(d, 1, 0), b, R(a)));
  } else {
    X86Reg t = jit_vreg(J, vb, J->T);
    jit_mov(J, d, m);
    st(J, x86_r_rm(J->b, X86_andnps, d, R(b)));
    jit_mov(J, t, m);
    st(J, x86_r_rm(J->b, X86_andps, t, R(a)));
    st(J, x86_r_rm(J->b, X86_orps, d, R(t)));
  }
}

static X86Op fsel(const Jit *J, int jd, X86Op leg_ps, X86Op vex_ps, X86Op evex_ps) {
  /* the pd form follows the ps form in every table block used here */
  X86Op op = J->enc == JE_LEG ? leg_ps : J->enc == JE_VEX ? vex_ps : evex_ps;
  return jd == JD_F64 ? (X86Op)(op + 1) : op;
}
_Static_assert(X86_addpd == X86_addps + 1 && X86_vandpd == X86_vandps + 1 &&
                   X86_evxorpd == X86_evxorps + 1 && X86_xorpd == X86_xorps + 1 &&
                   X86_vorpd == X86_vorps + 1 && X86_evandpd == X86_evandps + 1 &&
                   X86_andpd == X86_andps + 1 && X86_orpd == X86_orps + 1 &&
                   X86_evorpd == X86_evorps + 1 && X86_vxorpd == X86_vxorps + 1,
               "ps/pd rows adjacent");

static uint64_t sign_bit(int jd) { return jd == JD_F64 ? 0x8000000000000000ull : 0x80000000ull; }
static uint64_t inf_bits(int jd) { return jd == JD_F64 ? 0x7FF0000000000000ull : 0x7F800000ull; }

/* ---- the op emitters ---- */


static void e_minmax(Jit *J, Op o, int jd, X86Reg d, X86Reg a, X86Reg b, int vb, const char *w) {
  bool is_max = o == OP_maximum;
  if (jd == JD_F32 || jd == JD_F64) {
    X86Op mm = is_max ? fsel(J, jd, X86_maxps, X86_vmaxps, X86_evmaxps)
                      : fsel(J, jd, X86_minps, X86_vminps, X86_evminps);
    _Static_assert(X86_maxpd == X86_maxps + 1 && X86_vmaxpd == X86_vmaxps + 1 &&
                       X86_evmaxpd == X86_evmaxps + 1 && X86_minpd == X86_minps + 1 &&
                       X86_vminpd == X86_vminps + 1 && X86_evminpd == X86_evminps + 1,
                   "ps/pd rows adjacent");
    /* x86 max(a, b) = a > b ? a : b, the VM's rule except when a is NaN: then a. */
    e_bin(J, mm, d, a, R(b), false, vb, w);
    if (J->enc == JE_EVEX) {
      X86Op cmp = jd == JD_F64 ? X86_evcmppd : X86_evcmpps;
      X86Op mv = jd == JD_F64 ? X86_evmovapd : X86_evmovaps;
      if (!avail(J, cmp, vb, w) || !avail(J, mv, vb, w)) return;
      st(J, x86_r_v_rm_i(J->b, cmp, x86_kreg(2), a, R(a), 3 /* UNORD */));
      st(J, x86_r_rm(J->b, mv, x86_masked(d, 2, 0), R(a)));
    } else if (J->enc == JE_VEX) {
      X86Reg t = jit_vreg(J, vb, J->T);
      e_bin_i(J, jd == JD_F64 ? X86_vcmppd : X86_vcmpps, t, a, R(a), 3, vb, w);
      X86Op bl = jd == JD_F64 ? X86_vblendvpd : X86_vblendvps;
      if (!avail(J, bl, vb, w)) return;
      st(J, x86_r_v_rm_r(J->b, bl, d, d, R(a), t));
    } else {
      /* d = (d & ord(a)) | (a & ~ord(a)) */
      X86Reg t = jit_vreg(J, vb, J->T);
      X86Op cmp = jd == JD_F64 ? X86_cmppd : X86_cmpps;
      jit_mov(J, t, a);
      st(J, x86_r_rm_i(J->b, cmp, t, R(a), 7 /* ORD */));
      st(J, x86_r_rm(J->b, X86_andps, d, R(t)));
      st(J, x86_r_rm(J->b, X86_andnps, t, R(a)));
      st(J, x86_r_rm(J->b, X86_orps, d, R(t)));
    }
    return;
  }
  /* integers: max = a > b ? a : b; min = b > a ? a : b */
  int lw = jd == JD_I64 ? 8 : 4;
  X86Reg x = is_max ? a : b, y = is_max ? b : a;
  if (J->enc == JE_EVEX) {
    X86Op cmp = lw == 8 ? X86_evpcmpgtq : X86_evpcmpgtd;
    X86Op bl = lw == 8 ? X86_evpblendmq : X86_evpblendmd;
    if (!avail(J, cmp, vb, w) || !avail(J, bl, vb, w)) return;
    st(J, x86_r_v_rm(J->b, cmp, x86_kreg(1), x, R(y)));
    st(J, x86_r_v_rm(J->b, bl, x86_masked(d, 1, 0), b, R(a)));
    return;
  }
  X86Reg t = jit_vreg(J, vb, J->T);
  X86Op gt = J->enc == JE_VEX ? (lw == 8 ? X86_vpcmpgtq : X86_vpcmpgtd)
                              : (lw == 8 ? X86_pcmpgtq : X86_pcmpgtd);
  e_bin(J, gt, t, x, R(y), false, vb, w);
  if (J->err) return;
  /* t = mask where a is chosen */
  if (J->enc == JE_VEX) {
    X86Op bl = lw == 8 ? X86_vblendvpd : X86_vblendvps;
    if (!avail(J, bl, vb, w)) return;
    st(J, x86_r_v_rm_r(J->b, bl, d, b, R(a), t));
  } else {
    jit_mov(J, d, t);
    st(J, x86_r_rm(J->b, X86_andnps, d, R(b)));
    st(J, x86_r_rm(J->b, X86_andps, t, R(a)));
    st(J, x86_r_rm(J->b, X86_orps, d, R(t)));
  }
}

static void e_icmp(Jit *J, Op o, int jd, X86Reg d, X86Reg a, X86Reg b, int vb, const char *w) {
  int lw = jd == JD_I64 ? 8 : 4;
  if (J->enc == JE_EVEX) {
    static const int pred[] = {[OP_eq] = 0, [OP_lt] = 1, [OP_le] = 2,
                               [OP_ne] = 4, [OP_ge] = 5, [OP_gt] = 6};
    X86Op cmp = lw == 8 ? X86_evpcmpq : X86_evpcmpd;
    if (!avail(J, cmp, vb, w)) return;
    st(J, x86_r_v_rm_i(J->b, cmp, x86_kreg(1), a, R(b), pred[o]));
    e_k2vec(J, d, 1, lw, vb);
    return;
  }
  bool vex = J->enc == JE_VEX;
  X86Op eq = vex ? (lw == 8 ? X86_vpcmpeqq : X86_vpcmpeqd) : (lw == 8 ? X86_pcmpeqq : X86_pcmpeqd);
  X86Op gt = vex ? (lw == 8 ? X86_vpcmpgtq : X86_vpcmpgtd) : (lw == 8 ? X86_pcmpgtq : X86_pcmpgtd);
  bool invert = o == OP_ne || o == OP_ge || o == OP_le;
  switch (o) {
  case OP_eq: case OP_ne: e_bin(J, eq, d, a, R(b), true, vb, w); break;
  case OP_gt: case OP_le: e_bin(J, gt, d, a, R(b), false, vb, w); break;
  default: e_bin(J, gt, d, b, R(a), false, vb, w); break; /* lt, ge: b > a */
  }
  if (invert)
    e_bin(J, vex ? X86_vpxor : X86_pxor, d, d, jit_pool_splat(J, ~0ull, lw, vb), true, vb, w);
}

static void e_cast(Jit *J, int from, int to, X86Reg d, X86Reg a, int vbd, const char *w) {
  int jf = jit_jd_of(from, 0), jt = jit_jd_of(to, 0);
  X86Op op = JIT_NO;
  if (dtype_size((BudDType)from) == dtype_size((BudDType)to) && jf == jt && jf >= JD_I32) {
    jit_mov(J, d, a); /* int <-> uint of one width: the same bits */
    return;
  }
  bool leg = J->enc == JE_LEG, vex = J->enc == JE_VEX;
  if (from == BUD_FLOAT32 && to == BUD_FLOAT64)
    op = leg ? X86_cvtps2pd : vex ? X86_vcvtps2pd : X86_evcvtps2pd;
  else if (from == BUD_FLOAT64 && to == BUD_FLOAT32)
    op = leg ? X86_cvtpd2ps : vex ? X86_vcvtpd2ps : X86_evcvtpd2ps;
  else if (from == BUD_INT32 && to == BUD_FLOAT32)
    op = leg ? X86_cvtdq2ps : vex ? X86_vcvtdq2ps : X86_evcvtdq2ps;
  else if (from == BUD_INT32 && to == BUD_FLOAT64)
    op = leg ? X86_cvtdq2pd : vex ? X86_vcvtdq2pd : X86_evcvtdq2pd;
  else if (from == BUD_FLOAT32 && to == BUD_INT32)
    op = leg ? X86_cvttps2dq : vex ? X86_vcvttps2dq : X86_evcvttps2dq;
  else if (from == BUD_FLOAT64 && to == BUD_INT32)
    op = leg ? X86_cvttpd2dq : vex ? X86_vcvttpd2dq : X86_evcvttpd2dq;
  if (op == JIT_NO) {
    jit_fail(J, "cast %s -> %s: not emitted natively", dt_name(from), dt_name(to));
    return;
  }
  if (!avail(J, op, vbd, w)) return;
  st(J, x86_r_rm(J->b, op, d, R(a)));
}

void jit_emit_op(Jit *J, const LInst *in, X86Reg d, const X86Reg *a) {
  const Plan *p = J->p;
  Op o = (Op)in->op;
  const JitOpRow *row = &x86_jit_ops[o];
  int sdt = p->vreg_dtype[in->src[0]];
  int jd = J->jd[in->src[0]];
  int vb = J->L * J->lw[in->src[0]]; /* width of the operands */
  int vbd = J->L * J->lw[in->dst];   /* width of the result */
  char w[96];
  snprintf(w, sizeof w, "op %s (%s)", op_info(o)->name, dt_name(sdt));
  d = jit_vreg(J, vbd, d.num);
  X86Reg s[3];
  for (int k = 0; k < in->nin && k < 3; k++) s[k] = jit_vreg(J, J->L * J->lw[in->src[k]], a[k].num);
  switch (row->kind) {
  case JK_BIN: {
    X86Op op = row->x[J->enc][jd];
    if (op == JIT_NO && row->why) {
      if (!J->err) jit_fail(J, "%s: %s", w, row->why);
      return;
    }
    e_bin(J, op, d, s[0], R(s[1]), row->flags & JF_COMM, vb, w);
    break;
  }
  case JK_UN: {
    X86Op op = row->x[J->enc][jd];
    if (!avail(J, op, vb, w)) return;
    st(J, x86_r_rm(J->b, op, d, R(s[0])));
    break;
  }
  case JK_MINMAX: e_minmax(J, o, jd, d, s[0], s[1], vb, w); break;
  case JK_NEG:
    if (jd <= JD_F64) {
      e_bin(J, fsel(J, jd, X86_xorps, X86_vxorps, X86_evxorps), d, s[0],
            jit_pool_splat(J, sign_bit(jd), J->lw[in->src[0]], vb), true, vb, w);
    } else {
      X86Reg t = jit_vreg(J, vb, J->T);
      X86Op x = J->enc == JE_LEG ? X86_pxor : J->enc == JE_VEX ? X86_vpxor : X86_evpxord;
      X86Op sub = J->enc == JE_LEG ? X86_psubd : J->enc == JE_VEX ? X86_vpsubd : X86_evpsubd;
      if (jd == JD_I64) sub = J->enc == JE_LEG ? X86_psubq : J->enc == JE_VEX ? X86_vpsubq : X86_evpsubq;
      e_bin(J, x, t, t, R(t), true, vb, w);
      e_bin(J, sub, t, t, R(s[0]), false, vb, w);
      jit_mov(J, d, t);
    }
    break;
  case JK_ABS:
    if (jd <= JD_F64) {
      e_bin(J, fsel(J, jd, X86_andps, X86_vandps, X86_evandps), d, s[0],
            jit_pool_splat(J, ~sign_bit(jd), J->lw[in->src[0]], vb), true, vb, w);
    } else if (J->enc == JE_EVEX) {
      X86Reg t = jit_vreg(J, vb, J->T);
      bool q = jd == JD_I64;
      X86Op cmp = q ? X86_evpcmpgtq : X86_evpcmpgtd, sub = q ? X86_evpsubq : X86_evpsubd;
      if (!avail(J, cmp, vb, w) || !avail(J, sub, vb, w)) return;
      st(J, x86_r_v_rm(J->b, X86_evpxord, t, t, R(t)));
      st(J, x86_r_v_rm(J->b, cmp, x86_kreg(1), t, R(s[0])));
      if (!same(d, s[0])) st(J, x86_r_rm(J->b, X86_evmovdqa64, d, R(s[0])));
      st(J, x86_r_v_rm(J->b, sub, x86_masked(d, 1, 0), t, R(s[0])));
    } else {
      /* m = 0 > a; d = (a ^ m) - m */
      bool vex = J->enc == JE_VEX, q = jd == JD_I64;
      X86Reg t = jit_vreg(J, vb, J->T);
      X86Op x = vex ? X86_vpxor : X86_pxor;
      X86Op gt = vex ? (q ? X86_vpcmpgtq : X86_vpcmpgtd) : (q ? X86_pcmpgtq : X86_pcmpgtd);
      X86Op sub = vex ? (q ? X86_vpsubq : X86_vpsubd) : (q ? X86_psubq : X86_psubd);
      e_bin(J, x, t, t, R(t), true, vb, w);
      e_bin(J, gt, t, t, R(s[0]), false, vb, w);
      e_bin(J, x, d, s[0], R(t), true, vb, w);
      e_bin(J, sub, d, d, R(t), false, vb, w);
    }
    break;
  case JK_NOT: {
    int lw = J->lw[in->src[0]];
    X86Op x = J->enc == JE_LEG ? X86_pxor : J->enc == JE_VEX ? X86_vpxor
              : lw == 8 ? X86_evpxorq : X86_evpxord;
    e_bin(J, x, d, s[0], jit_pool_splat(J, ~0ull, lw, vb), true, vb, w);
    break;
  }
  case JK_ROUND: {
    X86Op op = fsel(J, jd, X86_roundps, X86_vroundps, X86_evrndscaleps);
    _Static_assert(X86_roundpd == X86_roundps + 1 && X86_vroundpd == X86_vroundps + 1 &&
                       X86_evrndscalepd == X86_evrndscaleps + 1, "ps/pd rows adjacent");
    if (!avail(J, op, vb, w)) return;
    st(J, x86_r_rm_i(J->b, op, d, R(s[0]), row->imm));
    break;
  }
  case JK_FMA: {
    if (J->enc == JE_LEG) {
      jit_fail(J, "%s: fma needs FMA3, not on the sse2 path", w);
      return;
    }
    bool q = jd == JD_F64;
    /* 132 form, d = d*op3 + op2 with d = a, op2 = c, op3 = b: x86 picks the first NaN in operand
     * order (a, c, b), the order glibc's fma (vfmadd132sd x, z, y) gives the VM */
    X86Op f213 = J->enc == JE_VEX ? (q ? X86_vfmadd132pd : X86_vfmadd132ps)
                                  : (q ? X86_evfmadd132pd : X86_evfmadd132ps);
    X86Op f231 = J->enc == JE_VEX ? (q ? X86_vfmadd231pd : X86_vfmadd231ps)
                                  : (q ? X86_evfmadd231pd : X86_evfmadd231ps);
    if (!avail(J, f213, vb, w)) return;
    /* Always a in the destination (operand 1), b operand 2, c operand 3: with several NaN
     * inputs x86 returns the first NaN in operand order, as fmaf(a, b, c) does. */
    (void)f231;
    if (same(d, s[0])) {
      st(J, x86_r_v_rm(J->b, f213, d, s[2], R(s[1])));
    } else if (!same(d, s[1]) && !same(d, s[2])) {
      jit_mov(J, d, s[0]);
      st(J, x86_r_v_rm(J->b, f213, d, s[2], R(s[1])));
    } else {
      X86Reg t = jit_vreg(J, vb, J->T);
      jit_mov(J, t, s[0]);
      st(J, x86_r_v_rm(J->b, f213, t, s[2], R(s[1])));
      jit_mov(J, d, t);
    }
    break;
  }
  case JK_CMP:
    if (jd <= JD_F64) e_fcmp(J, jd, d, s[0], R(s[1]), row->imm, vb, w);
    else e_icmp(J, o, jd, d, s[0], s[1], vb, w);
    break;
  case JK_WHERE: e_select(J, J->lw[in->src[1]], d, s[0], s[1], s[2], vbd, w); break;
  case JK_COPYSIGN: {
    /* d = (a & ~sign) | (b & sign) */
    X86Reg t = jit_vreg(J, vb, J->T);
    int lw = J->lw[in->src[0]];
    X86Op an = fsel(J, jd, X86_andps, X86_vandps, X86_evandps);
    X86Op orr = fsel(J, jd, X86_orps, X86_vorps, X86_evorps);
    e_bin(J, an, t, s[1], jit_pool_splat(J, sign_bit(jd), lw, vb), true, vb, w);
    e_bin(J, an, d, s[0], jit_pool_splat(J, ~sign_bit(jd), lw, vb), true, vb, w);
    e_bin(J, orr, d, d, R(t), true, vb, w);
    break;
  }
  case JK_SHIFT: {
    X86Op op = row->x[J->enc][jd];
    if (o == OP_shr && dtype_is_uint((BudDType)sdt)) {
      bool q = jd == JD_I64;
      op = J->enc == JE_VEX ? (q ? X86_vpsrlvq : X86_vpsrlvd)
           : J->enc == JE_EVEX ? (q ? X86_evpsrlvq : X86_evpsrlvd) : JIT_NO;
    }
    if (op == JIT_NO) {
      jit_fail(J, "%s: %s", w, row->why);
      return;
    }
    e_bin(J, op, d, s[0], R(s[1]), false, vb, w);
    break;
  }
  case JK_PRED: {
    int lw = J->lw[in->src[0]];
    if (o == OP_isnan) {
      e_fcmp(J, jd, d, s[0], R(s[0]), 3 /* UNORD */, vb, w);
    } else {
      e_bin(J, fsel(J, jd, X86_andps, X86_vandps, X86_evandps), d, s[0],
            jit_pool_splat(J, ~sign_bit(jd), lw, vb), true, vb, w);
      e_fcmp(J, jd, d, d, jit_pool_splat(J, inf_bits(jd), lw, vb), o == OP_isinf ? 0 : 1, vb, w);
    }
    break;
  }
  case JK_CAST: e_cast(J, sdt, in->dtype, d, s[0], vbd > vb ? vbd : vb, w); break;
  case JK_MATH: jit_math_emit(J, in, d, s); break;
  default:
    jit_fail(J, "%s: %s", w, row->why ? row->why : "no JIT entry");
    break;
  }
}

/* Dtype legality of one LK_OP before any code is emitted; instruction availability is checked
 * while emitting. */
int jit_op_ok(Jit *J, const LInst *in) {
  const Plan *p = J->p;
  Op o = (Op)in->op;
  const JitOpRow *row = &x86_jit_ops[o];
  int sdt = p->vreg_dtype[in->src[0]];
  if (row->kind == JK_FALLBACK || row->kind == JK_NONE || row->kind == JK_LEAF ||
      row->kind == JK_REDUCE) {
    jit_fail(J, "op %s (%s): %s", op_info(o)->name, dt_name(sdt),
             row->why ? row->why : "not an element-wise op");
    return -1;
  }
  if (row->kind == JK_MATH) return jit_math_ok(J, in);
  /* operand classes */
  for (int k = 0; k < in->nin; k++) {
    int dt = p->vreg_dtype[in->src[k]];
    bool is_bool = dt == BUD_BOOL;
    if (is_bool && !((row->flags & JF_MASKIN) || (o == OP_where && k == 0))) {
      jit_fail(J, "op %s on bool: not emitted natively", op_info(o)->name);
      return -1;
    }
    if (!is_bool && jit_jd_of(dt, 0) < 0) {
      jit_fail(J, "op %s (%s): only 32/64-bit lanes are emitted natively", op_info(o)->name,
               dt_name(dt));
      return -1;
    }
    if ((row->flags & JF_SIGNED) && dtype_is_uint((BudDType)dt)) {
      jit_fail(J, "op %s (%s): unsigned compare/min/max not emitted natively", op_info(o)->name,
               dt_name(dt));
      return -1;
    }
  }
  if (in->dtype != BUD_BOOL && jit_jd_of(in->dtype, 0) < 0) {
    jit_fail(J, "op %s -> %s: only 32/64-bit lanes are emitted natively", op_info(o)->name,
             dt_name(in->dtype));
    return -1;
  }
  bool flt = dtype_is_float((BudDType)sdt);
  switch (row->kind) {
  case JK_UN: case JK_ROUND: case JK_FMA: case JK_COPYSIGN: case JK_PRED:
    if (!flt) {
      jit_fail(J, "op %s (%s): float only in the JIT", op_info(o)->name, dt_name(sdt));
      return -1;
    }
    break;
  case JK_SHIFT: case JK_NOT:
    if (flt) {
      jit_fail(J, "op %s (%s): not defined for floats", op_info(o)->name, dt_name(sdt));
      return -1;
    }
    break;
  case JK_BIN:
    if (sdt == BUD_BOOL && !(row->flags & JF_MASKIN)) return -1;
    break;
  case JK_WHERE:
    if (p->vreg_dtype[in->src[1]] == BUD_BOOL) {
      jit_fail(J, "op where on bool values: not emitted natively");
      return -1;
    }
    break;
  default: break;
  }
  return 0;
}
