/* exec_fast.c — the lean run path behind bud_call_run (contract in bud.h): a program whose groups
 * are all fused groups (or 1-D float dots) over operands that are whole C-contiguous buffers or
 * single elements is prepared once — per kernel operand the buffer it reads or writes and its
 * stride (element size or 0), per group its element count and work, temporaries allocated and
 * kept, which output may alias which input — and a run then checks the caller's arrays, asks the
 * kernel cache for the group's pinned kernel (its cheap same-layout hit) and calls it once per
 * group over [0, n). It runs exactly what rt_run_program runs when that would use one chunk per
 * group (exec_fused.c's serial case): same kernels, same layouts, the same reduction
 * init/finish, so the bits are the same. Anything else returns RT_NOT_LEAN before writing.
 * (The value class of 0-d inputs is checked by src/api/call.c.) Entry points: rt_call_prepare,
 * rt_call_run, rt_call_free, rt_call_is_lean.
 */
#include "rt/exec_fast.h"
#include "rt/kernel.h"
#include "rt/pool.h"
#include "vm/vm.h"

#include <stdlib.h>
#include <string.h>

/* Element-wise rows from this many elements on start with a call of their own up to a 64-byte
 * boundary of the output, so the main call's vector stores do not split cache lines (NumPy's
 * large arrays sit 16 bytes past a page). */
enum { LEAN_ALIGN_MIN = 1024 };
/* exec_fused.c's per-element work (RT_OP_BYTES, RT_TRANSC_BYTES; every operand counted, which
 * can only overstate it): a group under the executor's one-chunk threshold by this count runs in
 * one chunk there. Element-wise results do not depend on the chunk count, so there this only
 * keeps large runs parallel; groups with reductions (whose sums do depend on it) must stay a
 * margin LEAN_RED_MARGIN below it, in case those constants change. Temporaries the call keeps:
 * at most LEAN_TEMP_MAX bytes (else the program takes the general path). */
enum { LEAN_OP_BYTES = 2, LEAN_TRANSC_BYTES = 32, LEAN_RED_MARGIN = 4, LEAN_TEMP_MAX = 1 << 20 };
#define LEAN_PAR_BYTES ((int64_t)1024 * 1024) /* exec_fused.c's RT_PAR_MIN_BYTES */

typedef struct LeanGroup {
  Group *grp;
  bool is_dot;
  int64_t n;         /* elements iterated */
  int64_t work;      /* bytes-equivalent of work (upper bound of the executor's) */
  int nops;          /* plan operands, then reduction results (dot: a, b, o) */
  int32_t *buf;      /* per operand: program buffer */
  int64_t *stride;   /* per plan operand: element size, or 0 (one element for the whole row) */
  uint8_t *layouts;  /* per plan operand: the layout the executor derives from that stride */
} LeanGroup;

struct RtCall {
  BudProgram *prog;
  BudContext *ctx;
  bool lean;
  int ngroups;
  LeanGroup *groups;
  void **temps;           /* per temp slot, kept between runs */
  int64_t *nbytes;        /* per buffer: bytes of a whole contiguous view */
  int64_t (*cstrides)[BUD_MAX_DIMS]; /* per input, then per output: C-contiguous strides */
  uint64_t *alias_ok;     /* per output: bit i set when input i may be the identical view */
};

/* ---- preparation ------------------------------------------------------------------------------ */

static int64_t lean_size(const Shape *s) {
  int64_t n = 1;
  for (int d = 0; d < s->ndim; d++) n *= s->dim[d];
  return n;
}

/* Stride of a buffer of shape s read over iteration shape it, if the executor would walk it as
 * one flat row: the element size when its dims right-align with it's and the sizes agree, 0 for
 * one element; -1 otherwise. */
static int64_t lean_stride(const Shape *s, BudDType dt, const Shape *it) {
  int64_t n = lean_size(s), ni = lean_size(it);
  if (n == 1) return 0;
  if (n != ni || s->ndim > it->ndim) return -1;
  for (int d = 0; d < s->ndim; d++)
    if (s->dim[d] != it->dim[d + it->ndim - s->ndim]) return -1;
  return dtype_size(dt);
}

