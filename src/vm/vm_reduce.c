/* vm_reduce.c — reductions in the VM: each one's identity (vm_reduce_init), its accumulation over
 * one block of values (vm_reduce_block), the combination of two partial results in a fixed order
 * (vm_reduce_combine) and its final value (vm_reduce_finish).
 * Float sum/mean (and mean of integers) accumulate in double with pairwise summation inside each
 * block (NumPy's 8-accumulator scheme) and a binary-counter cascade across blocks (RedAcc.cascade),
 * so the error grows with the log of the length, like NumPy's. Integer sums and products wrap in
 * 64 bits; min/max propagate NaN; argmin/argmax keep the first index of the extreme (the first NaN
 * when there is one).
 */
#include "vm/vm_ops.h"
#include "vm/vm_private.h"

#include <assert.h>
#include <math.h>
#include <string.h>

enum { VM_RCHUNK = 256 }; /* values converted to double at a time */

/* The accumulator's kind for a reduction input dtype: what RedAcc.v holds. */
static BudDType acc_dtype(BudDType in) {
  if (dtype_is_float(in)) return BUD_FLOAT64;
  if (dtype_is_uint(in)) return BUD_UINT64;
  return BUD_INT64; /* signed ints and bool */
}

void vm_reduce_init(const PlanReduce *r, RedAcc *acc) {
  memset(acc, 0, sizeof *acc);
  BudDType dt = (BudDType)r->in_dtype;
  bool is_flt = dtype_is_float(dt), is_uint = dtype_is_uint(dt);
  switch ((Op)r->op) {
  case OP_prod:
    if (is_flt) acc->v.f = 1.0;
    else acc->v.u = 1;
    break;
  case OP_min:
    if (is_flt) acc->v.f = INFINITY;
    else if (is_uint) acc->v.u = UINT64_MAX;
    else acc->v.i = dt == BUD_BOOL ? 1 : INT64_MAX;
    break;
  case OP_max:
    if (is_flt) acc->v.f = -INFINITY;
    else if (is_uint) acc->v.u = 0;
    else acc->v.i = dt == BUD_BOOL ? 0 : INT64_MIN;
    break;
  case OP_all: acc->v.i = 1; break;
  default: break; /* sum, mean, any: 0; argmin/argmax: nothing seen */
  }
}

/* ---- pairwise summation ---------------------------------------------------------------------- */

/* NumPy's pairwise_sum for n <= 128: 8 partial sums, combined as a tree, then the tail. */
static inline double vm_pairwise8(const double *x, int64_t n) {
  if (n < 8) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s;
  }
  double r[8];
  for (int j = 0; j < 8; j++) r[j] = x[j];
  int64_t i;
  for (i = 8; i < n - n % 8; i += 8)
    for (int j = 0; j < 8; j++) r[j] += x[i + j];
  double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < n; i++) s += x[i];
  return s;
}

/* The same pairwise sum (halves of at most 128) over float32 values widened to double on the
 * fly. */
static inline double vm_pairwise8_f32(const float *x, int64_t n) {
  if (n < 8) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i];
    return s;
  }
  double r[8];
  for (int j = 0; j < 8; j++) r[j] = (double)x[j];
  int64_t i;
  for (i = 8; i < n - n % 8; i += 8)
    for (int j = 0; j < 8; j++) r[j] += (double)x[i + j];
  double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < n; i++) s += (double)x[i];
  return s;
}

static inline double vm_pairwise_f32(const float *x, int64_t c) {
  if (c <= 128) return vm_pairwise8_f32(x, c);
  int64_t h = c / 2;
  h -= h % 8;
  return vm_pairwise8_f32(x, h) + vm_pairwise8_f32(x + h, c - h);
}

/* Adds one block's partial sum to the cascade: equal-sized partial sums merge like the carries
 * of a binary counter. */
static void vm_cascade_push(RedAcc *acc, double s) {
  uint64_t k = acc->nblocks;
  int lvl = 0;
  while ((k & 1) && lvl < 47) {
    s = acc->cascade[lvl] + s;
    k >>= 1;
    lvl++;
  }
  acc->cascade[lvl] = s;
  acc->nblocks++;
}

