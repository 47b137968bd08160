import Foundation
import GenesisIO
import GenesisModel
import Runtime3D
import Tensors
import Training
import VolumeIO

/// What `pretrain` and `finetune` share: starting a run from a model or resuming one from a
/// checkpoint, the data, and the loop with its progress bar, JSON-lines log, checkpoints and
/// final report (`TrainingReport`, returned on the root rank). Notes go to `say` (stderr by
/// default) unless `json` is set.
public struct TrainingSession {
    public let kind: String
    public let out: String
    public let options: TrainingSettings
    public let json: Bool
    /// The U-Net trainer `prepare` builds (finetune's classification builds its own model).
    public var trainer: Trainer?
    /// Set when resuming.
    public let resumed: RunState?
    public let transforms: String
    public let loss: Loss
    public var notes: [String]
    /// PyTorch checkpoints keep the source's `module.` prefix (the official file has it).
    public var modulePrefix = false
    /// The Keras layer names of the file the run started from, kept by Keras checkpoints.
    public var kerasLayerNames: [String: String] = [:]
    /// One process, or the ranks of an MPI run.
    public var ranks: any TrainingRankContext = SingleProcess()
    /// Where notes and warnings go (not used with `json`).
    public var say: (String) -> Void = { FileHandle.standardError.write(Data("genesis: \(TextFormat.terminalSafe($0))\n".utf8)) }

    /// The global batch and order of the run (a resumed run keeps its own).
    public init(kind: String, out: String, options: TrainingSettings, json: Bool, trainer: Trainer?, resumed: RunState?,
                transforms: String, loss: Loss, notes: [String]) {
        self.kind = kind
        self.out = out
        self.options = options
        self.json = json
        self.trainer = trainer
        self.resumed = resumed
        self.transforms = transforms
        self.loss = loss
        self.notes = notes
    }

    public var batch: Int { resumed?.batch ?? options.batch }
    public var shuffle: Bool { resumed?.shuffle ?? options.shuffle }

    public var inputSpatial: [Int]? { resumed?.dataSpatial }

    public static func prepare(kind: String, initial: String?, resume: String?, out: String, options: TrainingSettings,
                        transforms: String, loss: Loss, json: Bool, ranks: any TrainingRankContext) throws -> TrainingSession {
        var s = try prepare(kind: kind, initial: initial, resume: resume, out: out, options: options, transforms: transforms, loss: loss,
                            json: json, threads: ranks.threads(options.threads))
        s.ranks = ranks
        try ranks.check(batch: s.batch)
        s.trainer = try s.trainer.map { try ranks.prepare($0) }
        return s
    }

