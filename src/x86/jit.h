/* jit.h — the x86-64 code generator: turns one Plan (for given operand layouts and an ISA path)
 * into machine code through the encoder (enc.h), with a read-only constant pool placed after the
 * code. Entry points: x86_jit_compile, x86_jit_check (can this plan be compiled, and if not why),
 * x86_jit_op_status (the target table: native, or fallback with a reason, per op).
 */
#ifndef BUD_X86_JIT_H
#define BUD_X86_JIT_H

#include "plan/plan.h"
#include "x86/enc.h"

/* Bumped whenever generated code changes; part of every kernel cache key. */
#define X86_JIT_VERSION 4

/* The compiled kernel before it is placed in executable memory: code bytes in buf (padded so
 * that the pool starts at buf->len, 64-byte aligned) followed by pool bytes. */
typedef struct JitOut {
  X86Buf buf;
  size_t ncode;  /* bytes of instructions (buf.len less the alignment padding) */
  uint8_t *pool; /* malloc'd */
  size_t npool;
  int next;      /* ops computed by calls into the VM ("external calls"), listed in ext_ops */
  char ext_ops[160];
  char ext_why[160]; /* why the first of them is an external call */
} JitOut;

/* Compiles plan p for layouts (one Layout per plan operand) on isa (SSE2/AVX2/AVX512).
 * Returns 0 and fills out (free with x86_jit_out_free), or -1 with the reason in why[0..nwhy)
 * (e.g. "op sin (float32): transcendental, runs in the VM"). */
int x86_jit_compile(const Plan *p, const uint8_t *layouts, X86Isa isa, JitOut *out, char *why,
                    size_t nwhy);
void x86_jit_out_free(JitOut *out);

/* 0 when the JIT can compile p for layouts on isa, else -1 and the reason (no code emitted). */
int x86_jit_check(const Plan *p, const uint8_t *layouts, X86Isa isa, char *why, size_t nwhy);

/* The target table's answer for one op: 1 native (some dtype on some path), 0 explicit fallback
 * with *reason set, -1 no entry at all (a bug: tests/test_jit.c walks every op). */
int x86_jit_op_status(int op, const char **reason);

/* The math emitter's row for MathOp mop (math.h): 1 every encoding and lane width has its
 * instructions, 0 some are missing, -1 no row at all (a bug: tests/test_jit_math.c walks them). */
int x86_jit_math_op_status(int mop);

/* Called by kernels with float sum/mean reductions (jit_call.c). */
void x86_jit_red_sum(RedAcc *acc, const double *lanes, int64_t nlanes, int64_t count);

/* Reductions the kernel hands to the VM (all but float sum/mean): the kernel fills one VM-sized
 * block of lanes per reduction and calls this when it is full (and at the end), so the VM sees
 * exactly the blocks it would have made itself and its results are reproduced bit for bit. */
typedef struct JitRedCall {
  PlanReduce r;
  int32_t slot;  /* RedAcc index */
  int32_t lw;    /* bytes per lane in the buffer (bool: 4 or 8 byte masks) */
  int32_t block; /* elements per buffer (the buffers are block * 8 bytes apart) */
  int32_t last;  /* the last entry */
} JitRedCall;
void x86_jit_red_flush(const JitRedCall *c, RedAcc *acc, char *bufs, int64_t m, int64_t index);

/* An external call: desc = {op, out dtype, nin, lanes, in dtypes[3]}; buf holds the operand
 * vectors at 0, 64, 128 and receives the result at 192 (jit_call.c). */
void x86_jit_ext_call(const int32_t *desc, char *buf);

#endif /* BUD_X86_JIT_H */
