import Foundation
import GenesisModel
import Tensors
import Training

/// The optimizer, schedule, step and checkpoint settings `pretrain` and `finetune` share: what
/// a program sets to run a `TrainingSession` (the CLI fills it from its flags). nil means the
/// documented default (e.g. a recorded optimizer's own learning rate).
public struct TrainingSettings: Sendable {
    public enum ScheduleKind: String, CaseIterable, Sendable { case none, step, plateau, poly }

    /// Steps the whole run takes (a resumed run counts the steps already done).
    public var steps: Int?
    /// Epochs the whole run takes; with neither, one epoch.
    public var epochs: Int?
    /// Cubes per step (the official batch: 6).
    public var batch = 6
    public var optimizer: Optimizer.Kind?
    public var learningRate: Double?
    public var momentum: Double?
    public var weightDecay: Double?
    /// nil: the default, `none`, or the network family's fine-tuning schedule (nnU-Net's poly).
    public var schedule: ScheduleKind?
    public var patience: Int?
    public var seed: UInt64 = 0
    public var shuffle = true
    /// Also write the checkpoint every K steps (0: only at the end).
    public var checkpointEvery = 0
    /// JSON lines of every step and epoch (nil: OUT.log.jsonl).
    public var log: String?
    public var threads: Int?
    /// Under MPI: BatchNorm statistics of the whole global batch.
    public var syncBN = false
    /// Under MPI: seconds a rank waits in one collective before it aborts the job.
    public var mpiTimeout: Double = 300
    /// Replace an existing OUT that is not a model checkpoint.
    public var force = false

    public init() {}

    /// The log's path for checkpoint `out`.
    public func logPath(out: String) -> String { log ?? out + ".log.jsonl" }

    /// OutputGuard for a run's checkpoint OUT and its log: neither is one of the inputs (a
    /// --resume checkpoint may be OUT: the run continues into it), OUT names a checkpoint
    /// format, and an existing OUT of another kind is replaced only with `force`.
    public func checkOutputs(out: String, inputs: [String?]) throws {
        try OutputGuard.check(out, writes: .checkpoint, inputs: inputs, force: force)
        let logPath = logPath(out: out)
        try OutputGuard.checkFolder(logPath)
        try OutputGuard.checkNotInput(logPath, inputs: inputs.compactMap { $0 } + [out])
    }

    /// The settings a run used, for --json: each value, given or defaulted.
    public func json(optimizer o: Optimizer, run: RunState, threads: Int) -> [String: Any] {
        ["optimizer": o.kind.rawValue, "lr": o.learningRate, "momentum": o.momentum, "weight_decay": o.weightDecay,
         "batch": run.batch, "seed": Int(truncatingIfNeeded: run.seed), "shuffle": run.shuffle, "loss": run.loss.rawValue, "transforms": run.transforms,
         "nesterov": o.nesterov, "schedule": run.scheduleKind ?? (schedule ?? .none).rawValue, "patience": patience as Any, "checkpoint_every": checkpointEvery,
         "threads": threads, "sync_bn": syncBN, "mpi_timeout": mpiTimeout, "log": log ?? NSNull()]
    }

    /// `epochs`: the run's length in epochs (poly decays to 0 at its end, as nnU-Net's poly
    /// over `max_num_epochs`).
    public static func schedule(_ kind: ScheduleKind, epochs: Int) -> Schedule {
        switch kind {
        case .none: return .constant
        case .step: return .officialStep
        case .plateau: return .officialPlateau
        case .poly: return .poly(exponent: 0.9, maxEpochs: max(1, epochs))
        }
    }

    /// The optimizer a new run starts with: the model's own state continued (settings override
    /// its hyperparameters), or a fresh one of the framework's convention.
    public func optimizer(recorded: OptimizerState?, framework: Framework, fresh: Bool) -> (optimizer: Optimizer, note: String) {
        let convention = framework.optimizerConvention
        if !fresh, let recorded, let state = recorded.converted(to: convention == .keras ? .keras : .torch)?.state,
           var o = Optimizer(state: state), optimizer == nil || optimizer == o.kind {
            if let learningRate { o.learningRate = learningRate }
            if let momentum { o.momentum = momentum }
            if let weightDecay { o.weightDecay = weightDecay }
            return (o, "continuing the model's \(o.kind.rawValue) state (\(convention.rawValue) convention, step \(o.step), lr \(o.learningRate))")
        }
        let kind = optimizer ?? .sgd
        let o = Optimizer(kind: kind, convention: convention, learningRate: learningRate ?? (kind == .sgd ? 0.1 : 1e-3),
                          momentum: kind == .sgd ? momentum ?? 0.9 : 0, weightDecay: weightDecay ?? 0)
        return (o, "a fresh \(kind.rawValue) optimizer (\(convention.rawValue) convention, lr \(o.learningRate))")
    }
}
