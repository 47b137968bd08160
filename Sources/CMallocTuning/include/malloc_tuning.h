#pragma once
#include <stddef.h>
/// Keeps glibc from serving and returning buffers up to 32 MiB with fresh mmaps (see
/// Tensors/MemoryTuning.swift). Returns 1 when both settings took effect, 0 elsewhere.
int genesis_reuse_large_buffers(void);
/// Asks the kernel for transparent huge pages on the whole 2 MiB pages inside
/// [start, start + count) (madvise MADV_HUGEPAGE; the machine's THP mode is often "madvise").
/// Returns 1 when advised, 0 when the range holds no whole huge page or the call failed.
int genesis_advise_huge_pages(void *start, size_t count);
