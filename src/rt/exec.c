/* exec.c — the executor: rt_run_program checks the arrays against the program, allocates the
 * outputs the caller left empty and the temporaries, copies any input that an output overlaps
 * (results are as if inputs were copied first), then runs each group in order:
 *   GROUP_FUSED  the plan over its iteration shape in chunks on the context's threads
 *                (exec_fused.c).
 *   GROUP_DOT    1-D float dots: the vector kernel of exec_dot.c; else a reference
 *                dot/matmul in C (1-D and 2-D operands, any strides).
 *   GROUP_COPY   an output that is an input, an earlier output or a constant.
 * Nothing proportional to the array size is allocated except caller-requested outputs,
 * temporaries between groups and alias copies; a run of a small program allocates nothing else
 * either (its bookkeeping lives on the stack, the VM's block buffers are kept by the program).
 */
#include "rt/exec_fast.h"
#include "rt/exec_int.h"
#include "vm/vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rt_view_of(View *v, const BudArray *a) {
  v->data = a->data;
  v->dtype = a->dtype;
  v->ndim = a->ndim;
  for (int d = 0; d < a->ndim; d++) {
    v->shape[d] = a->shape[d];
    v->strides[d] = a->strides[d];
  }
}

static void rt_format_array(char *buf, size_t n, BudDType dt, int ndim, const int64_t *dims) {
  Shape s;
  s.ndim = ndim;
  for (int d = 0; d < ndim && d < BUD_MAX_DIMS; d++) s.dim[d] = dims[d];
  char shp[200];
  shape_format(&s, shp, sizeof shp);
  snprintf(buf, n, "%s %s", dtype_valid(dt) ? dtype_info(dt)->name : "(invalid dtype)", shp);
}

/* BUD_ERR_DTYPE / BUD_ERR_SHAPE unless array a has dtype dt and shape s. */
static BudStatus rt_check_array(BudContext *ctx, const char *what, const char *name,
                                const BudArray *a, BudDType dt, const Shape *s) {
  if (a->ndim < 0 || a->ndim > BUD_MAX_DIMS)
    return bud_fail(ctx, BUD_ERR_INVALID, "%s '%s': ndim %d is not in [0, %d]", what, name,
                    a->ndim, BUD_MAX_DIMS);
  bool same = a->ndim == s->ndim;
  for (int d = 0; same && d < s->ndim; d++) same = a->shape[d] == s->dim[d];
  if (a->dtype == dt && same) return BUD_OK;
  char want[256], got[256];
  rt_format_array(want, sizeof want, dt, s->ndim, s->dim);
  rt_format_array(got, sizeof got, a->dtype, a->ndim, a->shape);
  return bud_fail(ctx, a->dtype != dt ? BUD_ERR_DTYPE : BUD_ERR_SHAPE,
                  "%s '%s': expected %s, got %s", what, name, want, got);
}

/* The byte range [lo, hi) a view touches; empty for zero-size views. */
static bool rt_view_range(const View *v, uintptr_t *lo, uintptr_t *hi) {
  if (rt_view_size(v) == 0) return false;
  intptr_t a = 0, b = 0;
  for (int d = 0; d < v->ndim; d++) {
    intptr_t ext = (intptr_t)((v->shape[d] - 1) * v->strides[d]);
    if (ext < 0) a += ext;
    else b += ext;
  }
  *lo = (uintptr_t)v->data + (uintptr_t)a;
  *hi = (uintptr_t)v->data + (uintptr_t)b + (uintptr_t)dtype_size(v->dtype);
  return true;
}

static bool rt_views_overlap(const View *x, const View *y) {
  uintptr_t xl, xh, yl, yh;
  if (!rt_view_range(x, &xl, &xh) || !rt_view_range(y, &yl, &yh)) return false;
  return xl < yh && yl < xh;
}

static bool rt_same_view(const View *x, const View *y) {
  if (x->data != y->data || x->ndim != y->ndim || x->dtype != y->dtype) return false;
  for (int d = 0; d < x->ndim; d++)
    if (x->shape[d] != y->shape[d] || (x->shape[d] > 1 && x->strides[d] != y->strides[d]))
      return false;
  return true;
}

/* ---- element copies over any strides --------------------------------------------------------- */

/* dst = src element by element (same shape and dtype); src == NULL fills with the element at
 * fill. */
