/* ir.h — the Graph IR: a DAG of typed, shaped nodes in topological order (every operand id is
 * smaller than its user's id). Nodes are only appended; passes build a new graph from an old one.
 * Entry points: op tables (op_info, op_lookup), the builder (ir_input, ir_const, ir_op, ir_cast,
 * ir_reduce, ir_output) that infers dtypes and shapes as NumPy 1.24 does and inserts explicit
 * casts, the verifier, and the text form (ir_print / ir_parse, which round-trip).
 */
#ifndef BUD_IR_H
#define BUD_IR_H

#include "base/base.h"

/* ---- the op table (ops.def) ------------------------------------------------------------------ */

typedef enum Op {
#define OP(ID, name, nargs, pclass, purity, tsig, flags) OP_##ID,
#include "ops.def"
#undef OP
  OP_COUNT
} Op;

typedef enum PatternClass {
  PC_LEAF, PC_ELEMWISE, PC_BROADCAST, PC_INJECTIVE, PC_REDUCTION, PC_OUTFUSABLE, PC_OPAQUE
} PatternClass;

typedef enum Purity { PU_PURE, PU_STATEFUL, PU_EXTERNAL } Purity;

typedef enum TypeSig {
  TS_LEAF, TS_ALL, TS_NUM, TS_INTFLT, TS_TRUEDIV, TS_FLT, TS_CMP, TS_BIT, TS_SHIFT, TS_ABS,
  TS_PRED, TS_WHERE, TS_CLIP, TS_CAST, TS_RSUM, TS_RSAME, TS_RBOOL, TS_RMEAN, TS_RARG, TS_DOT
} TypeSig;

enum { F_COMM = 1, F_TRANSC = 2, F_INTERNAL = 4 };

typedef struct OpInfo {
  const char *name;
  int nargs;
  PatternClass pclass;
  Purity purity;
  TypeSig tsig;
  unsigned flags;
} OpInfo;

const OpInfo *op_info(Op op);
/* The op named `name` (its ops.def name or an accepted alias such as "absolute", "mod",
 * "true_divide"); -1 if none. Cast names ("float32") are not ops: see bud_dtype_from_name. */
int op_lookup(const char *name);
static inline bool op_is_reduction(Op op) { return op_info(op)->pclass == PC_REDUCTION; }
static inline bool op_is_elemwise(Op op) { return op_info(op)->pclass == PC_ELEMWISE; }

/* ---- shapes ------------------------------------------------------------------------------------ */

typedef struct Shape {
  int ndim;
  int64_t dim[BUD_MAX_DIMS];
} Shape;

bool shape_eq(const Shape *a, const Shape *b);
/* Number of elements; false on overflow (then *n is untouched). */
bool shape_size(const Shape *s, int64_t *n);
/* NumPy broadcasting of a and b into out; false if they do not broadcast. */
bool shape_broadcast(const Shape *a, const Shape *b, Shape *out);
/* "(3,4)", "()" , "(5,)" — NumPy's spelling. buf holds >= 200 bytes. */
void shape_format(const Shape *s, char *buf, size_t n);

/* ---- nodes and graphs -------------------------------------------------------------------------- */

#define IR_MAX_ARGS 3
#define IR_MAX_NODES (1 << 20)

typedef struct IrNode {
  Op op;
  BudDType dtype;
  Shape shape;
  int nin;
  int32_t in[IR_MAX_ARGS];
  int32_t axis;        /* reductions: an axis of the operand, or BUD_AXIS_ALL */
  int32_t input_index; /* OP_input: index into IrGraph.inputs */
  bool has_value;      /* OP_const always; 0-d OP_input when an example value was given */
  Scalar value;        /* the value, in dtype's kind (Scalar.i / .u / .f) */
} IrNode;

typedef struct IrInput {
  const char *name;
  BudDType dtype;
  Shape shape;
  int32_t node;
} IrInput;

typedef struct IrOutput {
  const char *name;
  int32_t node;
} IrOutput;

typedef struct IrGraph {
  BudContext *ctx;   /* where errors go; not owned */
  Arena arena;       /* names and other strings */
  IrNode *nodes;
  int32_t nnodes, capnodes;
  IrInput *inputs;
  int ninputs, capinputs;
  IrOutput *outputs;
  int noutputs, capoutputs;
} IrGraph;

IrGraph *ir_graph_new(BudContext *ctx); /* NULL when out of memory */
void ir_graph_free(IrGraph *g);

