/* test_exec_nt.c — outputs larger than the last-level cache get non-temporal stores; the executor
 * peels the elements before the first 64-byte boundary of a misaligned output (NumPy's arrays are
 * 16-byte aligned) into a call of their own. Results must equal the VM's, bit for bit, for every
 * misalignment, and no element may be missed or written twice. */
#define _GNU_SOURCE
#include "check.h"
#include "bud.h"

#include <stdlib.h>
#include <string.h>

enum { N = 5 << 20 }; /* 20 MiB of float32 per array: beyond the LLC share the cost model uses */

static int run(BudContext *ctx, float *a, float *b, float *out, int64_t n) {
  BudArray va, vb, vo;
  bud_array_view(ctx, &va, a, BUD_FLOAT32, 1, &n, NULL);
  bud_array_view(ctx, &vb, b, BUD_FLOAT32, 1, &n, NULL);
  bud_array_view(ctx, &vo, out, BUD_FLOAT32, 1, &n, NULL);
  BudInput in[2] = {{"a", &va}, {"b", &vb}};
  return bud_eval(ctx, "2*a + 3*b", 2, in, 1, &vo);
}

int main(void) {
  setenv("BUD_NO_CALIBRATE", "1", 1);
  BudContext *jit = bud_context_new();
  unsetenv("BUD_ISA");
  float *a = malloc(sizeof(float) * (N + 64)), *b = malloc(sizeof(float) * (N + 64));
  float *o = malloc(sizeof(float) * (N + 64)), *ref = malloc(sizeof(float) * (N + 64));
  for (int64_t i = 0; i < N + 64; i++) a[i] = (float)(i % 977) * 0.37f, b[i] = (float)(i % 313) - 9.5f;
  setenv("BUD_ISA", "vm", 1);
  BudContext *vm = bud_context_new();
  CHECK(run(vm, a, b, ref, N) == BUD_OK);
  unsetenv("BUD_ISA");
  for (int off = 0; off < 16; off += 3) { /* output misaligned by off floats */
    memset(o, 0xff, sizeof(float) * (N + 64));
    CHECK(run(jit, a, b, o + off, N) == BUD_OK);
    CHECK_MSG(memcmp(o + off, ref, sizeof(float) * N) == 0, "offset %d differs from the VM", off);
    uint32_t guard;
    memcpy(&guard, o + off + N, 4);
    CHECK_MSG(guard == 0xffffffffu, "offset %d: wrote past the end", off);
    if (off > 0) {
      memcpy(&guard, o + off - 1, 4);
      CHECK_MSG(guard == 0xffffffffu, "offset %d: wrote before the start", off);
    }
  }
  char *t = NULL;
  {
    int64_t n = N;
    BudArray va, vb;
    bud_array_view(jit, &va, a, BUD_FLOAT32, 1, &n, NULL);
    bud_array_view(jit, &vb, b, BUD_FLOAT32, 1, &n, NULL);
    BudInput in[2] = {{"a", &va}, {"b", &vb}};
    t = bud_explain(jit, "2*a + 3*b", 2, in);
  }
  CHECK_MSG(t && strstr(t, "store nontemporal"), "%s", t ? t : "");
  bud_free(t);
  free(a), free(b), free(o), free(ref);
  bud_context_free(jit);
  bud_context_free(vm);
  return check_done("exec_nt");
}