static void rt_copy_view(const View *dst, const View *src, const void *fill) {
  int64_t n = rt_view_size(dst);
  if (n == 0) return;
  int sz = dtype_size(dst->dtype), nd = dst->ndim;
  int64_t idx[BUD_MAX_DIMS] = {0};
  char *pd = dst->data;
  const char *ps = src ? src->data : fill;
  for (int64_t e = 0; e < n; e++) {
    if (pd != ps) memcpy(pd, ps, (size_t)sz);
    for (int d = nd - 1; d >= 0; d--) {
      pd += dst->strides[d];
      if (src) ps += src->strides[d];
      if (++idx[d] < dst->shape[d]) break;
      pd -= dst->strides[d] * dst->shape[d];
      if (src) ps -= src->strides[d] * src->shape[d];
      idx[d] = 0;
    }
  }
}

/* A C-contiguous, 64-byte aligned allocation for n elements of dt (at least 64 bytes). */
static void *rt_alloc_elems(BudContext *ctx, BudDType dt, const Shape *s, BudStatus *st) {
  int64_t n, bytes;
  if (!shape_size(s, &n) || !size_mul_ok(n, dtype_size(dt), &bytes)) {
    *st = bud_fail(ctx, BUD_ERR_OVERFLOW, "array of %s elements is too large",
                   dtype_info(dt)->name);
    return NULL;
  }
  void *p = bud_aligned_alloc((size_t)bytes);
  if (!p) *st = bud_fail(ctx, BUD_ERR_NOMEM, "out of memory allocating %lld bytes",
                         (long long)bytes);
  return p;
}

static void rt_contig_strides(View *v) {
  int64_t s = dtype_size(v->dtype);
  for (int d = v->ndim - 1; d >= 0; d--) {
    v->strides[d] = s;
    s *= v->shape[d] ? v->shape[d] : 1;
  }
}

/* ---- GROUP_DOT ------------------------------------------------------------------------------- */

/* out[i][j] = sum_k a[i][k] * b[k][j] over operands viewed as 2-D (a 1-D operand is a row of a
 * or a column of b). Floats accumulate in double in k order (float32 rounded once at the end:
 * at least as accurate as NumPy's loops); integers wrap in 64 bits; bool is or-of-ands. */
#define DOT_LOOP(T, ACC, ZERO, STEP, FINAL)                                                       \
  for (int64_t i = 0; i < n; i++)                                                                 \
    for (int64_t j = 0; j < mm; j++) {                                                            \
      ACC s_ = ZERO;                                                                              \
      const char *pa = A + i * sa0, *pb = B + j * sb1;                                            \
      for (int64_t k = 0; k < kk; k++) {                                                          \
        T x, y;                                                                                   \
        memcpy(&x, pa + k * sa1, sizeof x);                                                       \
        memcpy(&y, pb + k * sb0, sizeof y);                                                       \
        STEP;                                                                                     \
      }                                                                                           \
      T r_ = (T)(FINAL);                                                                          \
      memcpy(O + i * so0 + j * so1, &r_, sizeof r_);                                              \
    }

