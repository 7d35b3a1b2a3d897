/* main.c — the `bud` command-line tool: dispatches to the commands (eval, explain, demo, cpu),
 * prints --help / --version, and implements `bud cpu`. Exit codes: 0 success, 1 an error (one
 * message on stderr), 2 a usage error (usage on stderr).
 * Entry point: main.
 */
#include "cli.h"
#include "x86/cpu.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char cli_usage[] =
    "usage: bud <command> [options]\n"
    "\n"
    "commands:\n"
    "  eval 'EXPR' name=VALUE... [-o FILE | -o name=FILE ...]\n"
    "                     evaluate a Flow expression over .npy files and numbers\n"
    "  explain 'EXPR' name=SPEC...\n"
    "                     show the IR, the passes, fusion groups and plans\n"
    "  demo               compile and time a few expressions on generated data\n"
    "  cpu                show the CPU features and the ISA Bud will use\n"
    "\n"
    "options:\n"
    "  -h, --help         show this help (bud CMD --help: help for CMD)\n"
    "  --version          show the version\n";

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bud: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static const char cli_cpu_help[] =
    "usage: bud cpu\n"
    "\n"
    "Prints the CPU's vendor, brand, caches and features, and the instruction set the JIT uses\n"
    "(the best available, or the one BUD_ISA=vm|sse2|avx2|avx512 requests).\n";

int cli_cmd_cpu(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(cli_cpu_help, stdout);
      return CLI_OK;
    }
    fprintf(stderr, "bud cpu: unexpected argument '%s'\n%s", argv[i], cli_cpu_help);
    return CLI_USAGE;
  }
  const X86Cpu *cpu = x86_cpu();
  char feats[512];
  printf("vendor:   %s\n", cpu->vendor);
  printf("brand:    %s\n", cpu->brand);
  printf("family:   %u  model: %u\n", cpu->family, cpu->model);
  printf("caches:   L1d %u KiB, L2 %u KiB, L3 %u KiB, line %u B\n", cpu->l1d / 1024, cpu->l2 / 1024,
         cpu->l3 / 1024, cpu->line);
  printf("features: %s\n", x86_feat_names(cpu->feat, feats, sizeof feats));
  printf("os state: ymm %s, zmm %s\n", cpu->has_os_ymm ? "yes" : "no",
         cpu->has_os_zmm ? "yes" : "no");
  printf("best isa: %s\n", x86_isa_name(x86_isa_best(cpu->feat)));
  const char *req = getenv("BUD_ISA");
  X86Isa isa;
  char msg[256];
  if (x86_isa_select(req, cpu, &isa, msg, sizeof msg) != 0) {
    cli_error("%s", msg);
    return CLI_ERROR;
  }
  printf("isa used: %s%s%s%s\n", x86_isa_name(isa), req && *req ? " (BUD_ISA=" : "",
         req && *req ? req : "", req && *req ? ")" : "");
  return CLI_OK;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(cli_usage, stderr);
    return CLI_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
    fputs(cli_usage, stdout);
    return CLI_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
    printf("bud %s\n", bud_version());
    return CLI_OK;
  }
  if (strcmp(cmd, "eval") == 0) return cli_cmd_eval(argc - 1, argv + 1);
  if (strcmp(cmd, "explain") == 0) return cli_cmd_explain(argc - 1, argv + 1);
  if (strcmp(cmd, "demo") == 0) return cli_cmd_demo(argc - 1, argv + 1);
  if (strcmp(cmd, "cpu") == 0) return cli_cmd_cpu(argc - 1, argv + 1);
  fprintf(stderr, "bud: unknown command '%s'\n\n%s", cmd, cli_usage);
  return CLI_USAGE;
}