void vm_reduce_cascade_push(RedAcc *acc, double s) { vm_cascade_push(acc, s); }

/* The total of the cascade: the pending partial sums, oldest (largest) first. */
static double vm_cascade_total(const RedAcc *acc) {
  double s = 0.0;
  bool any = false;
  for (int lvl = 47; lvl >= 0; lvl--) {
    if (!((acc->nblocks >> lvl) & 1)) continue;
    s = any ? s + acc->cascade[lvl] : acc->cascade[lvl];
    any = true;
  }
  return s;
}

/* ---- accumulation over one block ------------------------------------------------------------- */

#define FOR_DTYPE(dt, M)                                                                          \
  switch (dt) {                                                                                   \
  case BUD_BOOL: M(uint8_t); break;                                                               \
  case BUD_INT8: M(int8_t); break;                                                                \
  case BUD_INT16: M(int16_t); break;                                                              \
  case BUD_INT32: M(int32_t); break;                                                              \
  case BUD_INT64: M(int64_t); break;                                                              \
  case BUD_UINT8: M(uint8_t); break;                                                              \
  case BUD_UINT16: M(uint16_t); break;                                                            \
  case BUD_UINT32: M(uint32_t); break;                                                            \
  case BUD_UINT64: M(uint64_t); break;                                                            \
  case BUD_FLOAT32: M(float); break;                                                              \
  case BUD_FLOAT64: M(double); break;                                                             \
  default: assert(!"vm_reduce: dtype"); break;                                                    \
  }

/* Integer sum/product in 64 bits, wrapping (the bits of uint64 arithmetic are those of int64). */
#define ISUM(T)                                                                                   \
  do {                                                                                            \
    const T *p_ = x;                                                                              \
    uint64_t s_ = 0;                                                                              \
    for (int64_t i = 0; i < m; i++) s_ += (uint64_t)p_[i];                                        \
    acc->v.u += s_;                                                                               \
  } while (0)
#define IPROD(T)                                                                                  \
  do {                                                                                            \
    const T *p_ = x;                                                                              \
    uint64_t s_ = acc->v.u;                                                                       \
    for (int64_t i = 0; i < m; i++) s_ *= (uint64_t)p_[i];                                        \
    acc->v.u = s_;                                                                                \
  } while (0)
#define FPROD(T)                                                                                  \
  do {                                                                                            \
    const T *p_ = x;                                                                              \
    double s_ = acc->v.f;                                                                         \
    for (int64_t i = 0; i < m; i++) s_ *= (double)p_[i];                                          \
    acc->v.f = s_;                                                                                \
  } while (0)
#define ANYALL(T)                                                                                 \
  do {                                                                                            \
    const T *p_ = x;                                                                              \
    unsigned nz_ = 0, z_ = 0;                                                                     \
    for (int64_t i = 0; i < m; i++) {                                                             \
      nz_ |= p_[i] != 0;                                                                          \
      z_ |= p_[i] == 0;                                                                           \
    }                                                                                             \
    if (is_any ? nz_ : z_) acc->v.i = is_any;                                                     \
  } while (0)

/* Integer min/max (FIELD: the RedAcc.v member, ACCT its type). */
#define IMINMAX(T, FIELD, ACCT)                                                                   \
  do {                                                                                            \
    const T *p_ = x;                                                                              \
    ACCT b_ = acc->v.FIELD;                                                                       \
    if (is_max)                                                                                   \
      for (int64_t i = 0; i < m; i++) b_ = b_ > (ACCT)p_[i] ? b_ : (ACCT)p_[i];                   \
    else                                                                                          \
      for (int64_t i = 0; i < m; i++) b_ = b_ < (ACCT)p_[i] ? b_ : (ACCT)p_[i];                   \
    acc->v.FIELD = b_;                                                                            \
  } while (0)

/* argmin/argmax: strictly better replaces (ties keep the first); a NaN replaces a number and is
 * never replaced. */
