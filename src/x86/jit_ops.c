/* jit_ops.c — target facts keyed by op: for every row of ops.def, how the x86 code generator
 * handles it (an emitter kind and the instruction per encoding x element class), or an explicit
 * fallback with the reason `bud explain` and the statistics report. tests/test_jit.c walks every
 * op and fails when one has neither. Entry point: x86_jit_ops[], x86_jit_op_status.
 */
#include "x86/jit_int.h"

#define N JIT_NO
#define X4(a, b, c, d) {X86_##a, X86_##b, X86_##c, X86_##d}
#define NONE4 {N, N, N, N}
#define X86_N JIT_NO
#define FB(reason) {JK_FALLBACK, 0, 0, {NONE4, NONE4, NONE4}, reason}
#define LEAF {JK_LEAF, 0, 0, {NONE4, NONE4, NONE4}, NULL}
#define RED {JK_REDUCE, 0, 0, {NONE4, NONE4, NONE4}, NULL}
/* Only the kind matters for these: the emitter picks the instructions. */
#define KIND(k, imm, fl) {k, imm, fl, {NONE4, NONE4, NONE4}, NULL}
/* the program of src/math inline (jit_math.c); dtypes without one are external calls */
#define MATH {JK_MATH, 0, 0, {NONE4, NONE4, NONE4}, "no math program for this dtype: libm in the VM"}


