import Runtime3D
import Tensors

/// Training cubes (or targets) in memory as float32 (N, C, D, H, W), and the order a run visits them.
public struct CubeSet: Sendable {
    public let values: [Float]
    public let count: Int
    public let channels: Int
    /// D, H, W.
    public let spatial: [Int]
    /// Cubes in the whole data set: `count` unless this set is one rank's shard.
    public let totalCount: Int
    /// A shard's cubes by global index -> position here (nil: the whole set, in order).
    private let positions: [Int: Int]?

    /// One rank's shard: the float32 (n, C, D, H, W) cubes at `globalIndices` (sorted) of a data
    /// set of `totalCount` cubes; `batch` and friends take global indices.
    public init(_ t: Tensor, globalIndices: [Int], totalCount: Int) throws {
        guard t.rank == 5, globalIndices.count == t.shape[0], globalIndices.allSatisfy({ $0 >= 0 && $0 < totalCount }) else {
            throw RuntimeError.badInput(reason: "shard of \(t.shape.first ?? 0) cubes given \(globalIndices.count) indices in 0..<\(totalCount)")
        }
        try self.init(t, totalCount: totalCount, positions: Dictionary(uniqueKeysWithValues: globalIndices.enumerated().map { ($1, $0) }))
    }

    /// A float32 (N, C, D, H, W) tensor.
    public init(_ t: Tensor) throws {
        try self.init(t, totalCount: t.shape.first ?? 0, positions: nil)
    }

    private init(_ t: Tensor, totalCount: Int, positions: [Int: Int]?) throws {
        guard t.rank == 5, t.shape[1] >= 1, t.dtype == .float32 else {
            throw RuntimeError.badInput(reason: "training cubes must be float32 (N, C, D, H, W), found \(t.dtype.rawValue) \(t.shape)")
        }
        values = t.floats()
        count = t.shape[0]
        channels = t.shape[1]
        spatial = Array(t.shape[2...])
        self.totalCount = totalCount
        self.positions = positions
    }

    public var valuesPerCube: Int { channels * spatial.reduce(1, *) }

    /// The cubes at `indices` as a set of their own (a validation split).
    public func subset(_ indices: [Int]) throws -> CubeSet {
        try CubeSet(batch(indices).tensor)
    }

    /// The cubes at `globalIndices` (sorted) as one rank's shard of this set.
    public func shard(_ globalIndices: [Int]) throws -> CubeSet {
        try CubeSet(batch(globalIndices).tensor, globalIndices: globalIndices, totalCount: totalCount)
    }

    /// The cubes at `indices`, in that order, as one batch.
    public func batch(_ indices: [Int]) throws -> FeatureMap {
        let per = valuesPerCube
        var out = [Float]()
        out.reserveCapacity(indices.count * per)
        for g in indices {
            guard let i = positions == nil ? g : positions![g] else {
                throw RuntimeError.badInput(reason: "cube \(g) is not in this rank's shard")
            }
            out.append(contentsOf: values[(i * per)..<((i + 1) * per)])
        }
        return try FeatureMap(shape: [indices.count, channels] + spatial, data: out)
    }

    /// The cube indices of a run's step: with `shuffle`, each epoch visits the cubes in a seeded
    /// permutation (Fisher-Yates from (seed, epoch)); without, step k takes k*B ..< (k+1)*B of
    /// the epoch in file order. Steps per epoch = N / B (a last partial batch is left out).
    public static func indices(step: Int, batch: Int, count: Int, shuffle: Bool, seed: UInt64) -> [Int] {
        let perEpoch = max(1, count / batch)
        let epoch = step / perEpoch, k = step % perEpoch
        let window = (k * batch)..<((k + 1) * batch)
        guard shuffle else { return Array(window) }
        return Array(permutation(count: count, seed: seed, epoch: epoch)[window])
    }

    static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var g = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: epoch) &+ 0x632B_E59B_D9B4_E019)
        var p = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = Int(uniform(&g, below: UInt64(i + 1)))
            p.swapAt(i, j)
            i -= 1
        }
        return p
    }

    /// An unbiased draw in 0..<n (rejection sampling; the same on every platform).
    static func uniform(_ g: inout SeededGenerator, below n: UInt64) -> UInt64 {
        let limit = UInt64.max - UInt64.max % n
        while true {
            let v = g.next()
            if v < limit { return v % n }
        }
    }
}