#define ARG(T, FIELD, ACCT)                                                                       \
  do {                                                                                            \
    const T *p_ = x;                                                                              \
    int64_t i = 0;                                                                                \
    if (acc->count == 0 && m > 0) {                                                               \
      acc->v.FIELD = (ACCT)p_[0];                                                                 \
      acc->index = index_base;                                                                    \
      i = 1;                                                                                      \
    }                                                                                             \
    ACCT b_ = acc->v.FIELD;                                                                       \
    int64_t bi_ = acc->index;                                                                     \
    if (b_ == b_) {                                                                               \
      for (; i < m; i++) {                                                                        \
        ACCT v_ = (ACCT)p_[i];                                                                    \
        if (v_ != v_ || (is_max ? v_ > b_ : v_ < b_)) {                                           \
          b_ = v_;                                                                                \
          bi_ = index_base + i;                                                                   \
          if (v_ != v_) break;                                                                    \
        }                                                                                         \
      }                                                                                           \
    }                                                                                             \
    acc->v.FIELD = b_;                                                                            \
    acc->index = bi_;                                                                             \
  } while (0)

#define ARG_ANY(T)                                                                                \
  do {                                                                                            \
    if (dtype_is_float(dt)) ARG(T, f, double);                                                    \
    else if (dtype_is_uint(dt)) ARG(T, u, uint64_t);                                              \
    else ARG(T, i, int64_t);                                                                      \
  } while (0)

/* Sums m values of dtype dt (converted to double) pairwise into the cascade: chunks of 256
 * (halves of at most 128 as NumPy splits them), each chunk one cascade entry. */
VM_HOT static void vm_sum_to_cascade(BudDType dt, RedAcc *acc, const void *x, int64_t m) {
  _Alignas(64) double tmp[VM_RCHUNK];
  int sz = dtype_size(dt);
  for (int64_t i = 0; i < m; i += VM_RCHUNK) {
    int64_t c = m - i < VM_RCHUNK ? m - i : VM_RCHUNK;
    const char *src = (const char *)x + i * sz;
    const double *d = (const double *)(const void *)src;
    if (dt == BUD_FLOAT32) {
      vm_cascade_push(acc, vm_pairwise_f32((const float *)(const void *)src, c));
      continue;
    } else if (dt != BUD_FLOAT64) {
      vm_op_cast(BUD_FLOAT64, dt, tmp, src, c);
      d = tmp;
    }
    double s;
    if (c <= 128) {
      s = vm_pairwise8(d, c);
    } else {
      int64_t h = c / 2;
      h -= h % 8;
      s = vm_pairwise8(d, h) + vm_pairwise8(d + h, c - h);
    }
    vm_cascade_push(acc, s);
  }
}

/* Float min/max over 8 lanes plus a NaN flag (both vectorise); a NaN anywhere in the block makes
 * the result that NaN (the first one). */
#define FMINMAX8(T)                                                                               \
  do {                                                                                            \
    const T *p_ = x;                                                                              \
    T b_ = (T)acc->v.f;                                                                           \
    if (b_ != b_) break;                                                                          \
    T l_[8];                                                                                      \
    int nan_[8] = {0};                                                                            \
    for (int j = 0; j < 8; j++) l_[j] = b_;                                                       \
    int64_t i = 0;                                                                                \
    if (is_max)                                                                                   \
      for (; i + 8 <= m; i += 8)                                                                  \
        for (int j = 0; j < 8; j++) {                                                             \
          T v_ = p_[i + j];                                                                       \
          l_[j] = v_ > l_[j] ? v_ : l_[j];                                                        \
          nan_[j] |= v_ != v_;                                                                    \
        }                                                                                         \
    else                                                                                          \
      for (; i + 8 <= m; i += 8)                                                                  \
        for (int j = 0; j < 8; j++) {                                                             \
          T v_ = p_[i + j];                                                                       \
          l_[j] = v_ < l_[j] ? v_ : l_[j];                                                        \
          nan_[j] |= v_ != v_;                                                                    \
        }                                                                                         \
    int any_nan_ = 0;                                                                             \
    for (int j = 0; j < 8; j++) {                                                                 \
      any_nan_ |= nan_[j];                                                                        \
      b_ = (is_max ? l_[j] > b_ : l_[j] < b_) ? l_[j] : b_;                                       \
    }                                                                                             \
    for (; i < m; i++) {                                                                          \
      any_nan_ |= p_[i] != p_[i];                                                                 \
      b_ = (is_max ? p_[i] > b_ : p_[i] < b_) ? p_[i] : b_;                                       \
    }                                                                                             \
    if (any_nan_)                                                                                 \
      for (i = 0; i < m; i++)                                                                     \
        if (p_[i] != p_[i]) {                                                                     \
          b_ = p_[i];                                                                             \
          break;                                                                                  \
        }                                                                                         \
    acc->v.f = b_;                                                                                \
  } while (0)

