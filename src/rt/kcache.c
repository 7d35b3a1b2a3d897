/* kcache.c — the in-memory kernel cache and the runtime's entry point into the JIT (rt/kernel.h).
 *
 * Key = canonical bytes of the plan (instructions field by field, vreg and operand dtypes,
 * constants, reductions, schedule) + operand layouts + ISA + X86_JIT_VERSION; 64-bit hash_bytes
 * with a full-key compare. Refusals are cached too (fn == NULL, with the reason), so a plan the
 * JIT cannot compile costs one check, not one per run. Entries sit on an LRU list; when the code
 * bytes would pass the bound (64 MiB, $BUD_CODE_CACHE_MB, or rt_kernel_cache_limit), the least
 * recently used entries that no group pins are evicted. A group pins its current kernel
 * (grp->kernel, a refcount) so it stays valid while the group lives; rt_state_free frees what is
 * unpinned and leaves pinned kernels (and the code memory they live in) to the last
 * rt_kernel_release. Code memory comes from rt/codemem (mapped RW, written, sealed RX: never
 * writable and executable at once); if the OS refuses executable memory, every group runs in
 * the VM and explain says so. One context = one thread: no locking here.
 */
#define _GNU_SOURCE
#include "rt/kernel.h"

#include "rt/codemem.h"
#include "x86/jit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct RtState RtState;

static bool ext_wanted(void) {
  const char *e = getenv("BUD_JIT_EXT");
  return e && e[0] == '1';
}

typedef struct Kernel {
  struct RtState *rt;
  uint64_t hash;
  uint8_t *key;
  size_t nkey;
  RtCode code;
  size_t ncode;        /* code bytes (without the pool) */
  BudKernelFn fn;      /* NULL: the JIT refused; why says so */
  char why[512];
  int next;            /* ops it computes by calling the VM ("external calls"), named in why */
  int pins;            /* groups holding it */
  uint64_t compile_ns;
  X86Isa isa;                        /* the fast path below: a group's plan never changes, so */
  uint8_t layouts[BUD_MAX_OPERANDS]; /* its kernel is still right if ISA and layouts match */
  struct Kernel *hnext, *lprev, *lnext;
} Kernel;

struct RtState {
  bool isa_done, isa_ok;
  X86Isa isa;
  char isa_msg[256];
  bool cm_ok;
  int cm_err;          /* RtCodeStatus of a refused executable mapping */
  RtCodeMem cm;
  Kernel **tab;
  size_t nbuckets, count, nlive;
  Kernel *lru_head, *lru_tail; /* most recent first */
  size_t code_bytes, limit;
  bool ctx_gone;
  BudContext *ctx;
};

/* ---- state ---- */

static void rt_isa_init(RtState *rt, BudContext *ctx) {
  if (rt->isa_done) return;
  rt->isa_done = true;
  const char *req = getenv("BUD_ISA");
  X86Isa isa;
  if (ctx->isa >= X86_ISA_VM && ctx->isa <= X86_ISA_AVX512) {
    isa = (X86Isa)ctx->isa;
    uint32_t need = x86_isa_needs(isa);
    if ((x86_cpu()->feat & need) != need) {
      snprintf(rt->isa_msg, sizeof rt->isa_msg, "ISA %s forced but this CPU lacks it",
               x86_isa_name(isa));
      return;
    }
  } else if (x86_isa_select(req, x86_cpu(), &isa, rt->isa_msg, sizeof rt->isa_msg) != 0) {
    if (!rt->isa_msg[0])
      snprintf(rt->isa_msg, sizeof rt->isa_msg, "BUD_ISA=%s: unknown ISA (vm, sse2, avx2, avx512)",
               req ? req : "");
    return;
  }
  rt->isa = isa;
  rt->isa_ok = true;
}

static RtState *rt_state(BudContext *ctx) {
  if (ctx->rt) return ctx->rt;
  RtState *rt = calloc(1, sizeof *rt);
  if (!rt) return NULL;
  rt->nbuckets = 256;
  rt->tab = calloc(rt->nbuckets, sizeof *rt->tab);
  if (!rt->tab) {
    free(rt);
    return NULL;
  }
  size_t mb = 64;
  const char *e = getenv("BUD_CODE_CACHE_MB");
  if (e && atol(e) > 0) mb = (size_t)atol(e);
  rt->limit = mb << 20;
  rt->ctx = ctx;
  rt->cm_ok = rt_codemem_init(&rt->cm, 0) == RT_CODE_OK;
  if (!rt->cm_ok) rt->cm_err = RT_CODE_ERR_OS;
  ctx->rt = rt;
  rt_isa_init(rt, ctx);
  return rt;
}