/* Builder. Each returns the new node's id (>= 0) or a negative BudStatus with the message on
 * g->ctx. Type inference follows NumPy 1.24 (ir/types.c): broadcasting; promotion; value-based
 * casting of 0-d operands (a float32 array times the literal 2.0 stays float32; an int8 array plus
 * 300 becomes int16); the loop search of each TypeSig; explicit OP_cast nodes are inserted so that
 * every operand of an element-wise node has the node's loop dtype (comparisons: their operands'
 * common dtype). Unsupported dtypes fail with BUD_ERR_DTYPE and NumPy's reason.
 * An operand id < 0 (an earlier builder failure) is returned unchanged, so calls can be chained
 * and the first failure's message stays on the context. Casts of constants are folded into new
 * constants (scalar_convert). */
int32_t ir_input(IrGraph *g, const char *name, BudDType dt, const Shape *shape,
                 const void *example_value /* 0-d: one element, or NULL */);
int32_t ir_const(IrGraph *g, BudDType dt, Scalar v); /* 0-d literal */
int32_t ir_op(IrGraph *g, Op op, int nin, const int32_t *in);
int32_t ir_cast(IrGraph *g, int32_t x, BudDType to);
int32_t ir_reduce(IrGraph *g, Op op, int32_t x, int axis);
BudStatus ir_output(IrGraph *g, const char *name, int32_t node);

/* Appends a node exactly as given (dtype, shape and operands already decided): for passes and
 * the IR text parser. Checks only that operands precede it. */
int32_t ir_append(IrGraph *g, const IrNode *n);
/* Adds an input record (and its OP_input node) exactly as given. */
int32_t ir_append_input(IrGraph *g, const char *name, BudDType dt, const Shape *shape,
                        bool has_value, Scalar value);

/* The dtype a loop of `op` runs in for operand dtypes `dts` (0-d operands marked in `weak`, with
 * their values when known), and the result dtype. BUD_OK or BUD_ERR_DTYPE with a message. */
BudStatus ir_resolve_dtypes(BudContext *ctx, Op op, int nin, const BudDType *dts,
                            const bool *weak, const IrNode *const *operands, BudDType *loop_dt,
                            BudDType *out_dt);
/* NumPy's promote_types for two dtypes. */
BudDType dtype_promote(BudDType a, BudDType b);
/* NumPy's can_cast(from, to, 'safe'). */
bool dtype_can_cast_safe(BudDType from, BudDType to);
/* Converts one value of dtype `from` to dtype `to` exactly as NumPy 1.24 on x86-64 converts
 * arrays (astype), and as Bud does everywhere (the VM and the constant folder call this):
 * float->float and int->float by C conversion (one rounding); bool->x gives 0/1; x->bool is
 * x != 0 (NaN -> true); int->int wraps (two's complement); float->int: int8/int16/uint8/uint16
 * through a 32-bit truncating conversion (NaN or outside the int32 range -> INT32_MIN), then wrap;
 * int32/int64 truncate (NaN or out of range -> INT32_MIN / INT64_MIN); uint32 through the
 * int64 conversion, then wrap; uint64: x >= 2^63 ? cvt64(x - 2^63) ^ 2^63 : cvt64(x), so
 * x >= 2^64 and +inf give 0, NaN gives 2^63, -1.0 gives 2^64 - 1. v is in from's kind
 * (Scalar.i / .u / .f); the result is in to's kind and range. (ir/types.c) */
Scalar scalar_convert(BudDType from, BudDType to, Scalar v);

/* Checks every invariant: topological order, arity, operand dtypes equal to the loop dtype,
 * shapes consistent with broadcasting and reductions, outputs valid. BUD_ERR_INTERNAL with the
 * first violation otherwise (a pass that produces an invalid graph is a bug). */
BudStatus ir_verify(const IrGraph *g);

/* Text form: one line per node, e.g.
 *   %3 = multiply %1, %2 : float32[1000]
 * Printing then parsing gives the same graph (same text). */
void ir_print(const IrGraph *g, StrBuf *sb);
IrGraph *ir_parse(BudContext *ctx, const char *text); /* NULL on error (message on ctx) */

/* Users of each node: counts[i] = number of operand slots that name node i, plus 1 for each
 * graph output naming it. counts has g->nnodes entries. */
void ir_use_counts(const IrGraph *g, int32_t *counts);

#endif /* BUD_IR_H */
