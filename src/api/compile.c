/* compile.c — bud_compile and bud_explain: the compile driver (inputs -> IR -> Flow parser ->
 * pass pipeline -> program build), NumPy's min_scalar_type for 0-d inputs, and the accessors of a
 * compiled program. Every failure leaves the failing stage's message on the context.
 * Entry points: bud_compile, bud_explain, bud_program_*, api_compile, api_build_program.
 */
#include "api/api.h"
#include "front/front.h"
#include "opt/opt.h"
#include "plan/plan.h"
#include "rt/exec.h"
#include "rt/kernel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int api_scalar_class(BudDType dt, const void *p) {
  Scalar v = scalar_load(dt, p);
  switch (dtype_info(dt)->kind) {
  case 'b': return 0;
  case 'f': /* NumPy's own limit 3.4e38, not FLT_MAX; a float32 value is float32 or smaller */
    return dt == BUD_FLOAT32 || !isfinite(v.f) || fabs(v.f) < 3.4e38 ? 1 : 2;
  case 'i':
    if (v.i < 0) return v.i >= INT8_MIN ? 3 : v.i >= INT16_MIN ? 4 : v.i >= INT32_MIN ? 5 : 6;
    v.u = (uint64_t)v.i;
    break;
  default: break;
  }
  return v.u <= INT8_MAX ? 7 : v.u <= UINT8_MAX ? 8 : v.u <= INT16_MAX ? 9 : v.u <= UINT16_MAX ? 10
       : v.u <= INT32_MAX ? 11 : v.u <= UINT32_MAX ? 12 : v.u <= INT64_MAX ? 13 : 14;
}

const char *api_scalar_class_name(int cls) {
  static const char *const names[] = {
      "bool", "float32 or smaller", "float64", "int8", "int16", "int32", "int64",
      "uint8 (fits int8)", "uint8", "uint16 (fits int16)", "uint16", "uint32 (fits int32)",
      "uint32", "uint64 (fits int64)", "uint64"};
  return cls >= 0 && cls < (int)BUD_ARRAY_LEN(names) ? names[cls] : "?";
}

static bool api_ident(const char *s) {
  if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return false;
  return true;
}

/* Checks the inputs given to bud_compile / bud_eval / bud_explain. */
static BudStatus api_check_inputs(BudContext *ctx, int ninputs, const BudInput *inputs) {
  if (ninputs < 0 || ninputs > BUD_MAX_OPERANDS)
    return bud_fail(ctx, BUD_ERR_INVALID, "ninputs %d is not in [0, %d]", ninputs,
                    BUD_MAX_OPERANDS);
  if (ninputs > 0 && !inputs) return bud_fail(ctx, BUD_ERR_INVALID, "inputs is NULL");
  for (int i = 0; i < ninputs; i++) {
    const BudInput *in = &inputs[i];
    if (!in->name) return bud_fail(ctx, BUD_ERR_INVALID, "input %d has no name", i);
    if (!api_ident(in->name))
      return bud_fail(ctx, BUD_ERR_INVALID, "input %d: '%s' is not a valid name", i, in->name);
    if (!in->array) return bud_fail(ctx, BUD_ERR_INVALID, "input '%s': array is NULL", in->name);
    char what[96];
    snprintf(what, sizeof what, "input '%s'", in->name);
    int64_t nbytes;
    BudStatus st = api_check_geometry(ctx, what, in->array->dtype, in->array->ndim,
                                      in->array->shape, &nbytes);
    if (st) return st;
    if (in->array->ndim == 0 && !in->array->data)
      return bud_fail(ctx, BUD_ERR_INVALID,
                      "input '%s': a 0-d input needs its value (NumPy's value-based casting)",
                      in->name);
    for (int j = 0; j < i; j++)
      if (strcmp(inputs[j].name, in->name) == 0)
        return bud_fail(ctx, BUD_ERR_INVALID, "input '%s' is given twice", in->name);
  }
  return BUD_OK;
}


BudStatus api_build_program(BudContext *ctx, const IrGraph *g, BudProgram **out, StrBuf *explain,
                            uint64_t t0) {
  IrGraph *opt = NULL;
  BudStatus st;
  if ((st = rt_isa_check(ctx))) return st; /* BUD_ISA names an ISA this CPU lacks */
  st = opt_pipeline(ctx, g, &opt, explain);
  if (st) {
    if (opt) ir_graph_free(opt);
    return st;
  }
  /* program_build takes ownership of the optimized graph (BudProgram.graph) on success. */
  st = program_build(ctx, opt, out, explain);
  if (st) {
    ir_graph_free(opt);
    return st;
  }
  ctx->stats.compiles++;
  ctx->stats.compile_ns += now_ns() - t0;
  return BUD_OK;
}

