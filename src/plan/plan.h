/* plan.h — the Plan: one fusion group lowered to a linear IR over virtual vector registers (SSA:
 * each vreg is defined once), with the loop structure as data (the schedule). Back ends (the
 * blocked VM, the x86 emitter) consume plans; the runtime drives them through one kernel ABI.
 * Also the compiled Program: groups in order, the buffers between them, inputs and outputs.
 * Entry points: plan_lower (group -> Plan), plan_print, program_* (see below).
 */
#ifndef BUD_PLAN_H
#define BUD_PLAN_H

#include "ir/ir.h"

/* ---- the linear IR ---------------------------------------------------------------------------- */

typedef enum LKind {
  LK_LOAD,   /* dst = operand[slot][i]                          (dtype: the operand's dtype)     */
  LK_CONST,  /* dst = consts[slot] broadcast                    (dtype: the constant's dtype)    */
  LK_OP,     /* dst = op(src[0..nin-1])                         (dtype: result; operands' dtypes
                                                                    are vreg_dtype[src[k]])       */
  LK_STORE,  /* operand[slot][i] = src[0]                        (dtype: stored dtype == src's)  */
  LK_REDUCE, /* reduces[slot] accumulates src[0]                 (dtype: src's dtype)            */
} LKind;

typedef struct LInst {
  uint8_t kind;   /* LKind */
  uint8_t dtype;  /* BudDType, see LKind */
  uint16_t op;    /* Op, for LK_OP */
  uint8_t nin;    /* operand count, for LK_OP */
  uint8_t pad_;
  int16_t dst;    /* defined vreg, or -1 */
  int16_t src[3]; /* used vregs, -1 when absent */
  int32_t slot;   /* LOAD/STORE: operand slot; CONST: const index; REDUCE: reduction index */
} LInst;

typedef struct PlanOperand {
  uint8_t dtype;     /* BudDType */
  bool is_output;
  int32_t buffer;    /* index into Program.buffers */
} PlanOperand;

typedef struct PlanConst {
  uint8_t dtype;
  Scalar value;
} PlanConst;

typedef struct PlanReduce {
  uint16_t op;        /* OP_sum, OP_max, OP_argmin, ... */
  uint8_t in_dtype;   /* dtype of the reduced values */
  uint8_t out_dtype;  /* dtype of the result (mean of ints: float64; argmax: int64) */
  int16_t src;        /* vreg reduced */
  int32_t buffer;     /* Program buffer that receives the result */
} PlanReduce;

/* Tail handling and store kinds: decisions for back ends; the VM ignores what it cannot use. */
typedef enum TailPolicy { TAIL_MASKED, TAIL_SCALAR } TailPolicy;
typedef enum StoreKind { STORE_NORMAL, STORE_NONTEMPORAL } StoreKind;

/* The schedule: how a plan's loop runs, as data. Who sets what and who honours it:
 *   vec_bytes, tail, naccum, block     plan_lower's defaults; the JIT (vec_bytes, tail, naccum)
 *                                      and the VM (block) honour them.
 *   unroll, prefetch_bytes, store      the cost model (src/rt/cost.c, rt_cost_apply) from the
 *                                      roofline; the JIT may honour them (unroll: vectors per
 *                                      iteration; prefetch_bytes: distance of software prefetches
 *                                      ahead of each load stream, 0 = none; store: non-temporal
 *                                      stores only when the stored bytes exceed the last-level
 *                                      cache and no later group reads them). The VM ignores them.
 *   nthreads                           the cost model: how many threads are worth waking for this
 *                                      group (1 = run it serially: below the size where the
 *                                      per-thread wake-up cost exceeds the gain). The executor
 *                                      uses min(nthreads, its pool size); 0 = no advice (the
 *                                      executor decides alone).
 *   split                              elements per parallel chunk along the flat iteration
 *                                      (0 = even static chunks, rounded to the vector width);
 *                                      advice for the executor.
 *   tile_rows, tile_cols               2-D blocking of the two innermost dims (0 = none).
 *                                      tile_cols is honoured for reductions over axis 0 of a 2-D
 *                                      iteration (the cost model sets it for sums and means of
 *                                      floats): the executor accumulates rows into a tile of
 *                                      tile_cols column accumulators (plan_tile_reduce), columns
 *                                      split across threads. tile_rows: no back end yet.
 *   reorder                            false: the executor's own dim order (it drops size-1 dims,
 *                                      coalesces contiguous ones and moves a reduced axis
 *                                      innermost, so Fortran-order and transposed views run
 *                                      along their smallest stride already); no other order yet.
 * Element-wise plans over non-contiguous views (transposes, slices, negative and zero strides)
 * run through per-operand strides in the executor (kernel ABI below), without copies. */