static BudStatus rt_run_dot(RunState *rs, const Group *grp) {
  const View *a = &rs->views[grp->in_buf[0]], *b = &rs->views[grp->in_buf[1]];
  const View *o = &rs->views[grp->out_buf];
  /* 1-D float dots: the vector kernel (exec_dot.c), threaded when large */
  if (a->ndim == 1 && rt_dot_vec(rs->ctx, a, b, o,
                                 rt_dot_nchunks(rs->ctx, a->shape[0], dtype_size(a->dtype))))
    return BUD_OK;
  if (a->ndim < 1 || a->ndim > 2 || b->ndim < 1 || b->ndim > 2)
    return bud_fail(rs->ctx, BUD_ERR_UNSUPPORTED, "dot/matmul of %d-d and %d-d operands",
                    a->ndim, b->ndim);
  if (a->dtype != o->dtype || b->dtype != o->dtype)
    return bud_fail(rs->ctx, BUD_ERR_INTERNAL, "dot operands and result differ in dtype");
  int64_t n = a->ndim == 2 ? a->shape[0] : 1, kk = a->shape[a->ndim - 1];
  int64_t sa0 = a->ndim == 2 ? a->strides[0] : 0, sa1 = a->strides[a->ndim - 1];
  int64_t kb = b->shape[0], mm = b->ndim == 2 ? b->shape[1] : 1;
  int64_t sb0 = b->strides[0], sb1 = b->ndim == 2 ? b->strides[1] : 0;
  if (kb != kk) return bud_fail(rs->ctx, BUD_ERR_INTERNAL, "dot: inner dimensions differ");
  int64_t so0 = 0, so1 = 0;
  if (a->ndim == 2 && b->ndim == 2) so0 = o->strides[0], so1 = o->strides[1];
  else if (a->ndim == 2) so0 = o->strides[0];
  else if (b->ndim == 2) so1 = o->strides[0];
  const char *A = a->data, *B = b->data;
  char *O = o->data;
  switch (o->dtype) {
  case BUD_BOOL: DOT_LOOP(uint8_t, int, 0, s_ |= (x && y), s_); break;
  case BUD_INT8: DOT_LOOP(int8_t, uint64_t, 0, s_ += (uint64_t)x * (uint64_t)y, s_); break;
  case BUD_INT16: DOT_LOOP(int16_t, uint64_t, 0, s_ += (uint64_t)x * (uint64_t)y, s_); break;
  case BUD_INT32: DOT_LOOP(int32_t, uint64_t, 0, s_ += (uint64_t)x * (uint64_t)y, s_); break;
  case BUD_INT64: DOT_LOOP(int64_t, uint64_t, 0, s_ += (uint64_t)x * (uint64_t)y, s_); break;
  case BUD_UINT8: DOT_LOOP(uint8_t, uint64_t, 0, s_ += (uint64_t)x * y, s_); break;
  case BUD_UINT16: DOT_LOOP(uint16_t, uint64_t, 0, s_ += (uint64_t)x * y, s_); break;
  case BUD_UINT32: DOT_LOOP(uint32_t, uint64_t, 0, s_ += (uint64_t)x * y, s_); break;
  case BUD_UINT64: DOT_LOOP(uint64_t, uint64_t, 0, s_ += x * y, s_); break;
  case BUD_FLOAT32: DOT_LOOP(float, double, 0.0, s_ += (double)x * (double)y, s_); break;
  case BUD_FLOAT64: DOT_LOOP(double, double, 0.0, s_ += x * y, s_); break;
  default: return bud_fail(rs->ctx, BUD_ERR_INTERNAL, "dot: dtype");
  }
  return BUD_OK;
}

/* ---- GROUP_COPY ------------------------------------------------------------------------------ */

static BudStatus rt_run_copy(RunState *rs, const Group *grp) {
  const View *o = &rs->views[grp->out_buf];
  if (grp->in_buf[0] >= 0) {
    const View *src = &rs->views[grp->in_buf[0]];
    if (src->dtype != o->dtype || src->ndim != o->ndim)
      return bud_fail(rs->ctx, BUD_ERR_INTERNAL, "copy group: source and output differ");
    rt_copy_view(o, src, NULL);
    return BUD_OK;
  }
  const IrGraph *g = rs->prog->graph;
  if (!g || grp->node < 0 || grp->node >= g->nnodes || !g->nodes[grp->node].has_value)
    return bud_fail(rs->ctx, BUD_ERR_INTERNAL, "copy group: no constant to fill with");
  const IrNode *nd = &g->nodes[grp->node];
  _Alignas(8) unsigned char elem[8];
  scalar_store(nd->dtype, elem, nd->value);
  if (nd->dtype != o->dtype) {
    _Alignas(8) unsigned char conv[8];
    const void *in[1] = {elem};
    BudDType dts[1] = {nd->dtype};
    BudStatus st = vm_elementwise(rs->ctx, OP_cast, o->dtype, 1, dts, conv, in, 1);
    if (st != BUD_OK) return st;
    memcpy(elem, conv, sizeof elem);
  }
  rt_copy_view(o, NULL, elem);
  return BUD_OK;
}

/* ---- aliasing -------------------------------------------------------------------------------- */

/* Whether output buffer ob may be the very same view as input buffer ib without a copy: the only
 * group that reads ib is the fused or copy group that writes ob, element by element at the same
 * positions (a fused group reads each element's operands before storing that element). */
static bool rt_alias_safe(const BudProgram *prog, int32_t ib, int32_t ob) {
  int readers = 0;
  bool writer_reads = false;
  for (int gi = 0; gi < prog->ngroups; gi++) {
    const Group *g = &prog->groups[gi];
    bool reads = false, writes = false;
    if (g->kind == GROUP_FUSED) {
      for (const Group *h = g; h; h = h == g ? g->epilogue : NULL) /* the epilogue too */
        for (int s = 0; s < h->plan.noperands; s++) {
          const PlanOperand *po = &h->plan.operands[s];
          if (po->buffer == ib && !po->is_output) reads = true;
          if (po->buffer == ob && po->is_output) writes = true;
        }
    } else {
      reads = g->in_buf[0] == ib || g->in_buf[1] == ib;
      writes = g->kind == GROUP_COPY && g->out_buf == ob;
    }
    if (reads) {
      readers++;
      if (writes) writer_reads = true;
    }
  }
  return readers == 1 && writer_reads;
}

