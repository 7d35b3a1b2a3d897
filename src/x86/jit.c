/* jit.c — the x86-64 code generator: one Plan + operand layouts + ISA path -> a kernel with the
 * ABI void k(const BudKArgs *args /rdi/, int64_t begin /rsi/, int64_t end /rdx/).
 *
 * Shape of every kernel:
 *   prologue   push rbp; frame aligned to 64 (vreg slots, tail masks, SSE2 tail buffers); operand
 *              pointers into GPRs (rax rcx r8-r10 rbx r12-r15; more operands reload from args);
 *              loop invariants (constants from the RIP-relative pool, stride-0 operands, ops on
 *              those) computed once, kept in registers ("pinned") or stack slots
 *   main       while i + U*L <= end: U copies of the body (U = sched.unroll), prefetch, and
 *              non-temporal stores when the schedule asks and the outputs are aligned
 *   one        while i + L <= end: one copy
 *   tail       one masked copy for the last 1..L-1 elements: vmaskmov (AVX2), opmask k7
 *              (AVX-512), or through zeroed stack buffers (SSE2) — no scalar remainder loop
 *   epilogue   sfence if NT; vzeroupper; ret
 * i (rsi) counts elements; an operand of element size z is addressed [base + rsi*z + disp].
 * Strided operands (row stride neither z nor 0; 32/64-bit elements, not bool) go lane by lane:
 * the address base + (i + lane) * args->stride[s] is built in a scratch GPR, and scalar moves
 * through the temporary register T gather a load's lanes into a 128-byte stack scratch (then one
 * vector load) or scatter a spilled store; in the masked tail only lanes below the count move.
 * Plans without strided operands get exactly the code they got before this path existed.
 * L = vector bytes / widest lane, so every value of a step has L lanes: with float64 present an
 * AVX2 float32 value lives in an xmm.
 *
 * Register allocation: linear scan over each straight-line segment (the plan is SSA and each
 * body copy is independent), reusing a register at a source's last use; when none is free, the
 * live value with the furthest last use is spilled to its stack slot and reloaded into one of
 * three scratch registers when used. A fourth register, T, is the emitters' temporary.
 * Entry points: x86_jit_compile, x86_jit_check.
 */
#define _GNU_SOURCE
#include "x86/jit_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SEG_PRO, SEG_BODY };

/* caller-saved GPRs the kernel may have live at a call (r11 is never live across one) */
static const int call_gprs[] = {X86_RAX, X86_RCX, X86_RDX, X86_RSI, X86_RDI, X86_R8, X86_R9, X86_R10};
static const int ptr_gprs[] = {X86_RAX, X86_RCX, X86_R8, X86_R9, X86_R10,
                               X86_RBX, X86_R12, X86_R13, X86_R14, X86_R15};
static bool callee_saved(int r) { return r == X86_RBX || r >= X86_R12; }

static void gst(Jit *J, int rc) {
  if (rc != X86_OK && !J->err) jit_fail(J, "encoder error %d", rc);
}
static X86Opnd G(int r) { return x86_oreg(x86_r64(r)); }

/* ---- analysis ---- */

static int lane_width(int dt) { return dt == BUD_BOOL ? 0 : dtype_size((BudDType)dt); }


/* Can the kernel call the VM for this op (one vector per call)? Values of 32/64-bit lanes only
 * (bool masks would need converting), and never for ops that can fail at run time. */
static bool ext_ok(const Jit *J, const LInst *in) {
  const Plan *p = J->p;
  Op o = (Op)in->op;
  if (o == OP_dot || o == OP_matmul || in->nin > 3 || op_info(o)->pclass != PC_ELEMWISE) return false;
  if (o == OP_pow && !dtype_is_float((BudDType)in->dtype)) return false; /* x ** -1 raises */
  if (in->dtype == BUD_BOOL || jit_jd_of(in->dtype, 0) < 0) return false;
  for (int k = 0; k < in->nin; k++) {
    int dt = p->vreg_dtype[in->src[k]];
    if (dt == BUD_BOOL || jit_jd_of(dt, 0) < 0) return false;
  }
  return true;
}

static int analyze(Jit *J) {
  const Plan *p = J->p;
  if (p->nreduces > 8) {
    jit_fail(J, "%d reductions in one kernel (at most 8 in the JIT)", p->nreduces);
    return -1;
  }
  /* float sum/mean accumulate natively; the others are handed to the VM block by block */
  int nnative = 0;
  J->rblock = p->sched.block > 0 ? p->sched.block : 256;
  J->rblock = (J->rblock + 7) & ~7; /* as vm_scratch_new rounds it */
  for (int r = 0; r < p->nreduces; r++) {
    const PlanReduce *pr = &p->reduces[r];
    bool native = (pr->op == OP_sum || pr->op == OP_mean) && dtype_is_float((BudDType)pr->in_dtype);
    J->rcall[r] = !native;
    J->ncall += !native;
    nnative += native;
  }
  if (J->ncall > 0 && (J->rblock > 4096 || J->ncall * J->rblock * 8 > 64 * 1024)) {
    jit_fail(J, "reductions over VM blocks of %d elements: runs in the VM", J->rblock);
    return -1;
  }
  /* sums accumulate in double: with a reduction every step has as many lanes as a double vector */
  int maxlw = nnative > 0 ? 8 : 0;
  /* Bool arrays are bytes in memory and lane masks in registers; a loaded or constant bool takes
   * the widest lane of the plan's other values (so it can select them in where). */
  int boollw = 4;
  for (int v = 0; v < p->nvregs; v++)
    if (p->vreg_dtype[v] != BUD_BOOL && lane_width(p->vreg_dtype[v]) > boollw)
      boollw = lane_width(p->vreg_dtype[v]);
  if (boollw > 8) boollw = 8;
  for (int k = 0; k < p->ninsts; k++) {
    const LInst *in = &p->insts[k];
    int v = in->dst;
    switch (in->kind) {
    case LK_LOAD: case LK_STORE: {
      int s = in->slot;
      int dt = p->operands[s].dtype;
      uint8_t lay = J->layouts ? J->layouts[s] : LAYOUT_CONTIG;
      if (jit_jd_of(dt, 0) < 0) {
        jit_fail(J, "operand %d (%s): only bool and 32/64-bit elements are loaded/stored natively",
                 s, dtype_info((BudDType)dt)->name);
        return -1;
      }
      if (dt == BUD_BOOL && lay == LAYOUT_BCAST) {
        jit_fail(J, "operand %d: a stride-0 bool operand runs in the VM", s);
        return -1;
      }
      if (lay == LAYOUT_STRIDED && dt == BUD_BOOL) {
        jit_fail(J, "operand %d: a strided bool operand runs in the VM", s);
        return -1;
      }
      if (lay == LAYOUT_STRIDED) J->nstrided++;
      if (in->kind == LK_STORE && lay == LAYOUT_BCAST) {
        jit_fail(J, "operand %d: output with stride 0 runs in the VM", s);
        return -1;
      }
      if (in->kind == LK_LOAD) {
        J->lw[v] = (uint8_t)(dt == BUD_BOOL ? boollw : lane_width(dt));
        J->inv[v] = lay == LAYOUT_BCAST;
      }
      break;
    }
    case LK_CONST: {
      int dt = p->consts[in->slot].dtype;
      if (jit_jd_of(dt, 0) < 0) {
        jit_fail(J, "constant of dtype %s: not emitted natively", dtype_info((BudDType)dt)->name);
        return -1;
      }
      J->lw[v] = (uint8_t)(dt == BUD_BOOL ? boollw : lane_width(dt));
      J->inv[v] = true;
      break;
    }
    case LK_OP: {
      J->cur_inst = k;
      if (!J->ext[k] && (x86_jit_ops[in->op].kind == JK_FALLBACK || jit_op_ok(J, in) < 0)) {
        if (!ext_ok(J, in)) {
          if (!J->err) jit_op_ok(J, in);
          return -1;
        }
        if (!J->ext_why[0]) {
          if (!J->why[0]) jit_op_ok(J, in);
          snprintf(J->ext_why, sizeof J->ext_why, "%s", J->why);
        }
        J->ext[k] = true; /* the VM computes it, one vector per call */
        J->err = 0;
        J->why[0] = 0;
      }
      J->cur_inst = -1;
      if (J->ext[k]) J->next++;
      else if (x86_jit_ops[in->op].kind == JK_MATH) jit_math_note(J, in);
      bool inv = true;
      for (int i = 0; i < in->nin; i++) inv = inv && J->inv[in->src[i]];
      J->inv[v] = inv;
      if (in->dtype == BUD_BOOL) {
        J->lw[v] = J->lw[in->src[0]];
        for (int i = 1; i < in->nin; i++)
          if (p->vreg_dtype[in->src[i]] == BUD_BOOL && J->lw[in->src[i]] != J->lw[v]) {
            jit_fail(J, "op %s: bool masks of different widths", op_info((Op)in->op)->name);
            return -1;
          }
      } else {
        J->lw[v] = (uint8_t)lane_width(in->dtype);
      }
      if (in->op == OP_where && J->lw[in->src[0]] != J->lw[v]) {
        jit_fail(J, "op where: condition of %d-byte lanes selecting %d-byte values runs in the VM",
                 J->lw[in->src[0]], J->lw[v]);
        return -1;
      }
      break;
    }
    case LK_REDUCE: {
      int sdt = p->vreg_dtype[in->src[0]];
      if (in->slot < 0 || in->slot >= p->nreduces || sdt != p->reduces[in->slot].in_dtype ||
          (!J->rcall[in->slot] && !dtype_is_float((BudDType)sdt)) || jit_jd_of(sdt, 0) < 0) {
        jit_fail(J, "reduction of a %s value: runs in the VM", dtype_info((BudDType)sdt)->name);
        return -1;
      }
      break;
    }
    default:
      jit_fail(J, "unknown plan instruction kind %d", in->kind);
      return -1;
    }
    if (v >= 0) {
      if (J->lw[v] > maxlw) maxlw = J->lw[v];
      J->jd[v] = (uint8_t)jit_jd_of(p->vreg_dtype[v], J->lw[v]);
    }
  }
  if (maxlw == 0) maxlw = 4;
  J->L = J->vbytes / maxlw;
  if (J->ncall > 0 && J->rblock % J->L != 0) {
    jit_fail(J, "reductions over VM blocks of %d elements (not a multiple of %d lanes): runs in "
             "the VM", J->rblock, J->L);
    return -1;
  }
  /* invariants used by the loop body */
  for (int k = 0; k < p->ninsts; k++) {
    const LInst *in = &p->insts[k];
    bool body = in->kind == LK_STORE || (in->dst >= 0 && !J->inv[in->dst]);
    if (!body) continue;
    for (int i = 0; i < 3; i++)
      if (in->src[i] >= 0 && J->inv[in->src[i]]) J->used_body[in->src[i]] = true;
  }
  return 0;
}

