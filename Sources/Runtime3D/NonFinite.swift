/// Detection of NaN and Inf in float32 buffers.
///
/// The Winograd convolutions are exact only in exact arithmetic: their transforms add and
/// subtract neighbouring values, so one NaN input reaches every output of its tile (up to 3
/// voxels beyond its receptive field per tiled axis) and an Inf input meets Inf - Inf and turns
/// NaN where the direct sum is +-Inf. A convolution whose input or weights hold a non-finite
/// value therefore runs the direct (im2col) form, which propagates them as PyTorch does.
enum NonFinite {
    /// Whether any of `count` values is NaN or +-Inf: the exponent bits of every value, as an
    /// integer maximum of |bits| (branch-free, vectorises), checked per block of 4096.
    static func contains(_ p: UnsafePointer<Float>, count: Int) -> Bool {
        let bits = UnsafeRawPointer(p).assumingMemoryBound(to: UInt32.self)
        var start = 0
        while start < count {
            let end = min(count, start + 4096)
            var m: UInt32 = 0
            for i in start..<end { m = max(m, bits[i] & 0x7FFF_FFFF) }
            if m >= 0x7F80_0000 { return true }
            start = end
        }
        return false
    }

    static func contains(_ values: [Float]) -> Bool {
        values.withUnsafeBufferPointer { $0.isEmpty ? false : contains($0.baseAddress!, count: $0.count) }
    }

    /// `contains(values)` over `threads` workers for buffers of 1 Mi values and more (a
    /// full-resolution feature map is 8-25 Mi; every convolution scans its inputs, and the
    /// serial scans were 1.5% of a training step's wall time with the other core idle).
    static func contains(_ values: [Float], threads: Int) -> Bool {
        guard threads > 1, values.count >= 1 << 20 else { return contains(values) }
        let ranges = Parallel.ranges(values.count, parts: threads)
        var found = [Bool](repeating: false, count: ranges.count)   // one slot per range
        values.withUnsafeBufferPointer { v in
            found.withUnsafeMutableBufferPointer { f in
                Parallel.forEach(ranges.count, threads: threads) { i, _ in
                    f[i] = contains(v.baseAddress! + ranges[i].lowerBound, count: ranges[i].count)
                }
            }
        }
        return found.contains(true)
    }
}
