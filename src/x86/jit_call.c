/* jit_call.c — C helpers that generated kernels call (through a pointer in their constant pool):
 * x86_jit_red_sum folds a kernel's float sum/mean partial into RedAcc in the VM's form.
 */
#include "x86/jit.h"

/* The kernel's vector accumulators, already added lane-wise, are summed here in lane order and
 * pushed as one block onto RedAcc's pairwise cascade, exactly as vm_reduce.c's vm_cascade_push
 * does (a binary counter over nblocks; keep the two in step), so vm_reduce_combine and
 * vm_reduce_finish read it like a VM partial. */
void x86_jit_red_sum(RedAcc *acc, const double *lanes, int64_t nlanes, int64_t count) {
  if (count <= 0) return;
  double s = lanes[0];
  for (int64_t i = 1; i < nlanes; i++) s += lanes[i];
  uint64_t k = acc->nblocks;
  int lvl = 0;
  while ((k & 1) && lvl < 47) {
    s = acc->cascade[lvl] + s;
    k >>= 1;
    lvl++;
  }
  acc->cascade[lvl] = s;
  acc->nblocks++;
  acc->count += count;
}