/* rt_alias_safe (exec.c): the only group reading input buffer ib is a fused group that writes
 * ob element by element. */
static bool lean_alias_safe(const BudProgram *prog, int32_t ib, int32_t ob) {
  int readers = 0;
  bool writer_reads = false;
  for (int gi = 0; gi < prog->ngroups; gi++) {
    const Group *g = &prog->groups[gi];
    bool reads = false, writes = false;
    if (g->kind == GROUP_FUSED) {
      for (int s = 0; s < g->plan.noperands; s++) {
        const PlanOperand *po = &g->plan.operands[s];
        if (po->buffer == ib && !po->is_output) reads = true;
        if (po->buffer == ob && po->is_output) writes = true;
      }
    } else {
      reads = g->in_buf[0] == ib || g->in_buf[1] == ib;
    }
    if (reads) {
      readers++;
      if (writes) writer_reads = true;
    }
  }
  return readers == 1 && writer_reads;
}

static bool lean_group(RtCall *c, Group *g, LeanGroup *lg) {
  const BudProgram *prog = c->prog;
  lg->grp = g;
  if (g->epilogue || g->tiled) return false; /* epilogues and column tiles: rt_run_fused only */
  if (g->kind == GROUP_DOT) {
    const Buffer *a = &prog->buffers[g->in_buf[0]], *b = &prog->buffers[g->in_buf[1]];
    const Buffer *o = &prog->buffers[g->out_buf];
    if (a->shape.ndim != 1 || b->shape.ndim != 1 || o->shape.ndim != 0) return false;
    if ((o->dtype != BUD_FLOAT32 && o->dtype != BUD_FLOAT64) || a->dtype != o->dtype ||
        b->dtype != o->dtype)
      return false;
    lg->is_dot = true;
    lg->n = a->shape.dim[0];
    lg->nops = 3;
    lg->buf = calloc(3, sizeof *lg->buf);
    if (!lg->buf) return false;
    lg->buf[0] = g->in_buf[0];
    lg->buf[1] = g->in_buf[1];
    lg->buf[2] = g->out_buf;
    return true;
  }
  if (g->kind != GROUP_FUSED) return false;
  const Plan *p = &g->plan;
  if (p->reduce_axis != PLAN_NO_REDUCE && p->reduce_axis != BUD_AXIS_ALL) return false;
  if (p->noperands + p->nreduces > BUD_MAX_OPERANDS) return false;
  lg->n = lean_size(&p->iter);
  if (lg->n <= 0) return false;
  lg->nops = p->noperands + p->nreduces;
  lg->buf = calloc((size_t)lg->nops, sizeof *lg->buf);
  lg->stride = calloc((size_t)(p->noperands > 0 ? p->noperands : 1), sizeof *lg->stride);
  lg->layouts = calloc(BUD_MAX_OPERANDS, 1);
  if (!lg->buf || !lg->stride || !lg->layouts) return false;
  int64_t w = 0;
  for (int s = 0; s < p->noperands; s++) {
    const PlanOperand *po = &p->operands[s];
    const Buffer *b = &prog->buffers[po->buffer];
    int64_t st = lean_stride(&b->shape, (BudDType)po->dtype, &p->iter);
    if (st < 0 || b->dtype != po->dtype) return false;
    if (lg->n == 1) st = 0; /* the executor's one-element row: every stride 0 */
    lg->buf[s] = po->buffer;
    lg->stride[s] = st;
    lg->layouts[s] = rt_layout_of(st, (BudDType)po->dtype);
    w += dtype_size((BudDType)po->dtype);
  }
  for (int r = 0; r < p->nreduces; r++) {
    const PlanReduce *pr = &p->reduces[r];
    if (lean_size(&prog->buffers[pr->buffer].shape) != 1) return false;
    lg->buf[p->noperands + r] = pr->buffer;
  }
  for (int i = 0; i < p->ninsts; i++)
    if (p->insts[i].kind == LK_OP)
      w += (op_info((Op)p->insts[i].op)->flags & F_TRANSC) ? LEAN_TRANSC_BYTES : LEAN_OP_BYTES;
  lg->work = p->nreduces > 0 ? w * LEAN_RED_MARGIN : w;
  return true;
}