static bool in_body(const Jit *J, const LInst *in) {
  return in->kind == LK_STORE || in->kind == LK_REDUCE || (in->dst >= 0 && !J->inv[in->dst]);
}
static int nsrc(const LInst *in) {
  return in->kind == LK_OP ? in->nin : (in->kind == LK_STORE || in->kind == LK_REDUCE) ? 1 : 0;
}

/* last use of every value defined in the segment, by segment position */
static void seg_lastuse(Jit *J, const int *idx, int n) {
  for (int v = 0; v < J->p->nvregs; v++) J->lastuse[v] = -1;
  for (int k = 0; k < n; k++) {
    const LInst *in = &J->p->insts[idx[k]];
    for (int i = 0; i < nsrc(in); i++) J->lastuse[in->src[i]] = k;
  }
}

/* most values live at once in the body (an estimate for pinning invariants) */
static int body_pressure(Jit *J, const int *idx, int n) {
  seg_lastuse(J, idx, n);
  int live = 0, max = 0;
  for (int k = 0; k < n; k++) {
    const LInst *in = &J->p->insts[idx[k]];
    int dying = 0;
    for (int i = 0; i < nsrc(in); i++) {
      int s = in->src[i];
      bool dup = false;
      for (int j = 0; j < i; j++) dup = dup || in->src[j] == s;
      if (!J->inv[s] && J->lastuse[s] == k && !dup) dying++;
    }
    bool clob = in->kind == LK_OP && (x86_jit_ops[in->op].flags & JF_CLOBBER);
    if (!clob) live -= dying;
    if (in->dst >= 0) live++;
    if (live > max) max = live;
    if (clob) live -= dying;
    if (in->dst >= 0 && J->lastuse[in->dst] < 0) live--;
  }
  return max;
}

/* ---- register state ---- */

static int32_t slot_of(const Jit *J, int v) { return J->slot_base + v * 64; }

static int vb_of(const Jit *J, int v) { return J->L * J->lw[v]; }

static void free_reg(Jit *J, int v) {
  if (J->reg[v] >= 0 && !J->pinned[v]) {
    J->owner[J->reg[v]] = -1;
    J->reg[v] = -1;
  }
}

/* A register for v's result at segment position k; srcs[] (in use by this instruction) are
 * never spilled for it. */
static int alloc_reg(Jit *J, int v, int k, const int *srcs, int ns) {
  if (J->pinned[v]) return J->reg[v];
  for (int r = 0; r < J->nregs; r++)
    if (J->owner[r] < 0) {
      J->owner[r] = (int16_t)v;
      J->reg[v] = (int16_t)r;
      return r;
    }
  int victim = -1;
  for (int r = 0; r < J->nregs; r++) {
    int u = J->owner[r];
    if (u < 0 || J->reserved[r] || J->pinned[u]) continue;
    bool busy = false;
    for (int i = 0; i < ns; i++) busy = busy || srcs[i] == u;
    if (busy) continue;
    if (victim < 0 || J->lastuse[u] > J->lastuse[victim]) victim = u;
  }
  (void)k;
  if (victim < 0) {
    jit_fail(J, "register allocation: too many values live at once");
    return 0;
  }
  int r = J->reg[victim];
  if (!J->in_slot[victim]) {
    jit_store(J, x86_mem(X86_RSP, slot_of(J, victim)), jit_vreg(J, vb_of(J, victim), r),
              vb_of(J, victim), J->lw[victim]);
    J->in_slot[victim] = true;
  }
  J->reg[victim] = -1;
  J->owner[r] = (int16_t)v;
  J->reg[v] = (int16_t)r;
  return r;
}

/* The register holding source v, reloading it into scratch i if it lives in its slot. */
static X86Reg src_reg(Jit *J, int v, int i) {
  if (J->reg[v] >= 0) return jit_vreg(J, vb_of(J, v), J->reg[v]);
  if (!J->in_slot[v]) {
    jit_fail(J, "internal: value v%d has no location", v);
    return x86_xmm(0);
  }
  X86Reg s = jit_vreg(J, vb_of(J, v), J->S[i]);
  jit_load(J, s, x86_mem(X86_RSP, slot_of(J, v)), vb_of(J, v), J->lw[v]);
  return s;
}

/* ---- operand addressing ---- */

/* [base + rsi*z + disp] for operand s at the current copy; reg_tmp receives the pointer when
 * it has no register of its own. */
static X86Mem elem_mem(Jit *J, int s, int reg_tmp, int extra) {
  int z = dtype_size((BudDType)J->p->operands[s].dtype);
  int base = J->gpr[s];
  if (base < 0) {
    base = reg_tmp;
    gst(J, x86_r_rm(J->b, X86_mov, x86_r64(base),
                    x86_omem(x86_mem(X86_RDI, (int32_t)(offsetof(BudKArgs, ptr) + 8 * (size_t)s)))));
  }
  return x86_mem_idx(base, X86_RSI, z, J->copy * J->L * z + extra);
}

/* The tail's element count r = end - i, kept in a stack slot (r11 and rdx are scratch there). */
static X86Mem tail_count(const Jit *J) { return x86_mem(X86_RSP, J->save_slot + 24); }

static int tmp_gpr(const Jit *J) { return J->mode == JIT_MODE_FULL ? X86_R11 : X86_RDX; }

/* ---- strided operands: lanes one at a time through a stack scratch ---- */

static bool is_strided(const Jit *J, int s) { return J->layouts && J->layouts[s] == LAYOUT_STRIDED; }

/* tmp = address of lane 0 of this step: base + (i + copy*L) * stride (stride in bytes, any sign) */
static void strided_addr0(Jit *J, int s, int tmp) {
  X86Buf *b = J->b;
  X86Mem st = x86_mem(X86_RDI, (int32_t)(offsetof(BudKArgs, stride) + 8 * (size_t)s));
  gst(J, x86_r_rm(b, X86_lea, x86_r64(tmp), x86_omem(x86_mem(X86_RSI, J->copy * J->L))));
  gst(J, x86_r_rm(b, X86_imul, x86_r64(tmp), x86_omem(st)));
  if (J->gpr[s] >= 0)
    gst(J, x86_r_rm(b, X86_add, x86_r64(tmp), G(J->gpr[s])));
  else
    gst(J, x86_r_rm(b, X86_add, x86_r64(tmp),
                    x86_omem(x86_mem(X86_RDI, (int32_t)(offsetof(BudKArgs, ptr) + 8 * (size_t)s)))));
}

/* Copies the lanes of strided operand s between memory and the scratch (in: memory -> scratch)
 * with scalar moves through xmm T; in a masked tail only lanes below the tail count. */
