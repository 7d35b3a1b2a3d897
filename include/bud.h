/* bud.h — the public C API of Bud Flow, a JIT compiler for numeric dataflow.
 *
 * A BudContext carries errors, statistics and caches; one context per thread (contexts are
 * independent and may be used from different threads at once). A program is compiled from Flow
 * text (or from a graph built node by node) for given input dtypes and shapes, then run on arrays
 * that view caller memory. Every function that can fail returns a BudStatus (BUD_OK == 0,
 * failures negative) and leaves a precise message in bud_last_error(ctx).
 */
#ifndef BUD_H
#define BUD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BUD_VERSION_MAJOR 0
#define BUD_VERSION_MINOR 1
#define BUD_VERSION_PATCH 0
#define BUD_VERSION_STRING "0.1.0"

#define BUD_MAX_DIMS 8     /* most dimensions an array may have */
#define BUD_MAX_OPERANDS 64 /* most inputs + outputs of one program */
#define BUD_AXIS_ALL (-128) /* reduction over all axes */

/* Status codes: the rows of src/base/errors.def, in that order. */
typedef enum BudStatus {
  BUD_OK = 0,
  BUD_ERR_INVALID = -1,     /* bad argument to an API function */
  BUD_ERR_PARSE = -2,       /* malformed Flow or IR text */
  BUD_ERR_NAME = -3,        /* unknown variable or function */
  BUD_ERR_SHAPE = -4,       /* shapes do not broadcast or do not match */
  BUD_ERR_DTYPE = -5,       /* dtype not supported by an operation */
  BUD_ERR_NOMEM = -6,       /* out of memory */
  BUD_ERR_OVERFLOW = -7,    /* a size or byte count overflows */
  BUD_ERR_VALUE = -8,       /* a runtime value is not allowed (e.g. int ** negative) */
  BUD_ERR_IO = -9,          /* a file could not be read or written */
  BUD_ERR_FORMAT = -10,     /* a file's content is malformed (npy header, cache file) */
  BUD_ERR_LIMIT = -11,      /* an input exceeds a documented limit (length, nesting) */
  BUD_ERR_UNSUPPORTED = -12,/* valid request that Bud does not implement */
  BUD_ERR_CPU = -13,        /* the requested ISA is not available on this CPU */
  BUD_ERR_INTERNAL = -14,   /* a bug in Bud: please report */
} BudStatus;

/* Element types: the rows of src/base/dtypes.def, in that order. */
typedef enum BudDType {
  BUD_BOOL = 0,
  BUD_INT8,
  BUD_INT16,
  BUD_INT32,
  BUD_INT64,
  BUD_UINT8,
  BUD_UINT16,
  BUD_UINT32,
  BUD_UINT64,
  BUD_FLOAT32,
  BUD_FLOAT64,
  BUD_NDTYPES
} BudDType;

/* An n-dimensional array. Strides are in bytes and may be 0 (broadcast) or negative.
 * `data` points at element (0,...,0). When `owner` is non-NULL the array owns a 64-byte aligned
 * allocation released by bud_array_free; otherwise it views caller memory. */
typedef struct BudArray {
  void *data;
  BudDType dtype;
  int ndim;
  int64_t shape[BUD_MAX_DIMS];
  int64_t strides[BUD_MAX_DIMS];
  void *owner;
} BudArray;

typedef struct BudContext BudContext;
typedef struct BudProgram BudProgram;
typedef struct BudGraph BudGraph;

/* Counters kept per context (bud_stats). */
typedef struct BudStats {
  uint64_t compiles;          /* programs compiled */
  uint64_t runs;              /* programs run */
  uint64_t kernels_jit;       /* kernels compiled to machine code */
  uint64_t kernels_vm;        /* kernels run by the VM (including fallbacks) */
  uint64_t jit_fallbacks;     /* kernels or ops the JIT left to the VM */
  uint64_t cache_hits;        /* kernel cache hits */
  uint64_t cache_misses;      /* kernel cache misses */
  uint64_t compile_ns;        /* total time spent compiling */
  uint64_t code_bytes;        /* machine code currently held */
  uint64_t program_cache_hits;   /* bud_eval found a compiled program in its cache */
  uint64_t program_cache_misses; /* bud_eval compiled a new program */
  uint64_t serial_fallbacks;     /* parallel runs done on one thread: threads could not start */
  uint64_t lean_runs;            /* bud_call_run calls that took the lean path (no bud_run) */
  uint64_t parallel_batches;     /* horizontal batches of small groups run as one parallel job */
} BudStats;

