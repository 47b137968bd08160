import CMallocTuning

/// glibc serves allocations over 128 KiB (rising to 32 MiB) with fresh mmaps and unmaps them on
/// free, so every large tensor buffer pays page faults and kernel zeroing again (18% of a
/// full-size conversion's time). Executables that move many large tensors call this once at
/// start: buffers up to 32 MiB then come from the heap and freed ones are reused.
public enum MemoryTuning {
    @discardableResult
    public static func reuseLargeBuffers() -> Bool { genesis_reuse_large_buffers() == 1 }
}