BudStatus rt_isa_check(BudContext *ctx) {
  RtState *rt = rt_state(ctx);
  if (!rt) return bud_fail(ctx, BUD_ERR_NOMEM, "out of memory creating the runtime state");
  if (!rt->isa_ok) return bud_fail(ctx, BUD_ERR_CPU, "%s", rt->isa_msg);
  return BUD_OK;
}

int rt_isa_path(BudContext *ctx) {
  RtState *rt = rt_state(ctx);
  return rt && rt->isa_ok ? (int)rt->isa : (int)X86_ISA_VM;
}

void rt_kernel_cache_limit(BudContext *ctx, size_t bytes) {
  RtState *rt = rt_state(ctx);
  if (rt) rt->limit = bytes;
}

/* ---- entries ---- */

static void lru_unlink(RtState *rt, Kernel *k) {
  if (k->lprev) k->lprev->lnext = k->lnext;
  else rt->lru_head = k->lnext;
  if (k->lnext) k->lnext->lprev = k->lprev;
  else rt->lru_tail = k->lprev;
  k->lprev = k->lnext = NULL;
}

static void lru_front(RtState *rt, Kernel *k) {
  k->lnext = rt->lru_head;
  k->lprev = NULL;
  if (rt->lru_head) rt->lru_head->lprev = k;
  rt->lru_head = k;
  if (!rt->lru_tail) rt->lru_tail = k;
}

static void rt_state_destroy(RtState *rt) {
  if (rt->cm_ok) rt_codemem_destroy(&rt->cm);
  free(rt->tab);
  free(rt);
}

/* Frees an entry already out of the table and the LRU list. */
static void kernel_destroy(RtState *rt, Kernel *k) {
  if (k->code.p) {
    rt->code_bytes -= k->code.size;
    if (rt->ctx && !rt->ctx_gone) rt->ctx->stats.code_bytes = rt->code_bytes;
    rt_code_free(&rt->cm, &k->code);
  }
  free(k->key);
  free(k);
  rt->nlive--;
}

static void table_remove(RtState *rt, Kernel *k) {
  Kernel **pp = &rt->tab[k->hash % rt->nbuckets];
  while (*pp && *pp != k) pp = &(*pp)->hnext;
  if (*pp) *pp = k->hnext;
  rt->count--;
  lru_unlink(rt, k);
}

static void evict_for(RtState *rt, size_t need) {
  Kernel *k = rt->lru_tail;
  while (k && rt->code_bytes + need > rt->limit) {
    Kernel *prev = k->lprev;
    if (k->pins == 0 && k->code.p) {
      table_remove(rt, k);
      kernel_destroy(rt, k);
    }
    k = prev;
  }
}

/* ---- the key ---- */

typedef struct KeyBuf {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} KeyBuf;

static void kput(KeyBuf *kb, const void *src, size_t n) {
  if (kb->oom) return;
  if (kb->n + n > kb->cap) {
    size_t cap = kb->cap ? kb->cap * 2 : 512;
    while (cap < kb->n + n) cap *= 2;
    uint8_t *np = realloc(kb->p, cap);
    if (!np) {
      kb->oom = true;
      return;
    }
    kb->p = np;
    kb->cap = cap;
  }
  memcpy(kb->p + kb->n, src, n);
  kb->n += n;
}
static void kput32(KeyBuf *kb, int64_t v) {
  int32_t x = (int32_t)v;
  kput(kb, &x, 4);
}

