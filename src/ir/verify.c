/* verify.c — ir_verify: checks every invariant of a graph (see ir.h). TODO: in progress. */
#include "ir.h"

BudStatus ir_verify(const IrGraph *g) {
  return bud_fail(g->ctx, BUD_ERR_UNSUPPORTED, "ir_verify: not implemented yet");
}