typedef struct Schedule {
  int vec_bytes;       /* vector register width the plan targets (16, 32, 64) */
  int unroll;          /* vectors per loop iteration */
  int naccum;          /* independent accumulators per reduction */
  uint8_t tail;        /* TailPolicy */
  uint8_t store;       /* StoreKind */
  int prefetch_bytes;  /* software prefetch distance, 0 = none */
  int block;           /* VM block length in elements */
  int nthreads;        /* threads worth using (see above; issue 4) */
  /* added for issue 4 (helper-11), additive: */
  int64_t split;       /* elements per parallel chunk, 0 = even chunks */
  int tile_rows, tile_cols; /* 2-D tile of the innermost dims, 0 = none */
  bool reorder;        /* reserved: false = the executor's order */
  float predicted_us;  /* the cost model's predicted time with nthreads threads */
} Schedule;

/* Where reductions go: none, every axis (one result), or one axis of the iteration shape. */
#define PLAN_NO_REDUCE (-1)

typedef struct Plan {
  LInst *insts;
  int ninsts;
  uint8_t *vreg_dtype;  /* nvregs entries */
  int nvregs;
  PlanOperand *operands; /* loads and element-wise stores, by slot */
  int noperands;
  PlanConst *consts;
  int nconsts;
  PlanReduce *reduces;
  int nreduces;
  Shape iter;           /* iteration shape: element-wise outputs have it; operands broadcast to it */
  int reduce_axis;      /* PLAN_NO_REDUCE, BUD_AXIS_ALL, or an axis of iter */
  Schedule sched;
} Plan;

/* ---- the compiled program --------------------------------------------------------------------- */

typedef enum BufKind { BUF_INPUT, BUF_OUTPUT, BUF_TEMP } BufKind;

typedef struct Buffer {
  uint8_t kind;     /* BufKind */
  uint8_t dtype;
  Shape shape;
  int32_t index;    /* BUF_INPUT: input number; BUF_OUTPUT: output number; BUF_TEMP: temp slot */
  int32_t node;     /* the IR node whose value it holds */
} Buffer;

typedef enum GroupKind {
  GROUP_FUSED,   /* a Plan: element-wise chain, optionally ending in reductions */
  GROUP_DOT,     /* dot/matmul: a reference kernel (fast kernels come later) */
  GROUP_COPY,    /* an output that is an input or a constant: copy/fill */
} GroupKind;

enum { GROUP_SCRATCH_SLOTS = 8 };
enum { PLAN_MAX_BATCH = 64 }; /* members of one horizontal batch, at most */

