/* front.h — the Flow language: a hand-written lexer and recursive-descent parser that turns
 * numexpr-style expressions and `name = expr` statements into Graph IR (never Python eval).
 * Errors name what and where: "unknown function 'sinn' at column 5", with the source line and a
 * caret line under it. */
#ifndef BUD_FRONT_H
#define BUD_FRONT_H

#include "ir/ir.h"

#define FLOW_MAX_SOURCE (64 * 1024) /* bytes */
#define FLOW_MAX_DEPTH 200          /* nesting of parentheses and operators */

/* Parses source into g. Variables are looked up among g's inputs by name (ir_input nodes already
 * added by the caller). Outputs are added with ir_output: every assigned name not starting with
 * '_' in order, and a trailing bare expression as "out". */
BudStatus flow_parse(BudContext *ctx, IrGraph *g, const char *source);

/* Names the source uses as variables (not functions, not assigned before use), in order of first
 * appearance, without duplicates: for callers that must bind inputs before parsing (the CLI, the
 * Python module's compile()). Returns the count, or a negative status; names are arena strings. */
int flow_free_names(BudContext *ctx, Arena *arena, const char *source, const char ***names);

#endif
