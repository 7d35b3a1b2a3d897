/* vm_ops.h — private to src/vm: the element-wise op loops, one function per op family, each a
 * switch over the loop dtype with a small loop inside (vm_ops.c: arithmetic, comparisons, bits,
 * min/max, where, clip; vm_math.c: float functions, predicates, casts). All buffers are
 * contiguous and aligned to their element size; out may equal an input exactly (never overlap it
 * partially). vm_op_run dispatches one op; vm_elementwise (vm_ops.c) wraps it for any alignment.
 */
#ifndef BUD_VM_OPS_H
#define BUD_VM_OPS_H

#include "vm/vm.h"

/* The hot loops are compiled twice, for AVX2 and for the baseline, and picked at load time, so
 * tier 0 is fast without -march=native in the library build. Not under ThreadSanitizer: its
 * run time is not initialised yet when the loader calls the ifunc resolvers, and they crash. */
#if defined(__x86_64__) && defined(__linux__) && !defined(BUD_NO_TARGET_CLONES) && \
    !defined(__SANITIZE_THREAD__)
#define VM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VM_CLONES
#endif
/* gcc's -O2 vectorises only loops whose trip count is a multiple of the vector length; the hot
 * loops ask for its normal cost model (clang vectorises them at -O2 already). */
#if defined(__GNUC__) && !defined(__clang__)
#define VM_HOT VM_CLONES __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define VM_HOT VM_CLONES
#endif

/* Loops over n elements: x (and y, z) are the operands' elements, EXPR the result. */
#define LOOP1(TI, TO, EXPR)                                                                       \
  do {                                                                                            \
    const TI *pa_ = a;                                                                            \
    TO *po_ = out;                                                                                \
    for (int64_t i = 0; i < n; i++) {                                                             \
      TI x = pa_[i];                                                                              \
      po_[i] = (TO)(EXPR);                                                                        \
    }                                                                                             \
  } while (0)

#define LOOP2(TI, TO, EXPR)                                                                       \
  do {                                                                                            \
    const TI *pa_ = a, *pb_ = b;                                                                  \
    TO *po_ = out;                                                                                \
    for (int64_t i = 0; i < n; i++) {                                                             \
      TI x = pa_[i], y = pb_[i];                                                                  \
      po_[i] = (TO)(EXPR);                                                                        \
    }                                                                                             \
  } while (0)

#define LOOP3(TC, TI, TO, EXPR)                                                                   \
  do {                                                                                            \
    const TC *pa_ = a;                                                                            \
    const TI *pb_ = b, *pc_ = c;                                                                  \
    TO *po_ = out;                                                                                \
    for (int64_t i = 0; i < n; i++) {                                                             \
      TC x = pa_[i];                                                                              \
      TI y = pb_[i], z = pc_[i];                                                                  \
      po_[i] = (TO)(EXPR);                                                                        \
    }                                                                                             \
  } while (0)

/* Like vm_elementwise, but every pointer must be aligned to its element size. */
BudStatus vm_op_run(BudContext *ctx, Op op, BudDType out_dt, int nin, const BudDType *in_dts,
                    void *out, const void *const *in, int64_t n);

/* vm_math.c */
void vm_op_float1(Op op, BudDType dt, void *out, const void *a, int64_t n); /* sin..erf, sqrt,
                                                                                floor..rint */
void vm_op_float2(Op op, BudDType dt, void *out, const void *a, const void *b, int64_t n);
/* arctan2, hypot, copysign, pow, fmod, floordiv, mod (float dtypes) */
void vm_op_fma(BudDType dt, void *out, const void *a, const void *b, const void *c, int64_t n);
void vm_op_pred(Op op, BudDType in_dt, uint8_t *out, const void *a, int64_t n);
void vm_op_cast(BudDType to, BudDType from, void *out, const void *a, int64_t n);

/* NumPy 1.24's float -> integer conversions on x86-64 (what its C loops compile to): targets of
 * at most 16 bits and int32 go through a 32-bit truncating conversion (out of range or NaN:
 * INT32_MIN), uint32 and int64 through a 64-bit one (INT64_MIN), uint64 subtracts 2^63 first
 * when x >= 2^63. Then the value wraps to the target width. */
static inline int32_t vm_f2i32(double x) {
  return (x > -2147483649.0 && x < 2147483648.0) ? (int32_t)x : INT32_MIN;
}
static inline int64_t vm_f2i64(double x) {
  return (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? (int64_t)x : INT64_MIN;
}
static inline uint64_t vm_f2u64(double x) {
  if (x >= 9223372036854775808.0)
    return (uint64_t)vm_f2i64(x - 9223372036854775808.0) ^ ((uint64_t)1 << 63);
  return (uint64_t)vm_f2i64(x);
}

#endif
