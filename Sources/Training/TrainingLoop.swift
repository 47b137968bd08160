import Foundation
import GenesisModel
import Pretext
import Runtime3D
import Tensors

/// What a run trains on: cubes, optional targets (else the target is the input, after the
/// transforms: the flipped original, as the official `generate_pair` gives), and the
/// transforms (nil: none).
public struct TrainingData: Sendable {
    public let inputs: CubeSet
    public let targets: CubeSet?
    public let transforms: GenesisTransforms?
    /// Applied to the input after the transforms, not to the target (a network family's
    /// recipe: nnU-Net Genesis normalises [0, 1] cubes as `nnunet-cubes`).
    public var inputNormalisation: InputNormalisation?

    public init(inputs: CubeSet, targets: CubeSet? = nil, transforms: GenesisTransforms? = nil) throws {
        if let t = targets, t.count != inputs.count {
            throw RuntimeError.badInput(reason: "targets hold \(t.count) cubes, the data \(inputs.count)")
        }
        self.inputs = inputs
        self.targets = targets
        self.transforms = transforms
    }

    /// Input and target of the cubes at `indices`; transforms seeded by (seed, cube slot).
    public func batch(_ indices: [Int], seed: UInt64, firstIndex: Int, threads: Int) throws -> (input: FeatureMap, target: FeatureMap) {
        let x = try inputs.batch(indices)
        var pair: (input: FeatureMap, target: FeatureMap)
        if let transforms {
            let p = try transforms.pairs(batch: x.tensor, seed: seed, firstIndex: firstIndex, threads: threads)
            pair = (try FeatureMap(p.input), try FeatureMap(p.target))
        } else {
            pair = (x, try targets?.batch(indices) ?? x)
        }
        inputNormalisation?.apply(&pair.input.data)
        return pair
    }

    /// Validation pairs from cubes: the transforms (if any) drawn from a seed of their own.
    public static func validationPairs(_ cubes: CubeSet, targets: CubeSet?, transforms: GenesisTransforms?, seed: UInt64,
                                       threads: Int, inputNormalisation: InputNormalisation? = nil) throws -> (input: FeatureMap, target: FeatureMap) {
        var d = try TrainingData(inputs: cubes, targets: targets, transforms: transforms)
        d.inputNormalisation = inputNormalisation
        return try d.batch(Array(0..<cubes.count), seed: seed ^ 0x7661_6C69_6461_7465, firstIndex: 0, threads: threads)
    }
}

/// One step as it happened.
public struct StepEvent: Sendable {
    /// 1-based: the number of steps done after this one.
    public let step: Int
    /// 1-based: the epoch this step belongs to.
    public let epoch: Int
    public let loss: Double
    public let learningRate: Double
    public let seconds: Double
}

/// The end of an epoch.
public struct EpochEvent: Sendable {
    /// 1-based.
    public let epoch: Int
    public let step: Int
    public let trainLoss: Double
    public let validation: Double?
    /// Task metrics on the validation data (Dice; accuracy and AUC), when the loop has a metric.
    public let metrics: [String: Double]
    /// The learning rate for the next epoch.
    public let learningRate: Double
    public let stop: Bool
}

/// The training loop of `genesis pretrain` and `finetune`: steps over seeded batches, epoch
/// ends (validation, schedule, early stopping), checkpoints every `checkpointEvery` steps and
/// at the end. Resuming from a checkpoint's `Trainer` and `RunState` continues exactly.
/// What the loop trains: the Genesis network (`Trainer`) or a classifier on its encoder.
public protocol TrainingModel {
    var framework: Framework { get }
    var threads: Int { get }
    var learningRate: Double { get set }
    mutating func step(input: FeatureMap, target: FeatureMap) throws -> StepResult
    /// The output for `x` with BatchNorm in `bn` mode (validation).
    func predict(_ x: FeatureMap, bn: BatchNormMode) throws -> FeatureMap
    /// The target the loss compares `output` with (the recipe may repeat a one-channel target).
    func lossTarget(_ target: FeatureMap, output: FeatureMap) throws -> FeatureMap
}

extension TrainingModel {
    public func lossTarget(_ target: FeatureMap, output: FeatureMap) throws -> FeatureMap { target }
}

extension Trainer: TrainingModel {
    public var learningRate: Double {
        get { optimizer.learningRate }
        set { optimizer.learningRate = newValue }
    }

    public func predict(_ x: FeatureMap, bn: BatchNormMode) throws -> FeatureMap {
        try network().forwardOutputs(x, bn: bn, threads: threads)[0]
    }
}