static void make_key(KeyBuf *kb, const Plan *p, const uint8_t *layouts, X86Isa isa) {
  kput32(kb, X86_JIT_VERSION);
  kput32(kb, isa);
  kput32(kb, p->ninsts);
  kput32(kb, p->nvregs);
  kput32(kb, p->noperands);
  kput32(kb, p->nconsts);
  kput32(kb, p->nreduces);
  for (int k = 0; k < p->ninsts; k++) {
    const LInst *in = &p->insts[k];
    uint8_t b[4] = {in->kind, in->dtype, in->nin, 0};
    kput(kb, b, 4);
    int16_t h[5] = {(int16_t)in->op, in->dst, in->src[0], in->src[1], in->src[2]};
    kput(kb, h, sizeof h);
    kput32(kb, in->slot);
  }
  kput(kb, p->vreg_dtype, (size_t)p->nvregs);
  for (int s = 0; s < p->noperands; s++) {
    uint8_t b[3] = {p->operands[s].dtype, p->operands[s].is_output,
                    layouts ? layouts[s] : (uint8_t)LAYOUT_CONTIG};
    kput(kb, b, 3);
  }
  for (int c = 0; c < p->nconsts; c++) {
    kput(kb, &p->consts[c].dtype, 1);
    kput(kb, &p->consts[c].value, sizeof(Scalar));
  }
  for (int r = 0; r < p->nreduces; r++) {
    const PlanReduce *pr = &p->reduces[r];
    int16_t h[4] = {(int16_t)pr->op, pr->in_dtype, pr->out_dtype, pr->src};
    kput(kb, h, sizeof h);
  }
  const Schedule *s = &p->sched;
  int32_t sv[6] = {s->vec_bytes, s->unroll, s->naccum, s->tail, s->store, s->prefetch_bytes};
  kput(kb, sv, sizeof sv);
  kput32(kb, p->reduce_axis);
}

static Kernel *lookup(RtState *rt, const uint8_t *key, size_t n, uint64_t h) {
  for (Kernel *k = rt->tab[h % rt->nbuckets]; k; k = k->hnext)
    if (k->hash == h && k->nkey == n && memcmp(k->key, key, n) == 0) return k;
  return NULL;
}

static Kernel *compile_entry(BudContext *ctx, RtState *rt, const Plan *p, const uint8_t *layouts,
                             uint8_t *key, size_t nkey, uint64_t h) {
  Kernel *k = calloc(1, sizeof *k);
  if (!k) return NULL;
  k->rt = rt;
  k->hash = h;
  k->key = key;
  k->nkey = nkey;
  rt->nlive++;
  uint64_t t0 = now_ns();
  if (!rt->isa_ok) {
    snprintf(k->why, sizeof k->why, "%s", rt->isa_msg);
  } else if (rt->isa == X86_ISA_VM) {
    snprintf(k->why, sizeof k->why, "BUD_ISA=vm: the JIT is off");
  } else if (!rt->cm_ok) {
    snprintf(k->why, sizeof k->why, "the OS refuses executable memory: the VM runs everything");
  } else {
    JitOut o;
    int jrc = x86_jit_compile(p, layouts, rt->isa, &o, k->why, sizeof k->why);
    /* Per-vector external calls cost more than the VM's blocked loops (measured: exp(a)*sin(b)+
     * log1p(c) float32 at 4M, 1 thread: VM 7.9 ns/elem, avx512 13.2, avx2 20.1), so such kernels
     * are used only when BUD_JIT_EXT=1 asks for them, until calls are batched per block. */
    if (jrc == 0 && o.next > 0 && !ext_wanted()) {
      snprintf(k->why, sizeof k->why, "%d external call%s needed (%s): per-vector calls are slower "
               "than the VM's blocks (BUD_JIT_EXT=1 uses them); %s", o.next, o.next > 1 ? "s" : "",
               o.ext_ops, o.ext_why);
      x86_jit_out_free(&o);
      jrc = -1;
    }
    if (jrc == 0) {
      size_t total = o.buf.len + o.npool;
      evict_for(rt, total);
      int rc = rt_code_alloc(&rt->cm, total, &k->code);
      if (rc == RT_CODE_OK) {
        memcpy(k->code.p, o.buf.code, o.buf.len);
        if (o.npool) memcpy(k->code.p + o.buf.len, o.pool, o.npool);
        rc = rt_code_seal(&rt->cm, &k->code);
      }
      if (rc == RT_CODE_OK) {
        void *fp = k->code.p;
        memcpy(&k->fn, &fp, sizeof fp);
        k->ncode = o.ncode ? o.ncode : o.buf.len;
        rt->code_bytes += k->code.size;
        ctx->stats.code_bytes = rt->code_bytes;
        ctx->stats.kernels_jit++;
        k->next = o.next;
        if (o.next) snprintf(k->why, sizeof k->why, "%s", o.ext_ops);
        ctx->stats.jit_fallbacks += (uint64_t)o.next; /* ops left to the VM, per kernel */
      } else {
        if (k->code.p) rt_code_free(&rt->cm, &k->code);
        memset(&k->code, 0, sizeof k->code);
        if (rc == RT_CODE_ERR_EXEC) {
          rt->cm_ok = false; /* never try again in this context */
          snprintf(k->why, sizeof k->why, "the OS refuses executable memory: the VM runs everything");
        } else {
          snprintf(k->why, sizeof k->why, "no code memory (error %d, bound or mmap)", rc);
        }
      }
      x86_jit_out_free(&o);
    }
  }
  k->compile_ns = now_ns() - t0;
  ctx->stats.compile_ns += k->compile_ns;
  if (!k->fn) ctx->stats.jit_fallbacks++;
  /* insert */
  if (rt->count + 1 > rt->nbuckets * 2) {
    size_t nb = rt->nbuckets * 4;
    Kernel **nt = calloc(nb, sizeof *nt);
    if (nt) {
      for (size_t i = 0; i < rt->nbuckets; i++)
        for (Kernel *e = rt->tab[i], *next; e; e = next) {
          next = e->hnext;
          e->hnext = nt[e->hash % nb];
          nt[e->hash % nb] = e;
        }
      free(rt->tab);
      rt->tab = nt;
      rt->nbuckets = nb;
    }
  }
  k->hnext = rt->tab[h % rt->nbuckets];
  rt->tab[h % rt->nbuckets] = k;
  rt->count++;
  lru_front(rt, k);
  return k;
}

