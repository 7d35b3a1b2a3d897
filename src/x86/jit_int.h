/* jit_int.h — private to the x86 code generator (jit.c, jit_emit.c, jit_ops.c): the target table
 * keyed by op, the compiler state, and the op emitters' interface.
 */
#ifndef BUD_X86_JIT_INT_H
#define BUD_X86_JIT_INT_H

#include "rt/kernel.h"
#include "x86/jit.h"

/* Element classes the emitters know; unsigned ints share the signed rows where the
 * instruction does not care about sign (JF_SIGNED marks rows where it does). */
enum { JD_F32, JD_F64, JD_I32, JD_I64, JD_N };

/* The lane kind a dtype computes in; bool values are lane masks as wide as the plan's lanes
 * (lw bytes). -1 for dtypes the JIT does not compile. */
static inline int jit_jd_of(int dt, int lw) {
  switch (dt) {
  case BUD_FLOAT32: return JD_F32;
  case BUD_FLOAT64: return JD_F64;
  case BUD_INT32: case BUD_UINT32: return JD_I32;
  case BUD_INT64: case BUD_UINT64: return JD_I64;
  case BUD_BOOL: return lw == 8 ? JD_I64 : JD_I32;
  default: return -1;
  }
}
enum { JE_LEG, JE_VEX, JE_EVEX, JE_N }; /* encodings: the ISA paths sse2, avx2, avx512 */

typedef enum JitKind {
  JK_NONE = 0,  /* no entry: a bug (the table test fails) */
  JK_FALLBACK,  /* the plan runs in the VM; `why` says why */
  JK_LEAF,      /* input / const: not an LK_OP */
  JK_REDUCE,    /* reductions: the loop code, not an op emitter */
  JK_BIN,       /* d = a op b, one instruction */
  JK_UN,        /* d = op a, one instruction (sqrt) */
  JK_MINMAX,    /* float: instruction + NaN fix-up; int: compare + blend */
  JK_NEG,
  JK_ABS,
  JK_NOT,
  JK_ROUND,     /* imm = rounding immediate */
  JK_FMA,
  JK_CMP,       /* imm = float predicate */
  JK_WHERE,
  JK_COPYSIGN,
  JK_SHIFT,
  JK_PRED,      /* isnan / isinf / isfinite */
  JK_CAST,
  JK_MATH,      /* exp, sin, ...: the math program inline (jit_math.c) */
} JitKind;

enum {
  JF_COMM = 1,     /* commutative */
  JF_CLOBBER = 2,  /* the destination must not share a register with any source */
  JF_SIGNED = 4,   /* integer rows are signed only (unsigned dtypes fall back) */
  JF_MASKIN = 8,   /* bitwise rows that also take bool lane masks (and/or/xor/not) */
};

typedef struct JitOpRow {
  uint8_t kind;
  uint8_t imm;
  uint8_t flags;
  X86Op x[JE_N][JD_N]; /* by encoding and element class; X86_NOP_COUNT = none */
  const char *why;     /* fallback reason */
} JitOpRow;

extern const JitOpRow x86_jit_ops[OP_COUNT];

#define JIT_NO X86_NOP_COUNT

/* ---- compiler state ---- */

enum { JIT_MODE_FULL, JIT_MODE_MASK_VEX, JIT_MODE_MASK_K, JIT_MODE_MASK_BUF };