static bool lean_prepare(RtCall *c) {
  BudProgram *prog = c->prog;
  int nin = prog->ninputs, nout = prog->noutputs;
  if (prog->ngroups < 1 || nin > 64) return false;
  c->groups = calloc((size_t)prog->ngroups, sizeof *c->groups);
  c->nbytes = calloc((size_t)prog->nbuffers, sizeof *c->nbytes);
  c->cstrides = calloc((size_t)(nin + nout + 1), sizeof *c->cstrides);
  c->alias_ok = calloc((size_t)(nout + 1), sizeof *c->alias_ok);
  c->temps = calloc((size_t)(prog->ntemps + 1), sizeof *c->temps);
  if (!c->groups || !c->nbytes || !c->cstrides || !c->alias_ok || !c->temps)
    return false;
  c->ngroups = prog->ngroups;
  for (int gi = 0; gi < prog->ngroups; gi++)
    if (!lean_group(c, &prog->groups[gi], &c->groups[gi])) return false;
  int64_t temp_bytes = 0;
  for (int bi = 0; bi < prog->nbuffers; bi++) {
    const Buffer *b = &prog->buffers[bi];
    int64_t n = lean_size(&b->shape), bytes;
    if (!size_mul_ok(n, dtype_size((BudDType)b->dtype), &bytes)) return false;
    c->nbytes[bi] = bytes;
    if (b->kind == BUF_TEMP) temp_bytes += bytes;
  }
  if (temp_bytes > LEAN_TEMP_MAX) return false;
  for (int t = 0; t < prog->ntemps; t++) { /* one allocation per slot, its largest buffer */
    int64_t need = 0;
    for (int bi = 0; bi < prog->nbuffers; bi++)
      if (prog->buffers[bi].kind == BUF_TEMP && prog->buffers[bi].index == t &&
          c->nbytes[bi] > need)
        need = c->nbytes[bi];
    if (!(c->temps[t] = bud_aligned_alloc((size_t)(need > 0 ? need : 8)))) return false;
  }
  for (int i = 0; i < nin + nout; i++) {
    const Shape *s = i < nin ? &prog->input_shapes[i] : &prog->buffers[prog->output_buf[i - nin]].shape;
    BudDType dt = i < nin ? prog->input_dtypes[i]
                          : (BudDType)prog->buffers[prog->output_buf[i - nin]].dtype;
    int64_t st = dtype_size(dt);
    for (int d = s->ndim - 1; d >= 0; d--) {
      c->cstrides[i][d] = st;
      st *= s->dim[d];
    }
  }
  for (int o = 0; o < nout; o++)
    for (int bi = 0; bi < prog->nbuffers; bi++)
      if (prog->buffers[bi].kind == BUF_INPUT && lean_alias_safe(prog, bi, prog->output_buf[o]))
        c->alias_ok[o] |= 1ull << prog->buffers[bi].index;
  return true;
}

static void lean_release(RtCall *c) {
  if (c->groups)
    for (int gi = 0; gi < c->ngroups; gi++) {
      free(c->groups[gi].buf);
      free(c->groups[gi].stride);
      free(c->groups[gi].layouts);
    }
  if (c->temps && c->prog)
    for (int t = 0; t < c->prog->ntemps; t++) bud_aligned_free(c->temps[t]);
  free(c->groups);
  free(c->nbytes);
  free(c->cstrides);
  free(c->alias_ok);
  free(c->temps);
  c->groups = NULL;
  c->nbytes = NULL;
  c->cstrides = NULL;
  c->alias_ok = NULL;
  c->temps = NULL;
  c->ngroups = 0;
}