/* ---- context ---------------------------------------------------------------------------- */

BudContext *bud_context_new(void);  /* NULL only when out of memory */
void bud_context_free(BudContext *ctx);
const char *bud_last_error(const BudContext *ctx); /* "" when the last call succeeded */
BudStatus bud_last_status(const BudContext *ctx);
const char *bud_status_name(BudStatus st);         /* "BUD_ERR_SHAPE", ... */
void bud_stats(const BudContext *ctx, BudStats *out);
const char *bud_version(void);

/* ---- dtypes and arrays --------------------------------------------------------------------- */

const char *bud_dtype_name(BudDType dt);            /* "float32"; NULL for an invalid value */
int bud_dtype_size(BudDType dt);                    /* bytes per element; 0 for invalid */
BudStatus bud_dtype_from_name(const char *name, BudDType *out);

/* A view of caller memory. strides == NULL means C-contiguous. Checks that the byte extent of the
 * view does not overflow. */
BudStatus bud_array_view(BudContext *ctx, BudArray *out, void *data, BudDType dtype, int ndim,
                         const int64_t *shape, const int64_t *strides);
/* A new C-contiguous, 64-byte aligned, zero-filled array. */
BudStatus bud_array_alloc(BudContext *ctx, BudArray *out, BudDType dtype, int ndim,
                          const int64_t *shape);
void bud_array_free(BudArray *a);                   /* frees owned memory; no-op for views */
int64_t bud_array_size(const BudArray *a);          /* number of elements */

/* ---- compiling and running ---------------------------------------------------------------- */

/* Describes one input of a program: a name and an example array (its dtype and shape are
 * what the program is compiled for; the data of a 0-d array is read for NumPy's value-based
 * casting of scalars). */
typedef struct BudInput {
  const char *name;
  const BudArray *array;
} BudInput;

/* Compiles Flow source: one expression, or statements `name = expr` separated by ';' or
 * newlines. Every assigned name whose first character is not '_' is an output, in order;
 * a trailing bare expression is an output named "out". */
BudStatus bud_compile(BudContext *ctx, const char *source, int ninputs, const BudInput *inputs,
                      BudProgram **out);
void bud_program_free(BudProgram *prog);

int bud_program_ninputs(const BudProgram *prog);
const char *bud_program_input_name(const BudProgram *prog, int i);
int bud_program_noutputs(const BudProgram *prog);
/* Name, dtype and shape of output i. shape must hold BUD_MAX_DIMS entries. */
BudStatus bud_program_output(const BudProgram *prog, int i, const char **name, BudDType *dtype,
                             int *ndim, int64_t *shape);

/* Runs a program. inputs[i] must have the dtype and shape the program was compiled for (data and
 * strides may differ). For each output, a BudArray with data == NULL is allocated by Bud (the
 * caller frees it with bud_array_free); otherwise it must have the output's dtype and shape and
 * may alias or overlap the inputs: results are as if the inputs had been copied first.
 * A 0-d input whose value has another NumPy min_scalar_type class than the example value it was
 * compiled with (e.g. 300 where 2 was given: uint16 vs uint8) could change the program's types
 * under value-based casting: bud_run refuses it with BUD_ERR_VALUE (bud_eval recompiles). */
BudStatus bud_run(BudContext *ctx, BudProgram *prog, int ninputs, const BudArray *inputs,
                  int noutputs, BudArray *outputs);

/* Threads a context's runs may use (its own pool of workers, started on the first run big enough
 * to split; they sleep between runs and are joined by bud_context_free). The default is
 * $BUD_NUM_THREADS when set to a positive number, else the number of online CPUs; n == 0 restores
 * it; n < 0 or n > 256 is BUD_ERR_INVALID. Element-wise results do not depend on the thread
 * count; reductions are deterministic for a given count (partials combine in a fixed order). */
