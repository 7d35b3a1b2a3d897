/* kernel.h — machine-code kernels for fused groups: the runtime's entry point into the x86-64 JIT
 * (src/x86/jit*.c) and the in-memory kernel cache (kcache.c). Entry points: rt_kernel_get (compile
 * on first use, then cached), rt_kernel_release (unpin a group's kernel), rt_kernel_explain,
 * rt_isa_check, rt_state_free. One context = one thread; kernels are pinned by the groups that use
 * them, so a kernel a live Group refers to is never evicted (see kcache.c).
 */
#ifndef BUD_RT_KERNEL_H
#define BUD_RT_KERNEL_H

#include "plan/plan.h"

/* How one plan operand is laid out along the iteration for a call: contiguous (stride ==
 * element size), broadcast (stride 0: one value for the whole row), or any other stride. */
typedef enum Layout { LAYOUT_CONTIG, LAYOUT_BCAST, LAYOUT_STRIDED } Layout;

/* The layout of an operand whose byte stride along the row is `stride`. */
static inline uint8_t rt_layout_of(int64_t stride, BudDType dt) {
  return stride == 0 ? LAYOUT_BCAST : stride == dtype_size(dt) ? LAYOUT_CONTIG : LAYOUT_STRIDED;
}

/* The machine-code kernel for group grp's plan and the operand layouts (one per plan operand),
 * compiled on first use and cached in the context's kernel cache; NULL when the JIT is off
 * (BUD_ISA=vm), the CPU or OS refuses, or the plan uses something the JIT does not handle — the
 * reason is counted in ctx->stats (jit_fallbacks, kernels_vm) and kept for rt_kernel_explain.
 * The kernel is pinned by grp (grp->kernel) until rt_kernel_release or another layout replaces it;
 * the returned function stays valid at least until the next rt_kernel_get on ctx. Never sets an
 * error on ctx: a NULL return simply means "run this group in the VM". */
BudKernelFn rt_kernel_get(BudContext *ctx, Group *grp, const uint8_t *layouts);

/* Unpins grp's kernel (call when the program that owns grp is freed; safe after
 * rt_state_free of the context that compiled it, and safe when grp->kernel is NULL). */
void rt_kernel_release(Group *grp);

/* Appends to sb what the JIT did for grp: the ISA, each kernel compiled for it (disassembly via
 * objdump when present, else hex) or why the VM runs it. */
void rt_kernel_explain(BudContext *ctx, Group *grp, StrBuf *sb);

/* BUD_OK, or BUD_ERR_CPU with a clear message on ctx when BUD_ISA forces an ISA this CPU lacks
 * (or names an unknown ISA). The API calls it at context creation / compile. */
BudStatus rt_isa_check(BudContext *ctx);

/* The ISA path the JIT takes on ctx (an X86Isa: BUD_ISA or the context's forced ISA, else the
 * best this CPU has; X86_ISA_VM when the JIT is off or refused). Resolved once per context. */
int rt_isa_path(BudContext *ctx);

/* Frees ctx->rt (kernel cache, code memory). Kernels still pinned by live groups stay valid
 * until they are released. */
void rt_state_free(BudContext *ctx);

/* Bound on the code bytes the cache keeps (default 64 MiB, or $BUD_CODE_CACHE_MB); least recently
 * used unpinned kernels are evicted beyond it. */
void rt_kernel_cache_limit(BudContext *ctx, size_t bytes);

#endif /* BUD_RT_KERNEL_H */
