/* exec_fused.c — runs a GROUP_FUSED group: per-operand byte strides over the iteration shape
 * (broadcast dims stride 0), size-1 dims dropped, adjacent dims coalesced when every operand
 * allows it, the reduced axis moved innermost; then the rows (or pieces of rows) go through the
 * kernel ABI — the JIT's kernel when there is one (a pure function of its arguments, so chunks may
 * call it at once), else vm_run_row with a VM scratch of the chunk's own.
 *
 * Threads: the iteration space is cut into at most ctx->nthreads static chunks run on the
 * context's pool (rt/pool.h): element-wise groups and reductions over everything by flat element
 * ranges (whole rows when there are many, else ranges aligned to 64 bytes of every operand, phased
 * so the first output's chunks start on a cache line), axis reductions by output rows. Reduction
 * partials (one RedAcc per chunk) combine in chunk order, so results depend only on the chunk
 * count, and chunk c's elements all precede chunk c+1's (argmin/argmax keep the first index).
 * Small groups run serially on the caller (RT_PAR_MIN_BYTES; the cost model's Schedule.nthreads
 * caps the chunk count when it is set).
 *
 * Scratch reuse: VM scratch is kept in the Group between runs (Group.scratch, one slot per chunk
 * number), taken with an atomic exchange and given back with a compare-exchange, so concurrent
 * runs of one program (from different contexts) never share one; the loser of a race allocates
 * and frees its own.
 *
 * Horizontal batches (rt_run_batch): consecutive small independent groups (Group.batch) run as
 * ONE pool job when the cost model chose it (Group.batch_threads > 1): lane c runs, whole and
 * serially, the members placed on it (Group.batch_lane), in program order; kernels are fetched on
 * the caller first. Each member computes exactly what it computes alone on one thread.
 * Entry points: rt_run_fused, rt_run_batch, rt_program_release, rt_threads_free.
 */
#include "rt/exec_int.h"
#include "rt/cost.h"
#include "rt/kernel.h"
#include "rt/pool.h"
#include "vm/vm.h"

#include <stdlib.h>
#include <string.h>

/* Work (bytes moved, plus op costs in byte-equivalents: RT_OP_BYTES per arithmetic op and
 * RT_TRANSC_BYTES per transcendental, per element) that justifies one more chunk: a floor under
 * the cost model's advice (Schedule.nthreads), which caps the chunk count with the machine's
 * calibrated wake-up cost and bandwidth. Measured on this 2-vCPU KVM Xeon (shared with other
 * jobs) with the JIT, 2*a + 3*b float32, serial vs 2 chunks: a pool round trip costs 4-7 us
 * (much more when the other CPU is busy), so 2 chunks lose below ~64K floats (0.3-0.6x at 16K-32K)
 * and only break even around 0.5-1M floats (1.15-1.19x at 1M) under load; on an idle machine the
 * round trip alone puts the break-even near 1 MiB of traffic (in-cache JIT streams ~100 GB/s,
 * 5 us = 500 KB), hence 1 MiB. */
/* (RT_PAR_MIN_BYTES, RT_OP_BYTES, RT_TRANSC_BYTES: rt/cost.h, shared with the cost model) */
/* Chunk boundaries of flat element ranges are multiples of this many bytes of every operand. */
enum { RT_CHUNK_ALIGN = 64 };
/* Reduction partials on the stack for this many chunk x reduction pairs (else on the heap). */
enum { RT_SMALL_ACC = 4 };

/* The machine-code kernel for this group and these operand layouts (compiled on first use and
 * cached, see rt/kernel.h), or NULL to run the VM. The first context that runs the group owns its
 * kernel pin; a run of the same program from another context (another thread) uses the VM for
 * the group rather than touch another context's kernel cache, and says so in the statistics. */