static void strided_lanes(Jit *J, int s, bool in) {
  X86Buf *b = J->b;
  int z = dtype_size((BudDType)J->p->operands[s].dtype);
  int tmp = tmp_gpr(J);
  bool tail = J->mode != JIT_MODE_FULL;
  X86Op ld, sto;
  if (J->enc == JE_LEG) ld = z == 4 ? X86_movss : X86_movsd, sto = z == 4 ? X86_movss_st : X86_movsd_st;
  else if (J->enc == JE_VEX) ld = z == 4 ? X86_vmovss : X86_vmovsd, sto = z == 4 ? X86_vmovss_st : X86_vmovsd_st;
  else ld = z == 4 ? X86_evmovss : X86_evmovsd, sto = z == 4 ? X86_evmovss_st : X86_evmovsd_st;
  X86Reg t = x86_xmm(J->T);
  X86Mem st = x86_mem(X86_RDI, (int32_t)(offsetof(BudKArgs, stride) + 8 * (size_t)s));
  int32_t done = x86_label_new(b);
  strided_addr0(J, s, tmp);
  for (int j = 0; j < J->L; j++) {
    if (j > 0) {
      if (tail) {
        gst(J, x86_rm_i(b, X86_cmp_i8, x86_omem(tail_count(J)), j));
        gst(J, x86_jcc(b, X86_CC_LE, done));
      }
      gst(J, x86_r_rm(b, X86_add, x86_r64(tmp), x86_omem(st)));
    }
    X86Mem m = x86_mem(tmp, 0), sm = x86_mem(X86_RSP, J->gath_slot + j * z);
    gst(J, x86_r_rm(b, ld, t, x86_omem(in ? m : sm)));
    gst(J, x86_rm_r(b, sto, x86_omem(in ? sm : m), t));
  }
  gst(J, x86_label_bind(b, done));
}

/* d = the L lanes of strided operand s (a masked tail reads only the live lanes, the others 0). */
static void strided_load(Jit *J, int s, X86Reg d, int vb, int lw) {
  if (J->mode != JIT_MODE_FULL)
    for (int k = 0; k < 8; k++)
      gst(J, x86_rm_i(J->b, X86_mov_i32, x86_omem(x86_mem(X86_RSP, J->gath_slot + 8 * k)), 0));
  strided_lanes(J, s, true);
  jit_load(J, d, x86_mem(X86_RSP, J->gath_slot), vb, lw);
}

static void strided_store(Jit *J, int s, X86Reg v, int vb, int lw) {
  jit_store(J, x86_mem(X86_RSP, J->gath_slot), v, vb, lw);
  strided_lanes(J, s, false);
}

/* ---- bool operands: bytes in memory, lane masks in registers ---- */

/* Where a byte operand's L elements are: in place, or (AVX2 and SSE2 tails) in its stack
 * buffer, filled before and copied out after the masked body. */
static X86Mem byte_mem(Jit *J, int s) {
  if (J->mode == JIT_MODE_MASK_BUF || J->mode == JIT_MODE_MASK_VEX)
    return x86_mem(X86_RSP, J->buf_slot + 16 * s);
  return elem_mem(J, s, tmp_gpr(J), 0);
}

/* d = lane mask (all ones where the byte is nonzero) of the L bytes of bool operand s. */
static void emit_load_bool(Jit *J, int s, X86Reg d, int vb, int lw) {
  X86Buf *b = J->b;
  X86Mem m = byte_mem(J, s);
  if (J->enc == JE_EVEX) {
    X86Reg dd = J->mode == JIT_MODE_MASK_K ? x86_masked(d, 7, 1) : d;
    gst(J, x86_r_rm(b, lw == 8 ? X86_evpmovzxbq : X86_evpmovzxbd, dd, x86_omem(m)));
    gst(J, x86_r_v_rm(b, lw == 8 ? X86_evptestmq : X86_evptestmd, x86_kreg(1), d, x86_oreg(d)));
    X86Op op = lw == 8 ? X86_evpternlogq : X86_evpternlogd;
    gst(J, x86_r_v_rm_i(b, op, x86_masked(d, 1, 1), d, x86_oreg(d), 0xFF));
    return;
  }
  X86Reg t = jit_vreg(J, vb, J->T);
  if (J->enc == JE_VEX) {
    gst(J, x86_r_rm(b, lw == 8 ? X86_vpmovzxbq : X86_vpmovzxbd, d, x86_omem(m)));
    gst(J, x86_r_v_rm(b, X86_vpxor, t, t, x86_oreg(t)));
    gst(J, x86_r_v_rm(b, lw == 8 ? X86_vpcmpgtq : X86_vpcmpgtd, d, d, x86_oreg(t)));
    return;
  }
  /* SSE2: 4 bytes (float32 lanes) or 2 (float64 lanes) widened by unpacking with zero */
  if (J->L == 4) {
    gst(J, x86_r_rm(b, X86_movd, d, x86_omem(m)));
  } else {
    int g = tmp_gpr(J);
    gst(J, x86_r_rm(b, X86_movzx_w, x86_r32(g), x86_omem(m)));
    gst(J, x86_r_rm(b, X86_movd, d, x86_oreg(x86_r32(g))));
  }
  gst(J, x86_r_rm(b, X86_pxor, t, x86_oreg(t)));
  gst(J, x86_r_rm(b, X86_punpcklbw, d, x86_oreg(t)));
  gst(J, x86_r_rm(b, X86_punpcklwd, d, x86_oreg(t)));
  gst(J, x86_r_rm(b, X86_pcmpgtd, d, x86_oreg(t)));
  if (lw == 8) gst(J, x86_r_rm_i(b, X86_pshufd, d, x86_oreg(d), 0x50));
}

/* Stores lane mask v as L bytes 0/1: packs (SSE2, AVX2) or vpmovdb/vpmovqb (AVX-512, masked by
 * k7 in the tail). */
static void emit_store_bool(Jit *J, int s, X86Reg v, int vb, int lw) {
  X86Buf *b = J->b;
  if (J->enc == JE_EVEX) {
    X86Reg t = jit_vreg(J, vb, J->T);
    gst(J, x86_v_rm_i(b, lw == 8 ? X86_evpsrlq : X86_evpsrld, t, x86_oreg(v), lw == 8 ? 63 : 31));
    X86Mem m = byte_mem(J, s);
    if (J->mode == JIT_MODE_MASK_K) m.mask = 7;
    gst(J, x86_rm_r(b, lw == 8 ? X86_evpmovqb : X86_evpmovdb, x86_omem(m), t));
    return;
  }
  X86Reg x = x86_xmm(J->T);
  X86Opnd ones = jit_pool_splat(J, 0x01, 1, 16);
  int npack = lw == 8 ? 3 : 2; /* dwords -> words -> bytes (-> bytes again for qword masks) */
  if (J->enc == JE_VEX) {
    X86Reg vx = x86_xmm(v.num);
    if (vb == 32) {
      gst(J, x86_rm_r_i(b, X86_vextracti128, x86_oreg(x), v, 1));
      gst(J, x86_r_v_rm(b, X86_vpackssdw, x, vx, x86_oreg(x)));
    } else {
      gst(J, x86_r_v_rm(b, X86_vpackssdw, x, vx, x86_oreg(vx)));
    }
    for (int k = 1; k < npack; k++) gst(J, x86_r_v_rm(b, X86_vpacksswb, x, x, x86_oreg(x)));
    gst(J, x86_r_v_rm(b, X86_vpand, x, x, ones));
    X86Mem m = byte_mem(J, s);
    gst(J, x86_rm_r(b, J->L == 8 ? X86_vmovq_st : X86_vmovd_st, x86_omem(m), x));
    return;
  }
  jit_mov(J, x, v);
  gst(J, x86_r_rm(b, X86_packssdw, x, x86_oreg(x)));
  for (int k = 1; k < npack; k++) gst(J, x86_r_rm(b, X86_packsswb, x, x86_oreg(x)));
  gst(J, x86_r_rm(b, X86_pand, x, ones));
  if (J->L == 4) {
    gst(J, x86_rm_r(b, X86_movd_st, x86_omem(byte_mem(J, s)), x));
  } else { /* two bytes through a GPR: the operand has its own pointer register (see gprs) */
    int g = tmp_gpr(J);
    gst(J, x86_rm_r(b, X86_movd_st, x86_oreg(x86_r32(g)), x));
    gst(J, x86_rm_r(b, X86_mov16_st, x86_omem(byte_mem(J, s)), x86_r16(g)));
  }
}

