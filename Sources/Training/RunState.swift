import Foundation

/// Where a training run stands, kept with every checkpoint (annotation `genesis_run`) so that
/// `--resume` continues exactly: the step count, the data order's seed and position, the
/// schedule and early stopping. Every random draw of a run is derived from (seed, step, cube
/// index), so no generator state needs saving.
public struct RunState: Codable, Equatable, Sendable {
    /// `pretrain` or `finetune`.
    public var kind: String
    public var framework: Framework
    public var seed: UInt64
    public var batch: Int
    /// Steps the whole run takes (`--steps`, or `--epochs` x steps per epoch).
    public var totalSteps: Int
    public var stepsPerEpoch: Int
    public var shuffle: Bool
    /// `genesis` or `none`.
    public var transforms: String
    public var loss: Loss
    /// Steps done so far.
    public var step: Int = 0
    public var schedule: ScheduleState
    public var earlyStopping: EarlyStopping?
    /// Cubes in the training data and their D, H, W (checked on resume: the same data must be
    /// given again).
    public var dataCount: Int
    public var dataSpatial: [Int]
    /// Mean training loss of the epoch in progress: sum and count.
    public var epochLossSum = 0.0
    public var epochLossCount = 0
    public var stopped = false
    /// finetune: `segmentation` or `classification`, and the class count.
    public var task: String?
    public var classes: Int?
    /// The learning-rate schedule (`none`, `step`, `plateau`), finetune's validation split and
    /// whether the encoder is frozen: a resumed run keeps them.
    public var scheduleKind: String?
    public var validationSplit: Double?
    public var frozenEncoder: Bool?
    /// The ranks (processes) of the run's last stretch: informational, everything above counts
    /// in global terms (batch, steps), so a run may resume with another number of ranks.
    public var ranks: Int?

    public static let annotationKey = "genesis_run"

    public init(kind: String, framework: Framework, seed: UInt64, batch: Int, totalSteps: Int, stepsPerEpoch: Int, shuffle: Bool,
                transforms: String, loss: Loss, learningRate: Double, patience: Int?, dataCount: Int, dataSpatial: [Int]) {
        self.kind = kind
        self.framework = framework
        self.seed = seed
        self.batch = batch
        self.totalSteps = totalSteps
        self.stepsPerEpoch = stepsPerEpoch
        self.shuffle = shuffle
        self.transforms = transforms
        self.loss = loss
        schedule = ScheduleState(baseLearningRate: learningRate)
        earlyStopping = patience.map(EarlyStopping.init(patience:))
        self.dataCount = dataCount
        self.dataSpatial = dataSpatial
    }

    public var epoch: Int { step / max(1, stepsPerEpoch) }

    /// As the annotation's JSON text (sorted keys, every Double printed to round-trip).
    public func encoded() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try e.encode(self), as: UTF8.self)
    }

    public static func decode(_ text: String) throws -> RunState {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try d.decode(RunState.self, from: Data(text.utf8))
    }
}
