/* error.c — status names from errors.def and the one way library code reports a failure:
 * bud_fail leaves the status and a formatted message on the context.
 * Entry points: bud_fail, bud_failv, bud_clear, bud_status_name, bud_last_error. */
#include "base.h"

#include <stdio.h>
#include <string.h>

#define BUD_ERR_OK BUD_OK
#define ERR(ID, value, pyexc) \
  _Static_assert(BUD_ERR_##ID == (value), "errors.def value differs from bud.h: " #ID);
#include "errors.def"
#undef ERR

static const struct { BudStatus st; const char *name; } status_names[] = {
#define ERR(ID, value, pyexc) {(BudStatus)(value), (value) == 0 ? "BUD_OK" : "BUD_ERR_" #ID},
#include "errors.def"
#undef ERR
};

const char *bud_status_name(BudStatus st) {
  for (size_t i = 0; i < BUD_ARRAY_LEN(status_names); i++)
    if (status_names[i].st == st) return status_names[i].name;
  return "BUD_ERR_UNKNOWN";
}

BudStatus bud_failv(BudContext *ctx, BudStatus st, const char *fmt, va_list ap) {
  if (!ctx) return st;
  ctx->status = st;
  vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
  return st;
}

BudStatus bud_fail(BudContext *ctx, BudStatus st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  bud_failv(ctx, st, fmt, ap);
  va_end(ap);
  return st;
}

void bud_clear(BudContext *ctx) {
  if (!ctx) return;
  ctx->status = BUD_OK;
  ctx->errmsg[0] = '\0';
}

const char *bud_last_error(const BudContext *ctx) { return ctx ? ctx->errmsg : "no context"; }

BudStatus bud_last_status(const BudContext *ctx) { return ctx ? ctx->status : BUD_ERR_INVALID; }
