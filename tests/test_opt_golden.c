/* test_opt_golden.c — golden text tests of the passes, fusion and plans: every file in
 * tests/golden/opt (each .txt) holds
 *     # comments
 *     passes: fold,simplify,strength,fastmath,cse,dce,pipeline,program
 *     --- input
 *     <IR text>
 *     --- expect          (or: --- error, then a piece of the expected error message)
 *     <the IR text after the passes; after `program`, program_build's explanation>
 * The passes run in the order listed. BUD_GOLDEN_UPDATE=1 rewrites the expect sections with what
 * the code produces now (review the diff before committing it).
 * The cost model runs on its fixed defaults (BUD_NO_CALIBRATE=1) for the AVX2 roofline, and the
 * "machine:" line (which names this machine's caches and CPUs) is left out of the comparison.
 */
#define _GNU_SOURCE
#include "check.h"
#include "opt/opt.h"
#include "plan/plan.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_DIR "tests/golden/opt"

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s) s[n] = 0;
  fclose(f);
  return s;
}

/* Trailing blanks of each line and trailing newlines dropped, for comparison. */
static void normalize(char *s) {
  char *w = s;
  for (char *r = s; *r;) {
    char *eol = strchr(r, '\n');
    size_t n = eol ? (size_t)(eol - r) : strlen(r);
    while (n > 0 && (r[n - 1] == ' ' || r[n - 1] == '\t' || r[n - 1] == '\r'))
      n--;
    if (n >= 8 && !strncmp(r, "machine:", 8)) { /* machine-dependent: not compared */
      r = eol ? eol + 1 : r + strlen(r);
      continue;
    }
    memmove(w, r, n);
    w += n;
    *w++ = '\n';
    r = eol ? eol + 1 : r + strlen(r);
  }
  while (w > s && w[-1] == '\n')
    w--;
  *w = 0;
}

/* Runs the case; returns the produced text (malloc'd) and sets *failed_msg on a pass failure. */
static char *run_case(BudContext *ctx, const char *passes, const char *input, char **errmsg) {
  *errmsg = NULL;
  IrGraph *g = ir_parse(ctx, input);
  if (!g) {
    *errmsg = strdup(ctx->errmsg);
    return NULL;
  }
  char buf[256];
  snprintf(buf, sizeof buf, "%s", passes);
  StrBuf sb;
  sb_init(&sb);
  bool printed = false;
  BudStatus st = BUD_OK;
  for (char *tok = strtok(buf, ", \t"); tok && st == BUD_OK; tok = strtok(NULL, ", \t")) {
    IrGraph *out = NULL;
    if (!strcmp(tok, "program")) {
      BudProgram *prog = NULL;
      st = program_build(ctx, g, &prog, &sb);
      if (st == BUD_OK) {
        g = NULL; /* the program owns it now */
        program_free(prog);
      }
      printed = true;
      break;
    }
    st = !strcmp(tok, "fold")       ? opt_fold(ctx, g, &out)
         : !strcmp(tok, "simplify") ? opt_simplify(ctx, g, &out)
         : !strcmp(tok, "patterns") ? opt_patterns(ctx, g, &out)
         : !strcmp(tok, "cse")      ? opt_cse(ctx, g, &out)
         : !strcmp(tok, "dce")      ? opt_dce(ctx, g, &out)
         : !strcmp(tok, "strength") ? opt_strength(ctx, g, &out)
         : !strcmp(tok, "fastmath") ? opt_fastmath(ctx, g, &out)
         : !strcmp(tok, "pipeline") ? opt_pipeline(ctx, g, &out, NULL)
                                    : bud_fail(ctx, BUD_ERR_INVALID, "unknown pass '%s'", tok);
    if (st == BUD_OK) {
      ir_graph_free(g);
      g = out;
    }
  }
  if (st != BUD_OK)
    *errmsg = strdup(ctx->errmsg);
  else if (!printed)
    ir_print(g, &sb);
  if (g) ir_graph_free(g);
  if (st != BUD_OK) {
    sb_free(&sb);
    return NULL;
  }
  char *text = sb_take(&sb);
  return text ? text : strdup("");
}

static void golden_file(const char *path, bool update) {
  char *text = read_text(path);
  CHECK_MSG(text != NULL, "cannot read %s", path);
  if (!text) return;
  char *passes = strstr(text, "passes:");
  char *in = strstr(text, "--- input\n");
  char *exp = strstr(text, "--- expect\n");
  char *err = strstr(text, "--- error\n");
  CHECK_MSG(passes && in && (exp || err),
            "%s: needs 'passes:', '--- input' and '--- expect' or "
            "'--- error'",
            path);
  if (!passes || !in || !(exp || err)) {
    free(text);
    return;
  }
  char *sect_end = exp ? exp : err;
  size_t header_len = (size_t)(sect_end - text);
  char *pl = passes + strlen("passes:");
  char *pl_end = strchr(pl, '\n');
  char passbuf[256];
  snprintf(passbuf, sizeof passbuf, "%.*s", (int)(pl_end - pl), pl);
  char *input =
      strndup(in + strlen("--- input\n"), (size_t)(sect_end - in - strlen("--- input\n")));
  char *expected = strdup(sect_end + strlen(exp ? "--- expect\n" : "--- error\n"));
  BudContext ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.isa = 2; /* X86_ISA_AVX2: the roofline the cost model uses (no code is generated here) */
  char *errmsg = NULL;
  char *got = run_case(&ctx, passbuf, input, &errmsg);
  normalize(expected);
  if (err) {
    CHECK_MSG(!got && errmsg && strstr(errmsg, expected),
              "%s: expected an error containing "
              "\"%s\", got %s",
              path, expected, errmsg ? errmsg : "success");
  } else if (!got) {
    CHECK_MSG(false, "%s: failed: %s", path, errmsg ? errmsg : "?");
  } else {
    normalize(got);
    if (update && strcmp(got, expected) != 0) {
      FILE *f = fopen(path, "wb");
      if (f) {
        fwrite(text, 1, header_len, f);
        fprintf(f, "--- expect\n%s\n", got);
        fclose(f);
        printf("updated %s\n", path);
      }
    } else {
      CHECK_MSG(strcmp(got, expected) == 0, "%s:\n--- got\n%s\n--- expected\n%s", path, got,
                expected);
    }
  }
  free(got);
  free(errmsg);
  free(input);
  free(expected);
  free(text);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
  setenv("BUD_NO_CALIBRATE", "1", 1); /* before anything asks for the machine model */
  bool update = getenv("BUD_GOLDEN_UPDATE") && *getenv("BUD_GOLDEN_UPDATE") == '1';
  DIR *d = opendir(GOLDEN_DIR);
  CHECK_MSG(d != NULL, "cannot open %s (run from the repository root)", GOLDEN_DIR);
  if (!d) return check_done("test_opt_golden");
  char *names[512];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512) {
    size_t len = strlen(e->d_name);
    if (len > 4 && !strcmp(e->d_name + len - 4, ".txt")) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  CHECK(n > 0);
  for (int i = 0; i < n; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", GOLDEN_DIR, names[i]);
    golden_file(path, update);
    free(names[i]);
  }
  return check_done("test_opt_golden");
}
