/* base.h — what every module of Bud shares: the context, error reporting, dtype facts, the
 * arena allocator, aligned allocation, checked size arithmetic and hashing.
 * Entry points: bud_fail (set an error), arena_*, dtype_info, size_mul_ok, hash_bytes.
 */
#ifndef BUD_BASE_H
#define BUD_BASE_H

#include "bud.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BUD_UNUSED(x) ((void)(x))

/* ---- dtypes --------------------------------------------------------------------------------- */

typedef struct DTypeInfo {
  const char *name;   /* "float32" */
  int size;           /* bytes */
  char kind;          /* 'b', 'i', 'u', 'f' */
  bool is_signed;
  int bits;
  char npy_char;      /* NumPy's type character */
} DTypeInfo;

const DTypeInfo *dtype_info(BudDType dt); /* dt must be valid */
bool dtype_valid(int dt);
static inline bool dtype_is_float(BudDType dt) { return dt == BUD_FLOAT32 || dt == BUD_FLOAT64; }
static inline bool dtype_is_int(BudDType dt) { return dt >= BUD_INT8 && dt <= BUD_UINT64; }
static inline bool dtype_is_uint(BudDType dt) { return dt >= BUD_UINT8 && dt <= BUD_UINT64; }
static inline int dtype_size(BudDType dt) { return dtype_info(dt)->size; }

/* One scalar of any dtype, stored as the widest member of its kind. */
typedef union Scalar {
  bool b;
  int64_t i;   /* bool and signed ints (bool: 0/1) */
  uint64_t u;  /* unsigned ints */
  double f;    /* floats (float32 values are exactly representable) */
} Scalar;

/* Reads one element at p as a Scalar of dt's kind; writes a Scalar (already of dt's kind and
 * range) to p. No conversion between kinds. */
Scalar scalar_load(BudDType dt, const void *p);
void scalar_store(BudDType dt, void *p, Scalar v);

/* ---- context and errors ---------------------------------------------------------------------- */

#define BUD_ERRMSG_MAX 1024

struct BudContext {
  BudStatus status;
  char errmsg[BUD_ERRMSG_MAX];
  BudStats stats;
  struct ProgramCache *pcache; /* bud_eval's cache of compiled programs (src/api) */
  struct RtState *rt;          /* runtime state: kernel cache, code memory (src/rt) */
  int isa;                     /* forced ISA (-1 = from BUD_ISA / best available) */
  struct RtPool *pool;         /* executor's thread pool: made by the first parallel run (src/rt) */
  int nthreads;                /* threads per run; 0 = not chosen yet (rt_default_threads()) */
  int64_t par_min_bytes;       /* tests: work per extra chunk, overriding the executor's threshold
                                  and the cost model's advice (0 = no override) */
  int fast_math;               /* bud_set_fast_math: algebra that changes rounding (src/opt) */
};

/* Records a failure on ctx (ctx may be NULL) and returns st, so callers write
 * `return bud_fail(ctx, BUD_ERR_SHAPE, "operand %d: ...", i);`. The message is formatted with
 * vsnprintf and truncated to BUD_ERRMSG_MAX. */
BudStatus bud_fail(BudContext *ctx, BudStatus st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
BudStatus bud_failv(BudContext *ctx, BudStatus st, const char *fmt, va_list ap);
/* Clears the error state at the start of an API call. */
void bud_clear(BudContext *ctx);

/* ---- memory ---------------------------------------------------------------------------------- */

/* Checked arithmetic: false (and *out untouched) on overflow. */
static inline bool size_mul_ok(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out) && *out >= 0;
}
static inline bool size_add_ok(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* 64-byte aligned allocation; NULL when out of memory or nbytes is absurd. */
void *bud_aligned_alloc(size_t nbytes);
void bud_aligned_free(void *p);

/* Arena: bump allocation of compile-time data, freed in one call. Allocations are 16-byte
 * aligned and zero-filled. arena_alloc returns NULL on out of memory. */
typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
  ArenaBlock *head;
  size_t used_total;
} Arena;

void arena_init(Arena *a);
void *arena_alloc(Arena *a, size_t nbytes);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
void arena_free(Arena *a);

/* ---- growable string (for printers, explain) ------------------------------------------------- */

typedef struct StrBuf {
  char *data;
  size_t len, cap;
  bool oom; /* an append failed; data holds what fitted */
} StrBuf;

void sb_init(StrBuf *sb);
void sb_printf(StrBuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_puts(StrBuf *sb, const char *s);
void sb_free(StrBuf *sb);
/* Hands the buffer to the caller (malloc'd, NUL-terminated, never NULL unless oom). */
char *sb_take(StrBuf *sb);

/* ---- hashing and time ------------------------------------------------------------------------ */

uint64_t hash_bytes(const void *p, size_t n, uint64_t seed); /* 64-bit, not cryptographic */
uint64_t now_ns(void);                                        /* CLOCK_MONOTONIC */

/* Formats a double the way Bud prints literals: shortest text that reads back to the same value
 * ("2.5", "1e-09", "inf", "nan", "-0.0"). buf must hold 32 bytes. */
void format_double(char *buf, double v);

#endif /* BUD_BASE_H */
