/* vm.c — the blocked interpreter: runs a Plan's linear IR over one row in blocks of
 * Plan.sched.block elements, each instruction being one op loop over the block (vm_ops.c).
 * Entry points: vm_scratch_new / vm_scratch_free (per-plan block buffers, made once and reused
 * for every call) and vm_run_row (the kernel ABI of plan.h, plus a context for errors).
 *
 * Loads of contiguous, aligned operands use the caller's memory in place; broadcast operands
 * (stride 0) are filled once per row; other strides are gathered. Loads and constants run first
 * in each block (they depend on nothing), so a store can never change what a later load of the
 * same block reads; a load is used in place only when its last reader comes no later than the
 * first store (an output may be the very same view as an input). Nothing is allocated per call.
 */
#include "vm/vm_ops.h"
#include "vm/vm_private.h"

#include <stdlib.h>
#include <string.h>

enum { VM_MAX_BLOCK = 1 << 16, VM_DEFAULT_BLOCK = 256 };

struct VmScratch {
  const Plan *plan;
  int64_t block;       /* elements per block */
  int *order;          /* instruction indices in execution order: loads and constants first */
  bool *inplace;       /* per vreg: a load that may point into the operand's memory */
  char **vbuf;         /* per vreg: its block buffer (block * 8 bytes, 64-byte aligned) */
  const char **cur;    /* per vreg: where the current block's values are */
  char *mem;           /* the buffers, one aligned allocation */
};

VmScratch *vm_scratch_new(const Plan *p) {
  int64_t block = p->sched.block > 0 ? p->sched.block : VM_DEFAULT_BLOCK;
  if (block > VM_MAX_BLOCK) block = VM_MAX_BLOCK;
  block = (block + 7) & ~(int64_t)7;
  VmScratch *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  size_t nv = (size_t)(p->nvregs > 0 ? p->nvregs : 1), ni = (size_t)(p->ninsts > 0 ? p->ninsts : 1);
  s->plan = p;
  s->block = block;
  s->order = calloc(ni, sizeof *s->order);
  s->inplace = calloc(nv, sizeof *s->inplace);
  s->vbuf = calloc(nv, sizeof *s->vbuf);
  s->cur = calloc(nv, sizeof *s->cur);
  size_t bytes_per = (size_t)block * 8;
  s->mem = bud_aligned_alloc(bytes_per * (nv + (size_t)(p->nconsts > 0 ? p->nconsts : 0)));
  if (!s->order || !s->inplace || !s->vbuf || !s->cur || !s->mem) {
    vm_scratch_free(s);
    return NULL;
  }
  for (size_t v = 0; v < nv; v++) s->vbuf[v] = s->mem + v * bytes_per;
  /* Constants: a broadcast block each, filled once; their vregs point at it. */
  for (int i = 0; i < p->ninsts; i++) {
    const LInst *in = &p->insts[i];
    if (in->kind != LK_CONST || in->dst < 0) continue;
    const PlanConst *c = &p->consts[in->slot];
    char *buf = s->mem + (nv + (size_t)in->slot) * bytes_per;
    int sz = dtype_size((BudDType)c->dtype);
    scalar_store((BudDType)c->dtype, buf, c->value);
    for (int64_t k = 1; k < block; k++) memcpy(buf + k * sz, buf, (size_t)sz);
    s->cur[in->dst] = buf;
  }
  /* Execution order and in-place loads. */
  int n = 0;
  for (int i = 0; i < p->ninsts; i++)
    if (p->insts[i].kind == LK_LOAD || p->insts[i].kind == LK_CONST) s->order[n++] = i;
  for (int i = 0; i < p->ninsts; i++)
    if (p->insts[i].kind != LK_LOAD && p->insts[i].kind != LK_CONST) s->order[n++] = i;
  int first_store = p->ninsts;
  for (int k = p->ninsts - 1; k >= 0; k--)
    if (p->insts[s->order[k]].kind == LK_STORE) first_store = k;
  int *last_use = calloc(nv, sizeof *last_use);
  if (!last_use) {
    vm_scratch_free(s);
    return NULL;
  }
  for (int k = 0; k < p->ninsts; k++) {
    const LInst *in = &p->insts[s->order[k]];
    for (int j = 0; j < 3; j++)
      if (in->src[j] >= 0 && in->src[j] < p->nvregs) last_use[in->src[j]] = k;
  }
  for (int i = 0; i < p->ninsts; i++) {
    const LInst *in = &p->insts[i];
    if (in->kind == LK_LOAD && in->dst >= 0) s->inplace[in->dst] = last_use[in->dst] <= first_store;
  }
  free(last_use);
  return s;
}

