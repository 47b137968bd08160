import CMallocTuning

/// glibc serves allocations over 128 KiB (rising to 32 MiB) with fresh mmaps and unmaps them on
/// free, so every large tensor buffer pays page faults and kernel zeroing again (18% of a
/// full-size conversion's time). Executables that move many large tensors call
/// `reuseLargeBuffers()` once at start: buffers up to 32 MiB then come from the heap and freed
/// ones are reused. Large buffers filled once (`LargeBytes`) also ask for transparent huge
/// pages, so a fresh buffer takes one fault per 2 MiB instead of one per 4 KiB.
public enum MemoryTuning {
    @discardableResult
    public static func reuseLargeBuffers() -> Bool { genesis_reuse_large_buffers() == 1 }

    /// Buffers at least this large are advised to use huge pages.
    public static let hugePageMinimum = 4 << 20
}

/// A byte array filled once by `body`, which must write all `count` bytes.
public enum LargeBytes {
    public static func make(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            let raw = UnsafeMutableRawBufferPointer(buf)
            if count >= MemoryTuning.hugePageMinimum, let p = raw.baseAddress { _ = genesis_advise_huge_pages(p, count) }
            try body(raw)
            n = count
        }
    }
}