    private static func prepare(kind: String, initial: String?, resume: String?, out: String, options: TrainingSettings,
                                transforms: String, loss: Loss, json: Bool, threads: Int) throws -> TrainingSession {
        if let resume {
            let r = try TrainingCheckpoint.resume(resume)
            let net = try r.loaded.networkArchitecture()
            guard r.run.kind == kind else {
                throw WorkflowError(subject: resume, message: "it records a \(r.run.kind) run; continue it with genesis \(r.run.kind)")
            }
            _ = try TrainingCheckpoint.format(for: out, network: net)
            var optimizer = r.optimizer
            optimizer.learningRate = r.run.schedule.learningRate
            let trainer: Trainer
            if let arch = net as? Architecture {
                trainer = Trainer(architecture: arch, framework: r.run.framework, bnEpsilon: r.loaded.effectiveBNEpsilon, loss: r.run.loss,
                                  weights: r.loaded.mapped.store, optimizer: optimizer, threads: threads)
            } else {
                trainer = Trainer(network: net, pretraining: kind == "pretrain", loss: r.run.loss, weights: r.loaded.mapped.store,
                                  optimizer: optimizer, threads: threads)
            }
            var s = TrainingSession(kind: kind, out: out, options: options, json: json, trainer: trainer, resumed: r.run,
                                    transforms: r.run.transforms, loss: r.run.loss,
                                    notes: ["resuming \(resume) at step \(r.run.step) of \(r.run.totalSteps)"])
            s.modulePrefix = r.loaded.mapped.hadModulePrefix
            s.kerasLayerNames = r.loaded.kerasLayerNames
            return s
        }
        let path = initial!
        let loaded = try ModelLoader.load(path)
        let net = try loaded.networkArchitecture()
        if let s = loaded.sibling, !s.layout.trunkHasOutput {
            throw WorkflowError(subject: path, message: "the \(s.networkTitle) trunk has no output layer (out_tr), which the restoration pretext trains through; fine-tune it instead (`genesis finetune --init \(path) ...` adds a new output layer)")
        }
        let problems = loaded.problems(net).filter { $0.kind != .unexpected }
        guard problems.isEmpty else { throw Converter.Failure.invalidSource(file: path, problems: problems) }
        let framework = net.conventions
        _ = try TrainingCheckpoint.format(for: out, network: net)
        let o = options.optimizer(recorded: loaded.optimizer, framework: framework, fresh: kind == "finetune")
        let trainer: Trainer
        let trainedAs: String
        if let arch = net as? Architecture {
            trainer = Trainer(architecture: arch, framework: framework, bnEpsilon: loaded.effectiveBNEpsilon, loss: loss,
                              weights: loaded.mapped.store, optimizer: o.optimizer, threads: threads)
            trainedAs = Self.trainedAs(arch, framework, trainer.bnEpsilon)
        } else {
            // Another family's network: trained as its recipe says (pretraining here; finetune
            // builds its model in FinetuneSetup).
            trainer = Trainer(network: net, pretraining: true, loss: Loss(rawValue: net.recipe.pretrainLoss) ?? loss,
                              weights: loaded.mapped.store, optimizer: o.optimizer, threads: threads)
            trainedAs = "\(net), trained as \(framework.rawValue): \(net.recipe.summary)"
                + (net.trainingInputNormalisation.map { "; inputs normalised as \($0.name): \($0.summary)" } ?? "")
        }
        var s = TrainingSession(kind: kind, out: out, options: options, json: json, trainer: trainer, resumed: nil,
                                transforms: transforms, loss: trainer.loss,
                                notes: [trainedAs, o.note] + (loaded.sibling.map { ["the \($0.networkTitle) head (\($0.layout.id), \($0.tensors.count) tensors) is neither trained nor written: the checkpoint holds the Genesis trunk"] } ?? []))
        s.modulePrefix = loaded.mapped.hadModulePrefix
        s.kerasLayerNames = loaded.kerasLayerNames
        return s
    }

    public static func trainedAs(_ arch: Architecture, _ framework: Framework, _ eps: Float) -> String {
        "\(arch), trained as \(framework.rawValue) (BN momentum \(framework == .keras ? "0.99" : "0.1"), epsilon \(eps))"
    }

    /// Cubes from one or more .npy files (commas), as float32 (N, 1, D, H, W).
    public static func cubes(_ list: String, expect spatial: [Int]?) throws -> CubeSet {
        let files = try CubeFiles(list)
        guard let t = try files.read(rows: Array(0..<files.total), expect: spatial) else { throw WorkflowError(subject: list, message: "no cubes") }
        return try CubeSet(t)
    }

    /// This rank's shard of the cubes in `list` (one or more .npy files, commas), only its
    /// rows read (`DataShard.cubes`); one process reads them all.
    public func shardCubes(_ list: String, expect spatial: [Int]?) throws -> CubeSet {
        guard ranks.distributed else { return try Self.cubes(list, expect: spatial) }
        let files = try CubeFiles(list)
        let mine = ranks.shard.cubes(count: files.total, batch: batch, shuffle: shuffle)
        guard let t = try files.read(rows: mine, expect: spatial) else {
            throw WorkflowError(subject: list, message: "\(files.total) cubes leave rank \(ranks.rank) of \(ranks.count) none at batch \(batch): give more cubes or fewer ranks")
        }
        return try CubeSet(t, globalIndices: mine, totalCount: files.total)
    }