BudStatus rt_call_prepare(BudContext *ctx, BudProgram *prog, RtCall **out) {
  RtCall *c = calloc(1, sizeof *c);
  if (!c) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory preparing a call");
  c->prog = prog;
  c->ctx = ctx;
  c->lean = lean_prepare(c);
  if (!c->lean) lean_release(c); /* the general path needs none of it */
  *out = c;
  return BUD_OK;
}

void rt_call_free(RtCall *c) {
  if (!c) return;
  lean_release(c);
  free(c);
}

bool rt_call_is_lean(const RtCall *c) { return c && c->lean; }
BudProgram *rt_call_program(const RtCall *c) { return c ? c->prog : NULL; }

/* ---- a run ------------------------------------------------------------------------------------ */

/* Array a has dtype dt, shape s, C-contiguous strides cs (ignoring size-1 dims) and data. */
static bool lean_array_ok(const BudArray *a, BudDType dt, const Shape *s, const int64_t *cs) {
  if (a->dtype != dt || a->ndim != s->ndim || !a->data) return false;
  for (int d = 0; d < s->ndim; d++)
    if (a->shape[d] != s->dim[d] || (s->dim[d] > 1 && a->strides[d] != cs[d])) return false;
  return true;
}

static bool lean_overlap(const void *x, int64_t nx, const void *y, int64_t ny) {
  uintptr_t a = (uintptr_t)x, b = (uintptr_t)y;
  return nx > 0 && ny > 0 && a < b + (uintptr_t)ny && b < a + (uintptr_t)nx;
}

/* exec_fused.c's rt_call_kernel: non-temporal kernels get their output's unaligned head apart. */
static void lean_call_kernel(BudKernelFn fn, const Plan *p, const BudKArgs *args, int64_t n) {
  int64_t k = 0;
  if ((p->sched.store == STORE_NONTEMPORAL || n >= LEAN_ALIGN_MIN) && p->nreduces == 0)
    for (int s = 0; s < p->noperands; s++) {
      if (!p->operands[s].is_output) continue;
      int64_t z = dtype_size((BudDType)p->operands[s].dtype);
      if (args->stride[s] != z) break;
      uintptr_t addr = (uintptr_t)args->ptr[s];
      int64_t peel = addr % (uintptr_t)z ? 0 : (int64_t)((64 - addr % 64) % 64) / z;
      if (peel > 0 && peel < n) {
        fn(args, 0, peel);
        k = peel;
      }
      break;
    }
  fn(args, k, n);
}

