/* context.c — the BudContext: creation, release (bud_eval's program cache and the runtime's
 * state), statistics and version. Contexts share nothing, so separate threads may each use their
 * own. Entry points: bud_context_new, bud_context_free, bud_stats, bud_version, bud_free.
 */
#include "api/api.h"
#include "rt/exec.h"
#include "rt/kernel.h"

#include <stdlib.h>
#include <string.h>


BudContext *bud_context_new(void) {
  BudContext *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return NULL;
  ctx->status = BUD_OK;
  ctx->isa = -1;
  return ctx;
}

/* Call point for freeing the runtime state held in ctx->rt. */
static void api_release_runtime(BudContext *ctx) {
  if (ctx->rt) rt_state_free(ctx);
}

void bud_context_free(BudContext *ctx) {
  if (!ctx) return;
  api_pcache_free(ctx->pcache); /* programs first: they may hold kernels owned by ctx->rt */
  ctx->pcache = NULL;
  api_release_runtime(ctx);
  rt_threads_free(ctx); /* joins the executor's pool workers */
  free(ctx);
}

void bud_stats(const BudContext *ctx, BudStats *out) {
  if (!out) return;
  if (!ctx) {
    memset(out, 0, sizeof *out);
    return;
  }
  *out = ctx->stats;
}

const char *bud_version(void) { return BUD_VERSION_STRING; }

void bud_free(void *p) { free(p); }