BudStatus api_compile(BudContext *ctx, const char *source, int ninputs, const BudInput *inputs,
                      BudProgram **out, StrBuf *explain) {
  uint64_t t0 = now_ns();
  if (!out) return bud_fail(ctx, BUD_ERR_INVALID, "out is NULL");
  *out = NULL;
  if (!source) return bud_fail(ctx, BUD_ERR_INVALID, "source is NULL");
  BudStatus st = api_check_inputs(ctx, ninputs, inputs);
  if (st) return st;
  IrGraph *g = ir_graph_new(ctx);
  if (!g) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory creating a graph");
  for (int i = 0; i < ninputs; i++) {
    const BudArray *a = inputs[i].array;
    Shape s;
    memset(&s, 0, sizeof s);
    s.ndim = a->ndim;
    for (int d = 0; d < a->ndim; d++) s.dim[d] = a->shape[d];
    int32_t id = ir_input(g, inputs[i].name, a->dtype, &s, a->ndim == 0 ? a->data : NULL);
    if (id < 0) {
      ir_graph_free(g);
      return (BudStatus)id;
    }
  }
  if ((st = flow_parse(ctx, g, source))) {
    ir_graph_free(g);
    return st;
  }
  /* opt_pipeline writes "== input ==" and every stage into explain. */
  st = api_build_program(ctx, g, out, explain, t0);
  ir_graph_free(g);
  return st;
}

BudStatus bud_compile(BudContext *ctx, const char *source, int ninputs, const BudInput *inputs,
                      BudProgram **out) {
  if (!ctx) return BUD_ERR_INVALID;
  bud_clear(ctx);
  return api_compile(ctx, source, ninputs, inputs, out, NULL);
}

char *bud_explain(BudContext *ctx, const char *source, int ninputs, const BudInput *inputs) {
  if (!ctx) return NULL;
  bud_clear(ctx);
  StrBuf sb;
  sb_init(&sb);
  BudProgram *prog = NULL;
  BudStatus st = api_compile(ctx, source, ninputs, inputs, &prog, &sb);
  if (st) {
    sb_free(&sb);
    return NULL;
  }
  for (int i = 0; i < prog->ngroups; i++) {
    if (prog->groups[i].kind != GROUP_FUSED) continue;
    sb_printf(&sb, "== code for group %d ==\n", i);
    rt_kernel_explain(ctx, &prog->groups[i], &sb);
  }
  bud_program_free(prog);
  if (sb.oom) {
    sb_free(&sb);
    bud_fail(ctx, BUD_ERR_NOMEM, "out of memory writing the explanation");
    return NULL;
  }
  char *text = sb_take(&sb);
  if (!text) bud_fail(ctx, BUD_ERR_NOMEM, "out of memory writing the explanation");
  return text;
}

void bud_program_free(BudProgram *prog) {
  if (!prog) return;
  rt_program_release(prog); /* the executor's VM scratch kept in the groups */
  program_free(prog);
}

int bud_program_ninputs(const BudProgram *prog) { return prog ? prog->ninputs : 0; }

const char *bud_program_input_name(const BudProgram *prog, int i) {
  if (!prog || i < 0 || i >= prog->ninputs) return NULL;
  return prog->input_names[i];
}

int bud_program_noutputs(const BudProgram *prog) { return prog ? prog->noutputs : 0; }

BudStatus bud_program_output(const BudProgram *prog, int i, const char **name, BudDType *dtype,
                             int *ndim, int64_t *shape) {
  if (!prog || i < 0 || i >= prog->noutputs) return BUD_ERR_INVALID;
  const Buffer *b = &prog->buffers[prog->output_buf[i]];
  if (name) *name = prog->output_names[i];
  if (dtype) *dtype = (BudDType)b->dtype;
  if (ndim) *ndim = b->shape.ndim;
  if (shape)
    for (int d = 0; d < b->shape.ndim; d++) shape[d] = b->shape.dim[d];
  return BUD_OK;
}
