/* codemem.h -- executable memory for JIT kernels, never writable and executable at once.
 * Entry points: rt_codemem_init/destroy (one region per owner, with a byte bound),
 * rt_code_alloc (RW pages), rt_code_seal (RX, then callable), rt_code_free (back to the
 * pool, inaccessible until reused). Thread-safe: the region carries its own mutex. */
#ifndef BUD_RT_CODEMEM_H
#define BUD_RT_CODEMEM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  RT_CODE_OK = 0,
  RT_CODE_ERR_LIMIT = -1, /* the region's byte bound would be exceeded */
  RT_CODE_ERR_OS = -2,    /* mmap or mprotect failed */
  RT_CODE_ERR_EXEC = -3,  /* the OS refuses PROT_EXEC (e.g. a W^X or noexec policy) */
  RT_CODE_ERR_STATE = -4  /* sealing twice, freeing a block of another region, ... */
} RtCodeStatus;

/* One block: p is writable after alloc and executable (read-only) after seal. */
typedef struct {
  uint8_t *p;
  size_t size;  /* bytes asked for */
  size_t cap;   /* bytes mapped (whole pages) */
  int is_sealed;
} RtCode;

typedef struct {
  size_t base, cap;
} RtCodeFree;

typedef struct {
  pthread_mutex_t lock;
  size_t limit; /* bound on mapped bytes, live + pooled; 0 = unbounded */
  size_t used;  /* mapped bytes, live + pooled */
  size_t page;
  RtCodeFree *pool;
  size_t npool, cappool;
} RtCodeMem;

int rt_codemem_init(RtCodeMem *cm, size_t limit_bytes);
/* Unmaps the pool; blocks still live stay mapped (the owner frees them first). */
void rt_codemem_destroy(RtCodeMem *cm);
void rt_codemem_set_limit(RtCodeMem *cm, size_t limit_bytes);

/* Maps (or reuses) at least size bytes, readable and writable, not executable. */
int rt_code_alloc(RtCodeMem *cm, size_t size, RtCode *out);
/* Switches the block to read+execute; it can no longer be written. */
int rt_code_seal(RtCodeMem *cm, RtCode *code);
/* Returns the block to the pool (made inaccessible); *code is cleared. */
void rt_code_free(RtCodeMem *cm, RtCode *code);

#endif
