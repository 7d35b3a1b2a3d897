/* eval.c — `bud eval` and `bud explain`: parse `name=VALUE` inputs (a number, true/false, a .npy
 * file, or for explain a spec like float32[1000]), compile, run, and write the outputs to .npy
 * files or print them NumPy-style. Entry points: cli_cmd_eval, cli_cmd_explain, cli_parse_input.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "front/npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char cli_eval_help[] =
    "usage: bud eval 'EXPR' name=VALUE... [-o FILE | -o name=FILE ...]\n"
    "\n"
    "Evaluates a Flow expression (or statements `x = ...; y = ...`) and prints the result(s)\n"
    "NumPy-style, or writes them as .npy files.\n"
    "\n"
    "  name=FILE.npy      an input array read from a NumPy .npy file\n"
    "  name=NUMBER        a 0-d input: integers are int64, other numbers float64 (NumPy's\n"
    "                     value-based casting applies, so 2.5 * float32 stays float32)\n"
    "  name=true|false    a 0-d bool input\n"
    "  -o FILE            write the single output to FILE (.npy)\n"
    "  -o name=FILE       write output `name` to FILE; may be repeated\n"
    "  --                 end of options (for an expression that starts with '-')\n"
    "\n"
    "example: bud eval '2*a + 3*b' a=a.npy b=b.npy -o out.npy\n";

static const char cli_explain_help[] =
    "usage: bud explain 'EXPR' name=SPEC...\n"
    "\n"
    "Shows how Bud compiles an expression: the IR as parsed, after each pass, the fusion groups\n"
    "and the plans.\n"
    "\n"
    "  name=DTYPE[d0,d1,...]  an input of that dtype and shape, e.g. a=float32[1000]\n"
    "  name=NUMBER            a 0-d input with that value (int64 or float64)\n"
    "  name=FILE.npy          an input with the dtype and shape of a .npy file\n"
    "\n"
    "example: bud explain '2*a + 3*b' a=float32[1000] b=float64[1000] x=2.5\n";

static bool cli_is_ident(const char *s, size_t n) {
  if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
      return false;
  return true;
}

static int cli_scalar(BudContext *ctx, BudArray *a, BudDType dt, Scalar v) {
  if (bud_array_alloc(ctx, a, dt, 0, NULL) != BUD_OK) {
    cli_error("%s", bud_last_error(ctx));
    return CLI_ERROR;
  }
  scalar_store(dt, a->data, v);
  return CLI_OK;
}

/* dtype[d0,d1,...] → an array with data NULL; returns 1 if text is not a spec. */
static int cli_spec(const char *name, const char *text, BudArray *a) {
  const char *br = strchr(text, '[');
  if (!br || text[strlen(text) - 1] != ']') return 1;
  char dname[32];
  size_t dl = (size_t)(br - text);
  if (dl == 0 || dl >= sizeof dname) return 1;
  memcpy(dname, text, dl);
  dname[dl] = '\0';
  BudDType dt;
  if (bud_dtype_from_name(dname, &dt) != BUD_OK) {
    cli_error("input '%s': unknown dtype '%s' in '%s'", name, dname, text);
    return CLI_USAGE;
  }
  memset(a, 0, sizeof *a);
  a->dtype = dt;
  const char *p = br + 1;
  while (*p != ']') {
    if (a->ndim >= BUD_MAX_DIMS) {
      cli_error("input '%s': more than %d dimensions in '%s'", name, BUD_MAX_DIMS, text);
      return CLI_USAGE;
    }
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 0 || errno || (*end != ',' && *end != ']')) {
      cli_error("input '%s': bad shape in '%s' (expected e.g. float32[10,3])", name, text);
      return CLI_USAGE;
    }
    a->shape[a->ndim++] = v;
    p = *end == ',' ? end + 1 : end;
  }
  if (a->ndim == 0) {
    cli_error("input '%s': a 0-d input needs a value (give name=NUMBER)", name);
    return CLI_USAGE;
  }
  int64_t s = bud_dtype_size(dt);
  for (int d = a->ndim - 1; d >= 0; d--) {
    a->strides[d] = s;
    if (a->shape[d] && __builtin_mul_overflow(s, a->shape[d], &s)) {
      cli_error("input '%s': shape in '%s' is too large", name, text);
      return CLI_USAGE;
    }
  }
  return 0;
}

