/* text.c — the IR text form: ir_print and ir_parse (round-trip). TODO: in progress. */
#include "ir.h"

void ir_print(const IrGraph *g, StrBuf *sb) {
  sb_printf(sb, "# ir_print not implemented yet (%d nodes)\n", (int)g->nnodes);
}

IrGraph *ir_parse(BudContext *ctx, const char *text) {
  BUD_UNUSED(text);
  bud_fail(ctx, BUD_ERR_UNSUPPORTED, "ir_parse: not implemented yet");
  return NULL;
}
