import ArgumentParser
import Foundation
import GenesisKit

/// The optimizer, schedule, step and checkpoint flags `pretrain` and `finetune` share.
struct TrainingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Steps the whole run takes (a resumed run counts the steps already done).") var steps: Int?
    @Option(parsing: .unconditional, help: "Epochs the whole run takes (an epoch: N / batch steps, a last partial batch left out). Default: 1.") var epochs: Int?
    @Option(parsing: .unconditional, help: "Cubes per step (default 6, the official batch).") var batch: Int = 6
    @Option(help: "sgd or adam (default: pretrain continues the optimizer the model records, else sgd; finetune starts a fresh sgd).") var optimizer: Optimizer.Kind?
    @Option(parsing: .unconditional, help: "Learning rate (default: pretrain keeps the recorded one; finetune, or a model recording none: 0.1 for SGD, 1e-3 for Adam; the official pretraining used 1.0).") var lr: Double?
    @Option(parsing: .unconditional, help: "SGD momentum (default: pretrain keeps the recorded one; else 0.9).") var momentum: Double?
    @Option(parsing: .unconditional, help: "Weight decay (default 0; PyTorch: added to the gradient; Keras: decoupled).") var weightDecay: Double?
    @Option(help: "Learning-rate schedule: none, step (x0.5 every 40 epochs, PyTorch StepLR), plateau (x0.5 after 10 epochs without improvement, floor 1e-6, Keras ReduceLROnPlateau) or poly (nnU-Net: lr (1 - epoch / epochs)^0.9 over the run's epochs). Default: none; finetune of an nnU-Net network: poly.")
    var schedule: TrainingSettings.ScheduleKind?
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

    /// The library's settings these flags give.
    var settings: TrainingSettings {
        var s = TrainingSettings()
        s.steps = steps
        s.epochs = epochs
        s.batch = batch
        s.optimizer = optimizer
        s.learningRate = lr
        s.momentum = momentum
        s.weightDecay = weightDecay
        s.schedule = schedule
        s.patience = patience
        s.seed = seed
        s.shuffle = !noShuffle
        s.checkpointEvery = checkpointEvery
        s.log = log
        s.threads = threads
        s.syncBN = syncBn
        s.mpiTimeout = mpiTimeout
        s.force = force
        return s
    }
}

extension Optimizer.Kind: ExpressibleByArgument {}
extension TrainingSettings.ScheduleKind: ExpressibleByArgument {}

/// Prints a training run's report (the root rank's; other ranks get none): JSON with --json,
/// else its lines.
func report(_ r: TrainingReport?) {
    guard let r else { return }
    if CLIOutput.jsonRequested { CLIOutput.json(r.json) } else { r.lines.forEach { CLIOutput.line($0) } }
}