int cli_parse_input(BudContext *ctx, char *arg, bool allow_spec, const char **name, BudArray *a) {
  char *eq = strchr(arg, '=');
  if (!eq || !cli_is_ident(arg, (size_t)(eq - arg))) {
    cli_error("expected name=VALUE, got '%s'", arg);
    return CLI_USAGE;
  }
  *eq = '\0';
  *name = arg;
  const char *v = eq + 1;
  memset(a, 0, sizeof *a);
  if (!*v) {
    cli_error("input '%s' has no value", arg);
    return CLI_USAGE;
  }
  if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0)
    return cli_scalar(ctx, a, BUD_BOOL, (Scalar){.i = 1});
  if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0)
    return cli_scalar(ctx, a, BUD_BOOL, (Scalar){.i = 0});
  const char *q = v + (*v == '-' || *v == '+');
  if (*q && strspn(q, "0123456789") == strlen(q)) {
    errno = 0;
    long long iv = strtoll(v, NULL, 10);
    if (errno == ERANGE) {
      cli_error("input '%s': the integer %s does not fit in int64", arg, v);
      return CLI_ERROR;
    }
    return cli_scalar(ctx, a, BUD_INT64, (Scalar){.i = iv});
  }
  char *end;
  double dv = strtod(v, &end);
  if (end != v && *end == '\0') return cli_scalar(ctx, a, BUD_FLOAT64, (Scalar){.f = dv});
  if (allow_spec) {
    int r = cli_spec(arg, v, a);
    if (r != 1) return r;
  }
  if (npy_load(ctx, v, a) != BUD_OK) {
    cli_error("input '%s': %s", arg, bud_last_error(ctx));
    return CLI_ERROR;
  }
  return CLI_OK;
}

typedef struct CliArgs {
  const char *expr;
  int ninputs;
  BudInput inputs[BUD_MAX_OPERANDS];
  BudArray arrays[BUD_MAX_OPERANDS];
  int nout;
  char *outs[BUD_MAX_OPERANDS];
} CliArgs;

static void cli_args_free(CliArgs *ca) {
  for (int i = 0; i < ca->ninputs; i++) bud_array_free(&ca->arrays[i]);
}

/* Parses EXPR, inputs and (for eval) -o options. Returns CLI_OK, or an exit code; help < 0. */
static int cli_parse_args(BudContext *ctx, int argc, char **argv, bool is_eval, CliArgs *ca,
                          const char *help) {
  memset(ca, 0, sizeof *ca);
  bool opts = true; /* "--" ends the options, so an expression may start with '-' */
  for (int i = 1; i < argc; i++) {
    char *arg = argv[i];
    if (opts && strcmp(arg, "--") == 0) {
      opts = false;
      continue;
    }
    if (!opts) goto positional;
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      fputs(help, stdout);
      return -1;
    }
    if (is_eval && (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0)) {
      if (i + 1 >= argc) {
        fprintf(stderr, "bud %s: -o needs a file name\n\n%s", argv[0], help);
        return CLI_USAGE;
      }
      if (ca->nout >= BUD_MAX_OPERANDS) {
        fprintf(stderr, "bud %s: too many -o options\n", argv[0]);
        return CLI_USAGE;
      }
      ca->outs[ca->nout++] = argv[++i];
      continue;
    }
    if (arg[0] == '-' && !ca->expr && arg[1] && !strchr(arg, '=') && (arg[1] < '0' || arg[1] > '9') && arg[1] != '.') {
      fprintf(stderr, "bud %s: unknown option '%s'\n\n%s", argv[0], arg, help);
      return CLI_USAGE;
    }
    if (arg[0] == '-' && ca->expr && !strchr(arg, '=')) {
      fprintf(stderr, "bud %s: unknown option '%s'\n\n%s", argv[0], arg, help);
      return CLI_USAGE;
    }
  positional:
    if (!ca->expr) {
      ca->expr = arg;
      continue;
    }
    if (ca->ninputs >= BUD_MAX_OPERANDS) {
      fprintf(stderr, "bud %s: more than %d inputs\n", argv[0], BUD_MAX_OPERANDS);
      return CLI_USAGE;
    }
    const char *name;
    int r = cli_parse_input(ctx, arg, !is_eval, &name, &ca->arrays[ca->ninputs]);
    if (r != CLI_OK) {
      if (r == CLI_USAGE) fprintf(stderr, "\n%s", help);
      return r;
    }
    for (int k = 0; k < ca->ninputs; k++)
      if (strcmp(ca->inputs[k].name, name) == 0) {
        bud_array_free(&ca->arrays[ca->ninputs]);
        cli_error("input '%s' is given twice", name);
        return CLI_USAGE;
      }
    ca->inputs[ca->ninputs].name = name;
    ca->inputs[ca->ninputs].array = &ca->arrays[ca->ninputs];
    ca->ninputs++;
  }
  if (!ca->expr) {
    fprintf(stderr, "bud %s: missing the expression\n\n%s", argv[0], help);
    return CLI_USAGE;
  }
  return CLI_OK;
}

