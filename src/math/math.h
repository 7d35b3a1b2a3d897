/* math.h — vector math: exp, log, sin, ... (fns.def) for float32 and float64, each algorithm
 * written once as a program of lane steps (mops.def, the programs in src/math/p_*.def) that the
 * VM runs as straight-line C (math_eval) and the JIT walks to emit instructions (math_prog).
 * Entry points: math_eval, math_eval_fn, math_prog, math_fn_of_op, math_fn_name.
 *
 * A program has a lane width (MathProg.lanebits). 64: every value is a double or its 64 bits;
 * float64 functions, and the float32 functions not yet written for float lanes, which convert
 * each input to double (exact) and round the result to float32 once. 32: every value is a float
 * or its 32 bits (8 lanes per ymm), float arithmetic throughout (float32 functions only).
 * Every lane performs the same operations, so results do not depend on the vector width. A
 * program may name an escape: a mask of lanes (rare: huge trigonometric arguments) whose result
 * comes from a scalar C function instead; the VM and the JIT call the same function, so they
 * still agree bit for bit. mops.def gives each op's meaning at both widths. */
#ifndef BUD_MATH_H
#define BUD_MATH_H

#include "base/base.h"
#include "ir/ir.h"

typedef enum MathFn {
#define MFN(ID, op, nin, f32, f64) MATH_##ID,
#include "math/fns.def"
#undef MFN
  MATH_FN_COUNT
} MathFn;

typedef enum MathOp {
#define MOP(ID, form, meaning) MOP_##ID,
#include "math/mops.def"
#undef MOP
  MOP_COUNT
} MathOp;

/* Value numbers inside a program: the operands, "none", then one per step that defines a value
 * (every step but ESC and OUT), in step order. */
enum { MATH_V_X = 0, MATH_V_Y = 1, MATH_V_NONE = 2, MATH_V_FIRST = 3 };

/* The scalar escape: the lane's whole result, as a double, from the lane's operands as doubles
 * (for float32 programs, of either lane width, the float inputs widened exactly; the result is
 * rounded to float by the caller). */
typedef double (*MathEscFn)(double x, double y);

typedef struct MathStep {
  uint8_t op;         /* MathOp */
  uint8_t d, a, b, c; /* value numbers (MATH_V_NONE where unused) */
  uint8_t n;          /* SHL/SHR/SRA count (< lanebits); HORNER: number of coefficients */
  double k;           /* K (lanebits 32: a float value, exactly) */
  uint64_t bits;      /* KB (lanebits 32: the low 32 bits, the rest zero) */
  const double *coef; /* HORNER, lanebits 64: coef[0] + a*coef[1] + ..., an FMA chain from the top */
  MathEscFn esc;      /* ESC: the scalar function */
  const float *coef32; /* HORNER, lanebits 32: the same with float coefficients (coef is NULL) */
} MathStep;

typedef struct MathProg {
  const char *name;     /* "exp_f32" */
  MathFn fn;
  BudDType dt;          /* the dtype of the inputs and the result */
  int nin;
  int lanebits;         /* 64: double lanes (float32 inputs widened, result rounded); 32: float lanes */
  int nvalues;          /* value numbers in use (< 256) */
  const MathStep *steps;
  int nsteps;           /* the last step is OUT */
} MathProg;

/* The program for fn on dt, or NULL when there is none (math_eval then calls libm). */
const MathProg *math_prog(MathFn fn, BudDType dt);

/* Runs program p on one lane by walking its steps (the tables' meaning, for tests and as the
 * JIT's model); bit-identical to math_eval for the program's dtype (float32: round the result;
 * a lanebits 32 program takes (float)x, (float)y and returns a float value). */
double math_prog_run(const MathProg *p, double x, double y);

/* out[i] = fn(in0[i] [, in1[i]]) for i < n; dt is FLOAT32 or FLOAT64; buffers contiguous and
 * aligned to the element size; out may equal an input exactly (never overlap it partially). */
void math_eval_fn(MathFn fn, BudDType dt, void *out, const void *in0, const void *in1, int64_t n);
/* The same for an ops.def op (one of the F_TRANSC ops); returns false when op has no MathFn. */
bool math_eval(Op op, BudDType dt, void *out, const void *in0, const void *in1, int64_t n);

MathFn math_fn_of_op(Op op); /* MATH_FN_COUNT when op is not a math function */
const char *math_fn_name(MathFn fn);
int math_fn_nin(MathFn fn);

/* The scalar references used where no program exists (fns.def). */
float math_sigmoidf(float x);
double math_sigmoid(double x);
/* libm's function for fn on dt, as a double -> double (float32 ones round through float). */
double math_libm(MathFn fn, BudDType dt, double x, double y);

/* Error of r in units of the last place of the correctly rounded reference: |r - ref| divided
 * by the spacing of the dtype's numbers in ref's binade (subnormal spacing below the normals).
 * 0 when both are NaN or both the same infinity; HUGE_VAL when only one is NaN or r is an
 * infinity the reference does not round to. */
double math_ulp_err_f32(float r, double ref);
double math_ulp_err_f64(double r, long double ref);

#endif /* BUD_MATH_H */
