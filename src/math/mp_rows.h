/* mp_rows.h — private to src/math: the row macros of program files (p_*.def, core_*.def), each
 * routed to the includer's macro for the current MP_PHASE (progs.h reads every program twice):
 *   K(d, v)            d = the double constant v
 *   KB(d, bits)        d = the constant with these bits
 *   S(d, op, a, b, c)  d = op(a, b, c) (mops.def; unused operands are _)
 *   SI(d, op, a, n)    d = op(a, n) for SHL/SHR/SRA (shift count n)
 *   P(d, a, c0, ...)   d = c0 + a*c1 + a^2*c2 + ... (Horner, FMA)
 *   ESC(m, fn)         lanes whose mask m is set take the result of the scalar fn(x, y)
 *   OUT(r)             the result is r
 * Values are named once (single assignment); x and y are the operands. */
#ifndef BUD_MATH_MP_ROWS_H
#define BUD_MATH_MP_ROWS_H

#define MP_CAT_(a, b) a##b
#define MP_CAT(a, b) MP_CAT_(a, b)

#define K(d, v) MP_CAT(MP_K, MP_PHASE)(d, v)
#define KB(d, v) MP_CAT(MP_KB, MP_PHASE)(d, v)
#define S(d, op, a, b, c) MP_CAT(MP_S, MP_PHASE)(d, op, a, b, c)
#define SI(d, op, a, n) MP_CAT(MP_SI, MP_PHASE)(d, op, a, n)
#define P(d, a, ...) MP_CAT(MP_P, MP_PHASE)(d, a, __VA_ARGS__)
#define ESC(m, fn) MP_CAT(MP_ESC, MP_PHASE)(m, fn)
#define OUT(r) MP_CAT(MP_OUT, MP_PHASE)(r)

#endif
