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
}
