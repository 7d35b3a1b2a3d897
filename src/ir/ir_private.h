/* ir_private.h — what the files of src/ir share and nobody else uses. */
#ifndef BUD_IR_PRIVATE_H
#define BUD_IR_PRIVATE_H

#include "ir.h"

/* Checks node i of g (its operands and inputs are assumed checked already); on a violation fails
 * with `code` and a message prefixed by `where` (verify.c). The IR parser calls it per line. */
BudStatus ir_verify_node(const IrGraph *g, int32_t i, BudStatus code, const char *where);

#endif