static BudKernelFn rt_group_kernel(BudContext *ctx, Group *grp, const int64_t *inner_strides) {
  uint8_t layouts[BUD_MAX_OPERANDS];
  for (int s = 0; s < grp->plan.noperands && s < BUD_MAX_OPERANDS; s++)
    layouts[s] = rt_layout_of(inner_strides[s], (BudDType)grp->plan.operands[s].dtype);
  void *owner = NULL;
  if (!__atomic_compare_exchange_n(&grp->kernel_owner, &owner, (void *)ctx, false,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
      owner != (void *)ctx) {
    ctx->stats.jit_fallbacks++;
    return NULL;
  }
  return rt_kernel_get(ctx, grp, layouts);
}

enum { RT_MAXOP = BUD_MAX_OPERANDS }; /* plan operands + reduction results */

typedef struct RowLoop {
  int nd;                              /* dims after dropping and coalescing (inner last) */
  int64_t dims[BUD_MAX_DIMS];
  int64_t st[RT_MAXOP][BUD_MAX_DIMS];  /* byte strides per operand, then per reduction result */
  char *base[RT_MAXOP];
  int nops;
} RowLoop;

static const char *rt_reduce_name(Op op) {
  switch (op) {
  case OP_min: return "minimum";
  case OP_max: return "maximum";
  default: return op_info(op)->name;
  }
}

/* Strides of every operand over the iteration shape, in loop order (the reduced axis last),
 * then drops size-1 dims and merges adjacent dims that every operand walks uniformly. */
static BudStatus rt_row_loop(BudContext *ctx, RunState *rs, const Plan *p, int axis, RowLoop *L) {
  int nd = p->iter.ndim, nops = p->noperands + p->nreduces;
  if (nops > RT_MAXOP)
    return bud_fail(ctx, BUD_ERR_LIMIT, "a fused group has %d operands (at most %d)", nops,
                    RT_MAXOP);
  int perm[BUD_MAX_DIMS], np = 0;
  for (int d = 0; d < nd; d++)
    if (d != axis) perm[np++] = d;
  if (axis >= 0) perm[np++] = axis;
  L->nops = nops;
  for (int s = 0; s < nops; s++) {
    const View *v;
    int64_t full[BUD_MAX_DIMS];
    if (s < p->noperands) {
      const PlanOperand *po = &p->operands[s];
      v = &rs->views[po->buffer];
      if (v->dtype != (BudDType)po->dtype || v->ndim > nd)
        return bud_fail(ctx, BUD_ERR_INTERNAL, "plan operand %d does not match its buffer", s);
      for (int d = 0; d < nd; d++) {
        int od = d - (nd - v->ndim);
        if (od < 0 || v->shape[od] == 1) full[d] = 0;
        else if (v->shape[od] == p->iter.dim[d]) full[d] = v->strides[od];
        else
          return bud_fail(ctx, BUD_ERR_INTERNAL, "plan operand %d does not broadcast", s);
      }
    } else {
      const PlanReduce *r = &p->reduces[s - p->noperands];
      v = &rs->views[r->buffer];
      if (v->dtype != (BudDType)r->out_dtype ||
          (axis >= 0 ? v->ndim != nd - 1 : rt_view_size(v) != 1))
        return bud_fail(ctx, BUD_ERR_INTERNAL, "reduction %d does not match its buffer",
                        s - p->noperands);
      for (int d = 0; d < nd; d++)
        full[d] = axis < 0 || d == axis ? 0 : v->strides[d < axis ? d : d - 1];
    }
    L->base[s] = v->data;
    for (int k = 0; k < nd; k++) L->st[s][k] = full[perm[k]];
  }
  /* drop size-1 dims (keep the reduced axis), then coalesce outer into inner where possible */
  int n = 0;
  for (int k = 0; k < nd; k++) {
    bool is_red = axis >= 0 && k == nd - 1;
    if (p->iter.dim[perm[k]] == 1 && !is_red) continue;
    L->dims[n] = p->iter.dim[perm[k]];
    for (int s = 0; s < nops; s++) L->st[s][n] = L->st[s][k];
    n++;
  }
  int m = 0;
  for (int k = 0; k < n; k++) {
    bool is_red = axis >= 0 && k == n - 1;
    bool merge = m > 0 && !is_red;
    for (int s = 0; merge && s < nops; s++)
      merge = L->st[s][m - 1] == L->st[s][k] * L->dims[k];
    if (merge) {
      L->dims[m - 1] *= L->dims[k];
      for (int s = 0; s < nops; s++) L->st[s][m - 1] = L->st[s][k];
      continue;
    }
    L->dims[m] = L->dims[k];
    for (int s = 0; s < nops; s++) L->st[s][m] = L->st[s][k];
    m++;
  }
  if (m == 0) { /* 0-d, or every dim of size 1: one row of one element */
    L->dims[0] = 1;
    for (int s = 0; s < nops; s++) L->st[s][0] = 0;
    m = 1;
  }
  L->nd = m;
  return BUD_OK;
}

/* ---- VM scratch kept in the group ------------------------------------------------------------ */

static VmScratch *rt_scratch_take(Group *grp, int c) {
  if (c < GROUP_SCRATCH_SLOTS) {
    VmScratch *s = __atomic_exchange_n(&grp->scratch[c], NULL, __ATOMIC_ACQUIRE);
    if (s) return s;
  }
  return vm_scratch_new(&grp->plan);
}

static void rt_scratch_give(Group *grp, int c, VmScratch *s) {
  if (!s) return;
  VmScratch *none = NULL;
  if (c < GROUP_SCRATCH_SLOTS &&
      __atomic_compare_exchange_n(&grp->scratch[c], &none, s, false, __ATOMIC_RELEASE,
                                  __ATOMIC_RELAXED))
    return;
  vm_scratch_free(s); /* another run refilled the slot meanwhile */
}

static void rt_group_release(Group *grp);

static void rt_group_release(Group *grp) {
  if (grp->tiled) rt_group_release(grp->tiled);
  rt_kernel_release(grp);
  for (int c = 0; c < GROUP_SCRATCH_SLOTS; c++)
    vm_scratch_free(__atomic_exchange_n(&grp->scratch[c], NULL, __ATOMIC_ACQUIRE));
}

void rt_program_release(BudProgram *prog) {
  if (!prog || !prog->groups) return;
  for (int gi = 0; gi < prog->ngroups; gi++) {
    rt_group_release(&prog->groups[gi]);
    if (prog->groups[gi].epilogue) rt_group_release(prog->groups[gi].epilogue);
  }
}

void rt_threads_free(BudContext *ctx) {
  if (!ctx) return;
  rt_pool_free(ctx->pool);
  ctx->pool = NULL;
}

/* ---- chunks ---------------------------------------------------------------------------------- */

typedef struct FusedRun {
  BudContext *ctx;
  Group *grp;
  const Plan *p;
  const RowLoop *L;
  BudKernelFn fn;
  bool by_rows;        /* axis reduction: chunk c runs whole rows [bound[c], bound[c+1]) and
                          finishes each; else bounds are flat element indices (row * inner + k) */
  int64_t inner;
  const int64_t *bound; /* nchunks + 1 */
  RedAcc *acc;         /* per chunk, p->nreduces each */
  BudStatus *st;       /* per chunk */
  BudContext *shadow;  /* per chunk: where chunk c > 0 reports an error (chunk 0 uses ctx) */
} FusedRun;

/* Multi-index and operand offsets of outer row `row` (row-major over L->dims[0 .. nd-2]). */
static void rt_row_seek(const RowLoop *L, int64_t row, int64_t *idx, int64_t *off) {
  for (int s = 0; s < L->nops; s++) off[s] = 0;
  for (int k = L->nd - 2; k >= 0; k--) {
    idx[k] = row % L->dims[k];
    row /= L->dims[k];
    for (int s = 0; s < L->nops; s++) off[s] += idx[k] * L->st[s][k];
  }
}

/* Calls a machine-code kernel on [k, end) of a row. A kernel with non-temporal stores checks at
 * run time that its output is vector-aligned at element k and otherwise stores normally for the
 * whole call; NumPy's large arrays are only 16-byte aligned, so the first elements up to a
 * 64-byte boundary of the first output go in a call of their own and the rest streams. Not for
 * plans with reductions: a split moves their block boundaries, and the sum would then depend on
 * where the output happens to lie. */
static void rt_call_kernel(BudKernelFn fn, const Plan *p, const BudKArgs *args, int64_t k,
                           int64_t end) {
  if (p->sched.store == STORE_NONTEMPORAL && p->nreduces == 0)
    for (int s = 0; s < p->noperands; s++) {
      if (!p->operands[s].is_output) continue;
      int64_t z = dtype_size((BudDType)p->operands[s].dtype);
      if (args->stride[s] != z) break;
      uintptr_t addr = (uintptr_t)(args->ptr[s] + k * z);
      int64_t peel = addr % (uintptr_t)z ? 0 : (int64_t)((64 - addr % 64) % 64) / z;
      if (peel > 0 && peel < end - k) {
        fn(args, k, k + peel);
        k += peel;
      }
      break;
    }
  fn(args, k, end);
}

/* The next row: an odometer over the outer dims. */
static void rt_row_next(const RowLoop *L, int64_t *idx, int64_t *off) {
  for (int k = L->nd - 2; k >= 0; k--) {
    for (int s = 0; s < L->nops; s++) off[s] += L->st[s][k];
    if (++idx[k] < L->dims[k]) break;
    for (int s = 0; s < L->nops; s++) off[s] -= L->st[s][k] * L->dims[k];
    idx[k] = 0;
  }
}

static void rt_fused_chunk(void *arg, int c, int nchunks) {
  FusedRun *fr = arg;
  const Plan *p = fr->p;
  const RowLoop *L = fr->L;
  BudContext *cx = c == 0 ? fr->ctx : &fr->shadow[c];
  int64_t lo = fr->bound[c], hi = fr->bound[c + 1], inner = fr->inner;
  BUD_UNUSED(nchunks);
  fr->st[c] = BUD_OK;
  if (lo >= hi) return;
  VmScratch *scratch = NULL;
  if (!fr->fn && inner > 0 && !(scratch = rt_scratch_take(fr->grp, c))) {
    fr->st[c] = bud_fail(cx, BUD_ERR_NOMEM, "out of memory for VM block buffers");
    return;
  }
  BudKArgs args;
  args.acc = fr->acc ? fr->acc + (size_t)c * (size_t)p->nreduces : NULL;
  for (int s = 0; s < p->noperands; s++) args.stride[s] = L->st[s][L->nd - 1];
  int64_t idx[BUD_MAX_DIMS], off[RT_MAXOP];
  BudStatus st = BUD_OK;
  if (fr->by_rows) {
    rt_row_seek(L, lo, idx, off);
    for (int64_t row = lo; row < hi && st == BUD_OK; row++) {
      for (int s = 0; s < p->noperands; s++) args.ptr[s] = L->base[s] + off[s];
      for (int r = 0; r < p->nreduces; r++) vm_reduce_init(&p->reduces[r], &args.acc[r]);
      args.index_base = 0;
      if (inner > 0) {
        if (fr->fn) rt_call_kernel(fr->fn, p, &args, 0, inner);
        else st = vm_run_row(cx, p, scratch, &args, 0, inner);
      }
      for (int r = 0; r < p->nreduces && st == BUD_OK; r++)
        vm_reduce_finish(&p->reduces[r], &args.acc[r],
                         L->base[p->noperands + r] + off[p->noperands + r]);
      rt_row_next(L, idx, off);
    }
  } else {
    int64_t row = lo / inner, k = lo % inner;
    rt_row_seek(L, row, idx, off);
    for (int64_t f = lo; f < hi && st == BUD_OK;) {
      int64_t end = hi - f < inner - k ? k + (hi - f) : inner;
      for (int s = 0; s < p->noperands; s++) args.ptr[s] = L->base[s] + off[s];
      args.index_base = row * inner;
      if (fr->fn) rt_call_kernel(fr->fn, p, &args, k, end);
      else st = vm_run_row(cx, p, scratch, &args, k, end);
      f += end - k;
      k = 0;
      row++;
      if (f < hi) rt_row_next(L, idx, off);
    }
  }
  rt_scratch_give(fr->grp, c, scratch);
  fr->st[c] = st;
}

/* part c of n equal parts of [0, total), without overflow */
static int64_t rt_split(int64_t total, int c, int n) {
  return total / n * c + total % n * c / n;
}

/* Work of one element in bytes moved and op costs (see RT_PAR_MIN_BYTES), and the smallest
 * element size of any operand. */
static int64_t rt_elem_work(const Plan *p, const RowLoop *L, int *min_size) {
  int64_t w = 0;
  *min_size = 8;
  for (int s = 0; s < p->noperands; s++) {
    int sz = dtype_size((BudDType)p->operands[s].dtype);
    if (sz < *min_size) *min_size = sz;
    bool moves = false;
    for (int k = 0; k < L->nd; k++) moves = moves || L->st[s][k] != 0;
    if (moves) w += sz;
  }
  for (int i = 0; i < p->ninsts; i++)
    if (p->insts[i].kind == LK_OP)
      w += (op_info((Op)p->insts[i].op)->flags & F_TRANSC) ? RT_TRANSC_BYTES : RT_OP_BYTES;
  return w;
}

/* How many chunks to cut `units` into: each worth at least RT_PAR_MIN_BYTES of work (or
 * ctx->par_min_bytes) and at least min_units units, at most the context's thread count; serial
 * when the cost model advises one thread (Schedule.nthreads == 1), fewer chunks when it advises
 * fewer threads (both unless ctx->par_min_bytes overrides). */
static int rt_nchunks(BudContext *ctx, const Plan *p, int64_t elems, int64_t elem_work,
                      int64_t units, int64_t min_units) {
  if (ctx->nthreads <= 0) ctx->nthreads = rt_default_threads();
  if (ctx->nthreads <= 1 || units <= 1) return 1;
  int64_t work, min_bytes = ctx->par_min_bytes > 0 ? ctx->par_min_bytes : RT_PAR_MIN_BYTES;
  if (!size_mul_ok(elems, elem_work, &work)) work = INT64_MAX;
  int64_t n = 1 + work / min_bytes;
  if (ctx->par_min_bytes <= 0 && p->sched.nthreads > 0 && n > p->sched.nthreads)
    n = p->sched.nthreads;
  if (n > ctx->nthreads) n = ctx->nthreads;
  if (n > units / min_units) n = units / min_units;
  return n < 1 ? 1 : (int)n;
}

/* Flat chunk boundaries: whole rows when there are plenty, else multiples of q elements phased
 * so the first contiguous output starts each chunk on a 64-byte line. */
static void rt_flat_bounds(const Plan *p, const RowLoop *L, int64_t nrows, int64_t inner, int n,
                           int64_t q, int64_t *bound) {
  int64_t units = nrows * inner;
  bound[0] = 0;
  bound[n] = units;
  if (nrows >= 4 * (int64_t)n) {
    for (int c = 1; c < n; c++) bound[c] = rt_split(nrows, c, n) * inner;
    return;
  }
  int64_t phase = 0;
  for (int s = 0; s < p->noperands && nrows == 1; s++) {
    int sz = dtype_size((BudDType)p->operands[s].dtype);
    if (!p->operands[s].is_output || L->st[s][L->nd - 1] != sz) continue;
    uintptr_t mis = (uintptr_t)L->base[s] % RT_CHUNK_ALIGN;
    if (mis % (uintptr_t)sz == 0)
      phase = (int64_t)(((RT_CHUNK_ALIGN - mis) % RT_CHUNK_ALIGN) / (uintptr_t)sz);
    break;
  }
  for (int c = 1; c < n; c++) {
    int64_t t = rt_split(units, c, n);
    int64_t b = t <= phase ? phase : phase + (t - phase + q / 2) / q * q;
    if (b > units) b = units;
    if (b < bound[c - 1]) b = bound[c - 1];
    bound[c] = b;
  }
}

/* How a group runs inside a horizontal batch (rt_run_batch): on context cx (the caller's or a
 * lane's shadow), serially, with kernels fetched beforehand on the caller (the kernel cache is
 * the caller context's alone). NULL: a run of its own on rs->ctx. */
typedef struct FusedOpts {
  BudContext *cx;
  BudKernelFn fn, epi_fn;
} FusedOpts;

/* The iteration's axis (normalised; -1 for none or all) or an error. */
static BudStatus rt_fused_axis(BudContext *ctx, const Plan *p, int *axis_out) {
  int axis = p->reduce_axis;
  if (axis != PLAN_NO_REDUCE && axis != BUD_AXIS_ALL && axis < 0) axis += p->iter.ndim;
  if (axis != PLAN_NO_REDUCE && axis != BUD_AXIS_ALL && (axis < 0 || axis >= p->iter.ndim))
    return bud_fail(ctx, BUD_ERR_INTERNAL, "plan reduces axis %d of a %d-d iteration",
                    p->reduce_axis, p->iter.ndim);
  *axis_out = axis;
  return BUD_OK;
}

static BudStatus rt_fused_run(RunState *rs, Group *grp, const FusedOpts *o);

BudStatus rt_run_fused(RunState *rs, Group *grp) { return rt_fused_run(rs, grp, NULL); }

/* ---- column tiles (Schedule.tile_cols, plan_tile_reduce) ------------------------------------- */

typedef struct TiledRun {
  BudContext *ctx;
  Group *grp;               /* the group; grp->tiled runs */
  const Plan *p, *t;        /* the plan and its accumulate plan */
  int64_t R, C;
  char *base[RT_MAXOP];     /* plan operands, then reduction results */
  int64_t rst[RT_MAXOP], cst[RT_MAXOP]; /* byte strides along rows (axis 0) and columns */
  double *acc;              /* nreduces x C accumulators */
  BudKernelFn fn;
  const int64_t *bound;     /* column chunks, nchunks + 1 */
  BudStatus *st;
  BudContext *shadow;
} TiledRun;

static void rt_tiled_chunk(void *arg, int c, int nchunks) {
  TiledRun *tr = arg;
  const Plan *p = tr->p, *t = tr->t;
  BudContext *cx = c == 0 ? tr->ctx : &tr->shadow[c];
  int64_t lo = tr->bound[c], hi = tr->bound[c + 1], tile = p->sched.tile_cols;
  BUD_UNUSED(nchunks);
  tr->st[c] = BUD_OK;
  if (lo >= hi) return;
  VmScratch *scratch = NULL;
  if (!tr->fn && !(scratch = rt_scratch_take(tr->grp->tiled, c))) {
    tr->st[c] = bud_fail(cx, BUD_ERR_NOMEM, "out of memory for VM block buffers");
    return;
  }
  int np = p->noperands;
  BudKArgs args;
  args.acc = NULL;
  args.index_base = 0;
  for (int s = 0; s < np; s++) args.stride[s] = tr->cst[s];
  for (int r = 0; r < p->nreduces; r++) args.stride[np + 2 * r] = args.stride[np + 2 * r + 1] = 8;
  BudStatus st = BUD_OK;
  for (int64_t j0 = lo; j0 < hi && st == BUD_OK; j0 += tile) {
    int64_t jn = hi - j0 < tile ? hi - j0 : tile;
    for (int r = 0; r < p->nreduces; r++) {
      double *a = tr->acc + r * tr->C + j0;
      memset(a, 0, sizeof *a * (size_t)jn);
      args.ptr[np + 2 * r] = args.ptr[np + 2 * r + 1] = (char *)a;
    }
    for (int64_t i = 0; i < tr->R && st == BUD_OK; i++) {
      for (int s = 0; s < np; s++) args.ptr[s] = tr->base[s] + i * tr->rst[s] + j0 * tr->cst[s];
      if (tr->fn) tr->fn(&args, 0, jn);
      else st = vm_run_row(cx, t, scratch, &args, 0, jn);
    }
    for (int r = 0; r < p->nreduces && st == BUD_OK; r++) {
      const PlanReduce *red = &p->reduces[r];
      const double *a = tr->acc + r * tr->C + j0;
      char *out = tr->base[np + r] + j0 * tr->cst[np + r];
      for (int64_t j = 0; j < jn; j++, out += tr->cst[np + r]) {
        double v = red->op == OP_mean ? a[j] / (double)tr->R : a[j];
        if (red->out_dtype == BUD_FLOAT32) {
          float f = (float)v;
          memcpy(out, &f, sizeof f);
        } else {
          memcpy(out, &v, sizeof v);
        }
      }
    }
  }
  rt_scratch_give(tr->grp->tiled, c, scratch);
  tr->st[c] = st;
}

/* The group's axis-0 reduction as row-by-row accumulation over column tiles, when every operand
 * walks its columns contiguously (or is broadcast along them). *done false: not applicable to
 * these layouts (the plain schedule runs). */
static BudStatus rt_run_tiled(RunState *rs, Group *grp, bool *done) {
  BudContext *ctx = rs->ctx;
  const Plan *p = &grp->plan;
  TiledRun tr;
  memset(&tr, 0, sizeof tr);
  *done = false;
  tr.R = p->iter.dim[0];
  tr.C = p->iter.dim[1];
  int np = p->noperands;
  RowLoop L; /* for rt_elem_work: the two dims as they are */
  L.nd = 2;
  L.dims[0] = tr.R;
  L.dims[1] = tr.C;
  L.nops = np;
  for (int s = 0; s < np + p->nreduces; s++) {
    const View *v;
    int64_t full[2];
    if (s < np) {
      v = &rs->views[p->operands[s].buffer];
      for (int d = 0; d < 2; d++) {
        int od = d - (2 - v->ndim);
        full[d] = od < 0 || v->shape[od] == 1 ? 0 : v->strides[od];
      }
      int z = dtype_size((BudDType)p->operands[s].dtype);
      if (full[1] != 0 && full[1] != z) return BUD_OK; /* not contiguous along the columns */
      L.st[s][0] = full[0];
      L.st[s][1] = full[1];
    } else {
      v = &rs->views[p->reduces[s - np].buffer];
      if (v->ndim != 1) return BUD_OK;
      full[0] = 0;
      full[1] = v->strides[0];
    }
    tr.base[s] = v->data;
    tr.rst[s] = full[0];
    tr.cst[s] = full[1];
  }
  *done = true;
  if (tr.C == 0) return BUD_OK;
  int64_t inner_st[RT_MAXOP];
  for (int s = 0; s < np; s++) inner_st[s] = tr.cst[s];
  for (int k = np; k < grp->tiled->plan.noperands; k++) inner_st[k] = 8;
  tr.ctx = ctx;
  tr.grp = grp;
  tr.p = p;
  tr.t = &grp->tiled->plan;
  tr.fn = rt_group_kernel(ctx, grp->tiled, inner_st);
  int min_size;
  int64_t elem_work = rt_elem_work(p, &L, &min_size);
  int n = rt_nchunks(ctx, p, tr.R * tr.C, elem_work, tr.C, 64);
  int64_t bound[RT_MAX_THREADS + 1];
  BudStatus chunk_st[RT_MAX_THREADS];
  for (int c = 0; c <= n; c++) bound[c] = rt_split(tr.C / 16, c, n) * 16; /* whole lines */
  bound[n] = tr.C;
  tr.bound = bound;
  tr.st = chunk_st;
  tr.acc = malloc(sizeof *tr.acc * (size_t)tr.C * (size_t)p->nreduces);
  if (!tr.acc) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory for column accumulators");
  if (n > 1 && !(tr.shadow = calloc((size_t)n, sizeof *tr.shadow))) {
    free(tr.acc);
    return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory starting threads");
  }
  if (n == 1) {
    rt_tiled_chunk(&tr, 0, 1);
  } else {
    if (!ctx->pool) ctx->pool = rt_pool_new(ctx->nthreads);
    if (ctx->pool && rt_pool_size(ctx->pool) >= n) {
      if (rt_pool_run(ctx->pool, n, rt_tiled_chunk, &tr) != BUD_OK) ctx->stats.serial_fallbacks++;
    } else {
      for (int c = 0; c < n; c++) rt_tiled_chunk(&tr, c, n);
      ctx->stats.serial_fallbacks++;
    }
  }
  BudStatus st = BUD_OK;
  for (int c = 0; c < n && st == BUD_OK; c++)
    if (chunk_st[c] != BUD_OK)
      st = c == 0 ? chunk_st[0] : bud_fail(ctx, chunk_st[c], "%s", tr.shadow[c].errmsg);
  if (!tr.fn && tr.R > 0) ctx->stats.kernels_vm++;
  free(tr.acc);
  free(tr.shadow);
  return st;
}

static BudStatus rt_fused_run(RunState *rs, Group *grp, const FusedOpts *o) {
  BudContext *ctx = o ? o->cx : rs->ctx;
  const Plan *p = &grp->plan;
  if (grp->tiled && !o) { /* batches never hold tiled groups (program.c) */
    bool done;
    BudStatus tst = rt_run_tiled(rs, grp, &done);
    if (tst != BUD_OK || done) {
      if (tst == BUD_OK && grp->epilogue) tst = rt_fused_run(rs, grp->epilogue, NULL);
      return tst;
    }
  }
  int axis;
  BudStatus st = rt_fused_axis(ctx, p, &axis);
  if (st != BUD_OK) return st;
  int ax = axis >= 0 ? axis : -1;
  int64_t total = 1, outer = 1; /* elements iterated; result elements of an axis reduction */
  for (int d = 0; d < p->iter.ndim; d++) {
    total *= p->iter.dim[d];
    if (d != ax) outer *= p->iter.dim[d];
  }
  bool empty_reduction = (axis == BUD_AXIS_ALL && total == 0) ||
                         (ax >= 0 && p->iter.dim[ax] == 0 && outer > 0);
  for (int r = 0; empty_reduction && r < p->nreduces; r++) {
    Op op = (Op)p->reduces[r].op;
    if (op == OP_argmin || op == OP_argmax)
      return bud_fail(ctx, BUD_ERR_VALUE, "attempt to get %s of an empty sequence",
                      op_info(op)->name);
    if (op == OP_min || op == OP_max)
      return bud_fail(ctx, BUD_ERR_VALUE,
                      "zero-size array to reduction operation %s which has no identity",
                      rt_reduce_name(op));
  }
  RowLoop L;
  if ((st = rt_row_loop(ctx, rs, p, ax, &L)) != BUD_OK) return st;
  int64_t inner = L.dims[L.nd - 1], nrows = 1;
  for (int k = 0; k < L.nd - 1; k++) nrows *= L.dims[k];
  if (ax < 0 && total == 0) nrows = 0; /* element-wise or full reduction of nothing */

  int64_t inner_st[RT_MAXOP];
  for (int s = 0; s < p->noperands; s++) inner_st[s] = L.st[s][L.nd - 1];
  BudKernelFn fn = o ? o->fn : rt_group_kernel(ctx, grp, inner_st);

  /* An axis reduction with several result rows splits by rows; anything else by flat ranges,
   * reductions then finishing once after their partials are combined. */
  bool by_rows = ax >= 0 && nrows != 1;
  bool finish_after = p->nreduces > 0 && !by_rows;
  int min_size;
  int64_t elem_work = rt_elem_work(p, &L, &min_size);
  int64_t q = RT_CHUNK_ALIGN / min_size;
  int64_t units = by_rows ? nrows : nrows * inner;
  int n = o ? 1 : rt_nchunks(ctx, p, nrows * inner, elem_work, units, by_rows ? 1 : q);

  int64_t bound[RT_MAX_THREADS + 1];
  BudStatus chunk_st[RT_MAX_THREADS];
  if (by_rows) {
    for (int c = 0; c <= n; c++) bound[c] = rt_split(nrows, c, n);
  } else {
    rt_flat_bounds(p, &L, nrows, inner, n, q, bound);
  }
  RedAcc acc_s[RT_SMALL_ACC], *acc = NULL;
  size_t nacc = (size_t)n * (size_t)p->nreduces;
  if (nacc > 0) {
    acc = nacc <= RT_SMALL_ACC ? acc_s : calloc(nacc, sizeof *acc);
    if (!acc) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory for reduction state");
    for (int c = 0; c < n; c++)
      for (int r = 0; r < p->nreduces; r++)
        vm_reduce_init(&p->reduces[r], &acc[(size_t)c * (size_t)p->nreduces + (size_t)r]);
  }
  BudContext *shadow = NULL;
  if (n > 1 && !(shadow = calloc((size_t)n, sizeof *shadow))) {
    if (acc != acc_s) free(acc);
    return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory starting threads");
  }
  FusedRun fr = {ctx, grp, p, &L, fn, by_rows, inner, bound, acc, chunk_st, shadow};
  if (n == 1) {
    rt_fused_chunk(&fr, 0, 1);
  } else {
    if (!ctx->pool) ctx->pool = rt_pool_new(ctx->nthreads);
    /* Without threads every chunk runs here: the same chunks, so the same results, counted. */
    if (ctx->pool && rt_pool_size(ctx->pool) >= n) {
      if (rt_pool_run(ctx->pool, n, rt_fused_chunk, &fr) != BUD_OK) ctx->stats.serial_fallbacks++;
    } else {
      for (int c = 0; c < n; c++) rt_fused_chunk(&fr, c, n);
      ctx->stats.serial_fallbacks++;
    }
  }
  /* the first error in chunk order; chunk c > 0 left its message in shadow[c] */
  for (int c = 0; c < n && st == BUD_OK; c++) {
    if (chunk_st[c] == BUD_OK) continue;
    st = c == 0 ? chunk_st[0] : bud_fail(ctx, chunk_st[c], "%s", shadow[c].errmsg);
  }
  if (st == BUD_OK && finish_after) {
    for (int r = 0; r < p->nreduces; r++) {
      for (int c = 1; c < n; c++)
        vm_reduce_combine(&p->reduces[r], &acc[r],
                          &acc[(size_t)c * (size_t)p->nreduces + (size_t)r]);
      vm_reduce_finish(&p->reduces[r], &acc[r], L.base[p->noperands + r]);
    }
  }
  if (!fn && nrows > 0) ctx->stats.kernels_vm++;
  if (acc != acc_s) free(acc);
  free(shadow);
  /* the reduction epilogue: its plan reads the results just written */
  if (st == BUD_OK && grp->epilogue) {
    FusedOpts eo = {ctx, o ? o->epi_fn : NULL, NULL};
    st = rt_fused_run(rs, grp->epilogue, o ? &eo : NULL);
  }
  return st;
}

/* ---- horizontal batches ---------------------------------------------------------------------- */

/* The kernel of grp for this run's layouts, fetched on the caller (NULL: the VM). */
static BudStatus rt_fused_kernel_of(RunState *rs, Group *grp, BudKernelFn *fn) {
  const Plan *p = &grp->plan;
  int axis;
  RowLoop L;
  BudStatus st = rt_fused_axis(rs->ctx, p, &axis);
  if (st == BUD_OK) st = rt_row_loop(rs->ctx, rs, p, axis >= 0 ? axis : -1, &L);
  if (st != BUD_OK) return st;
  int64_t inner_st[RT_MAXOP];
  for (int s = 0; s < p->noperands; s++) inner_st[s] = L.st[s][L.nd - 1];
  *fn = rt_group_kernel(rs->ctx, grp, inner_st);
  return BUD_OK;
}

typedef struct BatchRun {
  RunState *rs;
  Group *groups; /* the batch's members */
  int count;
  const int *lane;           /* per member */
  const BudKernelFn *fn, *epi_fn;
  BudStatus *st;             /* per member */
  BudContext *shadow;        /* per lane: lane c > 0 runs on shadow[c] */
} BatchRun;

static void rt_batch_lane(void *arg, int c, int nlanes) {
  BatchRun *br = arg;
  BUD_UNUSED(nlanes);
  BudContext *cx = c == 0 ? br->rs->ctx : &br->shadow[c];
  for (int h = 0; h < br->count; h++) {
    if (br->lane[h] != c) continue;
    FusedOpts o = {cx, br->fn[h], br->epi_fn[h]};
    br->st[h] = rt_fused_run(br->rs, &br->groups[h], &o);
    if (br->st[h] != BUD_OK) break; /* this lane's later members do not run */
  }
}

BudStatus rt_run_batch(RunState *rs, Group *groups, int count) {
  BudContext *ctx = rs->ctx;
  if (ctx->nthreads <= 0) ctx->nthreads = rt_default_threads();
  /* the cost model's choice; the test knob par_min_bytes forces the parallel job */
  int k = ctx->par_min_bytes > 0 ? count : groups[0].batch_threads;
  bool forced = ctx->par_min_bytes > 0 && groups[0].batch_threads <= 1;
  if (k > ctx->nthreads) k = ctx->nthreads;
  if (k > PLAN_MAX_BATCH) k = PLAN_MAX_BATCH;
  BudStatus st = BUD_OK;
  if (k <= 1 || count < 2 || count > PLAN_MAX_BATCH) {
    for (int h = 0; h < count && st == BUD_OK; h++) st = rt_fused_run(rs, &groups[h], NULL);
    return st;
  }
  int lane[PLAN_MAX_BATCH];
  BudKernelFn fn[PLAN_MAX_BATCH], epi_fn[PLAN_MAX_BATCH];
  BudStatus mst[PLAN_MAX_BATCH];
  for (int h = 0; h < count && st == BUD_OK; h++) {
    lane[h] = forced ? h % k : groups[h].batch_lane % k;
    mst[h] = BUD_OK;
    epi_fn[h] = NULL;
    st = rt_fused_kernel_of(rs, &groups[h], &fn[h]);
    if (st == BUD_OK && groups[h].epilogue)
      st = rt_fused_kernel_of(rs, groups[h].epilogue, &epi_fn[h]);
  }
  if (st != BUD_OK) return st;
  BudContext *shadow = calloc((size_t)k, sizeof *shadow);
  if (!shadow) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory starting threads");
  BatchRun br = {rs, groups, count, lane, fn, epi_fn, mst, shadow};
  if (!ctx->pool) ctx->pool = rt_pool_new(ctx->nthreads);
  if (ctx->pool && rt_pool_size(ctx->pool) >= k) {
    if (rt_pool_run(ctx->pool, k, rt_batch_lane, &br) != BUD_OK) ctx->stats.serial_fallbacks++;
  } else {
    for (int c = 0; c < k; c++) rt_batch_lane(&br, c, k);
    ctx->stats.serial_fallbacks++;
  }
  ctx->stats.parallel_batches++;
  for (int c = 1; c < k; c++) ctx->stats.kernels_vm += shadow[c].stats.kernels_vm;
  /* the first error in group order (a lane stops at its first: later members may not have run,
   * and the run fails anyway) */
  for (int h = 0; h < count && st == BUD_OK; h++)
    if (mst[h] != BUD_OK)
      st = lane[h] == 0 ? mst[h] : bud_fail(ctx, mst[h], "%s", shadow[lane[h]].errmsg);
  free(shadow);
  return st;
}
