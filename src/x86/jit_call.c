/* jit_call.c — C helpers that generated kernels call (through a pointer in their constant pool):
 * x86_jit_red_sum folds a kernel's float sum/mean partial into RedAcc in the VM's form;
 * x86_jit_ext_call runs one op the JIT does not emit over one vector with the VM's own loop
 * (so the result is the VM's, bit for bit); x86_jit_red_flush hands full blocks of reduced
 * values to the VM's vm_reduce_block.
 */
#include "vm/vm.h"
#include "x86/jit.h"


void x86_jit_red_flush(const JitRedCall *c, RedAcc *acc, char *bufs, int64_t m, int64_t index) {
  if (m <= 0) return;
  for (int k = 0;; k++) {
    const char *buf = bufs + (size_t)k * (size_t)c[k].block * 8;
    if (c[k].r.in_dtype == BUD_BOOL) { /* lane masks -> bytes 0/1 */
      uint8_t tmp[4096];
      int64_t mm = m < 4096 ? m : 4096;
      if (c[k].lw == 8)
        for (int64_t i = 0; i < mm; i++) tmp[i] = ((const uint64_t *)(const void *)buf)[i] != 0;
      else
        for (int64_t i = 0; i < mm; i++) tmp[i] = ((const uint32_t *)(const void *)buf)[i] != 0;
      vm_reduce_block(&c[k].r, &acc[c[k].slot], tmp, m, index);
    } else {
      vm_reduce_block(&c[k].r, &acc[c[k].slot], buf, m, index);
    }
    if (c[k].last) break;
  }
}

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
 * pushed as one block onto RedAcc's pairwise cascade with the VM's own push, so
 * vm_reduce_combine and vm_reduce_finish read it like a VM partial. */
void x86_jit_red_sum(RedAcc *acc, const double *lanes, int64_t nlanes, int64_t count) {
  if (count <= 0) return;
  double s = lanes[0];
  for (int64_t i = 1; i < nlanes; i++) s += lanes[i];
  vm_reduce_cascade_push(acc, s);
  acc->count += count;
}
