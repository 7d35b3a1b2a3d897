/* pipeline.c — opt_pipeline, the one function that runs the passes in order: verify, fold,
 * simplify, patterns, strength, fastmath (only when ctx->fast_math), CSE, DCE, verify.
 * BUD_DEBUG=fold,cse (or `all`) dumps the IR after the named passes to stderr; with `explain` every stage is
 * appended to it ("== input ==", "== after fold ==").
 */
#include "opt/opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef BudStatus (*OptPassFn)(BudContext *ctx, const IrGraph *in, IrGraph **out);

bool opt_debug_wants(const char *debug, const char *name) {
  size_t len = strlen(name);
  for (const char *p = debug; p && *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if ((n == len && memcmp(p, name, n) == 0) || (n == 3 && memcmp(p, "all", 3) == 0)) return true;
    p = end ? end + 1 : NULL;
  }
  return false;
}

/* Appends "== title ==" and the graph to explain and, when BUD_DEBUG asks for `pass`, prints
 * the same to stderr. */
static void opt_dump(const IrGraph *g, const char *debug, const char *pass, const char *title,
                     StrBuf *explain) {
  bool to_stderr = pass && opt_debug_wants(debug, pass);
  if (!to_stderr && !explain) return;
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "== %s ==\n", title);
  ir_print(g, &sb);
  if (to_stderr) fputs(sb.data ? sb.data : "", stderr);
  if (explain) sb_puts(explain, sb.data ? sb.data : "");
  sb_free(&sb);
}

BudStatus opt_pipeline(BudContext *ctx, const IrGraph *in, IrGraph **out, StrBuf *explain) {
  static const struct {
    const char *name, *title;
    OptPassFn run;
  } passes[] = {
      {"fold", "after fold", opt_fold},
      {"simplify", "after simplify", opt_simplify},
      {"patterns", "after patterns", opt_patterns},
      {"strength", "after strength", opt_strength},
      {"fastmath", "after fastmath", opt_fastmath}, /* only with ctx->fast_math */
      {"lowerdot", "after lowerdot", opt_lower_dot},
      {"cse", "after cse", opt_cse},
      {"dce", "after dce", opt_dce},
  };
  const char *debug = getenv("BUD_DEBUG"); /* read once per call */
  *out = NULL;
  BudStatus st = ir_verify(in);
  if (st != BUD_OK) return st;
  opt_dump(in, debug, "input", "input", explain);
  const IrGraph *cur = in;
  IrGraph *owned = NULL; /* cur when it is ours to free */
  for (size_t i = 0; i < BUD_ARRAY_LEN(passes); i++) {
    if (passes[i].run == opt_fastmath && !(ctx && ctx->fast_math)) continue;
    IrGraph *next = NULL;
    st = passes[i].run(ctx, cur, &next);
    if (owned) ir_graph_free(owned);
    if (st != BUD_OK) return st;
    cur = owned = next;
    opt_dump(cur, debug, passes[i].name, passes[i].title, explain);
  }
  st = ir_verify(cur);
  if (st != BUD_OK) {
    ir_graph_free(owned);
    return st;
  }
  *out = owned;
  return BUD_OK;
}