/* ---- the program ----------------------------------------------------------------------------- */

static void rt_cleanup(RunState *rs, BudArray *outputs, const bool *allocated, bool failed) {
  BudProgram *prog = rs->prog;
  if (rs->temps)
    for (int t = 0; t < prog->ntemps; t++) bud_aligned_free(rs->temps[t]);
  if (rs->copies)
    for (int i = 0; i < prog->ninputs; i++) bud_aligned_free(rs->copies[i]);
  if (failed && allocated)
    for (int o = 0; o < prog->noutputs; o++)
      if (allocated[o]) {
        bud_aligned_free(outputs[o].owner);
        outputs[o].owner = NULL;
        outputs[o].data = NULL;
      }
}

static BudStatus rt_prepare(RunState *rs, const BudArray *inputs, BudArray *outputs,
                            bool *allocated) {
  BudContext *ctx = rs->ctx;
  BudProgram *prog = rs->prog;
  BudStatus st;
  for (int i = 0; i < prog->ninputs; i++) {
    const BudArray *a = &inputs[i];
    if ((st = rt_check_array(ctx, "input", prog->input_names[i], a, prog->input_dtypes[i],
                             &prog->input_shapes[i])))
      return st;
    if (!a->data && rt_shape_size(a->ndim, a->shape) > 0)
      return bud_fail(ctx, BUD_ERR_INVALID, "input '%s': data is NULL", prog->input_names[i]);
  }
  for (int o = 0; o < prog->noutputs; o++) {
    const Buffer *b = &prog->buffers[prog->output_buf[o]];
    BudArray *a = &outputs[o];
    if (a->data) {
      if ((st = rt_check_array(ctx, "output", prog->output_names[o], a, (BudDType)b->dtype,
                               &b->shape)))
        return st;
      continue;
    }
    void *mem = rt_alloc_elems(ctx, (BudDType)b->dtype, &b->shape, &st);
    if (!mem) return st;
    memset(a, 0, sizeof *a);
    a->data = mem;
    a->owner = mem;
    a->dtype = (BudDType)b->dtype;
    a->ndim = b->shape.ndim;
    View v;
    v.dtype = a->dtype;
    v.ndim = a->ndim;
    for (int d = 0; d < a->ndim; d++) v.shape[d] = a->shape[d] = b->shape.dim[d];
    rt_contig_strides(&v);
    for (int d = 0; d < a->ndim; d++) a->strides[d] = v.strides[d];
    allocated[o] = true;
  }
  /* views of every buffer: inputs, outputs, temps */
  for (int bi = 0; bi < prog->nbuffers; bi++) {
    const Buffer *b = &prog->buffers[bi];
    View *v = &rs->views[bi];
    if (b->kind == BUF_INPUT) rt_view_of(v, &inputs[b->index]);
    else if (b->kind == BUF_OUTPUT) rt_view_of(v, &outputs[b->index]);
  }
  /* outputs must not overlap each other; an input an output overlaps is copied first */
  for (int o = 0; o < prog->noutputs; o++) {
    const View *vo = &rs->views[prog->output_buf[o]];
    for (int o2 = 0; o2 < o; o2++)
      if (rt_views_overlap(vo, &rs->views[prog->output_buf[o2]]))
        return bud_fail(ctx, BUD_ERR_INVALID, "outputs '%s' and '%s' overlap in memory",
                        prog->output_names[o2], prog->output_names[o]);
  }
  for (int bi = 0; bi < prog->nbuffers; bi++) {
    const Buffer *b = &prog->buffers[bi];
    if (b->kind != BUF_INPUT) continue;
    View *vi = &rs->views[bi];
    bool copy = false;
    for (int o = 0; o < prog->noutputs && !copy; o++) {
      int32_t ob = prog->output_buf[o];
      const View *vo = &rs->views[ob];
      if (!rt_views_overlap(vi, vo)) continue;
      copy = !(rt_same_view(vi, vo) && rt_alias_safe(prog, bi, ob));
    }
    if (!copy || rs->copies[b->index]) continue;
    Shape s;
    s.ndim = vi->ndim;
    for (int d = 0; d < vi->ndim; d++) s.dim[d] = vi->shape[d];
    void *mem = rt_alloc_elems(ctx, vi->dtype, &s, &st);
    if (!mem) return st;
    rs->copies[b->index] = mem;
    View c = *vi;
    c.data = mem;
    rt_contig_strides(&c);
    rt_copy_view(&c, vi, NULL);
    *vi = c;
  }
  /* temps: one allocation per slot, as large as the largest buffer using it */
  for (int t = 0; t < prog->ntemps; t++) {
    int64_t need = 0;
    for (int bi = 0; bi < prog->nbuffers; bi++) {
      const Buffer *b = &prog->buffers[bi];
      int64_t n, bytes;
      if (b->kind != BUF_TEMP || b->index != t) continue;
      if (!shape_size(&b->shape, &n) || !size_mul_ok(n, dtype_size((BudDType)b->dtype), &bytes))
        return bud_fail(ctx, BUD_ERR_OVERFLOW, "a temporary array is too large");
      if (bytes > need) need = bytes;
    }
    rs->temps[t] = bud_aligned_alloc((size_t)need);
    if (!rs->temps[t])
      return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory allocating a %lld-byte temporary",
                      (long long)need);
  }
  for (int bi = 0; bi < prog->nbuffers; bi++) {
    const Buffer *b = &prog->buffers[bi];
    if (b->kind != BUF_TEMP) continue;
    View *v = &rs->views[bi];
    v->data = rs->temps[b->index];
    v->dtype = (BudDType)b->dtype;
    v->ndim = b->shape.ndim;
    for (int d = 0; d < v->ndim; d++) v->shape[d] = b->shape.dim[d];
    rt_contig_strides(v);
  }
  return BUD_OK;
}