void vm_scratch_free(VmScratch *s) {
  if (!s) return;
  free(s->order);
  free(s->inplace);
  free(s->vbuf);
  free(s->cur);
  bud_aligned_free(s->mem);
  free(s);
}

/* dst[i] = src[i * stride] for i < m, elements of sz bytes. */
static void vm_gather(char *dst, const char *src, int64_t stride, int64_t m, int sz) {
  switch (sz) {
  case 1:
    for (int64_t i = 0; i < m; i++) dst[i] = src[i * stride];
    break;
  case 2:
    for (int64_t i = 0; i < m; i++) memcpy(dst + 2 * i, src + i * stride, 2);
    break;
  case 4:
    for (int64_t i = 0; i < m; i++) memcpy(dst + 4 * i, src + i * stride, 4);
    break;
  default:
    for (int64_t i = 0; i < m; i++) memcpy(dst + 8 * i, src + i * stride, 8);
    break;
  }
}

static void vm_scatter(char *dst, int64_t stride, const char *src, int64_t m, int sz) {
  switch (sz) {
  case 1:
    for (int64_t i = 0; i < m; i++) dst[i * stride] = src[i];
    break;
  case 2:
    for (int64_t i = 0; i < m; i++) memcpy(dst + i * stride, src + 2 * i, 2);
    break;
  case 4:
    for (int64_t i = 0; i < m; i++) memcpy(dst + i * stride, src + 4 * i, 4);
    break;
  default:
    for (int64_t i = 0; i < m; i++) memcpy(dst + i * stride, src + 8 * i, 8);
    break;
  }
}

/* Points vreg inst->dst at the block [b0, b0 + m) of its operand. */
static void vm_load(const VmScratch *s, const LInst *in, const BudKArgs *a, int64_t b0, int64_t m,
                    bool first_block) {
  int sz = dtype_size((BudDType)in->dtype);
  int64_t stride = a->stride[in->slot];
  const char *src = a->ptr[in->slot] + b0 * stride;
  char *buf = s->vbuf[in->dst];
  if (stride == sz && s->inplace[in->dst] && (uintptr_t)src % (uintptr_t)sz == 0) {
    s->cur[in->dst] = src;
    return;
  }
  s->cur[in->dst] = buf;
  if (stride == 0) { /* one value for the whole row: fill the block once */
    if (!first_block) return;
    /* m elements: a first block shorter than s->block is the row's only block */
    for (int64_t k = 0; k < m; k++) memcpy(buf + k * sz, src, (size_t)sz);
  } else if (stride == sz) {
    memcpy(buf, src, (size_t)(m * sz));
  } else {
    vm_gather(buf, src, stride, m, sz);
  }
}

BudStatus vm_run_row(BudContext *ctx, const Plan *p, VmScratch *s, const BudKArgs *a,
                     int64_t begin, int64_t end) {
  for (int64_t b0 = begin; b0 < end; b0 += s->block) {
    int64_t m = end - b0 < s->block ? end - b0 : s->block;
    for (int k = 0; k < p->ninsts; k++) {
      const LInst *in = &p->insts[s->order[k]];
      switch ((LKind)in->kind) {
      case LK_LOAD: vm_load(s, in, a, b0, m, b0 == begin); break;
      case LK_CONST: break; /* s->cur points at the constant's block since vm_scratch_new */
      case LK_OP: {
        const void *ins[3];
        BudDType dts[3];
        for (int j = 0; j < in->nin && j < 3; j++) {
          ins[j] = s->cur[in->src[j]];
          dts[j] = (BudDType)p->vreg_dtype[in->src[j]];
        }
        BudStatus st = vm_op_run(ctx, (Op)in->op, (BudDType)in->dtype, in->nin, dts,
                                 s->vbuf[in->dst], ins, m);
        if (st != BUD_OK) return st;
        s->cur[in->dst] = s->vbuf[in->dst];
        break;
      }
      case LK_STORE: {
        int sz = dtype_size((BudDType)in->dtype);
        int64_t stride = a->stride[in->slot];
        char *dst = a->ptr[in->slot] + b0 * stride;
        const char *src = s->cur[in->src[0]];
        if (stride == sz) {
          if (dst != src) memcpy(dst, src, (size_t)(m * sz));
        } else {
          vm_scatter(dst, stride, src, m, sz);
        }
        break;
      }
      case LK_REDUCE:
        vm_reduce_block(&p->reduces[in->slot], &a->acc[in->slot], s->cur[in->src[0]], m,
                        a->index_base + b0);
        break;
      }
    }
  }
  return BUD_OK;
}
