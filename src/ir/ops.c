/* ops.c — the op table expanded from ops.def, and name lookup (ops.def names plus the NumPy and
 * numexpr aliases Flow accepts). Entry points: op_info, op_lookup.
 * Internal ops (F_INTERNAL) are found by op_lookup too: the IR text parser needs them; the Flow
 * parser decides what users may call.
 */
#include "ir.h"

#include <string.h>

static const OpInfo op_table[] = {
#define OP(ID, name, nargs, pclass, purity, tsig, flags) \
  {name, nargs, PC_##pclass, PU_##purity, TS_##tsig, flags},
#include "ops.def"
#undef OP
};

/* The table must list the ops in Op order (it is built from the same rows, so only the length can
 * differ if someone edits one expansion but not the other). */
_Static_assert(BUD_ARRAY_LEN(op_table) == OP_COUNT, "op table and Op enum differ in length");
/* Code relies on these positions (reductions contiguous, leaves first). */
_Static_assert(OP_input == 0 && OP_const == 1, "leaf ops must come first");
_Static_assert(OP_prod == OP_sum + 1 && OP_min == OP_sum + 2 && OP_max == OP_sum + 3 &&
                   OP_mean == OP_sum + 4 && OP_any == OP_sum + 5 && OP_all == OP_sum + 6 &&
                   OP_argmin == OP_sum + 7 && OP_argmax == OP_sum + 8,
               "reductions must be contiguous, in ops.def order");

const OpInfo *op_info(Op op) { return &op_table[op]; }

static const struct {
  const char *alias;
  Op op;
} op_aliases[] = {
    {"absolute", OP_abs},      /* NumPy */
    {"mod", OP_mod},           /* NumPy: np.mod is np.remainder */
    {"true_divide", OP_div},   /* NumPy */
    {"bitwise_not", OP_not},   /* NumPy: np.bitwise_not is np.invert */
};

int op_lookup(const char *name) {
  if (!name) return -1;
  for (int i = 0; i < OP_COUNT; i++)
    if (strcmp(name, op_table[i].name) == 0) return i;
  for (size_t i = 0; i < BUD_ARRAY_LEN(op_aliases); i++)
    if (strcmp(name, op_aliases[i].alias) == 0) return (int)op_aliases[i].op;
  return -1;
}
