import Foundation
import Runtime3D
import Training

/// The processes a training run is spread over, as `TrainingSession` sees them: one process
/// (`SingleProcess`), or the ranks of an MPI job (`TrainingRanks` in the GenesisDistributed
/// product). Rank 0 alone prints, logs and checkpoints.
public protocol TrainingRankContext {
    var rank: Int { get }
    var count: Int { get }
    var syncBN: Bool { get }
    /// The collectives the loop averages gradients and losses with (nil: one process).
    var collectives: (any Collectives)? { get }
    /// The threads each rank uses: `requested`, else its share of the host's cores.
    func threads(_ requested: Int?) -> Int
    /// Refuses a global batch that does not split over the ranks.
    func check(batch: Int) throws
    /// A trainer set up for the ranks (rank 0's weights and optimizer, the reducers).
    func prepare(_ trainer: Trainer) throws -> Trainer
    /// Rank 0 writes; every rank waits until it has.
    func checkpoint(_ write: () throws -> Void) throws
}

extension TrainingRankContext {
    public var isRoot: Bool { rank == 0 }
    public var distributed: Bool { count > 1 }
    public var shard: DataShard { DataShard(rank: rank, ranks: count) }
}

/// One process: no MPI call at all.
public struct SingleProcess: TrainingRankContext {
    public init() {}
    public var rank: Int { 0 }
    public var count: Int { 1 }
    public var syncBN: Bool { false }
    public var collectives: (any Collectives)? { nil }
    public func threads(_ requested: Int?) -> Int { requested ?? Parallel.defaultThreads }
    public func check(batch: Int) throws {}
    public func prepare(_ trainer: Trainer) throws -> Trainer { trainer }
    public func checkpoint(_ write: () throws -> Void) throws { try write() }
}

/// What a training run did, on the root rank: the losses, and its report as JSON and as the
/// lines a person reads.
public struct TrainingReport {
    public let losses: [Double]
    public let validationLosses: [Double]
    public let stoppedEarly: Bool
    public let seconds: Double
    public let json: [String: Any?]
    public let lines: [String]
}
