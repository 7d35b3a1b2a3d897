/* exec.h — runs a compiled Program: checks the arrays against what it was compiled for, handles
 * outputs that alias inputs (as if inputs were copied first), allocates temporaries, and drives
 * each group's kernel (VM or JIT) over the iteration space row by row, combining reductions in a
 * fixed order. */
#ifndef BUD_RT_EXEC_H
#define BUD_RT_EXEC_H

#include "plan/plan.h"

/* inputs: prog->ninputs arrays; outputs: prog->noutputs arrays (data == NULL: allocated here). */
BudStatus rt_run_program(BudContext *ctx, BudProgram *prog, const BudArray *inputs,
                         BudArray *outputs);

#endif
