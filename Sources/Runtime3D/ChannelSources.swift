/// Several maps read as one map with their channels concatenated in order (the decoder's
/// `cat([up, skip], 1)`), without copying them into one buffer.
struct ChannelSources {
    let batch: Int, depth: Int, height: Int, width: Int
    /// Channels of each map, in order, and their sum.
    let channelCounts: [Int]
    let channels: Int

    /// Checks that the maps agree on batch and spatial size.
    init(_ maps: [FeatureMap], op: String) throws {
        guard let first = maps.first else { throw RuntimeError.badInput(reason: "\(op): no input") }
        for m in maps.dropFirst() where m.batch != first.batch || m.depth != first.depth || m.height != first.height || m.width != first.width {
            throw RuntimeError.badInput(reason: "\(op): inputs to concatenate differ in batch or spatial size: \(first.shape) vs \(m.shape)")
        }
        batch = first.batch
        depth = first.depth
        height = first.height
        width = first.width
        channelCounts = maps.map(\.channels)
        channels = channelCounts.reduce(0, +)
    }

    var spatialCount: Int { depth * height * width }

    /// Base pointers of the maps' data, valid inside `body`.
    static func withPointers<R>(_ maps: [FeatureMap], _ body: ([UnsafePointer<Float>]) throws -> R) rethrows -> R {
        func go(_ i: Int, _ acc: [UnsafePointer<Float>]) throws -> R {
            if i == maps.count { return try body(acc) }
            return try maps[i].data.withUnsafeBufferPointer { try go(i + 1, acc + [$0.baseAddress!]) }
        }
        return try go(0, [])
    }

    /// The (source, channel within source) of every concatenated channel.
    var channelTable: [(source: Int, channel: Int)] {
        var t: [(Int, Int)] = []
        for (s, c) in channelCounts.enumerated() { for k in 0..<c { t.append((s, k)) } }
        return t
    }
}

extension FeatureMap {
    /// Channel concatenation, materialised (the runtime's convolutions read the parts in place).
    public static func concatenated(_ maps: [FeatureMap]) throws -> FeatureMap {
        let src = try ChannelSources(maps, op: "concatenate")
        var out = try FeatureMap(batch: src.batch, channels: src.channels, depth: src.depth, height: src.height, width: src.width)
        let s = src.spatialCount
        var offset = 0
        for n in 0..<src.batch {
            for m in maps {
                let count = m.channels * s
                out.data.withUnsafeMutableBufferPointer { dst in
                    m.data.withUnsafeBufferPointer { p in
                        (dst.baseAddress! + offset).update(from: p.baseAddress! + n * count, count: count)
                    }
                }
                offset += count
            }
        }
        return out
    }
}
