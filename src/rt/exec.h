/* exec.h — runs a compiled Program: checks the arrays against what it was compiled for, handles
 * outputs that alias inputs (as if inputs were copied first), allocates temporaries, and drives
 * each group's kernel (VM or JIT) over the iteration space in chunks on the context's threads,
 * combining reductions in a fixed order. */
#ifndef BUD_RT_EXEC_H
#define BUD_RT_EXEC_H

#include "plan/plan.h"

/* inputs: prog->ninputs arrays; outputs: prog->noutputs arrays (data == NULL: allocated here). */
BudStatus rt_run_program(BudContext *ctx, BudProgram *prog, const BudArray *inputs,
                         BudArray *outputs);

/* Frees the VM scratch the executor keeps in prog's groups between runs; program_free calls it
 * (no run of prog may be in progress). */
void rt_program_release(BudProgram *prog);

/* Frees the executor's state in ctx: the thread pool (joins its workers). bud_context_free and
 * bud_set_num_threads call it; the next parallel run makes a new pool. */
void rt_threads_free(BudContext *ctx);

#endif