const JitOpRow x86_jit_ops[OP_COUNT] = {
    [OP_input] = LEAF,
    [OP_const] = LEAF,
    [OP_add] = {JK_BIN, 0, JF_COMM,
                {X4(addps, addpd, paddd, paddq), X4(vaddps, vaddpd, vpaddd, vpaddq),
                 X4(evaddps, evaddpd, evpaddd, evpaddq)}, NULL},
    [OP_sub] = {JK_BIN, 0, 0,
                {X4(subps, subpd, psubd, psubq), X4(vsubps, vsubpd, vpsubd, vpsubq),
                 X4(evsubps, evsubpd, evpsubd, evpsubq)}, NULL},
    [OP_mul] = {JK_BIN, 0, JF_COMM,
                {X4(mulps, mulpd, pmulld, N), X4(vmulps, vmulpd, vpmulld, N),
                 X4(evmulps, evmulpd, evpmulld, evpmullq)},
                "int64 multiply needs AVX-512DQ (vpmullq)"},
    [OP_div] = {JK_BIN, 0, 0,
                {X4(divps, divpd, N, N), X4(vdivps, vdivpd, N, N), X4(evdivps, evdivpd, N, N)},
                "integer division: no vector instruction"},
    [OP_floordiv] = FB("floor_divide: NumPy's Python-style rounding is done by the VM"),
    [OP_mod] = FB("remainder: NumPy's Python-style sign rules are done by the VM"),
    [OP_pow] = MATH,
    [OP_neg] = KIND(JK_NEG, 0, 0),
    [OP_fma] = KIND(JK_FMA, 0, 0),
    /* float predicates: EQ_OQ, NEQ_UQ, LT_OS, LE_OS, GT_OS, GE_OS (NaN: only != is true) */
    [OP_eq] = KIND(JK_CMP, 0x00, JF_COMM),
    [OP_ne] = KIND(JK_CMP, 0x04, JF_COMM),
    [OP_lt] = KIND(JK_CMP, 0x01, JF_SIGNED),
    [OP_le] = KIND(JK_CMP, 0x02, JF_SIGNED),
    [OP_gt] = KIND(JK_CMP, 0x0E, JF_SIGNED),
    [OP_ge] = KIND(JK_CMP, 0x0D, JF_SIGNED),
    [OP_and] = {JK_BIN, 0, JF_COMM | JF_MASKIN,
                {X4(N, N, pand, pand), X4(N, N, vpand, vpand), X4(N, N, evpandd, evpandq)}, NULL},
    [OP_or] = {JK_BIN, 0, JF_COMM | JF_MASKIN,
               {X4(N, N, por, por), X4(N, N, vpor, vpor), X4(N, N, evpord, evporq)}, NULL},
    [OP_xor] = {JK_BIN, 0, JF_COMM | JF_MASKIN,
                {X4(N, N, pxor, pxor), X4(N, N, vpxor, vpxor), X4(N, N, evpxord, evpxorq)}, NULL},
    [OP_not] = KIND(JK_NOT, 0, JF_MASKIN),
    [OP_shl] = {JK_SHIFT, 0, 0,
                {NONE4, X4(N, N, vpsllvd, vpsllvq), X4(N, N, evpsllvd, evpsllvq)},
                "variable shifts need AVX2"},
    [OP_shr] = {JK_SHIFT, 0, 0,
                {NONE4, X4(N, N, vpsravd, N), X4(N, N, evpsravd, evpsravq)},
                "variable shifts need AVX2; int64 arithmetic shift needs AVX-512 (vpsravq)"},
    [OP_where] = KIND(JK_WHERE, 0, JF_CLOBBER),
    [OP_sin] = MATH,
    [OP_cos] = MATH,
    [OP_tan] = MATH,
    [OP_arcsin] = MATH,
    [OP_arccos] = MATH,
    [OP_arctan] = MATH,
    [OP_arctan2] = MATH,
    [OP_sinh] = MATH,
    [OP_cosh] = MATH,
    [OP_tanh] = MATH,
    [OP_arcsinh] = MATH,
    [OP_arccosh] = MATH,
    [OP_arctanh] = MATH,
    [OP_exp] = MATH,
    [OP_exp2] = MATH,
    [OP_expm1] = MATH,
    [OP_log] = MATH,
    [OP_log10] = MATH,
    [OP_log1p] = MATH,
    [OP_log2] = MATH,
    [OP_cbrt] = MATH,
    [OP_erf] = MATH,
    [OP_sigmoid] = MATH,
    [OP_sqrt] = {JK_UN, 0, 0,
                 {X4(sqrtps, sqrtpd, N, N), X4(vsqrtps, vsqrtpd, N, N),
                  X4(evsqrtps, evsqrtpd, N, N)}, NULL},
    [OP_abs] = KIND(JK_ABS, 0, JF_SIGNED),
    /* roundps immediates (precision exception suppressed): floor, ceil, trunc, nearest-even */
    [OP_floor] = KIND(JK_ROUND, 0x09, 0),
    [OP_ceil] = KIND(JK_ROUND, 0x0A, 0),
    [OP_trunc] = KIND(JK_ROUND, 0x0B, 0),
    [OP_rint] = KIND(JK_ROUND, 0x08, 0),
    [OP_sign] = FB("sign: not yet emitted natively"),
    [OP_minimum] = KIND(JK_MINMAX, 0, JF_CLOBBER | JF_SIGNED),
    [OP_maximum] = KIND(JK_MINMAX, 0, JF_CLOBBER | JF_SIGNED),
    [OP_clip] = FB("clip: not yet emitted natively"),
    [OP_hypot] = MATH,
    [OP_fmod] = FB("fmod: libm in the VM"),
    [OP_copysign] = KIND(JK_COPYSIGN, 0, 0),
    [OP_isnan] = KIND(JK_PRED, 0, 0),
    [OP_isinf] = KIND(JK_PRED, 0, 0),
    [OP_isfinite] = KIND(JK_PRED, 0, 0),
    [OP_cast] = KIND(JK_CAST, 0, 0),
    [OP_sum] = RED,
    [OP_prod] = RED,
    [OP_min] = RED,
    [OP_max] = RED,
    [OP_mean] = RED,
    [OP_any] = RED,
    [OP_all] = RED,
    [OP_argmin] = RED,
    [OP_argmax] = RED,
    [OP_dot] = FB("dot: a GROUP_DOT kernel, not a fused plan"),
    [OP_matmul] = FB("matmul: a GROUP_DOT kernel, not a fused plan"),
};

/* The fallback reasons above are the only JIT_NO-free way to say "not here"; a row that was
 * forgotten has kind JK_NONE (0). */
_Static_assert(JK_NONE == 0, "forgotten rows read as JK_NONE");

int x86_jit_op_status(int op, const char **reason) {
  if (op < 0 || op >= OP_COUNT) return -1;
  const JitOpRow *r = &x86_jit_ops[op];
  if (reason) *reason = r->why;
  if (r->kind == JK_NONE) return -1;
  if (r->kind == JK_FALLBACK) return 0;
  return 1;
}
