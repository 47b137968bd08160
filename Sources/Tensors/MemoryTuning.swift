import CMallocTuning

/// glibc serves allocations over 128 KiB (rising to 32 MiB) with fresh mmaps and unmaps them on
/// free, so every large tensor buffer pays page faults and kernel zeroing again (a third of a
/// warm official-size conversion's time). Executables that move many large tensors call this
/// once at start: buffers of any size then come from the heap and freed ones are reused, at
/// the price of keeping freed memory (peak RSS of a forward pass +25 MB). Buffers over 32 MiB
/// (the full-resolution feature maps of a training step) are included: with them mapped, a
/// batch-1 step spent 0.5 CPU-s of its 6 in the kernel's page faults, zeroing and unmaps.
public enum MemoryTuning {
    @discardableResult
    public static func reuseLargeBuffers() -> Bool { genesis_reuse_large_buffers() == 1 }
}
