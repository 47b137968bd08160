#include "malloc_tuning.h"
#include <stdint.h>
#include <sys/mman.h>
#if defined(__GLIBC__)
#include <malloc.h>
int genesis_reuse_large_buffers(void) {
    return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
}
#else
int genesis_reuse_large_buffers(void) { return 0; }
#endif

int genesis_advise_huge_pages(void *start, size_t count) {
#if defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t first = ((uintptr_t)start + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)start + count) & ~(huge - 1);
    if (end <= first) return 0;
    return madvise((void *)first, end - first, MADV_HUGEPAGE) == 0;
#else
    (void)start; (void)count;
    return 0;
#endif
}