static void emit_load(Jit *J, const LInst *in, X86Reg d) {
  int s = in->slot, v = in->dst;
  int vb = vb_of(J, v), lw = J->lw[v];
  uint8_t lay = J->layouts ? J->layouts[s] : LAYOUT_CONTIG;
  if (lay == LAYOUT_BCAST) { /* once, in the prologue: broadcast one element */
    X86Mem m = elem_mem(J, s, X86_R11, 0);
    m.index = X86_NOREG;
    m.scale = 1;
    m.disp = 0;
    if (J->enc == JE_LEG) {
      if (lw == 4) {
        gst(J, x86_r_rm(J->b, X86_movss, d, x86_omem(m)));
        gst(J, x86_r_rm_i(J->b, X86_shufps, d, x86_oreg(d), 0));
      } else {
        gst(J, x86_r_rm(J->b, X86_movsd, d, x86_omem(m)));
        gst(J, x86_r_rm(J->b, X86_unpcklpd, d, x86_oreg(d)));
      }
    } else if (J->enc == JE_VEX) {
      X86Op op = lw == 4 ? X86_vbroadcastss : X86_vbroadcastsd; /* f64: vb >= 32 on AVX2 */
      gst(J, x86_r_rm(J->b, op, d, x86_omem(m)));
    } else {
      gst(J, x86_r_rm(J->b, lw == 4 ? X86_evbroadcastss : X86_evbroadcastsd, d, x86_omem(m)));
    }
    return;
  }
  if (J->p->operands[s].dtype == BUD_BOOL) {
    emit_load_bool(J, s, d, vb, lw);
    return;
  }
  if (lay == LAYOUT_STRIDED) {
    strided_load(J, s, d, vb, lw);
    return;
  }
  switch (J->mode) {
  case JIT_MODE_FULL: jit_load(J, d, elem_mem(J, s, tmp_gpr(J), 0), vb, lw); break;
  case JIT_MODE_MASK_VEX: {
    X86Reg t = jit_vreg(J, vb, J->T);
    jit_load(J, t, x86_mem(X86_RSP, J->mask_slot[lw == 8]), vb, lw);
    gst(J, x86_r_v_rm(J->b, lw == 8 ? X86_vmaskmovpd : X86_vmaskmovps, d, t,
                      x86_omem(elem_mem(J, s, tmp_gpr(J), 0))));
    break;
  }
  case JIT_MODE_MASK_K:
    gst(J, x86_r_rm(J->b, lw == 8 ? X86_evmovupd : X86_evmovups, x86_masked(d, 7, 1),
                    x86_omem(elem_mem(J, s, tmp_gpr(J), 0))));
    break;
  default: jit_load(J, d, x86_mem(X86_RSP, J->buf_slot + 16 * s), vb, lw); break;
  }
}

static void emit_store(Jit *J, const LInst *in, X86Reg v_reg, bool nt) {
  int s = in->slot, v = in->src[0];
  int vb = vb_of(J, v), lw = J->lw[v];
  if (J->p->operands[s].dtype == BUD_BOOL) {
    emit_store_bool(J, s, v_reg, vb, lw);
    return;
  }
  if (is_strided(J, s)) {
    strided_store(J, s, v_reg, vb, lw);
    return;
  }
  switch (J->mode) {
  case JIT_MODE_FULL:
    if (nt && vb >= 16) {
      X86Op op = J->enc == JE_LEG ? X86_movntps : J->enc == JE_VEX ? X86_vmovntps : X86_evmovntps;
      gst(J, x86_rm_r(J->b, op, x86_omem(elem_mem(J, s, tmp_gpr(J), 0)), v_reg));
    } else {
      jit_store(J, elem_mem(J, s, tmp_gpr(J), 0), v_reg, vb, lw);
    }
    break;
  case JIT_MODE_MASK_VEX: {
    X86Reg t = jit_vreg(J, vb, J->T);
    jit_load(J, t, x86_mem(X86_RSP, J->mask_slot[lw == 8]), vb, lw);
    gst(J, x86_rm_v_r(J->b, lw == 8 ? X86_vmaskmovpd_st : X86_vmaskmovps_st,
                      x86_omem(elem_mem(J, s, tmp_gpr(J), 0)), t, v_reg));
    break;
  }
  case JIT_MODE_MASK_K: {
    X86Mem m = elem_mem(J, s, tmp_gpr(J), 0);
    m.mask = 7;
    gst(J, x86_rm_r(J->b, lw == 8 ? X86_evmovupd_st : X86_evmovups_st, x86_omem(m), v_reg));
    break;
  }
  default: jit_store(J, x86_mem(X86_RSP, J->buf_slot + 16 * s), v_reg, vb, lw); break;
  }
}

static void emit_const(Jit *J, const LInst *in, X86Reg d) {
  const PlanConst *c = &J->p->consts[in->slot];
  int lw = J->lw[in->dst], vb = vb_of(J, in->dst);
  uint64_t bits = 0;
  switch (c->dtype) {
  case BUD_FLOAT32: {
    float f = (float)c->value.f;
    uint32_t u;
    memcpy(&u, &f, 4);
    bits = u;
    break;
  }
  case BUD_FLOAT64: memcpy(&bits, &c->value.f, 8); break;
  case BUD_UINT32: case BUD_UINT64: bits = c->value.u; break;
  case BUD_BOOL: bits = c->value.i != 0 ? ~0ull : 0; break;
  default: bits = (uint64_t)c->value.i; break;
  }
  X86Opnd m = jit_pool_splat(J, bits, lw, vb);
  jit_load(J, d, m.mem, vb >= 16 ? vb : 16, lw);
}

/* acc += value (float sum/mean): float32 values widen to double first; in the masked tail only
 * the live lanes count. */
static void emit_reduce(Jit *J, const LInst *in, X86Reg v) {
  int lw = J->lw[in->src[0]], vbd = J->L * 8;
  if (J->rcall[in->slot]) { /* into the block buffer at the fill count (+ this copy's lanes) */
    int k = 0;
    for (int r = 0; r < in->slot; r++) k += J->rcall[r];
    gst(J, x86_r_rm(J->b, X86_mov, x86_r64(X86_R11), x86_omem(x86_mem(X86_RSP, J->rcnt_slot))));
    jit_store(J, x86_mem_idx(X86_RSP, X86_R11, lw, J->rbuf_slot + k * J->rblock * 8), v, J->L * lw, lw);
    return;
  }
  X86Reg acc = jit_vreg(J, vbd, J->acc_reg[in->slot][J->copy % J->naccum]);
  X86Reg t = jit_vreg(J, vbd, J->T);
  X86Buf *b = J->b;
  bool leg = J->enc == JE_LEG, vex = J->enc == JE_VEX;
  if (lw == 4) {
    gst(J, x86_r_rm(b, leg ? X86_cvtps2pd : vex ? X86_vcvtps2pd : X86_evcvtps2pd, t, x86_oreg(v)));
  } else {
    jit_mov(J, t, v);
  }
  X86Op add = leg ? X86_addpd : vex ? X86_vaddpd : X86_evaddpd;
  switch (J->mode) {
  case JIT_MODE_MASK_VEX: {
    X86Reg m = jit_vreg(J, vbd, J->S[2]);
    jit_load(J, m, x86_mem(X86_RSP, J->mask_slot[1]), vbd, 8);
    gst(J, x86_r_v_rm(b, X86_vandpd, t, t, x86_oreg(m)));
    break;
  }
  case JIT_MODE_MASK_K:
    gst(J, x86_r_v_rm(b, add, x86_masked(acc, 7, 0), acc, x86_oreg(t)));
    return;
  case JIT_MODE_MASK_BUF: { /* SSE2: L = 2 doubles, so the tail is lane 0 alone */
    uint64_t lane0[2] = {~0ull, 0};
    gst(J, x86_r_rm(b, X86_andpd, t, jit_pool_opnd(J, jit_pool(J, lane0, 16))));
    break;
  }
  default: break;
  }
  if (leg) gst(J, x86_r_rm(b, add, acc, x86_oreg(t)));
  else gst(J, x86_r_v_rm(b, add, acc, acc, x86_oreg(t)));
}

/* After the loops: fold the accumulators and hand each reduction's lanes to x86_jit_red_sum. */
static void emit_reduce_finish(Jit *J) {
  const Plan *p = J->p;
  X86Buf *b = J->b;
  int vbd = J->L * 8;
  bool leg = J->enc == JE_LEG, vex = J->enc == JE_VEX;
  X86Op add = leg ? X86_addpd : vex ? X86_vaddpd : X86_evaddpd;
  for (int r = 0; r < p->nreduces; r++) {
    if (J->rcall[r]) continue;
    X86Reg a0 = jit_vreg(J, vbd, J->acc_reg[r][0]);
    for (int j = 1; j < J->naccum; j++) {
      X86Reg aj = jit_vreg(J, vbd, J->acc_reg[r][j]);
      if (leg) gst(J, x86_r_rm(b, add, a0, x86_oreg(aj)));
      else gst(J, x86_r_v_rm(b, add, a0, a0, x86_oreg(aj)));
    }
    jit_store(J, x86_mem(X86_RSP, J->red_slot + 64 * r), a0, vbd, 8);
  }
  if (!leg) gst(J, x86_np(b, X86_vzeroupper));
  void (*fn)(RedAcc *, const double *, int64_t, int64_t) = x86_jit_red_sum;
  uint64_t addr;
  memcpy(&addr, &fn, sizeof addr);
  int32_t off = jit_pool(J, &addr, 8);
  for (int r = 0; r < p->nreduces; r++) {
    if (J->rcall[r]) continue;
    gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_RDI), x86_omem(x86_mem(X86_RSP, J->save_slot))));
    gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_RDI),
                    x86_omem(x86_mem(X86_RDI, (int32_t)offsetof(BudKArgs, acc)))));
    if (r > 0) gst(J, x86_rm_i(b, X86_add_i32, G(X86_RDI), (int64_t)r * (int64_t)sizeof(RedAcc)));
    gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_RSI), x86_omem(x86_mem(X86_RSP, J->red_slot + 64 * r))));
    gst(J, x86_rm_i(b, X86_mov_i32, G(X86_RDX), J->L));
    gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_RCX), x86_omem(x86_mem(X86_RSP, J->save_slot + 16))));
    gst(J, x86_r_rm(b, X86_sub, x86_r64(X86_RCX), x86_omem(x86_mem(X86_RSP, J->save_slot + 8))));
    gst(J, x86_rm(b, X86_call, x86_omem(x86_mem_label(J->pool_label, off))));
  }
}

