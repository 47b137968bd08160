/// Which cubes each rank of a data-parallel run holds and takes per step. The global batch B
/// is split over N ranks, b = B / N each; rank r fills slots r b ..< (r + 1) b of every global
/// batch. One rank (N = 1) is the single-process run exactly (`CubeSet.indices`).
///
/// - In file order (`--no-shuffle`) step k takes cubes kB ..< (k + 1)B of the epoch, as one
///   process does: rank r its slice kB + r b ..< kB + (r + 1) b. Its shard is those cubes for
///   every k (the same each epoch), so N ranks see the batches one process sees.
/// - Shuffled, rank r holds cubes r, r + N, r + 2N, ... and visits them in a seeded
///   permutation per (seed, epoch, rank): reproducible for a given N, a different order than
///   another N gives. Steps per epoch stay count / B.
///
/// Transforms are seeded by (seed, global slot k B + r b + j), so with file order the pairs
/// equal one process's whatever N is.
public struct DataShard: Sendable, Equatable {
    public let rank: Int
    public let ranks: Int

    public static let single = DataShard(rank: 0, ranks: 1)

    public init(rank: Int, ranks: Int) {
        precondition(ranks >= 1 && rank >= 0 && rank < ranks, "data shard: rank \(rank) of \(ranks)")
        self.rank = rank
        self.ranks = ranks
    }

    /// Cubes per rank per step (B must be divisible by N: checked by the caller).
    public func localBatch(_ batch: Int) -> Int { batch / ranks }

    /// The cube indices (global, in file order of all --data files) this rank holds, sorted.
    public func cubes(count: Int, batch: Int, shuffle: Bool) -> [Int] {
        guard ranks > 1 else { return Array(0..<count) }
        if shuffle { return Array(stride(from: rank, to: count, by: ranks)) }
        let b = localBatch(batch), perEpoch = max(1, count / batch)
        var out: [Int] = []
        for k in 0..<perEpoch {
            let start: Int = k * batch + rank * b
            for i in start..<(start + b) where i < count { out.append(i) }
        }
        return out
    }

    /// This rank's cubes (global indices) for `step`.
    public func indices(step: Int, batch: Int, count: Int, shuffle: Bool, seed: UInt64) -> [Int] {
        guard ranks > 1 else { return CubeSet.indices(step: step, batch: batch, count: count, shuffle: shuffle, seed: seed) }
        let b = localBatch(batch), perEpoch = max(1, count / batch)
        let epoch = step / perEpoch, k = step % perEpoch
        guard shuffle else { return Array((k * batch + rank * b)..<(k * batch + (rank + 1) * b)) }
        let mine = cubes(count: count, batch: batch, shuffle: true)
        let rankSeed = seed ^ (UInt64(rank + 1) &* 0xD1B5_4A32_D192_ED03)
        let order = CubeSet.permutation(count: mine.count, seed: rankSeed, epoch: epoch)
        return order[(k * b)..<((k + 1) * b)].map { mine[$0] }
    }

    /// The global slot of this rank's first cube at `step` (seeds its transforms).
    public func firstSlot(step: Int, batch: Int) -> Int { step * batch + rank * localBatch(batch) }
}