    public func checkData(count: Int) throws {
        if let r = resumed, r.dataCount != count {
            throw WorkflowError(subject: "--data", message: "\(count) cubes, the run was trained on \(r.dataCount): give the same data to --resume")
        }
        guard count >= options.batch || resumed != nil else {
            throw WorkflowError(subject: "--data", message: "\(count) cubes are fewer than one batch of \(options.batch) (--batch)")
        }
    }

    /// The run's state: resumed (with --steps/--epochs counting the whole run), or new.
    public func runState(data: CubeSet, framework: Framework, learningRate: Double) throws -> RunState {
        if var r = resumed {
            if let s = options.steps { r.totalSteps = s }
            if let e = options.epochs { r.totalSteps = e * r.stepsPerEpoch }
            guard r.totalSteps >= r.step else {
                throw WorkflowError(subject: "--steps", message: "the run has done \(r.step) steps already; --steps and --epochs count the whole run, so give at least \(r.step)")
            }
            return r
        }
        let dataCount = data.totalCount
        let perEpoch = dataCount / options.batch
        let total = options.steps ?? (options.epochs ?? 1) * perEpoch
        var run = RunState(kind: kind, framework: framework, seed: options.seed, batch: options.batch, totalSteps: total,
                           stepsPerEpoch: perEpoch, shuffle: options.shuffle, transforms: transforms, loss: loss,
                           learningRate: learningRate, patience: options.patience, dataCount: dataCount,
                           dataSpatial: data.spatial)
        run.scheduleKind = (options.schedule ?? .none).rawValue
        return run
    }

    /// Runs the loop and reports.
    public func train<Model: TrainingModel>(_ model: Model, data: TrainingData, validation: (input: FeatureMap, target: FeatureMap)?, run: RunState,
                                     metric: ((FeatureMap, FeatureMap) -> [String: Double])? = nil,
                                     checkpoint: (Model, RunState) throws -> Void, extraJSON: [String: Any] = [:]) throws -> TrainingReport? {
        var run = run
        run.ranks = ranks.distributed ? ranks.count : nil
        let scheduleKind = run.scheduleKind.flatMap(TrainingSettings.ScheduleKind.init(rawValue:)) ?? options.schedule ?? .none
        let schedule = TrainingSettings.schedule(scheduleKind, epochs: run.totalSteps / max(1, run.stepsPerEpoch))
        var loop = TrainingLoop(trainer: model, run: run, data: data, validation: validation, schedule: schedule)
        loop.metric = metric
        loop.shard = ranks.shard
        loop.collectives = ranks.collectives
        let root = ranks.isRoot
        let quiet = self.json || !root
        let firstStep = run.step
        let todo = max(0, run.totalSteps - run.step)
        if !quiet {
            for n in notes { say(n) }
            if ranks.distributed {
                say("\(ranks.count) ranks, \(run.batch / ranks.count) cubes each of the global batch \(run.batch), BatchNorm \(ranks.syncBN ? "synchronised (--sync-bn)" : "per rank")")
            }
            if resumed != nil {
                say("the run keeps its own batch (\(run.batch)), seed (\(run.seed)), order (\(run.shuffle ? "shuffled" : "file order")), transforms (\(run.transforms)), loss (\(run.loss.rawValue)) and schedule (\(scheduleKind.rawValue)); flags for these are not used on --resume")
            }
        }
        if root { try TrainingSession.checkWritable(out) }
        let log = root ? try JSONLinesLog(path: options.logPath(out: out), append: resumed != nil, keepThrough: run.step) : nil
        let progress = ProgressMeter(label: kind, totalWork: Double(max(1, todo)), totalItems: todo,
                                units: .init(item: "steps", rateLabel: "steps/s", rateScale: 1), enabled: !quiet)
        var losses: [Double] = []
        var epochs: [[String: Any]] = []
        let start = Date()
        try loop.run(checkpointEvery: options.checkpointEvery, onStep: { e in
            losses.append(e.loss)
            log?.write(["step": e.step, "epoch": e.epoch, "loss": e.loss, "lr": e.learningRate, "seconds": e.seconds])
            progress.detail = String(format: "loss %.5g", e.loss)
            progress.advance(work: 1)
            progress.finished(items: e.step - firstStep)
        }, onEpoch: { e in
            var line: [String: Any] = ["epoch": e.epoch, "step": e.step, "train_loss": e.trainLoss, "lr": e.learningRate]
            if let v = e.validation { line["validation"] = v }
            for (k, v) in e.metrics { line["validation_" + k] = v }
            if e.stop { line["early_stop"] = true }
            epochs.append(line)
            log?.write(line)
        }, checkpoint: { m, r in try ranks.checkpoint { try checkpoint(m, r) } })
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        let validationLosses = epochs.compactMap { $0["validation"] as? Double }
        guard root else { return nil }
        var extraJSON = extraJSON
        extraJSON["ranks"] = ranks.count
        extraJSON["sync_bn"] = ranks.distributed && ranks.syncBN
        let json: [String: Any?] = extraJSON.merging(["out": out, "kind": kind, "framework": loop.run.framework.rawValue, "losses": losses,
                        "validation": validationLosses, "epochs": epochs, "steps": losses.count, "first_step": firstStep,
                        "total_steps": loop.run.step, "stopped_early": loop.run.stopped, "seconds": seconds,
                        "seconds_per_step": losses.isEmpty ? nil : seconds / Double(losses.count),
                        "learning_rate": loop.trainer.learningRate, "log": options.logPath(out: out),
                        "notes": notes] as [String: Any?]) { $1 }
        // Every figure named: the loss function, and each validation metric by its log name.
        let last = losses.last.map { String(format: "%.6g", $0) } ?? "-", lossName = loop.run.loss.rawValue
        let metrics = (epochs.last ?? [:]).filter { $0.key.hasPrefix("validation_") }.sorted { $0.key < $1.key }
            .compactMap { m in (m.value as? Double).map { String(format: ", %@ %.6g", m.key.replacingOccurrences(of: "_", with: " "), $0) } }
        let lines = ["\(losses.count) steps (\(firstStep + 1)...\(loop.run.step) of \(loop.run.totalSteps)) in \(String(format: "%.1f", seconds)) s, last training loss (\(lossName)) \(last)"
                       + (validationLosses.last.map { String(format: ", validation loss (%@) %.6g", lossName, $0) } ?? "") + metrics.joined()
                       + (loop.run.stopped ? "; stopped early" : ""),
                     "wrote \(out); log \(options.logPath(out: out))"]
        return TrainingReport(losses: losses, validationLosses: validationLosses, stoppedEarly: loop.run.stopped, seconds: seconds,
                              json: json, lines: lines)
    }
}