typedef struct Jit {
  const Plan *p;
  const uint8_t *layouts;
  X86Isa isa;
  int enc;          /* JE_* */
  X86Buf *b;
  uint32_t feat;    /* features the path may use */
  int vbytes;       /* vector register bytes: 16/32/64 */
  int L;            /* lanes per vector step */
  int nregs;        /* allocatable vector registers 0..nregs-1 */
  int S[3], T;      /* reload scratch registers and the emitters' temporary */
  /* per vreg */
  uint8_t *lw;      /* lane width in bytes (bool: the width of its mask lanes) */
  uint8_t *jd;      /* JD_* of the value (bool: by lane width) */
  bool *inv;        /* loop invariant (computed once before the loop) */
  bool *used_body;  /* an invariant used inside the loop */
  int16_t *reg;     /* register now holding it, -1 */
  bool *pinned;     /* invariant kept in its register for the whole kernel */
  bool *in_slot;    /* its stack slot holds it */
  int32_t *lastuse; /* last use inside the current segment */
  int16_t owner[32];
  int8_t gpr[BUD_MAX_OPERANDS]; /* register holding operand s's pointer, -1: reload */
  int32_t slot_base;            /* stack offset of the vreg slots (one per vreg, 64 bytes) */
  int32_t mask_slot[2];         /* AVX2 tail masks for 4- and 8-byte lanes */
  int32_t buf_slot;             /* SSE2 tail buffers: 16 bytes per operand */
  int32_t frame;
  int32_t save_slot;            /* args, begin, end saved for the reduction calls */
  int32_t red_slot;             /* 64 bytes per reduction: its lanes for the call */
  int naccum;                   /* vector accumulators per reduction */
  bool rcall[8];                /* reduction r goes to the VM's vm_reduce_block, VM block by block */
  int ncall, rblock;            /* such reductions; the VM's block length (elements) */
  int32_t rbuf_slot;            /* rblock * 8 bytes per such reduction: the block being filled */
  int32_t rcnt_slot;            /* int64 fill count, then int64 first index of the block */
  int8_t acc_reg[8][4];         /* [reduction][accumulator] registers */
  bool reserved[32];            /* registers taken by accumulators */
  /* external calls: ops the VM computes for the kernel, one vector at a time */
  bool *ext;                    /* per instruction: call the VM for this LK_OP */
  int next;                     /* how many instructions call out */
  int cur_inst, fail_inst;      /* instruction being handled / the one that failed, -1 */
  int32_t ext_slot;             /* 4 x 64 bytes: the call's operands and its result */
  int32_t vsave_slot;           /* 64 bytes per vector register kept across a call */
  int32_t gsave_slot;           /* caller-saved GPRs and k7 kept across a call */
  int nstrided;                 /* loads/stores of LAYOUT_STRIDED operands */
  int32_t gath_slot;            /* 128 bytes: lanes of a strided operand gathered/scattered */
  int32_t math_slot;            /* math programs' scratch (jit_math.c), math_bytes long */
  int32_t math_bytes;
  int math_regs;                /* registers the largest program wants (pinning leaves them) */
  bool math_esc;                /* some program has escapes: calls need the save slots */
  char ext_why[160];            /* why the first external call is one */
  size_t ncode;     /* code bytes before the pool padding */
  int mode;         /* JIT_MODE_* of the body being emitted */
  int copy;         /* unrolled copy being emitted */
  /* pool */
  uint8_t *pool;
  size_t npool, cappool;
  int32_t pool_label;
  int err;
  char *why;
  size_t nwhy;
} Jit;

/* jit_emit.c */
X86Reg jit_vreg(const Jit *J, int vb, int n);  /* register n at the width of vb bytes */
int32_t jit_pool(Jit *J, const void *bytes, size_t n); /* pool offset of these bytes (deduped) */
X86Opnd jit_pool_opnd(Jit *J, int32_t off);
/* A vector of vb bytes holding `lanes` copies of the lw-byte pattern v. */
X86Opnd jit_pool_splat(Jit *J, uint64_t v, int lw, int vb);
void jit_mov(Jit *J, X86Reg d, X86Reg s);
void jit_load(Jit *J, X86Reg d, X86Mem m, int vb, int lw);
void jit_store(Jit *J, X86Mem m, X86Reg s, int vb, int lw);
/* Emits inst k (an LK_OP) with registers d, a[0..nin). */
void jit_emit_op(Jit *J, const LInst *in, X86Reg d, const X86Reg *a);
/* Can op run natively for these dtypes on this path? 0, or -1 with J->why set. */
int jit_op_ok(Jit *J, const LInst *in);
void jit_fail(Jit *J, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* jit_math.c: JK_MATH ops. jit_math_ok: 0 when op's program can be emitted inline on this path
 * (else -1, J->why says why); jit_math_note: the scratch it needs (analysis); jit_math_emit:
 * d = op(a...) as the program's instructions. */
int jit_math_ok(Jit *J, const LInst *in);
void jit_math_note(Jit *J, const LInst *in);
void jit_math_emit(Jit *J, const LInst *in, X86Reg d, const X86Reg *a);

#endif /* BUD_X86_JIT_INT_H */
