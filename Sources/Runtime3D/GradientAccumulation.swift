/// Per-worker gradient accumulators: which workers wrote theirs (the first GEMM of a worker
/// overwrites, later ones add), and the reduction over workers in Double.
final class WorkerFlags: @unchecked Sendable {
    // Slot w is only touched by worker w, so no lock is needed.
    private var used: UnsafeMutablePointer<Bool>
    private let count: Int

    init(_ workers: Int) {
        count = max(1, workers)
        used = UnsafeMutablePointer<Bool>.allocate(capacity: count)
        used.initialize(repeating: false, count: count)
    }

    deinit { used.deallocate() }

    /// True on the worker's first call (its accumulator holds garbage until then).
    func claim(_ worker: Int) -> Bool {
        if used[worker] { return false }
        used[worker] = true
        return true
    }

    /// Calls `body` with every worker that wrote its accumulator.
    func forEachUsed(_ workers: Int, _ body: (Int) -> Void) {
        for w in 0..<min(workers, count) where used[w] { body(w) }
    }

    /// Sum of the used workers' first `n` floats (zeros when none was used).
    func sum(_ buffers: Scratch, count n: Int) -> [Float] {
        var acc = [Double](repeating: 0, count: n)
        for w in 0..<count where used[w] {
            let b = buffers.buffer(w)
            for i in 0..<n { acc[i] += Double(b[i]) }
        }
        return acc.map { Float($0) }
    }
}

/// Sums over a map's samples and voxels.
enum Reductions {
    /// Per-channel sum over N, D, H, W (bias gradients), in Double.
    static func channelSums(_ x: FeatureMap, threads: Int) -> [Float] {
        let (c, s) = (x.channels, x.spatialCount)
        var out = [Float](repeating: 0, count: c)
        x.data.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                let (xb, ob) = (xp.baseAddress!, op.baseAddress!)
                Parallel.forEach(c, threads: threads) { ch, _ in
                    var total = 0.0
                    for n in 0..<x.batch { total += sum(xb + (n * c + ch) * s, count: s) }
                    ob[ch] = Float(total)
                }
            }
        }
        return out
    }

    /// Sum of `count` floats: float32 partial sums of 256, added in Double.
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, count: Int) -> Double {
        var acc = 0.0, part: Float = 0
        for i in 0..<count {
            part += p[i]
            if i & 255 == 255 { acc += Double(part); part = 0 }
        }
        return acc + Double(part)
    }
}

extension FeatureMap {
    /// The channel blocks of `counts` (which must add up to `channels`), in order: the backward
    /// of a channel concatenation.
    public func splitChannels(_ counts: [Int]) throws -> [FeatureMap] {
        guard counts.reduce(0, +) == channels, counts.allSatisfy({ $0 > 0 }) else {
            throw RuntimeError.badInput(reason: "split: channel counts \(counts) do not add up to \(channels)")
        }
        if counts.count == 1 { return [self] }
        let s = spatialCount
        var offset = 0
        return try counts.map { cp in
            var part = try FeatureMap(uninitializedBatch: batch, channels: cp, depth: depth, height: height, width: width)
            data.withUnsafeBufferPointer { src in
                part.data.withUnsafeMutableBufferPointer { dst in
                    for n in 0..<batch {
                        (dst.baseAddress! + n * cp * s).update(from: src.baseAddress! + (n * channels + offset) * s, count: cp * s)
                    }
                }
            }
            offset += cp
            return part
        }
    }

    /// Elementwise self += other (same shape).
    mutating func add(_ other: FeatureMap) throws {
        guard other.shape == shape else { throw RuntimeError.badInput(reason: "add: shapes \(shape) and \(other.shape) differ") }
        data.withUnsafeMutableBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += b[i] }
            }
        }
    }
}
