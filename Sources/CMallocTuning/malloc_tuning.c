#include "malloc_tuning.h"
/* Any C library header first: it is what defines __GLIBC__ for the test below (without one the
   test was always false and the settings silently never applied). */
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
int genesis_reuse_large_buffers(void) {
    /* M_MMAP_MAX 0: no allocation of the main arena is an mmap, larger than the threshold's
       32 MiB ceiling included (a full-resolution feature map of the official network is
       32-96 MiB); other threads' arenas still map what their heaps cannot hold. */
    return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 && mallopt(M_MMAP_MAX, 0) == 1;
}
#else
int genesis_reuse_large_buffers(void) { return 0; }
#endif