/* Bookkeeping of a run on the stack when the program is this small (else on the heap). */
enum { RT_SMALL_BUFS = 16, RT_SMALL_SLOTS = 16 };

/* n zeroed elements of size sz: small (with room for `room`) when n fits, else calloc'd. */
static void *rt_book(void *small, int room, int n, size_t sz) {
  if (n <= room) {
    memset(small, 0, (size_t)(n > 0 ? n : 1) * sz);
    return small;
  }
  return calloc((size_t)n, sz);
}

static void rt_book_free(void *p, const void *small) {
  if (p != small) free(p);
}

BudStatus rt_run_program(BudContext *ctx, BudProgram *prog, const BudArray *inputs,
                         BudArray *outputs) {
  View views_s[RT_SMALL_BUFS];
  void *temps_s[RT_SMALL_SLOTS], *copies_s[RT_SMALL_SLOTS];
  bool allocated_s[RT_SMALL_SLOTS];
  RunState rs;
  memset(&rs, 0, sizeof rs);
  rs.ctx = ctx;
  rs.prog = prog;
  rs.views = rt_book(views_s, RT_SMALL_BUFS, prog->nbuffers, sizeof *rs.views);
  rs.temps = rt_book(temps_s, RT_SMALL_SLOTS, prog->ntemps, sizeof *rs.temps);
  rs.copies = rt_book(copies_s, RT_SMALL_SLOTS, prog->ninputs, sizeof *rs.copies);
  bool *allocated = rt_book(allocated_s, RT_SMALL_SLOTS, prog->noutputs, sizeof *allocated);
  BudStatus st = BUD_OK;
  if (!rs.views || !rs.temps || !rs.copies || !allocated)
    st = bud_fail(ctx, BUD_ERR_NOMEM, "out of memory starting a run");
  if (st == BUD_OK) st = rt_prepare(&rs, inputs, outputs, allocated);
  for (int gi = 0; st == BUD_OK && gi < prog->ngroups; gi++) {
    Group *g = &prog->groups[gi];
    int nb = 1; /* a horizontal batch: its consecutive members at once */
    while (g->kind == GROUP_FUSED && g->batch >= 0 && gi + nb < prog->ngroups &&
           prog->groups[gi + nb].batch == g->batch)
      nb++;
    if (nb > 1) {
      st = rt_run_batch(&rs, g, nb);
      gi += nb - 1;
      continue;
    }
    switch (g->kind) {
    case GROUP_FUSED: st = rt_run_fused(&rs, g); break;
    case GROUP_DOT: st = rt_run_dot(&rs, g); break;
    case GROUP_COPY: st = rt_run_copy(&rs, g); break;
    default: st = bud_fail(ctx, BUD_ERR_INTERNAL, "group %d has an unknown kind", gi); break;
    }
  }
  rt_cleanup(&rs, outputs, allocated, st != BUD_OK);
  rt_book_free(rs.views, views_s);
  rt_book_free(rs.temps, temps_s);
  rt_book_free(rs.copies, copies_s);
  rt_book_free(allocated, allocated_s);
  return st;
}
