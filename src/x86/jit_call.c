/* jit_call.c — C helpers that generated kernels call (through a pointer in their constant pool):
 * x86_jit_red_sum folds a kernel's float sum/mean partial into RedAcc in the VM's form;
 * x86_jit_ext_call runs one op the JIT does not emit over one vector with the VM's own loop
 * (so the result is the VM's, bit for bit).
 */
#include "vm/vm.h"
#include "x86/jit.h"

void x86_jit_ext_call(const int32_t *desc, char *buf) {
  BudDType dts[3];
  const void *in[3];
  int nin = desc[2];
  for (int k = 0; k < nin && k < 3; k++) {
    dts[k] = (BudDType)desc[4 + k];
    in[k] = buf + 64 * k;
  }
  /* no context: the ops called out never fail (integer powers, which can, stay in the VM) */
  (void)vm_elementwise(NULL, (Op)desc[0], (BudDType)desc[1], nin, dts, buf + 192, in, desc[3]);
}

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