VM_HOT static void vm_minmax_f(bool is_max, BudDType dt, RedAcc *acc, const void *x, int64_t m) {
  if (dt == BUD_FLOAT32) FMINMAX8(float);
  else FMINMAX8(double);
}

/* argmin/argmax of a float block: the block's extreme (vectorised), then the first index holding
 * it, or the first NaN. Strictly better than the running best replaces it (ties keep the first). */
#define FARG(T)                                                                                   \
  do {                                                                                            \
    const T *p_ = x;                                                                              \
    if (acc->count > 0 && acc->v.f != acc->v.f) break;                                            \
    RedAcc blk_;                                                                                  \
    blk_.v.f = is_max ? -INFINITY : INFINITY;                                                     \
    vm_minmax_f(is_max, dt, &blk_, x, m);                                                         \
    T e_ = (T)blk_.v.f;                                                                           \
    int64_t k_ = 0;                                                                               \
    if (e_ != e_) {                                                                               \
      while (p_[k_] == p_[k_]) k_++;                                                              \
    } else {                                                                                      \
      while (p_[k_] != e_) k_++;                                                                  \
    }                                                                                             \
    if (acc->count == 0 || e_ != e_ || (is_max ? (double)e_ > acc->v.f : (double)e_ < acc->v.f)) { \
      acc->v.f = (double)e_;                                                                      \
      acc->index = index_base + k_;                                                               \
    }                                                                                             \
  } while (0)

static void vm_arg_f(bool is_max, BudDType dt, RedAcc *acc, const void *x, int64_t m,
                     int64_t index_base) {
  if (dt == BUD_FLOAT32) FARG(float);
  else FARG(double);
}

VM_HOT static void vm_reduce_block_loops(const PlanReduce *r, RedAcc *acc, const void *x,
                                         int64_t m, int64_t index_base) {
  if (m <= 0) return;
  BudDType dt = (BudDType)r->in_dtype;
  bool is_flt = dtype_is_float(dt), is_uint = dtype_is_uint(dt);
  bool is_max = r->op == OP_max || r->op == OP_argmax, is_any = r->op == OP_any;
  switch ((Op)r->op) {
  case OP_sum:
    if (is_flt) vm_sum_to_cascade(dt, acc, x, m);
    else FOR_DTYPE(dt, ISUM);
    break;
  case OP_mean: vm_sum_to_cascade(dt, acc, x, m); break;
  case OP_prod:
    if (is_flt) FOR_DTYPE(dt, FPROD) else FOR_DTYPE(dt, IPROD);
    break;
  case OP_min: case OP_max:
    if (is_flt) vm_minmax_f(is_max, dt, acc, x, m);
    else if (is_uint) {
      switch (dt) {
      case BUD_UINT8: IMINMAX(uint8_t, u, uint64_t); break;
      case BUD_UINT16: IMINMAX(uint16_t, u, uint64_t); break;
      case BUD_UINT32: IMINMAX(uint32_t, u, uint64_t); break;
      default: IMINMAX(uint64_t, u, uint64_t); break;
      }
    } else {
      switch (dt) {
      case BUD_BOOL: IMINMAX(uint8_t, i, int64_t); break;
      case BUD_INT8: IMINMAX(int8_t, i, int64_t); break;
      case BUD_INT16: IMINMAX(int16_t, i, int64_t); break;
      case BUD_INT32: IMINMAX(int32_t, i, int64_t); break;
      default: IMINMAX(int64_t, i, int64_t); break;
      }
    }
    break;
  case OP_any: case OP_all:
    if (acc->v.i != is_any) FOR_DTYPE(dt, ANYALL); /* else already decided */
    break;
  case OP_argmin: case OP_argmax:
    if (is_flt) vm_arg_f(is_max, dt, acc, x, m, index_base);
    else FOR_DTYPE(dt, ARG_ANY);
    break;
  default: assert(!"vm_reduce_block: op"); break;
  }
  acc->count += m;
}

