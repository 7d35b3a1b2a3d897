/* eval.c — bud_eval: compile (through a per-context cache of programs) and run. The cache key is
 * the source text and, per input, its name, dtype, shape and, for 0-d inputs, its value's class
 * under NumPy's value-based casting (api_scalar_class) (so a value that would change the program's types compiles a
 * new program). Lookup is by 64-bit hash with a full-key compare; at most API_PCACHE_MAX programs
 * are kept, the least recently used one is evicted. Entry points: bud_eval, api_pcache_free.
 */
#include "api/api.h"
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

#define API_PCACHE_MAX 256

typedef struct PcEntry {
  uint64_t hash;
  unsigned char *key;
  size_t keylen;
  BudProgram *prog;
  uint64_t last_use;
} PcEntry;

struct ProgramCache {
  PcEntry entries[API_PCACHE_MAX];
  int n;
  uint64_t tick;
};

void api_pcache_free(struct ProgramCache *c) {
  if (!c) return;
  for (int i = 0; i < c->n; i++) {
    free(c->entries[i].key);
    bud_program_free(c->entries[i].prog);
  }
  free(c);
}

/* Serialises the key; returns a malloc'd buffer (NULL on out of memory). */
static unsigned char *api_make_key(const char *source, int ninputs, const BudInput *inputs,
                                   size_t *len) {
  size_t slen = strlen(source), n = sizeof(size_t) + slen + sizeof(int);
  for (int i = 0; i < ninputs; i++)
    n += strlen(inputs[i].name) + 1 + 3 + (size_t)inputs[i].array->ndim * sizeof(int64_t);
  unsigned char *k = malloc(n), *p = k;
  if (!k) return NULL;
  memcpy(p, &slen, sizeof slen);
  p += sizeof slen;
  memcpy(p, source, slen);
  p += slen;
  memcpy(p, &ninputs, sizeof ninputs);
  p += sizeof ninputs;
  for (int i = 0; i < ninputs; i++) {
    const BudArray *a = inputs[i].array;
    size_t nl = strlen(inputs[i].name) + 1;
    memcpy(p, inputs[i].name, nl);
    p += nl;
    *p++ = (unsigned char)a->dtype;
    *p++ = (unsigned char)a->ndim;
    *p++ = a->ndim == 0 ? (unsigned char)api_scalar_class(a->dtype, a->data) : 0xff;
    memcpy(p, a->shape, (size_t)a->ndim * sizeof(int64_t));
    p += (size_t)a->ndim * sizeof(int64_t);
  }
  *len = (size_t)(p - k);
  return k;
}

/* Checks that makes the key safe to build; api_compile checks the rest on a miss. */
static BudStatus api_eval_args(BudContext *ctx, const char *source, int ninputs,
                               const BudInput *inputs) {
  if (!source) return bud_fail(ctx, BUD_ERR_INVALID, "bud_eval: source is NULL");
  if (ninputs < 0 || ninputs > BUD_MAX_OPERANDS)
    return bud_fail(ctx, BUD_ERR_INVALID, "bud_eval: ninputs %d is not in [0, %d]", ninputs,
                    BUD_MAX_OPERANDS);
  if (ninputs > 0 && !inputs) return bud_fail(ctx, BUD_ERR_INVALID, "bud_eval: inputs is NULL");
  for (int i = 0; i < ninputs; i++) {
    if (!inputs[i].name) return bud_fail(ctx, BUD_ERR_INVALID, "input %d has no name", i);
    const BudArray *a = inputs[i].array;
    if (!a) return bud_fail(ctx, BUD_ERR_INVALID, "input '%s': array is NULL", inputs[i].name);
    BudStatus st = api_check_geometry(ctx, inputs[i].name, a->dtype, a->ndim, a->shape, NULL);
    if (st) return st;
    if (a->ndim == 0 && !a->data)
      return bud_fail(ctx, BUD_ERR_INVALID,
                      "input '%s': a 0-d input needs its value (NumPy's value-based casting)",
                      inputs[i].name);
  }
  return BUD_OK;
}

static BudStatus api_pcache_get(BudContext *ctx, const char *source, int ninputs,
                                const BudInput *inputs, BudProgram **out) {
  size_t klen;
  unsigned char *key = api_make_key(source, ninputs, inputs, &klen);
  if (!key) return bud_fail(ctx, BUD_ERR_NOMEM, "bud_eval: out of memory");
  uint64_t h = hash_bytes(key, klen, 0x6275645f65766131ull);
  struct ProgramCache *c = ctx->pcache;
  if (!c) {
    c = ctx->pcache = calloc(1, sizeof *c);
    if (!c) {
      free(key);
      return bud_fail(ctx, BUD_ERR_NOMEM, "bud_eval: out of memory");
    }
  }
  for (int i = 0; i < c->n; i++) {
    PcEntry *e = &c->entries[i];
    if (e->hash == h && e->keylen == klen && memcmp(e->key, key, klen) == 0) {
      free(key);
      e->last_use = ++c->tick;
      ctx->stats.program_cache_hits++;
      *out = e->prog;
      return BUD_OK;
    }
  }
  ctx->stats.program_cache_misses++;
  BudProgram *prog = NULL;
  BudStatus st = api_compile(ctx, source, ninputs, inputs, &prog, NULL);
  if (st) {
    free(key);
    return st;
  }
  PcEntry *e;
  if (c->n < API_PCACHE_MAX) {
    e = &c->entries[c->n++];
  } else {
    e = &c->entries[0];
    for (int i = 1; i < c->n; i++)
      if (c->entries[i].last_use < e->last_use) e = &c->entries[i];
    free(e->key);
    bud_program_free(e->prog);
  }
  e->hash = h;
  e->key = key;
  e->keylen = klen;
  e->prog = prog;
  e->last_use = ++c->tick;
  *out = prog;
  return BUD_OK;
}

BudStatus bud_eval(BudContext *ctx, const char *source, int ninputs, const BudInput *inputs,
                   int noutputs, BudArray *outputs) {
  if (!ctx) return BUD_ERR_INVALID;
  bud_clear(ctx);
  BudStatus st = api_eval_args(ctx, source, ninputs, inputs);
  if (st) return st;
  BudProgram *prog = NULL;
  if ((st = api_pcache_get(ctx, source, ninputs, inputs, &prog))) return st;
  BudArray arrays[BUD_MAX_OPERANDS];
  for (int i = 0; i < ninputs; i++) arrays[i] = *inputs[i].array;
  return bud_run(ctx, prog, ninputs, arrays, noutputs, outputs);
}