static void unpin(Kernel *k) {
  RtState *rt = k->rt;
  if (--k->pins > 0) return;
  if (rt->ctx_gone) { /* the context is gone: nothing caches it any more */
    kernel_destroy(rt, k);
    if (rt->nlive == 0) rt_state_destroy(rt);
  }
}

BudKernelFn rt_kernel_get(BudContext *ctx, Group *grp, const uint8_t *layouts) {
  if (!ctx || !grp || grp->kind != GROUP_FUSED) return NULL;
  const Plan *p = &grp->plan;
  RtState *rt = rt_state(ctx);
  if (!rt) return NULL;
  Kernel *cur = grp->kernel;
  X86Isa isa = rt->isa_ok ? rt->isa : X86_ISA_VM;
  int nops = p->noperands < BUD_MAX_OPERANDS ? p->noperands : BUD_MAX_OPERANDS;
  static const uint8_t all_contig[BUD_MAX_OPERANDS]; /* LAYOUT_CONTIG == 0 */
  if (!layouts) layouts = all_contig;
  /* The group's own kernel for the same ISA and layouts: the common case of a program run again,
   * decided without building the key (which costs a malloc and a hash per run). */
  if (cur && cur->rt == rt && cur->isa == isa && memcmp(cur->layouts, layouts, (size_t)nops) == 0) {
    ctx->stats.cache_hits++;
    if (rt->lru_head != cur) {
      lru_unlink(rt, cur);
      lru_front(rt, cur);
    }
    return cur->fn;
  }
  KeyBuf kb = {0};
  make_key(&kb, p, layouts, isa);
  if (kb.oom) {
    free(kb.p);
    return NULL;
  }
  uint64_t h = hash_bytes(kb.p, kb.n, 0x6275644a4954ull);
  /* the group's own kernel: the common case of a program run again */
  if (cur && cur->rt == rt && cur->hash == h && cur->nkey == kb.n &&
      memcmp(cur->key, kb.p, kb.n) == 0) {
    free(kb.p);
    ctx->stats.cache_hits++;
    lru_unlink(rt, cur);
    lru_front(rt, cur);
    return cur->fn;
  }
  Kernel *k = lookup(rt, kb.p, kb.n, h);
  if (k) {
    free(kb.p);
    ctx->stats.cache_hits++;
    lru_unlink(rt, k);
    lru_front(rt, k);
  } else {
    ctx->stats.cache_misses++;
    k = compile_entry(ctx, rt, p, layouts, kb.p, kb.n, h);
    if (!k) {
      free(kb.p);
      return NULL;
    }
  }
  k->isa = isa;
  memcpy(k->layouts, layouts, (size_t)nops);
  k->pins++;
  if (cur) unpin(cur);
  grp->kernel = (struct Kernel *)k;
  return k->fn;
}