/* ---- external calls ---- */


/* Keeps every live vector register except `keep_out` (-1: none), the caller-saved GPRs and k7
 * around a call (System V: all vector registers are caller-saved). */
static void call_save(Jit *J, int keep_out) {
  for (int r = 0; r < J->nregs; r++)
    if (J->owner[r] >= 0 && r != keep_out)
      jit_store(J, x86_mem(X86_RSP, J->vsave_slot + 64 * r), jit_vreg(J, J->vbytes, r), J->vbytes, 8);
  for (int i = 0; i < 8; i++)
    gst(J, x86_rm_r(J->b, X86_mov_st, x86_omem(x86_mem(X86_RSP, J->gsave_slot + 8 * i)),
                    x86_r64(call_gprs[i])));
  if (J->mode == JIT_MODE_MASK_K)
    gst(J, x86_rm_r(J->b, X86_kmovw_st, x86_omem(x86_mem(X86_RSP, J->gsave_slot + 64)), x86_kreg(7)));
  if (J->enc != JE_LEG) gst(J, x86_np(J->b, X86_vzeroupper));
}

static void call_restore(Jit *J, int keep_out) {
  if (J->mode == JIT_MODE_MASK_K)
    gst(J, x86_r_rm(J->b, X86_kmovw, x86_kreg(7), x86_omem(x86_mem(X86_RSP, J->gsave_slot + 64))));
  for (int i = 0; i < 8; i++)
    gst(J, x86_r_rm(J->b, X86_mov, x86_r64(call_gprs[i]),
                    x86_omem(x86_mem(X86_RSP, J->gsave_slot + 8 * i))));
  for (int r = 0; r < J->nregs; r++)
    if (J->owner[r] >= 0 && r != keep_out)
      jit_load(J, jit_vreg(J, J->vbytes, r), x86_mem(X86_RSP, J->vsave_slot + 64 * r), J->vbytes, 8);
}

static int32_t pool_fn(Jit *J, void (*fn)(void)) {
  uint64_t addr;
  memcpy(&addr, &fn, sizeof addr);
  return jit_pool(J, &addr, 8);
}

/* Hands the filled part of the block buffers to x86_jit_red_flush and starts a new block. */
static void red_flush(Jit *J) {
  X86Buf *b = J->b;
  const Plan *p = J->p;
  JitRedCall c[8];
  int n = 0;
  memset(c, 0, sizeof c);
  for (int r = 0; r < p->nreduces; r++) {
    if (!J->rcall[r]) continue;
    c[n].r = p->reduces[r];
    c[n].r.buffer = 0, c[n].r.src = 0; /* not the kernel's business: keeps the pool dedupable */
    c[n].slot = r;
    for (int k = 0; k < p->ninsts; k++)
      if (p->insts[k].kind == LK_REDUCE && p->insts[k].slot == r) c[n].lw = J->lw[p->insts[k].src[0]];
    c[n].block = J->rblock;
    n++;
  }
  c[n - 1].last = 1;
  int32_t doff = jit_pool(J, c, sizeof c[0] * (size_t)n);
  void (*fn)(const JitRedCall *, RedAcc *, char *, int64_t, int64_t) = x86_jit_red_flush;
  void (*gfn)(void);
  memcpy(&gfn, &fn, sizeof gfn);
  int32_t foff = pool_fn(J, gfn);
  call_save(J, -1);
  X86Mem cnt = x86_mem(X86_RSP, J->rcnt_slot), start = x86_mem(X86_RSP, J->rcnt_slot + 8);
  gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_RCX), x86_omem(cnt)));
  gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_R8), x86_omem(x86_mem(X86_RDI, (int32_t)offsetof(BudKArgs, index_base)))));
  gst(J, x86_r_rm(b, X86_add, x86_r64(X86_R8), x86_omem(start)));
  gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_RSI), x86_omem(x86_mem(X86_RDI, (int32_t)offsetof(BudKArgs, acc)))));
  gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_RDX), x86_omem(x86_mem(X86_RSP, J->rbuf_slot))));
  gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_RDI), x86_omem(x86_mem_label(J->pool_label, doff))));
  gst(J, x86_rm(b, X86_call, x86_omem(x86_mem_label(J->pool_label, foff))));
  gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_R11), x86_omem(cnt)));
  gst(J, x86_rm_r(b, X86_add_st, x86_omem(start), x86_r64(X86_R11)));
  gst(J, x86_rm_i(b, X86_mov_i32, x86_omem(cnt), 0));
  call_restore(J, -1);
}

/* After one body copy: count its lanes (L, or the tail's count) and flush a full block. */
static void red_advance(Jit *J, bool tail) {
  if (J->ncall == 0) return;
  X86Buf *b = J->b;
  X86Mem cnt = x86_mem(X86_RSP, J->rcnt_slot);
  gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_R11), x86_omem(cnt)));
  if (tail) gst(J, x86_r_rm(b, X86_add, x86_r64(X86_R11), x86_omem(x86_mem(X86_RSP, J->save_slot + 24))));
  else gst(J, x86_rm_i(b, X86_add_i32, G(X86_R11), J->L));
  gst(J, x86_rm_r(b, X86_mov_st, x86_omem(cnt), x86_r64(X86_R11)));
  if (tail) return; /* count + r < block: the epilogue flushes */
  int32_t skip = x86_label_new(b);
  gst(J, x86_rm_i(b, X86_cmp_i32, G(X86_R11), J->rblock));
  gst(J, x86_jcc(b, X86_CC_L, skip));
  red_flush(J);
  gst(J, x86_label_bind(b, skip));
}

/* d = op(a...) computed by the VM (x86_jit_ext_call) over this step's L lanes: the operands go to
 * a stack buffer, every live vector register (all are caller-saved in System V), the caller-saved
 * GPRs and k7 are kept around the call, and the result is loaded back. rsp is 64-byte aligned. */
static void emit_ext(Jit *J, const LInst *in, X86Reg d, const X86Reg *a) {
  X86Buf *b = J->b;
  const Plan *p = J->p;
  for (int k = 0; k < in->nin; k++) {
    int v = in->src[k];
    jit_store(J, x86_mem(X86_RSP, J->ext_slot + 64 * k), a[k], vb_of(J, v), J->lw[v]);
  }
  int32_t desc[8] = {in->op, in->dtype, in->nin, J->L, 0, 0, 0, 0};
  for (int k = 0; k < in->nin; k++) desc[4 + k] = p->vreg_dtype[in->src[k]];
  int32_t doff = jit_pool(J, desc, sizeof desc);
  void (*fn)(const int32_t *, char *) = x86_jit_ext_call;
  uint64_t addr;
  memcpy(&addr, &fn, sizeof addr);
  int32_t foff = jit_pool(J, &addr, 8);
  call_save(J, d.num);
  gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_RDI), x86_omem(x86_mem_label(J->pool_label, doff))));
  gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_RSI), x86_omem(x86_mem(X86_RSP, J->ext_slot))));
  gst(J, x86_rm(b, X86_call, x86_omem(x86_mem_label(J->pool_label, foff))));
  call_restore(J, d.num);
  jit_load(J, d, x86_mem(X86_RSP, J->ext_slot + 192), vb_of(J, in->dst), J->lw[in->dst]);
}

/* ---- segments ---- */

