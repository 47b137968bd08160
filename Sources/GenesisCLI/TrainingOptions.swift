import ArgumentParser
import Foundation
import GenesisIO
import GenesisModel
import Runtime3D
import Tensors
import Training

/// The optimizer, schedule, step and checkpoint flags `pretrain` and `finetune` share.
struct TrainingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Steps the whole run takes (a resumed run counts the steps already done).") var steps: Int?
    @Option(parsing: .unconditional, help: "Epochs the whole run takes (an epoch: N / batch steps, a last partial batch left out). Default: 1.") var epochs: Int?
    @Option(parsing: .unconditional, help: "Cubes per step (default 6, the official batch).") var batch: Int = 6
    @Option(help: "sgd or adam (default: pretrain continues the optimizer the model records, else sgd; finetune starts a fresh sgd).") var optimizer: Optimizer.Kind?
    @Option(parsing: .unconditional, help: "Learning rate (default: pretrain keeps the recorded one; finetune, or a model recording none: 0.1 for SGD, 1e-3 for Adam; the official pretraining used 1.0).") var lr: Double?
    @Option(parsing: .unconditional, help: "SGD momentum (default: pretrain keeps the recorded one; else 0.9).") var momentum: Double?
    @Option(parsing: .unconditional, help: "Weight decay (default 0; PyTorch: added to the gradient; Keras: decoupled).") var weightDecay: Double?
    @Option(help: "Learning-rate schedule: none, step (x0.5 every 40 epochs, PyTorch StepLR) or plateau (x0.5 after 10 epochs without improvement, floor 1e-6, Keras ReduceLROnPlateau).")
    var schedule: ScheduleKind = .none
    @Option(parsing: .unconditional, help: "Stop after this many epochs without improvement of the validation loss (else the training loss).") var patience: Int?
    @Option(help: "Seed (default 0) of the data order, and of pretrain's transforms or finetune's validation split.") var seed: UInt64 = 0
    @Flag(help: "Take the cubes in file order: step k uses cubes k*B ..< (k+1)*B of the epoch.") var noShuffle = false
    @Option(parsing: .unconditional, help: "Write the checkpoint every K steps too (default 0: only at the end).") var checkpointEvery: Int = 0
    @Option(help: "JSON lines of every step and epoch (default: OUT.log.jsonl; appended on --resume).") var log: String?
    @Option(parsing: .unconditional, help: "Threads (default: all cores; under mpirun/srun the cores shared by the ranks on the host).") var threads: Int?
    @Flag(help: "Under mpirun/srun: BatchNorm statistics of the whole global batch (all-reduced), so N ranks compute what one process does; default: each rank's own (PyTorch DDP).")
    var syncBn = false
    @Option(parsing: .unconditional, help: "Under mpirun/srun: seconds a rank waits for the others in one collective before it aborts the job (a dead or stuck peer).")
    var mpiTimeout: Double = 300
    @Flag(help: "Replace an existing OUT that is not a model checkpoint (a --resume checkpoint may be OUT without it).") var force = false

    enum ScheduleKind: String, ExpressibleByArgument, CaseIterable { case none, step, plateau }

    func validate() throws {
        if steps != nil && epochs != nil { throw ValidationError("give --steps or --epochs, not both") }
        if let s = steps, s < 1 { throw ValidationError("--steps must be positive, not \(s)") }
        if let e = epochs, e < 1 { throw ValidationError("--epochs must be positive, not \(e)") }
        guard batch >= 1 else { throw ValidationError("--batch must be positive, not \(batch)") }
        guard batch <= 4096 else { throw ValidationError("--batch must be at most 4096, not \(batch)") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive, not \(lr)") }
        if let m = momentum, !(m >= 0 && m < 1) { throw ValidationError("--momentum must be in [0, 1), not \(m)") }
        if let w = weightDecay, !(w >= 0 && w.isFinite) { throw ValidationError("--weight-decay must be >= 0, not \(w)") }
        if let p = patience, p < 1 { throw ValidationError("--patience must be positive, not \(p)") }
        if checkpointEvery < 0 { throw ValidationError("--checkpoint-every must be >= 0 (0: only at the end), not \(checkpointEvery)") }
        if let t = threads, t < 1 || t > 256 { throw ValidationError("--threads must be positive, at most 256, not \(t)") }
        guard mpiTimeout >= 1 && mpiTimeout <= 86_400 else { throw ValidationError("--mpi-timeout must be 1...86400 seconds, not \(mpiTimeout)") }
        if let s = steps, s > 1_000_000_000 { throw ValidationError("--steps must be at most 10^9") }
        if let e = epochs, e > 1_000_000 { throw ValidationError("--epochs must be at most 10^6") }
    }

    /// OutputGuard for a run's checkpoint OUT and its log: neither is one of the inputs (a
    /// --resume checkpoint may be OUT: the run continues into it), OUT names a checkpoint
    /// format, and an existing OUT of another kind is replaced only with --force.
    func checkOutputs(out: String, inputs: [String?]) throws {
        try OutputGuard.check(out, writes: .checkpoint, inputs: inputs, force: force)
        let logPath = log ?? out + ".log.jsonl"
        try OutputGuard.checkFolder(logPath)
        try OutputGuard.checkNotInput(logPath, inputs: inputs.compactMap { $0 } + [out])
    }

    /// The settings a run used, for --json: each option's value, given or defaulted, so the
    /// defaults the help documents can be checked against what ran.
    func settingsJSON(optimizer o: Optimizer, run: RunState, threads: Int) -> [String: Any] {
        ["optimizer": o.kind.rawValue, "lr": o.learningRate, "momentum": o.momentum, "weight_decay": o.weightDecay,
         "batch": run.batch, "seed": Int(truncatingIfNeeded: run.seed), "shuffle": run.shuffle, "loss": run.loss.rawValue, "transforms": run.transforms,
         "schedule": run.scheduleKind ?? schedule.rawValue, "patience": patience as Any, "checkpoint_every": checkpointEvery,
         "threads": threads, "sync_bn": syncBn, "mpi_timeout": mpiTimeout, "log": log ?? NSNull()]
    }

    var scheduleValue: Schedule { Self.schedule(schedule) }

    static func schedule(_ kind: ScheduleKind) -> Schedule {
        switch kind {
        case .none: return .constant
        case .step: return .officialStep
        case .plateau: return .officialPlateau
        }
    }

    /// The optimizer a new run starts with: the model's own state continued (flags override
    /// its hyperparameters), or a fresh one of the framework's convention.
    func optimizer(recorded: OptimizerState?, framework: Framework, fresh: Bool) -> (optimizer: Optimizer, note: String) {
        let convention = framework.optimizerConvention
        if !fresh, let recorded, let state = recorded.converted(to: convention == .keras ? .keras : .torch)?.state,
           var o = Optimizer(state: state), optimizer == nil || optimizer == o.kind {
            if let lr { o.learningRate = lr }
            if let momentum { o.momentum = momentum }
            if let weightDecay { o.weightDecay = weightDecay }
            return (o, "continuing the model's \(o.kind.rawValue) state (\(convention.rawValue) convention, step \(o.step), lr \(o.learningRate))")
        }
        let kind = optimizer ?? .sgd
        let o = Optimizer(kind: kind, convention: convention, learningRate: lr ?? (kind == .sgd ? 0.1 : 1e-3),
                          momentum: kind == .sgd ? momentum ?? 0.9 : 0, weightDecay: weightDecay ?? 0)
        return (o, "a fresh \(kind.rawValue) optimizer (\(convention.rawValue) convention, lr \(o.learningRate))")
    }
}

extension Optimizer.Kind: ExpressibleByArgument {}
