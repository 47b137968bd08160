/// One part of a convolution's input: a map as it is, or a map read as its 2x nearest
/// upsampling (Keras `UpSampling3D(2)`) without materialising the 8x larger tensor.
public enum ConvInput: Sendable {
    case map(FeatureMap)
    case upsampled(FeatureMap)

    public var map: FeatureMap {
        switch self { case let .map(m), let .upsampled(m): return m }
    }

    public var isUpsampled: Bool { if case .upsampled = self { return true } else { return false } }

    /// The part as a plain map (upsampling materialised).
    func materialized(threads: Int) throws -> FeatureMap {
        switch self {
        case let .map(m): return m
        case let .upsampled(m): return try Resampling.upsampleNearest2(m, threads: threads)
        }
    }

    /// Shape as the convolution sees it (spatial sides doubled for an upsampled part).
    public var shape: [Int] {
        let m = map
        let f = isUpsampled ? 2 : 1
        return [m.batch, m.channels, f * m.depth, f * m.height, f * m.width]
    }
}

/// Several maps read as one map with their channels concatenated in order (the decoder's
/// `cat([up, skip], 1)`), without copying them into one buffer.
struct ChannelSources {
    let batch: Int, depth: Int, height: Int, width: Int
    /// Channels of each map, in order, and their sum.
    let channelCounts: [Int]
    let channels: Int
    /// Whether each part is read through 2x nearest upsampling.
    let upsampled: [Bool]

    /// Checks that the maps agree on batch and spatial size.
    init(_ maps: [FeatureMap], op: String) throws {
        try self.init(maps.map { .map($0) }, op: op)
    }

    /// Checks that the parts agree on batch and (as seen by the convolution) spatial size.
    init(_ parts: [ConvInput], op: String) throws {
        guard let first = parts.first?.shape else { throw RuntimeError.badInput(reason: "\(op): no input") }
        for p in parts.dropFirst() where p.shape[0] != first[0] || Array(p.shape[2...]) != Array(first[2...]) {
            throw RuntimeError.badInput(reason: "\(op): inputs to concatenate differ in batch or spatial size: \(first) vs \(p.shape)")
        }
        (batch, depth, height, width) = (first[0], first[2], first[3], first[4])
        channelCounts = parts.map { $0.map.channels }
        channels = channelCounts.reduce(0, +)
        upsampled = parts.map(\.isUpsampled)
    }

    var spatialCount: Int { depth * height * width }
    var anyUpsampled: Bool { upsampled.contains(true) }

    /// Values per channel plane in part `source`'s own map.
    func planeCount(_ source: Int) -> Int { upsampled[source] ? spatialCount / 8 : spatialCount }

    /// The channel plane `entry` of sample n, in its part's own map.
    func plane(_ ptrs: [UnsafePointer<Float>], _ entry: (source: Int, channel: Int), sample n: Int) -> UnsafePointer<Float> {
        let s = planeCount(entry.source)
        return ptrs[entry.source] + (n * channelCounts[entry.source] + entry.channel) * s
    }

    /// Copies line (d, h) of a plane, as the convolution sees it, into `dst` (`width` floats).
    @inline(__always)
    func copyLine(_ plane: UnsafePointer<Float>, upsampled up: Bool, d: Int, h: Int, into dst: UnsafeMutablePointer<Float>) {
        if !up {
            dst.update(from: plane + (d * height + h) * width, count: width)
        } else {
            let (hh, ww) = (height / 2, width / 2)
            let low = plane + ((d / 2) * hh + h / 2) * ww
            for k in 0..<ww {
                dst[2 * k] = low[k]
                dst[2 * k + 1] = low[k]
            }
        }
    }

    /// Base pointers of the maps' data, valid inside `body`.
    static func withPointers<R>(_ maps: [FeatureMap], _ body: ([UnsafePointer<Float>]) throws -> R) rethrows -> R {
        func go(_ i: Int, _ acc: [UnsafePointer<Float>]) throws -> R {
            if i == maps.count { return try body(acc) }
            return try maps[i].data.withUnsafeBufferPointer { try go(i + 1, acc + [$0.baseAddress!]) }
        }
        return try go(0, [])
    }

    /// The concatenated channels of each part, in order.
    var channelRanges: [Range<Int>] {
        var start = 0
        return channelCounts.map { c in defer { start += c }; return start..<(start + c) }
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
