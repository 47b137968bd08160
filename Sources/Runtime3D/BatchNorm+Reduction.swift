/// How BatchNorm's per-channel sums are combined across the processes of a data-parallel run
/// (`--sync-bn`): each process holds a slice of the batch; `sum` adds every process's values
/// element by element and gives each process the totals. With it, the batch statistics (mean,
/// biased variance, count) and the backward pass's channel sums of dz and dz x^ are those of the
/// whole batch, so N processes compute what one computes on the concatenated batch. The
/// runtime never learns how the sum is done (MPI lives in the `Distributed` target).
///
/// Every process must call `sum` the same number of times, in the same order, with the same
/// count of values (they all run the same network on equally shaped slices).
public protocol BatchNormReducer: Sendable {
    func sum(_ values: inout [Double]) throws
}

extension BatchNorm {
    /// Per channel sums over N, D, H, W in Double of x (`centre` nil) or of (x - centre)^2:
    /// per sample, float32 partial sums flushed into Double every 256 values.
    static func channelSums(_ x: FeatureMap, centre: [Float]?, threads: Int) -> [Double] {
        let s = x.spatialCount, c = x.channels
        var sums = [Double](repeating: 0, count: c)
        x.data.withUnsafeBufferPointer { xp in
            sums.withUnsafeMutableBufferPointer { sp in
                let (xb, sb) = (xp.baseAddress!, sp.baseAddress!)
                Parallel.forEach(c, threads: threads) { ch, _ in
                    var sum = 0.0
                    for n in 0..<x.batch {
                        let p = xb + (n * c + ch) * s
                        var part: Float = 0, acc = 0.0
                        if let centre {
                            let m = centre[ch]
                            for i in 0..<s {
                                let dv = p[i] - m
                                part += dv * dv
                                if i & 255 == 255 { acc += Double(part); part = 0 }
                            }
                        } else {
                            for i in 0..<s {
                                part += p[i]
                                if i & 255 == 255 { acc += Double(part); part = 0 }
                            }
                        }
                        sum += acc + Double(part)
                    }
                    sb[ch] = sum
                }
            }
        }
        return sums
    }

    /// Batch statistics over every process's slice: the global mean first (sums and counts
    /// added up), then the squared deviations from that mean added up, so the variance is the
    /// two-pass one of the whole batch (no sum-of-squares cancellation). Without a reducer, the
    /// statistics of `x` alone.
    public static func batchStatistics(_ x: FeatureMap, threads: Int = Parallel.defaultThreads,
                                       reducer: (any BatchNormReducer)?) throws -> BatchNormStatistics {
        let c = x.channels
        var first = channelSums(x, centre: nil, threads: threads)
        first.append(Double(x.batch * x.spatialCount))
        try reducer?.sum(&first)
        let count = first[c]
        let mean = (0..<c).map { Float(first[$0] / max(1, count)) }
        var second = channelSums(x, centre: mean, threads: threads)
        try reducer?.sum(&second)
        return BatchNormStatistics(mean: mean, variance: second.map { Float($0 / max(1, count)) }, count: Int(count))
    }
}