void vm_reduce_block(const PlanReduce *r, RedAcc *acc, const void *x, int64_t m,
                     int64_t index_base) {
  vm_reduce_block_loops(r, acc, x, m, index_base);
}

/* ---- combining and finishing ----------------------------------------------------------------- */

static bool vm_is_nan_acc(BudDType dt, const RedAcc *a) {
  return dtype_is_float(dt) && a->v.f != a->v.f;
}

void vm_reduce_combine(const PlanReduce *r, RedAcc *into, const RedAcc *from) {
  if (from->count == 0) return;
  BudDType dt = (BudDType)r->in_dtype;
  bool is_flt = dtype_is_float(dt), is_uint = dtype_is_uint(dt);
  switch ((Op)r->op) {
  case OP_sum: case OP_mean:
    if (is_flt || r->op == OP_mean) vm_cascade_push(into, vm_cascade_total(from));
    else into->v.u += from->v.u;
    break;
  case OP_prod:
    if (is_flt) into->v.f *= from->v.f;
    else into->v.u *= from->v.u;
    break;
  case OP_min: case OP_max: {
    bool is_max = r->op == OP_max;
    if (is_flt) {
      double a = into->v.f, b = from->v.f;
      into->v.f = (a != a || (is_max ? a > b : a < b)) ? a : b;
    } else if (is_uint) {
      uint64_t a = into->v.u, b = from->v.u;
      into->v.u = (is_max ? a > b : a < b) ? a : b;
    } else {
      int64_t a = into->v.i, b = from->v.i;
      into->v.i = (is_max ? a > b : a < b) ? a : b;
    }
    break;
  }
  case OP_any: into->v.i = into->v.i || from->v.i; break;
  case OP_all: into->v.i = into->v.i && from->v.i; break;
  case OP_argmin: case OP_argmax: {
    bool is_max = r->op == OP_argmax, take;
    if (into->count == 0) take = true;
    else if (vm_is_nan_acc(dt, into)) take = false;
    else if (vm_is_nan_acc(dt, from)) take = true;
    else if (is_flt) take = is_max ? from->v.f > into->v.f : from->v.f < into->v.f;
    else if (is_uint) take = is_max ? from->v.u > into->v.u : from->v.u < into->v.u;
    else take = is_max ? from->v.i > into->v.i : from->v.i < into->v.i;
    if (take) {
      into->v = from->v;
      into->index = from->index;
    }
    break;
  }
  default: assert(!"vm_reduce_combine: op"); break;
  }
  into->count += from->count;
}

void vm_reduce_finish(const PlanReduce *r, const RedAcc *acc, void *out) {
  BudDType in = (BudDType)r->in_dtype, odt = (BudDType)r->out_dtype;
  Scalar v = acc->v;
  BudDType vdt = acc_dtype(in);
  switch ((Op)r->op) {
  case OP_sum:
    if (dtype_is_float(in)) v.f = vm_cascade_total(acc);
    break;
  case OP_mean:
    v.f = vm_cascade_total(acc) / (double)acc->count; /* no elements: 0/0 = NaN */
    vdt = BUD_FLOAT64;
    break;
  case OP_any: case OP_all: vdt = BUD_INT64; break;
  case OP_argmin: case OP_argmax:
    v.i = acc->index;
    vdt = BUD_INT64;
    break;
  default: break;
  }
  _Alignas(8) unsigned char tmp[8];
  vm_op_cast(odt, vdt, tmp, &v, 1);
  memcpy(out, tmp, (size_t)dtype_size(odt));
}
