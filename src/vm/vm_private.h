/* vm_private.h — private to src/vm: what the interpreter (vm.c) needs from the reductions
 * (vm_reduce.c). */
#ifndef BUD_VM_PRIVATE_H
#define BUD_VM_PRIVATE_H

#include "vm/vm.h"

/* Accumulates m values of r->in_dtype at x (aligned) into acc; element i has the flat index
 * index_base + i (argmin/argmax). */
void vm_reduce_block(const PlanReduce *r, RedAcc *acc, const void *x, int64_t m,
                     int64_t index_base);

#endif