static void emit_segment(Jit *J, const int *idx, int n, int seg, bool nt) {
  const Plan *p = J->p;
  seg_lastuse(J, idx, n);
  for (int k = 0; k < n; k++) /* a new copy: earlier copies' spills are stale */
    if (p->insts[idx[k]].dst >= 0) J->in_slot[p->insts[idx[k]].dst] = false;
  for (int k = 0; k < n && !J->err; k++) {
    const LInst *in = &p->insts[idx[k]];
    int ns = nsrc(in);
    int srcs[3] = {-1, -1, -1};
    X86Reg sr[3];
    for (int i = 0; i < ns; i++) {
      srcs[i] = in->src[i];
      sr[i] = src_reg(J, in->src[i], i);
    }
    bool clob = in->kind == LK_OP && (x86_jit_ops[in->op].flags & JF_CLOBBER);
    if (!clob)
      for (int i = 0; i < ns; i++)
        if (J->lastuse[srcs[i]] == k && !(seg == SEG_BODY && J->inv[srcs[i]])) free_reg(J, srcs[i]);
    int v = in->dst;
    X86Reg d = x86_xmm(0);
    if (v >= 0) d = jit_vreg(J, vb_of(J, v), alloc_reg(J, v, k, srcs, ns));
    if (J->err) return;
    switch (in->kind) {
    case LK_CONST: emit_const(J, in, d); break;
    case LK_LOAD: emit_load(J, in, d); break;
    case LK_OP:
      J->cur_inst = idx[k];
      if (J->ext[idx[k]]) emit_ext(J, in, d, sr);
      else jit_emit_op(J, in, d, sr);
      J->cur_inst = -1;
      break;
    case LK_STORE: emit_store(J, in, sr[0], nt); break;
    case LK_REDUCE: emit_reduce(J, in, sr[0]); break;
    default: jit_fail(J, "internal: instruction kind %d in a segment", in->kind); return;
    }
    if (clob)
      for (int i = 0; i < ns; i++)
        if (J->lastuse[srcs[i]] == k && !(seg == SEG_BODY && J->inv[srcs[i]])) free_reg(J, srcs[i]);
    if (v >= 0) {
      if (seg == SEG_PRO && J->used_body[v] && !J->pinned[v] && !J->in_slot[v]) {
        jit_store(J, x86_mem(X86_RSP, slot_of(J, v)), d, vb_of(J, v), J->lw[v]);
        J->in_slot[v] = true;
      }
      if (J->lastuse[v] < 0) free_reg(J, v);
    }
  }
  /* values that outlive their segment only through pins/slots */
  for (int v = 0; v < p->nvregs; v++)
    if (!J->pinned[v]) free_reg(J, v);
}

/* ---- tails ---- */

/* AVX2: masks of the first r lanes for each lane width, into their stack slots. */
static void tail_masks_vex(Jit *J, bool need4, bool need8) {
  /* r11 = L - (end - i) */
  gst(J, x86_r_rm(J->b, X86_mov, x86_r64(X86_R11), G(X86_RSI)));
  gst(J, x86_r_rm(J->b, X86_sub, x86_r64(X86_R11), G(X86_RDX)));
  gst(J, x86_rm_i(J->b, X86_add_i32, G(X86_R11), J->L));
  for (int w = 0; w < 2; w++) {
    if (!(w ? need8 : need4)) continue;
    int lw = w ? 8 : 4, vb = J->L * lw;
    uint8_t tbl[128];
    memset(tbl, 0xFF, (size_t)vb);
    memset(tbl + vb, 0, (size_t)vb);
    int32_t off = jit_pool(J, tbl, (size_t)(2 * vb));
    gst(J, x86_r_rm(J->b, X86_lea, x86_r64(X86_RDX), x86_omem(x86_mem_label(J->pool_label, off))));
    X86Reg t = jit_vreg(J, vb, J->T);
    jit_load(J, t, x86_mem_idx(X86_RDX, X86_R11, lw, 0), vb, lw);
    jit_store(J, x86_mem(X86_RSP, J->mask_slot[w]), t, vb, lw);
  }
}

static void tail_mask_k(Jit *J) {
  uint16_t tbl[17];
  for (int r = 0; r <= 16; r++) tbl[r] = (uint16_t)((1u << r) - 1);
  int32_t off = jit_pool(J, tbl, sizeof tbl);
  gst(J, x86_r_rm(J->b, X86_mov, x86_r64(X86_R11), G(X86_RDX)));
  gst(J, x86_r_rm(J->b, X86_sub, x86_r64(X86_R11), G(X86_RSI)));
  gst(J, x86_r_rm(J->b, X86_lea, x86_r64(X86_RDX), x86_omem(x86_mem_label(J->pool_label, off))));
  gst(J, x86_r_rm(J->b, X86_kmovw, x86_kreg(7), x86_omem(x86_mem_idx(X86_RDX, X86_R11, 2, 0))));
}


/* SSE2 (every operand) and AVX2 (byte operands): copy lanes 0..r-1 of operand s between memory
 * and its stack buffer. Bytes go through r11, wider elements through xmm T. */
static void tail_copy(Jit *J, int s, bool in) {
  int z = dtype_size((BudDType)J->p->operands[s].dtype);
  X86Reg t = x86_xmm(J->T);
  int32_t done = x86_label_new(J->b);
  for (int j = 0; j < J->L - 1; j++) {
    if (j > 0) {
      gst(J, x86_rm_i(J->b, X86_cmp_i8, x86_omem(tail_count(J)), j));
      gst(J, x86_jcc(J->b, X86_CC_LE, done));
    }
    X86Mem m = elem_mem(J, s, X86_RDX, j * z);
    X86Mem bm = x86_mem(X86_RSP, J->buf_slot + 16 * s + j * z);
    if (z == 1) {
      gst(J, x86_r_rm(J->b, X86_movzx_b, x86_r32(X86_R11), x86_omem(in ? m : bm)));
      gst(J, x86_rm_r(J->b, X86_mov8_st, x86_omem(in ? bm : m), x86_r8(X86_R11)));
      continue;
    }
    X86Op ld = z == 4 ? X86_movss : X86_movsd, sto = z == 4 ? X86_movss_st : X86_movsd_st;
    if (J->enc != JE_LEG) ld = z == 4 ? X86_vmovss : X86_vmovsd, sto = z == 4 ? X86_vmovss_st : X86_vmovsd_st;
    gst(J, x86_r_rm(J->b, ld, t, x86_omem(in ? m : bm)));
    gst(J, x86_rm_r(J->b, sto, x86_omem(in ? bm : m), t));
  }
  gst(J, x86_label_bind(J->b, done));
}

/* Zeroes operand s's tail buffer and copies its live elements in. */
static void tail_fill(Jit *J, int s) {
  X86Reg t = x86_xmm(J->T);
  if (J->enc == JE_LEG) {
    gst(J, x86_r_rm(J->b, X86_xorps, t, x86_oreg(t)));
    gst(J, x86_rm_r(J->b, X86_movups_st, x86_omem(x86_mem(X86_RSP, J->buf_slot + 16 * s)), t));
  } else {
    gst(J, x86_r_v_rm(J->b, X86_vxorps, t, t, x86_oreg(t)));
    gst(J, x86_rm_r(J->b, X86_vmovups_st, x86_omem(x86_mem(X86_RSP, J->buf_slot + 16 * s)), t));
  }
  tail_copy(J, s, true);
}

/* ---- the kernel ---- */