void rt_kernel_release(Group *grp) {
  if (!grp || !grp->kernel) return;
  Kernel *k = (Kernel *)grp->kernel;
  grp->kernel = NULL;
  unpin(k);
}

void rt_state_free(BudContext *ctx) {
  RtState *rt = ctx ? ctx->rt : NULL;
  if (!rt) return;
  ctx->rt = NULL;
  rt->ctx_gone = true;
  rt->ctx = NULL;
  for (size_t i = 0; i < rt->nbuckets; i++)
    for (Kernel *k = rt->tab[i], *next; k; k = next) {
      next = k->hnext;
      k->hnext = NULL;
      k->lprev = k->lnext = NULL;
      if (k->pins == 0) kernel_destroy(rt, k);
    }
  memset(rt->tab, 0, rt->nbuckets * sizeof *rt->tab);
  rt->count = 0;
  rt->lru_head = rt->lru_tail = NULL;
  if (rt->nlive == 0) rt_state_destroy(rt);
}

/* ---- explain ---- */

static void explain_code(const Kernel *k, StrBuf *sb) {
  char path[] = "/tmp/bud-kernel-XXXXXX";
  int fd = mkstemp(path);
  bool done = false;
  if (fd >= 0) {
    bool ok = write(fd, k->code.p, k->ncode) == (ssize_t)k->ncode;
    close(fd);
    if (ok && access("/usr/bin/objdump", X_OK) == 0) {
      char cmd[256];
      snprintf(cmd, sizeof cmd,
               "/usr/bin/objdump -D -b binary -mi386:x86-64 -M intel %s 2>/dev/null", path);
      FILE *f = popen(cmd, "r");
      if (f) {
        char line[256];
        int started = 0;
        while (fgets(line, sizeof line, f)) {
          if (strstr(line, "<.data>:")) {
            started = 1;
            continue;
          }
          if (started) sb_printf(sb, "    %s", line);
        }
        done = pclose(f) == 0 && started;
      }
    }
    unlink(path);
  }
  if (!done)
    for (size_t i = 0; i < k->ncode; i++)
      sb_printf(sb, "%s%02x%s", i % 32 == 0 ? "    " : "", k->code.p[i],
                i % 32 == 31 || i + 1 == k->ncode ? "\n" : " ");
}

void rt_kernel_explain(BudContext *ctx, Group *grp, StrBuf *sb) {
  if (!ctx || !grp || grp->kind != GROUP_FUSED) return;
  RtState *rt = rt_state(ctx);
  if (!rt) return;
  if (!rt->isa_ok) {
    sb_printf(sb, "  jit: off (%s)\n", rt->isa_msg);
    return;
  }
  Kernel *k = (Kernel *)grp->kernel;
  if (!k) { /* not run yet: compile for contiguous operands to show what would run */
    uint8_t lay[BUD_MAX_OPERANDS] = {0};
    (void)rt_kernel_get(ctx, grp, lay);
    k = (Kernel *)grp->kernel;
  }
  if (!k) {
    sb_printf(sb, "  jit: unavailable\n");
    return;
  }
  if (!k->fn) {
    sb_printf(sb, "  jit (%s): runs in the VM: %s\n", x86_isa_name(rt->isa), k->why);
    return;
  }
  /* Only facts of this kernel: explain text is the same whenever the program is the same (the
   * context's cache counters are in bud_stats). */
  sb_printf(sb, "  jit (%s): %zu bytes of code, compiled in %.1f us\n", x86_isa_name(rt->isa),
            k->ncode, (double)k->compile_ns / 1e3);
  if (k->next)
    sb_printf(sb, "  jit: %d external call%s (the VM's loop, one vector per call): %s\n", k->next,
              k->next > 1 ? "s" : "", k->why);
  explain_code(k, sb);
}
