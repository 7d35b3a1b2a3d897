/* cli.h — the pieces of the `bud` command-line tool: commands (eval, explain, demo, cpu), the
 * NumPy-style array printer and input parsing shared by them.
 * Entry points: cli_cmd_*, cli_print_array, cli_parse_input.
 */
#ifndef BUD_CLI_H
#define BUD_CLI_H

#include "base/base.h"

#include <stdio.h>

/* Exit codes: 0 ok, 1 an error (message on stderr), 2 a usage error. */
enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

int cli_cmd_eval(int argc, char **argv);
int cli_cmd_explain(int argc, char **argv);
int cli_cmd_demo(int argc, char **argv);
int cli_cmd_cpu(int argc, char **argv);

/* Prints a like NumPy's repr without "array(...)": "[1.  2.5 3. ]", "[ True False]", nested rows,
 * and arrays over 1000 elements summarised with "...". */
void cli_print_array(FILE *f, const BudArray *a);

/* One `name=VALUE` argument. VALUE is a number (0-d int64 / float64), true/false (0-d bool), a
 * .npy file, or — when allow_spec — a spec such as float32[1000] or float64[10,3] (data NULL).
 * On success *a is set (owned when loaded or a number) and *name points into arg. */
int cli_parse_input(BudContext *ctx, char *arg, bool allow_spec, const char **name, BudArray *a);

/* Reports an error "bud: error: ..." on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