static void emit_kernel(Jit *J) {
  const Plan *p = J->p;
  X86Buf *b = J->b;
  int n = p->ninsts;
  int *pro = calloc((size_t)n + 1, sizeof *pro), *body = calloc((size_t)n + 1, sizeof *body);
  if (!pro || !body) {
    free(pro);
    free(body);
    jit_fail(J, "out of memory");
    return;
  }
  int npro = 0, nbody = 0;
  for (int k = 0; k < n; k++) {
    if (in_body(J, &p->insts[k])) body[nbody++] = k;
    else pro[npro++] = k;
  }
  /* accumulators: naccum registers per reduction, for the whole kernel */
  J->naccum = p->sched.naccum < 1 ? 1 : p->sched.naccum > 4 ? 4 : p->sched.naccum;
  while (J->naccum > 1 && (p->nreduces - J->ncall) * J->naccum > J->nregs / 2) J->naccum--;
  int nres = 0;
  for (int r = 0; r < p->nreduces; r++)
    for (int j = 0; j < J->naccum && !J->rcall[r]; j++) {
      int reg = J->nregs - 1 - nres++;
      J->acc_reg[r][j] = (int8_t)reg;
      J->reserved[reg] = true;
      J->owner[reg] = (int16_t)p->nvregs; /* not a vreg: never allocated or spilled */
    }
  /* pin invariants used in the loop while registers remain */
  int budget = J->nregs - nres - body_pressure(J, body, nbody) - J->math_regs;
  for (int k = 0; k < npro; k++) {
    int v = p->insts[pro[k]].dst;
    if (v >= 0 && J->used_body[v] && budget > 0) {
      for (int r = 0; r < J->nregs; r++)
        if (J->owner[r] < 0) {
          J->owner[r] = (int16_t)v;
          J->reg[v] = (int16_t)r;
          J->pinned[v] = true;
          budget--;
          break;
        }
    }
  }
  /* GPRs for operand pointers (streamed operands only) */
  bool streamed[BUD_MAX_OPERANDS] = {false};
  bool nt_store = p->sched.store == STORE_NONTEMPORAL;
  for (int k = 0; k < n; k++) {
    const LInst *in = &p->insts[k];
    if ((in->kind == LK_LOAD && !J->inv[in->dst]) || in->kind == LK_STORE) streamed[in->slot] = true;
  }
  int ng = 0, used_cs[16] = {0}, ncs = 0;
  for (int s = 0; s < p->noperands; s++) J->gpr[s] = -1;
  for (int pass = 0; pass < 2; pass++) /* byte operands first: their stores may need r11 */
    for (int s = 0; s < p->noperands; s++) {
      bool is_byte = dtype_size((BudDType)p->operands[s].dtype) == 1;
      if (streamed[s] && is_byte == (pass == 0) && ng < (int)BUD_ARRAY_LEN(ptr_gprs)) {
        J->gpr[s] = (int8_t)ptr_gprs[ng++];
        if (callee_saved(J->gpr[s])) used_cs[ncs++] = J->gpr[s];
      }
    }
  for (int s = 0; s < p->noperands; s++)
    if (streamed[s] && J->gpr[s] < 0 && dtype_size((BudDType)p->operands[s].dtype) == 1) {
      jit_fail(J, "operand %d: too many byte operands for the pointer registers", s);
      break;
    }
  /* frame: vreg slots, two tail masks, SSE2 tail buffers */
  J->slot_base = 0;
  J->mask_slot[0] = p->nvregs * 64;
  J->mask_slot[1] = J->mask_slot[0] + 64;
  J->buf_slot = J->mask_slot[1] + 64;
  J->save_slot = (J->buf_slot + 16 * p->noperands + 63) & ~63;
  J->red_slot = J->save_slot + 64;
  J->frame = J->red_slot + 64 * p->nreduces;
  if (J->ncall > 0) {
    J->rcnt_slot = J->frame;
    J->rbuf_slot = J->rcnt_slot + 64;
    J->frame = J->rbuf_slot + J->ncall * J->rblock * 8;
  }
  if (J->math_bytes > 0) {
    J->math_slot = J->frame;
    J->frame += (J->math_bytes + 63) & ~63;
  }
  if (J->next > 0 || J->ncall > 0 || J->math_esc) {
    J->ext_slot = J->frame;
    J->gsave_slot = J->ext_slot + 256;
    J->vsave_slot = J->gsave_slot + 128;
    J->frame = J->vsave_slot + 64 * 32;
  }
  if (J->nstrided > 0) { /* lanes of strided operands (128: room for any vector) */
    J->gath_slot = J->frame;
    J->frame += 128;
  }

  /* prologue */
  gst(J, x86_rm(b, X86_push, G(X86_RBP)));
  gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_RBP), G(X86_RSP)));
  for (int i = 0; i < ncs; i++) gst(J, x86_rm(b, X86_push, G(used_cs[i])));
  gst(J, x86_rm_i(b, X86_and_i8, G(X86_RSP), -64));
  gst(J, x86_rm_i(b, X86_sub_i32, G(X86_RSP), J->frame));
  for (int s = 0; s < p->noperands; s++)
    if (J->gpr[s] >= 0)
      gst(J, x86_r_rm(b, X86_mov, x86_r64(J->gpr[s]),
                      x86_omem(x86_mem(X86_RDI, (int32_t)(offsetof(BudKArgs, ptr) + 8 * (size_t)s)))));
  if (p->nreduces > 0) {
    gst(J, x86_rm_r(b, X86_mov_st, x86_omem(x86_mem(X86_RSP, J->save_slot)), x86_r64(X86_RDI)));
    gst(J, x86_rm_r(b, X86_mov_st, x86_omem(x86_mem(X86_RSP, J->save_slot + 8)), x86_r64(X86_RSI)));
    gst(J, x86_rm_r(b, X86_mov_st, x86_omem(x86_mem(X86_RSP, J->save_slot + 16)), x86_r64(X86_RDX)));
    if (J->ncall > 0) {
      gst(J, x86_rm_i(b, X86_mov_i32, x86_omem(x86_mem(X86_RSP, J->rcnt_slot)), 0));
      gst(J, x86_rm_r(b, X86_mov_st, x86_omem(x86_mem(X86_RSP, J->rcnt_slot + 8)), x86_r64(X86_RSI)));
    }
    for (int r = 0; r < p->nreduces; r++)
      for (int j = 0; j < J->naccum && !J->rcall[r]; j++) {
        X86Reg a = jit_vreg(J, J->L * 8, J->acc_reg[r][j]);
        if (J->enc == JE_LEG) gst(J, x86_r_rm(b, X86_xorpd, a, x86_oreg(a)));
        else if (J->enc == JE_VEX) gst(J, x86_r_v_rm(b, X86_vxorpd, a, a, x86_oreg(a)));
        else gst(J, x86_r_v_rm(b, X86_evpxorq, a, a, x86_oreg(a)));
      }
  }
  J->mode = JIT_MODE_FULL;
  J->copy = 0;
  emit_segment(J, pro, npro, SEG_PRO, false);

  int U = p->sched.unroll < 1 ? 1 : p->sched.unroll > 8 ? 8 : p->sched.unroll;
  int32_t l_one = x86_label_new(b), l_tail = x86_label_new(b), l_done = x86_label_new(b);
  int step = U * J->L;
  if (U > 1) {
    int32_t l_main = x86_label_new(b), l_plain = x86_label_new(b);
    for (int variant = nt_store ? 0 : 1; variant < 2 && !J->err; variant++) {
      bool nt = variant == 0;
      if (nt) { /* NT stores need vector-aligned outputs: check them at run time */
        for (int k = 0; k < n; k++) {
          const LInst *in = &p->insts[k];
          if (in->kind != LK_STORE || is_strided(J, in->slot)) continue;
          J->copy = 0;
          X86Mem m = elem_mem(J, in->slot, X86_R11, 0);
          gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_R11), x86_omem(m)));
          gst(J, x86_rm_i(b, X86_test_i32, G(X86_R11), vb_of(J, in->src[0]) - 1));
          gst(J, x86_jcc(b, X86_CC_NE, l_plain));
        }
      } else {
        gst(J, x86_label_bind(b, l_plain));
      }
      int32_t l_loop = nt ? x86_label_new(b) : l_main;
      gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_R11), x86_omem(x86_mem(X86_RSI, step))));
      gst(J, x86_r_rm(b, X86_cmp, x86_r64(X86_R11), G(X86_RDX)));
      gst(J, x86_jcc(b, X86_CC_G, l_one));
      gst(J, x86_label_bind(b, l_loop));
      for (int c = 0; c < U && !J->err; c++) {
        J->copy = c;
        if (p->sched.prefetch_bytes > 0)
          for (int s = 0; s < p->noperands; s++) {
            int z = dtype_size((BudDType)p->operands[s].dtype);
            if (!streamed[s] || is_strided(J, s) || (c * J->L * z) % 64 != 0) continue;
            gst(J, x86_rm(b, X86_prefetcht0,
                          x86_omem(elem_mem(J, s, X86_R11, p->sched.prefetch_bytes))));
          }
        emit_segment(J, body, nbody, SEG_BODY, nt);
        red_advance(J, false);
      }
      J->copy = 0;
      gst(J, x86_rm_i(b, X86_add_i32, G(X86_RSI), step));
      gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_R11), x86_omem(x86_mem(X86_RSI, step))));
      gst(J, x86_r_rm(b, X86_cmp, x86_r64(X86_R11), G(X86_RDX)));
      gst(J, x86_jcc(b, X86_CC_LE, l_loop));
      if (nt) gst(J, x86_jmp(b, l_one));
    }
  }
  /* one vector at a time */
  gst(J, x86_label_bind(b, l_one));
  gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_R11), x86_omem(x86_mem(X86_RSI, J->L))));
  gst(J, x86_r_rm(b, X86_cmp, x86_r64(X86_R11), G(X86_RDX)));
  gst(J, x86_jcc(b, X86_CC_G, l_tail));
  J->copy = 0;
  emit_segment(J, body, nbody, SEG_BODY, false);
  red_advance(J, false);
  gst(J, x86_rm_i(b, X86_add_i32, G(X86_RSI), J->L));
  gst(J, x86_jmp(b, l_one));
  /* masked tail */
  gst(J, x86_label_bind(b, l_tail));
  gst(J, x86_r_rm(b, X86_cmp, x86_r64(X86_RSI), G(X86_RDX)));
  gst(J, x86_jcc(b, X86_CC_GE, l_done));
  gst(J, x86_r_rm(b, X86_mov, x86_r64(X86_R11), G(X86_RDX)));
  gst(J, x86_r_rm(b, X86_sub, x86_r64(X86_R11), G(X86_RSI)));
  gst(J, x86_rm_r(b, X86_mov_st, x86_omem(tail_count(J)), x86_r64(X86_R11)));
  /* operands whose tail goes through a stack buffer: all on SSE2, bytes on AVX2 */
  bool buffered[BUD_MAX_OPERANDS] = {false}, loaded[BUD_MAX_OPERANDS] = {false};
  for (int k = 0; k < nbody; k++)
    if (p->insts[body[k]].kind == LK_LOAD) loaded[p->insts[body[k]].slot] = true;
  for (int s = 0; s < p->noperands; s++)
    buffered[s] = streamed[s] && !is_strided(J, s) && (J->enc == JE_LEG ||
                                  (J->enc == JE_VEX && dtype_size((BudDType)p->operands[s].dtype) == 1));
  if (J->enc == JE_VEX) {
    bool need[2] = {false, false};
    for (int k = 0; k < nbody; k++) {
      const LInst *in = &p->insts[body[k]];
      if (in->kind == LK_LOAD) need[J->lw[in->dst] == 8] = true;
      if (in->kind == LK_STORE) need[J->lw[in->src[0]] == 8] = true;
    }
    if (p->nreduces > J->ncall) need[1] = true; /* native float sums mask double lanes */
    tail_masks_vex(J, need[0], need[1]);
    for (int s = 0; s < p->noperands; s++)
      if (buffered[s] && loaded[s]) tail_fill(J, s);
    J->mode = JIT_MODE_MASK_VEX;
    emit_segment(J, body, nbody, SEG_BODY, false);
    red_advance(J, true);
    for (int k = 0; k < nbody; k++)
      if (p->insts[body[k]].kind == LK_STORE && buffered[p->insts[body[k]].slot])
        tail_copy(J, p->insts[body[k]].slot, false);
  } else if (J->enc == JE_EVEX) {
    tail_mask_k(J);
    J->mode = JIT_MODE_MASK_K;
    emit_segment(J, body, nbody, SEG_BODY, false);
    red_advance(J, true);
  } else {
    J->mode = JIT_MODE_MASK_BUF;
    for (int s = 0; s < p->noperands; s++)
      if (buffered[s] && loaded[s] && !p->operands[s].is_output) tail_fill(J, s);
    emit_segment(J, body, nbody, SEG_BODY, false);
    red_advance(J, true);
    for (int k = 0; k < nbody; k++)
      if (p->insts[body[k]].kind == LK_STORE && buffered[p->insts[body[k]].slot])
        tail_copy(J, p->insts[body[k]].slot, false);
  }
  J->mode = JIT_MODE_FULL;
  /* epilogue */
  gst(J, x86_label_bind(b, l_done));
  if (J->ncall > 0) {
    int32_t l_none = x86_label_new(b);
    gst(J, x86_rm_i(b, X86_cmp_i8, x86_omem(x86_mem(X86_RSP, J->rcnt_slot)), 0));
    gst(J, x86_jcc(b, X86_CC_E, l_none));
    red_flush(J);
    gst(J, x86_label_bind(b, l_none));
  }
  if (p->nreduces > J->ncall) emit_reduce_finish(J);
  if (nt_store) gst(J, x86_np(b, X86_sfence));
  if (J->enc != JE_LEG) gst(J, x86_np(b, X86_vzeroupper));
  gst(J, x86_r_rm(b, X86_lea, x86_r64(X86_RSP), x86_omem(x86_mem(X86_RBP, -8 * ncs))));
  for (int i = ncs - 1; i >= 0; i--) gst(J, x86_rm(b, X86_pop, G(used_cs[i])));
  gst(J, x86_rm(b, X86_pop, G(X86_RBP)));
  gst(J, x86_np(b, X86_ret));
  J->ncode = b->len;
  while (b->len % 64 != 0 && !J->err) gst(J, x86_np(b, X86_nop));
  gst(J, x86_label_bind(b, J->pool_label));
  free(pro);
  free(body);
}