extension TrainingSession {
    /// Refuses, before any step runs, an output the checkpoint could not be written to: a
    /// special file, or a directory that does not exist.
    public static func checkWritable(_ out: String) throws {
        let target = try FileIO.resolvedOutput(out)
        let dir = target.lastIndex(of: "/").map { String(target[...$0]) } ?? "./"
        guard access(dir, W_OK) == 0 else { throw WorkflowError(subject: out, message: "cannot write into \(dir): \(String(cString: strerror(errno)))") }
    }
}

/// Appends JSON objects, one per line, flushed as they come (a log, not an atomic output). On
/// resume, lines of steps after the checkpoint (a run cut after its last checkpoint) are
/// dropped first, so every step appears once. A symlink is written through.
public final class JSONLinesLog {
    private let handle: FileHandle

    public init(path: String, append: Bool, keepThrough step: Int) throws {
        let target = try FileIO.resolvedOutput(path)
        var kept = Data()
        if append, let old = FileManager.default.contents(atPath: target) {
            for line in old.split(separator: UInt8(ascii: "\n")) {
                let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
                if let s = object?["step"] as? Int, s > step { continue }
                kept += line + Data("\n".utf8)
            }
        }
        guard FileManager.default.createFile(atPath: target, contents: kept), let h = FileHandle(forWritingAtPath: target) else {
            throw WorkflowError(subject: path, message: "cannot write the log")
        }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    public func write(_ object: [String: Any]) {
        let clean = TextFormat.jsonSafe(object)
        guard let data = try? JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys]) else { return }
        handle.write(data + Data("\n".utf8))
    }
}
