import Distributed
import Foundation
import GenesisKit
import Runtime3D
import Tensors
import Training

/// The ranks of a `pretrain` or `finetune` run: one process, or N started by `mpirun` / `srun`
/// (MPI is initialised only then). Rank 0 alone prints, logs and checkpoints; every rank
/// trains on its shard with the gradients averaged, and a rank that fails ends the job.
public struct TrainingRanks: TrainingRankContext {
    /// nil: one process (no MPI call at all).
    public let world: MPIWorld?
    public let syncBN: Bool

    public var rank: Int { world?.rank ?? 0 }
    public var count: Int { world?.ranks ?? 1 }
    public var collectives: (any Collectives)? { distributed ? world : nil }

    /// Starts MPI when launched by an MPI launcher; else one process.
    public static func start(_ options: TrainingSettings) throws -> TrainingRanks {
        guard MPIWorld.launched() else { return TrainingRanks(world: nil, syncBN: options.syncBN) }
        return TrainingRanks(world: try MPIWorld(timeout: options.mpiTimeout), syncBN: options.syncBN)
    }

    /// Runs `body` on every rank; a rank that throws prints its error and ends the whole job
    /// (exit 2): the other ranks must not wait for it. The run ends with MPI_Finalize.
    public static func run(_ options: TrainingSettings, json: Bool, _ body: (TrainingRanks) throws -> Void) throws {
        let ranks = try start(options)
        guard let world = ranks.world else { return try body(ranks) }
        do {
            try body(ranks)
        } catch {
            let message = TextFormat.terminalSafe("\(error)".replacingOccurrences(of: "\n", with: " "))
            // An error every rank meets (a bad flag, an unreadable file) is told once, by rank
            // 0: another rank waits a moment first, and is ended by rank 0's abort.
            if !ranks.isRoot { Thread.sleep(forTimeInterval: 2) }
            let prefix = ranks.isRoot ? "" : "rank \(ranks.rank): "
            FileHandle.standardError.write(Data("genesis: error: \(prefix)\(message)\n".utf8))
            if json, ranks.isRoot, let data = try? JSONSerialization.data(withJSONObject: ["error": message, "exit_code": 2, "rank": ranks.rank] as [String: Any], options: [.prettyPrinted, .sortedKeys]) {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
            fflush(stdout)
            world.abort(code: 2)
        }
        try world.barrier()
        world.finalize()
    }

    /// Threads per rank: --threads, else the cores shared by the ranks on this host.
    public func threads(_ requested: Int?) -> Int {
        if let t = requested { return t }
        let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init)
            ?? ProcessInfo.processInfo.environment["SLURM_NTASKS_PER_NODE"].flatMap(Int.init) ?? (distributed ? count : 1)
        return max(1, Parallel.defaultThreads / max(1, local))
    }

    /// The global batch must split evenly over the ranks.
    public func check(batch: Int) throws {
        guard batch % count == 0 else {
            throw WorkflowError(subject: "--batch", message: "the global batch \(batch) does not split over \(count) ranks: give a --batch divisible by \(count) (each rank takes batch / ranks cubes)")
        }
    }

    /// Rank 0's weights and optimizer state on every rank (a checkpoint read on one host and
    /// not another, or a file changed between reads, cannot make the ranks train apart).
    public func synchronise(weights: TensorStore, optimizer: Optimizer) throws -> (TensorStore, Optimizer) {
        guard let c = collectives else { return (weights, optimizer) }
        let w = try c.broadcast(weights, names: weights.names)
        var slots = TensorStore()
        for p in optimizer.slots.keys.sorted() {
            for s in optimizer.slots[p]!.keys.sorted() {
                let v = optimizer.slots[p]![s]!
                slots[p + "\u{1}" + s] = Tensor(shape: [v.count], floats: v)
            }
        }
        var scalars = [optimizer.learningRate, Double(optimizer.step), Double(slots.count)]
        try c.broadcast(&scalars)
        guard Int(scalars[2]) == slots.count else {
            throw TrainingError.ranksDisagree(rank: rank, what: "the optimizer holds \(slots.count) slots here, \(Int(scalars[2])) on rank 0")
        }
        let received = try c.broadcast(slots, names: slots.names)
        var o = optimizer
        o.learningRate = scalars[0]
        o.step = Int64(scalars[1])
        for (key, t) in received.entries {
            let parts = key.split(separator: "\u{1}", maxSplits: 1).map(String.init)
            o.slots[parts[0], default: [:]][parts[1]] = t.floats()
        }
        return (w, o)
    }

    /// The gradient reducer over `names` in the order the backward pass delivers them.
    public func reducer(names: [String], counts: [Int]) -> GradientReducer? {
        collectives.map { GradientReducer(collectives: $0, names: names, counts: counts) }
    }

    public var bnReducer: (any BatchNormReducer)? { distributed && syncBN ? world : nil }

    /// A trainer set up for the ranks: the weights and optimizer of rank 0, the gradient
    /// reducer (buckets in the backward pass's order: the output's tensors first) and under
    /// --sync-bn the BatchNorm reducer.
    public func prepare(_ trainer: Trainer) throws -> Trainer {
        guard distributed else { return trainer }
        var t = trainer
        (t.weights, t.optimizer) = try synchronise(weights: t.weights, optimizer: t.optimizer)
        let trainable = t.graph.parameters.filter(\.trainable).reversed()
        t.reducer = reducer(names: trainable.map(\.name), counts: trainable.map(\.elementCount))
        t.bnReducer = bnReducer
        return t
    }

    /// Rank 0 writes; every rank waits at the barrier after (no rank runs ahead of a checkpoint).
    public func checkpoint(_ write: () throws -> Void) throws {
        if isRoot { try write() }
        try world.map { w in if distributed { try w.barrier() } }
    }
}
