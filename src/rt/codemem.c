/* codemem.c -- executable memory for JIT kernels (see codemem.h). Each block is its own
 * page-aligned mapping so that its protection can change alone: mmap RW, write, mprotect
 * RX. A freed block is set PROT_NONE and kept in a pool for reuse (made RW again), so no
 * page is ever both writable and executable. When the byte bound would be exceeded the
 * pool is unmapped first; only live code counts against the caller then. */
#define _GNU_SOURCE
#include "rt/codemem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int rt_codemem_init(RtCodeMem *cm, size_t limit_bytes) {
  memset(cm, 0, sizeof *cm);
  long pg = sysconf(_SC_PAGESIZE);
  cm->page = pg > 0 ? (size_t)pg : 4096;
  cm->limit = limit_bytes;
  return pthread_mutex_init(&cm->lock, NULL) ? RT_CODE_ERR_OS : RT_CODE_OK;
}

void rt_codemem_destroy(RtCodeMem *cm) {
  for (size_t i = 0; i < cm->npool; i++) munmap((void *)cm->pool[i].base, cm->pool[i].cap);
  free(cm->pool);
  pthread_mutex_destroy(&cm->lock);
  memset(cm, 0, sizeof *cm);
}

void rt_codemem_set_limit(RtCodeMem *cm, size_t limit_bytes) {
  pthread_mutex_lock(&cm->lock);
  cm->limit = limit_bytes;
  pthread_mutex_unlock(&cm->lock);
}

static void drop_pool(RtCodeMem *cm) {
  for (size_t i = 0; i < cm->npool; i++) {
    munmap((void *)cm->pool[i].base, cm->pool[i].cap);
    cm->used -= cm->pool[i].cap;
  }
  cm->npool = 0;
}

int rt_code_alloc(RtCodeMem *cm, size_t size, RtCode *out) {
  memset(out, 0, sizeof *out);
  if (size == 0) size = 1;
  if (size > SIZE_MAX - cm->page) return RT_CODE_ERR_LIMIT;
  size_t cap = (size + cm->page - 1) / cm->page * cm->page;
  int st = RT_CODE_OK;
  pthread_mutex_lock(&cm->lock);
  /* smallest pooled block that fits */
  size_t best = cm->npool;
  for (size_t i = 0; i < cm->npool; i++)
    if (cm->pool[i].cap >= cap && (best == cm->npool || cm->pool[i].cap < cm->pool[best].cap)) best = i;
  if (best < cm->npool) {
    RtCodeFree f = cm->pool[best];
    if (mprotect((void *)f.base, f.cap, PROT_READ | PROT_WRITE) != 0) {
      st = RT_CODE_ERR_OS;
    } else {
      cm->pool[best] = cm->pool[--cm->npool];
      out->p = (uint8_t *)f.base, out->cap = f.cap;
    }
  } else {
    if (cm->limit && cm->used + cap > cm->limit) drop_pool(cm);
    if (cm->limit && cm->used + cap > cm->limit) {
      st = RT_CODE_ERR_LIMIT;
    } else {
      void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) st = RT_CODE_ERR_OS;
      else out->p = p, out->cap = cap, cm->used += cap;
    }
  }
  pthread_mutex_unlock(&cm->lock);
  if (st == RT_CODE_OK) out->size = size;
  return st;
}

int rt_code_seal(RtCodeMem *cm, RtCode *code) {
  (void)cm;
  if (!code->p || code->is_sealed) return RT_CODE_ERR_STATE;
  if (mprotect(code->p, code->cap, PROT_READ | PROT_EXEC) != 0)
    return errno == EACCES || errno == EPERM ? RT_CODE_ERR_EXEC : RT_CODE_ERR_OS;
  __builtin___clear_cache((char *)code->p, (char *)code->p + code->size);
  code->is_sealed = 1;
  return RT_CODE_OK;
}

void rt_code_free(RtCodeMem *cm, RtCode *code) {
  if (!code->p) return;
  pthread_mutex_lock(&cm->lock);
  int pooled = 0;
  if (mprotect(code->p, code->cap, PROT_NONE) == 0) {
    if (cm->npool == cm->cappool) {
      size_t n = cm->cappool ? cm->cappool * 2 : 16;
      RtCodeFree *q = realloc(cm->pool, n * sizeof *q);
      if (q) cm->pool = q, cm->cappool = n;
    }
    if (cm->npool < cm->cappool) {
      cm->pool[cm->npool].base = (size_t)code->p, cm->pool[cm->npool].cap = code->cap;
      cm->npool++;
      pooled = 1;
    }
  }
  if (!pooled) {
    munmap(code->p, code->cap);
    cm->used -= code->cap;
  }
  pthread_mutex_unlock(&cm->lock);
  memset(code, 0, sizeof *code);
}
