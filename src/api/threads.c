/* threads.c — a context's thread count for runs (the executor's pool lives in the context, see
 * rt/exec.h). Entry points: bud_set_num_threads, bud_get_num_threads.
 */
#include "api/api.h"
#include "rt/exec.h"
#include "rt/pool.h"

BudStatus bud_set_num_threads(BudContext *ctx, int n) {
  if (!ctx) return BUD_ERR_INVALID;
  bud_clear(ctx);
  if (n < 0 || n > RT_MAX_THREADS)
    return bud_fail(ctx, BUD_ERR_INVALID, "bud_set_num_threads: %d threads (expected 0 for the "
                    "default, or 1 to %d)", n, RT_MAX_THREADS);
  int want = n == 0 ? rt_default_threads() : n;
  if (ctx->pool && rt_pool_size(ctx->pool) != want) rt_threads_free(ctx); /* remade on demand */
  ctx->nthreads = want;
  return BUD_OK;
}

int bud_get_num_threads(const BudContext *ctx) {
  if (!ctx) return rt_default_threads();
  return ctx->nthreads > 0 ? ctx->nthreads : rt_default_threads();
}
