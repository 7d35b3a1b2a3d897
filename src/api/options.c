/* options.c — per-context compile options: bud_set_fast_math / bud_get_fast_math (the flag the
 * pass pipeline reads, src/opt/pipeline.c). Changing an option drops bud_eval's program cache,
 * whose keys do not include options.
 */
#include "api/api.h"

BudStatus bud_set_fast_math(BudContext *ctx, int on) {
  if (!ctx) return BUD_ERR_INVALID;
  bud_clear(ctx);
  if (on != 0 && on != 1) return bud_fail(ctx, BUD_ERR_INVALID, "fast-math: %d is not 0 or 1", on);
  if (ctx->fast_math != on) {
    api_pcache_free(ctx->pcache); /* programs compiled under the other setting */
    ctx->pcache = NULL;
    ctx->fast_math = on;
  }
  return BUD_OK;
}

int bud_get_fast_math(const BudContext *ctx) { return ctx ? ctx->fast_math : 0; }