static int jit_setup(Jit *J, const Plan *p, const uint8_t *layouts, X86Isa isa, char *why,
                     size_t nwhy, bool *ext) {
  memset(J, 0, sizeof *J);
  J->ext = ext;
  J->cur_inst = J->fail_inst = -1;
  J->p = p;
  J->layouts = layouts;
  J->isa = isa;
  J->why = why;
  J->nwhy = nwhy;
  if (why && nwhy) why[0] = 0;
  switch (isa) {
  case X86_ISA_SSE2: J->enc = JE_LEG; J->vbytes = 16; break;
  case X86_ISA_AVX2: J->enc = JE_VEX; J->vbytes = 32; break;
  case X86_ISA_AVX512: J->enc = JE_EVEX; J->vbytes = 64; break;
  default: jit_fail(J, "ISA %s: no JIT path", x86_isa_name(isa)); return -1;
  }
  J->feat = x86_isa_needs(isa) | X86_FEAT_SSE2;
  int total = isa == X86_ISA_AVX512 ? 32 : 16;
  J->nregs = total - 4;
  J->S[0] = total - 4;
  J->S[1] = total - 3;
  J->S[2] = total - 2;
  J->T = total - 1;
  for (int r = 0; r < 32; r++) J->owner[r] = -1;
  if (p->noperands > BUD_MAX_OPERANDS || p->nvregs > 4096) {
    jit_fail(J, "plan too large for the JIT (%d vregs)", p->nvregs);
    return -1;
  }
  size_t nv = (size_t)p->nvregs + 1;
  J->lw = calloc(nv, 1);
  J->jd = calloc(nv, 1);
  J->inv = calloc(nv, sizeof(bool));
  J->used_body = calloc(nv, sizeof(bool));
  J->pinned = calloc(nv, sizeof(bool));
  J->in_slot = calloc(nv, sizeof(bool));
  J->reg = malloc(nv * sizeof(int16_t));
  J->lastuse = malloc(nv * sizeof(int32_t));
  if (!J->lw || !J->jd || !J->inv || !J->used_body || !J->pinned || !J->in_slot || !J->reg ||
      !J->lastuse) {
    jit_fail(J, "out of memory");
    return -1;
  }
  for (size_t v = 0; v < nv; v++) J->reg[v] = -1;
  return analyze(J);
}

static void jit_teardown(Jit *J) {
  free(J->lw);
  free(J->jd);
  free(J->inv);
  free(J->used_body);
  free(J->pinned);
  free(J->in_slot);
  free(J->reg);
  free(J->lastuse);
}

/* One attempt; -1 with J's error when it fails. */
static int compile_once(const Plan *p, const uint8_t *layouts, X86Isa isa, JitOut *out, char *why,
                        size_t nwhy, bool *ext, int *fail_inst) {
  Jit J;
  memset(out, 0, sizeof *out);
  int rc = jit_setup(&J, p, layouts, isa, why, nwhy, ext);
  if (rc == 0) {
    x86_buf_init(&out->buf, NULL, 0);
    J.b = &out->buf;
    J.pool_label = x86_label_new(J.b);
    emit_kernel(&J);
    if (!J.err && x86_buf_finish(J.b) != X86_OK) jit_fail(&J, "encoder: unresolved label");
    if (!J.err && J.b->err) jit_fail(&J, "encoder error %d", J.b->err);
  }
  jit_teardown(&J);
  *fail_inst = J.fail_inst;
  if (rc < 0 || J.err) {
    free(J.pool);
    x86_buf_free(&out->buf);
    memset(out, 0, sizeof *out);
    return -1;
  }
  out->pool = J.pool;
  out->npool = J.npool;
  out->ncode = J.ncode;
  out->next = J.next;
  snprintf(out->ext_why, sizeof out->ext_why, "%s", J.ext_why);
  size_t n = 0;
  for (int k = 0; k < p->ninsts && n + 40 < sizeof out->ext_ops; k++)
    if (ext[k])
      n += (size_t)snprintf(out->ext_ops + n, sizeof out->ext_ops - n, "%s%s (%s)", n ? ", " : "",
                            op_info((Op)p->insts[k].op)->name,
                            dtype_info((BudDType)p->vreg_dtype[p->insts[k].src[0]])->name);
  return 0;
}

/* Compiles natively where it can; an op whose instructions this path lacks (found while emitting)
 * becomes an external call and the kernel is compiled again (at most once per op). */
int x86_jit_compile(const Plan *p, const uint8_t *layouts, X86Isa isa, JitOut *out, char *why,
                    size_t nwhy) {
  char dummy[8];
  if (!why || !nwhy) {
    why = dummy;
    nwhy = sizeof dummy;
  }
  bool *ext = calloc((size_t)p->ninsts + 1, sizeof *ext);
  if (!ext) {
    memset(out, 0, sizeof *out);
    snprintf(why, nwhy, "out of memory");
    return -1;
  }
  int rc, fail;
  char first_why[160] = "";
  for (;;) {
    rc = compile_once(p, layouts, isa, out, why, nwhy, ext, &fail);
    if (rc == 0 || fail < 0 || fail >= p->ninsts || ext[fail] || p->insts[fail].kind != LK_OP)
      break;
    Jit probe; /* only ext_ok's view of the plan */
    memset(&probe, 0, sizeof probe);
    probe.p = p;
    if (!ext_ok(&probe, &p->insts[fail])) break;
    if (!first_why[0]) snprintf(first_why, sizeof first_why, "%s", why);
    ext[fail] = true;
  }
  if (rc == 0 && first_why[0] && !out->ext_why[0])
    snprintf(out->ext_why, sizeof out->ext_why, "%s", first_why);
  free(ext);
  return rc;
}

int x86_jit_check(const Plan *p, const uint8_t *layouts, X86Isa isa, char *why, size_t nwhy) {
  JitOut o;
  if (x86_jit_compile(p, layouts, isa, &o, why, nwhy) < 0) return -1;
  x86_jit_out_free(&o);
  return 0;
}

void x86_jit_out_free(JitOut *out) {
  x86_buf_free(&out->buf);
  free(out->pool);
  memset(out, 0, sizeof *out);
}