public struct TrainingLoop<Model: TrainingModel> {
    public var trainer: Model
    public var run: RunState
    public let data: TrainingData
    /// Validation pairs, made once (transforms seeded apart from the training draws).
    public let validation: (input: FeatureMap, target: FeatureMap)?
    public let schedule: Schedule
    /// Metrics of validation predictions against targets (e.g. Dice), reported per epoch.
    public var metric: ((_ prediction: FeatureMap, _ target: FeatureMap) -> [String: Double])?
    /// Data parallel: this rank's part of every batch, and the collectives the ranks agree
    /// through (validation runs on rank 0, which hands the monitored loss to every rank so
    /// that all take the same schedule and early-stopping decisions).
    public var shard: DataShard = .single
    public var collectives: (any Collectives)?

    public init(trainer: Model, run: RunState, data: TrainingData, validation: (input: FeatureMap, target: FeatureMap)?, schedule: Schedule) {
        self.trainer = trainer
        self.run = run
        self.data = data
        self.validation = validation
        self.schedule = schedule
    }

    /// The loss on the validation pairs with the framework's own evaluation BatchNorm (Keras:
    /// moving statistics, as `fit` validates; PyTorch's official model: batch statistics), in
    /// slices of the batch size.
    public func validationLoss() throws -> (loss: Double, metrics: [String: Double])? {
        guard let v = validation else { return nil }
        let mode: BatchNormMode = run.framework == .keras ? .inference : .batch
        let n = v.input.batch, per = v.input.sampleCount, perOut = v.target.sampleCount
        var total = 0.0
        var first = 0
        var predictions: [Float] = []
        var outShape: [Int] = []
        while first < n {
            let m = min(run.batch, n - first)
            let x = try FeatureMap(shape: [m] + Array(v.input.shape[1...]), data: Array(v.input.data[(first * per)..<((first + m) * per)]))
            let y = try trainer.predict(x, bn: mode)
            let slice = try FeatureMap(shape: [m] + Array(v.target.shape[1...]), data: Array(v.target.data[(first * perOut)..<((first + m) * perOut)]))
            let t = try trainer.lossTarget(slice, output: y).data
            total += run.loss.evaluate(y.data, t, channels: y.channels, batch: m).loss * Double(m)
            if metric != nil { predictions += y.data; outShape = Array(y.shape[1...]) }
            first += m
        }
        var metrics: [String: Double] = [:]
        if let metric { metrics = metric(try FeatureMap(shape: [n] + outShape, data: predictions), v.target) }
        return (total / Double(n), metrics)
    }

    /// Runs until the run's total steps (or early stopping). `checkpoint` is called every
    /// `checkpointEvery` steps (0: never) and once at the end.
    public mutating func run(checkpointEvery: Int, onStep: (StepEvent) -> Void, onEpoch: (EpochEvent) -> Void,
                             checkpoint: (Model, RunState) throws -> Void) throws {
        while run.step < run.totalSteps, !run.stopped {
            let start = Date()
            let indices = shard.indices(step: run.step, batch: run.batch, count: data.inputs.totalCount, shuffle: run.shuffle, seed: run.seed)
            let b = try data.batch(indices, seed: run.seed, firstIndex: shard.firstSlot(step: run.step, batch: run.batch), threads: trainer.threads)
            let r = try trainer.step(input: b.input, target: b.target)
            guard r.loss.isFinite else {
                throw TrainingError.nonFiniteLoss(step: run.step + 1, loss: r.loss, learningRate: trainer.learningRate)
            }
            run.step += 1
            run.epochLossSum += r.loss
            run.epochLossCount += 1
            onStep(StepEvent(step: run.step, epoch: (run.step - 1) / run.stepsPerEpoch + 1, loss: r.loss, learningRate: trainer.learningRate,
                             seconds: Date().timeIntervalSince(start)))
            if run.step % run.stepsPerEpoch == 0 { try endEpoch(onEpoch) }
            if checkpointEvery > 0, run.step % checkpointEvery == 0, run.step < run.totalSteps, !run.stopped {
                try checkpoint(trainer, run)
            }
        }
        try checkpoint(trainer, run)
    }

    private mutating func endEpoch(_ onEpoch: (EpochEvent) -> Void) throws {
        let train = run.epochLossSum / Double(max(1, run.epochLossCount))
        let v = shard.rank == 0 ? try validationLoss() : nil
        var monitored = [v?.loss ?? train]
        if let c = collectives, c.ranks > 1 { try c.broadcast(&monitored) }
        let monitoredLoss = monitored[0]
        let lr = run.schedule.endEpoch(loss: monitoredLoss, schedule: schedule)
        trainer.learningRate = lr
        if var e = run.earlyStopping {
            run.stopped = e.shouldStop(after: monitoredLoss)
            run.earlyStopping = e
        }
        run.epochLossSum = 0
        run.epochLossCount = 0
        onEpoch(EpochEvent(epoch: run.epoch, step: run.step, trainLoss: train, validation: v?.loss, metrics: v?.metrics ?? [:],
                           learningRate: lr, stop: run.stopped))
    }
}