int rt_call_run(BudContext *ctx, RtCall *c, int ninputs, const BudArray *inputs, int noutputs,
                BudArray *outputs) {
  BudProgram *prog = c->prog;
  if (!c->lean || ctx != c->ctx || ninputs != prog->ninputs || noutputs != prog->noutputs ||
      (ninputs > 0 && !inputs) || (noutputs > 0 && !outputs))
    return RT_NOT_LEAN;
  char *base[BUD_MAX_OPERANDS * 2 + 8];
  if (prog->nbuffers > (int)BUD_ARRAY_LEN(base)) return RT_NOT_LEAN;
  for (int i = 0; i < ninputs; i++) {
    const BudArray *a = &inputs[i];
    if (!lean_array_ok(a, prog->input_dtypes[i], &prog->input_shapes[i], c->cstrides[i]))
      return RT_NOT_LEAN;
  }
  for (int o = 0; o < noutputs; o++) {
    const Buffer *b = &prog->buffers[prog->output_buf[o]];
    if (!lean_array_ok(&outputs[o], (BudDType)b->dtype, &b->shape, c->cstrides[ninputs + o]))
      return RT_NOT_LEAN;
  }
  for (int bi = 0; bi < prog->nbuffers; bi++) {
    const Buffer *b = &prog->buffers[bi];
    base[bi] = b->kind == BUF_INPUT    ? inputs[b->index].data
             : b->kind == BUF_OUTPUT ? outputs[b->index].data
                                     : c->temps[b->index];
  }
  /* outputs: apart from each other and from the inputs, but for identical element-wise views */
  for (int o = 0; o < noutputs; o++) {
    int32_t ob = prog->output_buf[o];
    for (int o2 = 0; o2 < o; o2++)
      if (lean_overlap(base[ob], c->nbytes[ob], base[prog->output_buf[o2]],
                       c->nbytes[prog->output_buf[o2]]))
        return RT_NOT_LEAN;
    for (int bi = 0; bi < prog->nbuffers; bi++) {
      const Buffer *b = &prog->buffers[bi];
      if (b->kind != BUF_INPUT || !lean_overlap(base[ob], c->nbytes[ob], base[bi], c->nbytes[bi]))
        continue;
      if (base[bi] != base[ob] || c->nbytes[bi] != c->nbytes[ob] ||
          !(c->alias_ok[o] >> b->index & 1))
        return RT_NOT_LEAN;
    }
  }
  /* one chunk per group, as the executor would choose; the kernels, before anything runs */
  if (ctx->nthreads <= 0) ctx->nthreads = rt_default_threads();
  int64_t min_bytes = ctx->par_min_bytes > 0 ? ctx->par_min_bytes : LEAN_PAR_BYTES;
  BudKernelFn fns[16];
  if (c->ngroups > (int)BUD_ARRAY_LEN(fns)) return RT_NOT_LEAN;
  for (int gi = 0; gi < c->ngroups; gi++) {
    LeanGroup *lg = &c->groups[gi];
    if (lg->is_dot) {
      int z = dtype_size((BudDType)prog->buffers[lg->buf[0]].dtype);
      if (rt_dot_nchunks(ctx, lg->n, z) != 1) return RT_NOT_LEAN;
      fns[gi] = NULL;
      continue;
    }
    const Plan *p = &lg->grp->plan;
    int64_t work;
    bool serial = ctx->nthreads <= 1 || (ctx->par_min_bytes <= 0 && p->sched.nthreads == 1) ||
                  (size_mul_ok(lg->n, lg->work, &work) && work < min_bytes);
    if (!serial) return RT_NOT_LEAN;
    if (__atomic_load_n(&lg->grp->kernel_owner, __ATOMIC_ACQUIRE) != (void *)ctx) {
      void *none = NULL;
      if (!__atomic_compare_exchange_n(&lg->grp->kernel_owner, &none, (void *)ctx, false,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return RT_NOT_LEAN; /* another context's kernel: the general path runs the VM */
    }
    if (!(fns[gi] = rt_kernel_get(ctx, lg->grp, lg->layouts))) return RT_NOT_LEAN;
  }
  for (int gi = 0; gi < c->ngroups; gi++) {
    LeanGroup *lg = &c->groups[gi];
    if (lg->is_dot) {
      View v[3];
      for (int k = 0; k < 3; k++) {
        const Buffer *b = &prog->buffers[lg->buf[k]];
        v[k].data = base[lg->buf[k]];
        v[k].dtype = (BudDType)b->dtype;
        v[k].ndim = b->shape.ndim;
        v[k].shape[0] = b->shape.dim[0];
        v[k].strides[0] = dtype_size(v[k].dtype);
      }
      rt_dot_vec(ctx, &v[0], &v[1], &v[2], 1);
      continue;
    }
    const Plan *p = &lg->grp->plan;
    BudKArgs args;
    RedAcc acc[8];
    if (p->nreduces > (int)BUD_ARRAY_LEN(acc)) return RT_NOT_LEAN; /* the JIT takes at most 8 */
    for (int s = 0; s < p->noperands; s++) {
      args.ptr[s] = base[lg->buf[s]];
      args.stride[s] = lg->stride[s];
    }
    for (int r = 0; r < p->nreduces; r++) vm_reduce_init(&p->reduces[r], &acc[r]);
    args.acc = acc;
    args.index_base = 0;
    lean_call_kernel(fns[gi], p, &args, lg->n);
    for (int r = 0; r < p->nreduces; r++)
      vm_reduce_finish(&p->reduces[r], &acc[r], base[lg->buf[p->noperands + r]]);
  }
  ctx->stats.runs++;
  ctx->stats.lean_runs++;
  return BUD_OK;
}