static void cli_print_output(const char *name, const BudArray *a, bool several) {
  bool plain = a->dtype == BUD_FLOAT64 || a->dtype == BUD_INT64 || a->dtype == BUD_BOOL;
  bool header = several || !plain || a->ndim > 1 || bud_array_size(a) > 1000;
  if (header) {
    char sh[256];
    int len = snprintf(sh, sizeof sh, "(");
    for (int d = 0; d < a->ndim; d++)
      len += snprintf(sh + len, sizeof sh - (size_t)len, d ? ", %lld" : "%lld",
                      (long long)a->shape[d]);
    snprintf(sh + len, sizeof sh - (size_t)len, a->ndim == 1 ? ",)" : ")");
    printf("%s: %s %s\n", name, bud_dtype_name(a->dtype), sh);
  }
  cli_print_array(stdout, a);
}

int cli_cmd_eval(int argc, char **argv) {
  BudContext *ctx = bud_context_new();
  if (!ctx) {
    cli_error("out of memory");
    return CLI_ERROR;
  }
  CliArgs *ca = malloc(sizeof *ca);
  BudProgram *prog = NULL;
  BudArray outs[BUD_MAX_OPERANDS];
  int nouts = 0, rc;
  memset(outs, 0, sizeof outs);
  if (!ca) {
    cli_error("out of memory");
    bud_context_free(ctx);
    return CLI_ERROR;
  }
  rc = cli_parse_args(ctx, argc, argv, true, ca, cli_eval_help);
  if (rc < 0) {
    rc = CLI_OK;
    goto done;
  }
  if (rc != CLI_OK) goto done;
  if (bud_compile(ctx, ca->expr, ca->ninputs, ca->inputs, &prog) != BUD_OK) {
    cli_error("%s", bud_last_error(ctx));
    rc = CLI_ERROR;
    goto done;
  }
  nouts = bud_program_noutputs(prog);
  /* Match -o options to outputs before running. */
  const char *dest[BUD_MAX_OPERANDS] = {0};
  for (int k = 0; k < ca->nout; k++) {
    char *o = ca->outs[k], *eq = strchr(o, '=');
    if (eq && cli_is_ident(o, (size_t)(eq - o))) {
      *eq = '\0';
      int found = -1;
      for (int i = 0; i < nouts; i++) {
        const char *nm;
        bud_program_output(prog, i, &nm, NULL, NULL, NULL);
        if (strcmp(nm, o) == 0) found = i;
      }
      if (found < 0) {
        cli_error("-o %s=%s: the expression has no output named '%s'", o, eq + 1, o);
        rc = CLI_ERROR;
        goto done;
      }
      dest[found] = eq + 1;
    } else {
      if (ca->nout != 1 || nouts != 1) {
        cli_error("-o %s: with %d outputs, -o takes name=FILE pairs", o, nouts);
        rc = CLI_USAGE;
        goto done;
      }
      dest[0] = o;
    }
  }
  BudArray ins[BUD_MAX_OPERANDS];
  for (int i = 0; i < ca->ninputs; i++) ins[i] = ca->arrays[i];
  if (bud_run(ctx, prog, ca->ninputs, ins, nouts, outs) != BUD_OK) {
    cli_error("%s", bud_last_error(ctx));
    rc = CLI_ERROR;
    goto done;
  }
  for (int i = 0; i < nouts; i++) {
    const char *nm;
    bud_program_output(prog, i, &nm, NULL, NULL, NULL);
    if (dest[i]) {
      if (npy_save(ctx, dest[i], &outs[i]) != BUD_OK) {
        cli_error("%s", bud_last_error(ctx));
        rc = CLI_ERROR;
        goto done;
      }
    } else {
      cli_print_output(nm, &outs[i], nouts > 1);
    }
  }
  rc = CLI_OK;
done:
  for (int i = 0; i < nouts; i++) bud_array_free(&outs[i]);
  bud_program_free(prog);
  cli_args_free(ca);
  free(ca);
  bud_context_free(ctx);
  return rc;
}

int cli_cmd_explain(int argc, char **argv) {
  BudContext *ctx = bud_context_new();
  CliArgs *ca = malloc(sizeof *ca);
  if (!ctx || !ca) {
    cli_error("out of memory");
    free(ca);
    bud_context_free(ctx);
    return CLI_ERROR;
  }
  int rc = cli_parse_args(ctx, argc, argv, false, ca, cli_explain_help);
  if (rc < 0) {
    rc = CLI_OK;
  } else if (rc == CLI_OK) {
    char *text = bud_explain(ctx, ca->expr, ca->ninputs, ca->inputs);
    if (!text) {
      cli_error("%s", bud_last_error(ctx));
      rc = CLI_ERROR;
    } else {
      fputs(text, stdout);
      bud_free(text);
    }
  }
  cli_args_free(ca);
  free(ca);
  bud_context_free(ctx);
  return rc;
}