BudStatus bud_set_num_threads(BudContext *ctx, int n);
int bud_get_num_threads(const BudContext *ctx);

/* Fast-math (default off): lets the compiler apply algebra that changes rounding — affine-chain
 * fusion ((x*0.5+1)*2-0.5 -> x+1.5), reassociation of constant chains, x/c -> x*(1/c) for any
 * c, a*b+c -> fma. Off, results are bit-identical to NumPy. Applies to programs compiled after
 * the call (bud_eval's cache of programs is dropped when the setting changes). on: 0 or 1. */
BudStatus bud_set_fast_math(BudContext *ctx, int on);
int bud_get_fast_math(const BudContext *ctx);

/* ---- prepared calls: the lean path for repeated runs -------------------------------------- */

/* A BudCall is a program prepared for repeated runs from one context: it resolves once what
 * bud_run works out on every call (which groups run, which buffer each kernel operand is, the
 * layouts of contiguous operands, the pinned machine-code kernel, VM-free temporaries) so that a
 * run whose arrays are the common case costs a few checks and one kernel call per group.
 *
 * bud_call_new(ctx, prog, &call): prog must outlive call; call may only be run with ctx (the
 * context whose kernel cache pins prog's kernels) and from one thread at a time. Never fails on
 * an unusual program: one the lean path cannot take is prepared to always use bud_run.
 *
 * bud_call_run has exactly bud_run's contract and results (bit for bit, including reductions:
 * the lean path is taken only where bud_run would run each group serially in one chunk, and it
 * calls the same kernels). It takes the lean path when every group is a fused group that the
 * JIT compiled (or a 1-D float dot), no group has more than one chunk of work, every input and
 * output has its compiled dtype and shape and is C-contiguous (or a single element), every
 * output is given (data != NULL), no output overlaps an input except an identical view that
 * the program reads and writes element by element, and 0-d inputs keep their value class;
 * anything else silently *means* bud_run (same results, just the general cost), counted apart
 * in BudStats.lean_runs. */
typedef struct BudCall BudCall;
BudStatus bud_call_new(BudContext *ctx, BudProgram *prog, BudCall **out);
void bud_call_free(BudCall *call);
BudStatus bud_call_run(BudContext *ctx, BudCall *call, int ninputs, const BudArray *inputs,
                       int noutputs, BudArray *outputs);
/* 1 when the program's shape allows the lean path (the arrays of a run still decide), else 0. */
int bud_call_is_lean(const BudCall *call);

/* Compile (cached per context) and run in one call. */
BudStatus bud_eval(BudContext *ctx, const char *source, int ninputs, const BudInput *inputs,
                   int noutputs, BudArray *outputs);

/* Human-readable account of a program: IR after each pass, fusion groups, plans, code.
 * Returns a malloc'd string the caller frees with bud_free, or NULL on error. */
char *bud_explain(BudContext *ctx, const char *source, int ninputs, const BudInput *inputs);
void bud_free(void *p);

/* ---- building graphs node by node -------------------------------------------------------- */

/* Node handles are non-negative ints; builder functions return a negative BudStatus on error
 * (the message is on the context). */
BudGraph *bud_graph_new(BudContext *ctx);
void bud_graph_free(BudGraph *g);
int bud_graph_input(BudGraph *g, const char *name, BudDType dtype, int ndim, const int64_t *shape);
int bud_graph_const_f64(BudGraph *g, double v);     /* a Python-float-like literal */
int bud_graph_const_i64(BudGraph *g, int64_t v);    /* a Python-int-like literal */
/* An operation by its Flow name ("add", "sin", "where", "float32", ...). */
int bud_graph_op(BudGraph *g, const char *op, int nargs, const int *args);
/* A reduction ("sum", "max", "argmin", ...) over one axis or BUD_AXIS_ALL. */
int bud_graph_reduce(BudGraph *g, const char *op, int arg, int axis);
BudStatus bud_graph_output(BudGraph *g, const char *name, int node);
/* Compiles the graph. The graph stays valid and may be compiled again. */
BudStatus bud_graph_compile(BudGraph *g, BudProgram **out);

#ifdef __cplusplus
}
#endif
#endif /* BUD_H */
