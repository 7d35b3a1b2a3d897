/* jit_util.h — helpers shared by the JIT tests and benchmark: hand-built plans (TPlan), placing a
 * compiled kernel in executable memory, and running the VM on the same plan for comparison. */
#ifndef BUD_TESTS_JIT_UTIL_H
#define BUD_TESTS_JIT_UTIL_H

#include "rt/codemem.h"
#include "rt/kernel.h"
#include "vm/vm.h"
#include "x86/jit.h"

#include <stdlib.h>
#include <string.h>

enum { TP_MAXI = 256, TP_MAXO = 16, TP_MAXC = 64 };

typedef struct TPlan {
  Plan p;
  LInst insts[TP_MAXI];
  uint8_t vdt[TP_MAXI];
  PlanOperand ops[TP_MAXO];
  PlanConst consts[TP_MAXC];
  PlanReduce reds[8];
} TPlan;

static inline void tp_init(TPlan *t) {
  memset(t, 0, sizeof *t);
  t->p.insts = t->insts;
  t->p.vreg_dtype = t->vdt;
  t->p.operands = t->ops;
  t->p.consts = t->consts;
  t->p.reduces = t->reds;
  t->p.reduce_axis = PLAN_NO_REDUCE;
  t->p.sched.vec_bytes = 32;
  t->p.sched.unroll = 4;
  t->p.sched.naccum = 1;
  t->p.sched.block = 256;
  t->p.sched.nthreads = 1;
}

static inline int tp_operand(TPlan *t, BudDType dt, bool out) {
  int s = t->p.noperands++;
  t->ops[s].dtype = (uint8_t)dt;
  t->ops[s].is_output = out;
  t->ops[s].buffer = s;
  return s;
}

static inline LInst *tp_inst(TPlan *t, LKind k, BudDType dt) {
  LInst *in = &t->insts[t->p.ninsts++];
  memset(in, 0, sizeof *in);
  in->kind = (uint8_t)k;
  in->dtype = (uint8_t)dt;
  in->dst = -1;
  in->src[0] = in->src[1] = in->src[2] = -1;
  return in;
}

static inline int tp_newv(TPlan *t, BudDType dt) {
  int v = t->p.nvregs++;
  t->vdt[v] = (uint8_t)dt;
  return v;
}

static inline int tp_load(TPlan *t, int slot) {
  BudDType dt = (BudDType)t->ops[slot].dtype;
  LInst *in = tp_inst(t, LK_LOAD, dt);
  in->slot = slot;
  in->dst = (int16_t)tp_newv(t, dt);
  return in->dst;
}

static inline int tp_const(TPlan *t, BudDType dt, double f, int64_t i) {
  int c = t->p.nconsts++;
  t->consts[c].dtype = (uint8_t)dt;
  if (dtype_is_float(dt)) t->consts[c].value.f = dt == BUD_FLOAT32 ? (double)(float)f : f;
  else t->consts[c].value.i = i;
  LInst *in = tp_inst(t, LK_CONST, dt);
  in->slot = c;
  in->dst = (int16_t)tp_newv(t, dt);
  return in->dst;
}

static inline int tp_op(TPlan *t, Op op, BudDType dt, int nin, int a, int b, int c) {
  LInst *in = tp_inst(t, LK_OP, dt);
  in->op = (uint16_t)op;
  in->nin = (uint8_t)nin;
  in->src[0] = (int16_t)a;
  in->src[1] = (int16_t)(nin > 1 ? b : -1);
  in->src[2] = (int16_t)(nin > 2 ? c : -1);
  in->dst = (int16_t)tp_newv(t, dt);
  return in->dst;
}

static inline void tp_store(TPlan *t, int slot, int v) {
  LInst *in = tp_inst(t, LK_STORE, (BudDType)t->vdt[v]);
  in->slot = slot;
  in->src[0] = (int16_t)v;
}

/* reduces[r] = op over v (float sum/mean: result in the value's dtype, mean of floats too) */
static inline int tp_reduce(TPlan *t, Op op, int v) {
  int r = t->p.nreduces++;
  t->reds[r].op = (uint16_t)op;
  t->reds[r].in_dtype = t->vdt[v];
  t->reds[r].out_dtype = t->vdt[v];
  t->reds[r].src = (int16_t)v;
  t->reds[r].buffer = -1;
  LInst *in = tp_inst(t, LK_REDUCE, (BudDType)t->vdt[v]);
  in->slot = r;
  in->src[0] = (int16_t)v;
  t->p.reduce_axis = BUD_AXIS_ALL;
  return r;
}

/* A kernel placed in executable memory. */
typedef struct TKernel {
  RtCode code;
  BudKernelFn fn;
} TKernel;

/* 0 ok; -1 the JIT refused (why filled); -2 memory */
static inline int tk_compile(RtCodeMem *cm, const Plan *p, const uint8_t *lay, X86Isa isa,
                             TKernel *k, char *why, size_t nwhy) {
  JitOut o;
  memset(k, 0, sizeof *k);
  if (x86_jit_compile(p, lay, isa, &o, why, nwhy) < 0) return -1;
  size_t n = o.buf.len + o.npool;
  if (rt_code_alloc(cm, n, &k->code) != RT_CODE_OK) {
    x86_jit_out_free(&o);
    return -2;
  }
  memcpy(k->code.p, o.buf.code, o.buf.len);
  if (o.npool) memcpy(k->code.p + o.buf.len, o.pool, o.npool);
  x86_jit_out_free(&o);
  if (rt_code_seal(cm, &k->code) != RT_CODE_OK) return -2;
  void *fp = k->code.p;
  memcpy(&k->fn, &fp, sizeof fp);
  return 0;
}

static inline void tk_free(RtCodeMem *cm, TKernel *k) {
  if (k->code.p) rt_code_free(cm, &k->code);
}

#endif