typedef struct Group {
  GroupKind kind;
  Plan plan;             /* GROUP_FUSED */
  int32_t node;          /* GROUP_DOT / GROUP_COPY: the IR node computed */
  int32_t in_buf[2];     /* GROUP_DOT: operands; GROUP_COPY: source (-1 for a constant) */
  int32_t out_buf;       /* GROUP_DOT / GROUP_COPY */
  struct Kernel *kernel; /* back-end code for the plan (NULL: the VM runs it) */
  /* The context whose kernel cache pins `kernel`: set once (compare-exchange) by the first run
   * that asks for machine code; only that context touches `kernel`. Runs of the same program from
   * other contexts use the VM for this group (rt/exec_fused.c, counted in jit_fallbacks). */
  void *kernel_owner;
  /* The executor's VM block buffers kept between runs (rt/exec_fused.c): slot c serves chunk c
   * of a run. Only touched with atomic exchange / compare-exchange, so runs of one program from
   * several threads (each with its own context) stay safe; freed by rt_program_release. */
  struct VmScratch *scratch[GROUP_SCRATCH_SLOTS];
  /* added for issue 4 (helper-11), additive: horizontal batch. Consecutive groups with the same
   * batch number (>= 0) are small and independent (none reads what another of the batch
   * writes): the executor runs them in one parallel job (see batch_threads) or one after
   * another; both give the same results. -1: not batched. */
  int32_t batch;
  /* On every member of a batch: the threads the batch runs on (1: one after another on the
   * caller; k > 1: one parallel job, this member run whole by thread batch_lane), chosen by the
   * cost model (program.c, prog_batch_lanes). */
  int16_t batch_threads, batch_lane;
  /* Reduction epilogue (issue 4): element-wise work on this group's finished reductions (the
   * `+ 1` of sum(a*b) + 1), lowered as a plan of its own over the results' shape and run right
   * after the reductions are combined, in the same rt_run_fused call. NULL: none. Allocated in
   * the program's arena; its kernel and scratch belong to it (batch -1, epilogue NULL). */
  struct Group *epilogue;
  /* Schedule.tile_cols > 0 (an axis-0 reduction of 2-D data): the accumulate plan of
   * plan_tile_reduce, which the executor runs over rows and column tiles instead of `plan`
   * (rt/exec_fused.c). NULL: none. Arena-allocated like the epilogue. */
  struct Group *tiled;
} Group;

struct BudProgram {
  Arena arena;           /* everything below except the graphs and kernels */
  IrGraph *graph;        /* the optimized graph the groups were made from */
  Group *groups;
  int ngroups;
  Buffer *buffers;
  int nbuffers;
  int ninputs, noutputs, ntemps;
  const char **input_names;
  BudDType *input_dtypes;
  Shape *input_shapes;
  const char **output_names;
  int32_t *output_buf;   /* buffer of each output */
  char *explain;         /* text of every stage when compiled with explain on (malloc'd) */
};

/* Lowers one fusion group of g (the nodes with group[id] == gid) into plan p. Operand buffers
 * are looked up in buf_of_node (node id -> buffer index, -1 when the node is computed inside the
 * group). The plan's arrays are allocated in arena. */
BudStatus plan_lower(BudContext *ctx, Arena *arena, const IrGraph *g, const int32_t *group,
                     int32_t gid, const int32_t *buf_of_node, Plan *p);
void plan_print(const Plan *p, StrBuf *sb);
/* The column-tiled accumulate plan of an axis-0 float sum/mean plan (tile.c, contract there). */
bool plan_tile_qualifies(const Plan *p);
BudStatus plan_tile_reduce(BudContext *ctx, Arena *arena, const Plan *p, Plan *out);

/* ---- the kernel ABI -------------------------------------------------------------------------- */

/* One call processes elements [begin, end) of a row: element k of operand s lives at
 * ptr[s] + k * stride[s]. Reductions accumulate into acc[r] (initialised by the caller to the
 * reduction's identity and combined by the caller, in a fixed order, across calls). */
typedef struct RedAcc {
  Scalar v;        /* running value (float sums: double, also for float32) */
  double comp;     /* spare for compensated or pairwise state */
  int64_t index;   /* argmin/argmax: index of the best element so far */
  int64_t count;   /* elements seen */
  /* Pairwise summation across blocks (float sum/mean, VM): cascade[k] holds the sum of 2^k
   * blocks when bit k of nblocks is set (a binary counter), so the error grows with log(blocks). */
  uint64_t nblocks;
  double cascade[48];
} RedAcc;

typedef struct BudKArgs {
  char *ptr[BUD_MAX_OPERANDS];
  int64_t stride[BUD_MAX_OPERANDS];
  RedAcc *acc;
  int64_t index_base; /* flat C-order index of element 0 of this row (argmin/argmax) */
} BudKArgs;

typedef void (*BudKernelFn)(const BudKArgs *args, int64_t begin, int64_t end);

#endif /* BUD_PLAN_H */
