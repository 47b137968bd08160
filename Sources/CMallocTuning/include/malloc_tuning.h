#pragma once
/// Keeps glibc from serving and returning buffers up to 32 MiB with fresh mmaps (see
/// Tensors/MemoryTuning.swift). Returns 1 when both settings took effect, 0 elsewhere.
int genesis_reuse_large_buffers(void);
