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
    public func splitChannels(_ counts: [Int], threads: Int = Parallel.defaultThreads) throws -> [FeatureMap] {
        guard counts.reduce(0, +) == channels, counts.allSatisfy({ $0 > 0 }) else {
            throw RuntimeError.badInput(reason: "split: channel counts \(counts) do not add up to \(channels)")
        }
        if counts.count == 1 { return [self] }
        var offset = 0
        return try counts.map { cp in
            defer { offset += cp }
            return try channelSlice(offset..<(offset + cp), threads: threads)
        }
    }

    /// Channels `range` of every sample, copied plane by plane on `threads` workers.
    func channelSlice(_ range: Range<Int>, threads: Int) throws -> FeatureMap {
        guard range.lowerBound >= 0, range.upperBound <= channels, !range.isEmpty else {
            throw RuntimeError.badInput(reason: "channel slice \(range) outside 0..<\(channels)")
        }
        if range.count == channels { return self }
        let (s, cp) = (spatialCount, range.count)
        var part = try FeatureMap(uninitializedBatch: batch, channels: cp, depth: depth, height: height, width: width)
        data.withUnsafeBufferPointer { src in
            part.data.withUnsafeMutableBufferPointer { dst in
                let (sb, db) = (src.baseAddress!, dst.baseAddress!)
                Parallel.forEach(batch * cp, threads: threads) { plane, _ in
                    let (n, c) = (plane / cp, plane % cp)
                    (db + plane * s).update(from: sb + (n * channels + range.lowerBound + c) * s, count: s)
                }
            }
        }
        return part
    }

    /// Elementwise self += other (same shape).
    mutating func add(_ other: FeatureMap, threads: Int = Parallel.defaultThreads) throws {
        guard other.shape == shape else { throw RuntimeError.badInput(reason: "add: shapes \(shape) and \(other.shape) differ") }
        guard !data.isEmpty else { return }
        let ranges = Parallel.ranges(data.count, parts: max(1, min(4 * threads, data.count >> 16)))
        data.withUnsafeMutableBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                let (ab, bb) = (a.baseAddress!, b.baseAddress!)
                Parallel.forEach(ranges.count, threads: threads) { r, _ in
                    for i in ranges[r] { ab[i] += bb[i] }
                }
            }
        }
    }
}
