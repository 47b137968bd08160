#pragma once
/// Keeps glibc from serving and returning large buffers with fresh mmaps (see
/// Tensors/MemoryTuning.swift). Returns 1 when all three settings took effect, 0 elsewhere.
int genesis_reuse_large_buffers(void);
