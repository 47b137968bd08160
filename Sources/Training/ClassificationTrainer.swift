import GenesisModel
import Runtime3D
import Tensors

/// Training of the encoder classifier (`EncoderClassifier`) as `Trainer` trains the U-Net: a
/// forward with batch statistics, the loss, backward, the optimizer on the encoder's and the
/// head's tensors, and the encoder BatchNorms' moving statistics by the framework's rule. The
/// decoder's tensors ride along unchanged (the checkpoint stays a whole Genesis network).
public struct ClassificationTrainer: CheckpointableModel {
    public let architecture: Architecture
    public let framework: Framework
    public let bnEpsilon: Float
    public var loss: Loss
    public var weights: TensorStore
    public var optimizer: Optimizer
    public var threads: Int
    public var frozen: Set<String> = []
    public let classes: Int
    /// Data parallel, as `Trainer.reducer` and `Trainer.bnReducer`.
    public var reducer: GradientReducer?
    public var bnReducer: (any BatchNormReducer)?

    public init(architecture: Architecture, framework: Framework, bnEpsilon: Float? = nil, loss: Loss, weights: TensorStore,
                optimizer: Optimizer, classes: Int, threads: Int = Parallel.defaultThreads) {
        self.architecture = architecture
        self.framework = framework
        self.bnEpsilon = bnEpsilon ?? framework.bnEpsilon
        self.loss = loss
        self.weights = weights
        self.optimizer = optimizer
        self.classes = classes
        self.threads = threads
    }

    public var learningRate: Double {
        get { optimizer.learningRate }
        set { optimizer.learningRate = newValue }
    }

    public var extraTrainableShapes: [String: [Int]] { EncoderClassifier.headShapes(baseFilters: architecture.baseFilters, classes: classes) }

    /// Encoder tensors (blocks 0...7) and the head's, in that order.
    public var trainedNames: [String] {
        let encoder = architecture.tensors.filter { $0.role.isTrainable && ($0.block ?? 99) < 8 }.map(\.name)
        return encoder + EncoderClassifier.headNames
    }

    public func model(bnReducer: (any BatchNormReducer)? = nil) throws -> EncoderClassifier {
        let net = try GenesisNetwork(architecture: architecture, weights: weights, bnEpsilon: bnEpsilon, algorithm: Trainer.trainingAlgorithm,
                                     tuning: Trainer.trainingTuning, bnReducer: bnReducer, bnArithmetic: framework.bnArithmetic)
        return try EncoderClassifier(network: net, weights: weights)
    }

    public func predict(_ x: FeatureMap, bn: BatchNormMode) throws -> FeatureMap {
        try model().forward(x, bn: bn, threads: threads)
    }

    public mutating func step(input: FeatureMap, target: FeatureMap) throws -> StepResult {
        let m = try model(bnReducer: bnReducer)
        let trace = EncoderClassifier.Trace()
        let y = try m.forward(input, bn: .batch, threads: threads, trace: trace)
        guard target.shape == y.shape else {
            throw RuntimeError.badInput(reason: "classification target has shape \(target.shape), the model's output \(y.shape)")
        }
        let value = try loss.evaluate(y.data, target.data, channels: y.channels, across: reducer?.collectives)
        let local = try m.backward(trace: trace, outputGradient: FeatureMap(shape: y.shape, data: value.gradient), threads: threads)
        let grads = try reducer?.finish(local) ?? local
        optimizer.step(trainedNames, gradients: grads, weights: &weights, frozen: frozen, threads: threads)
        var moving = try m.model.movingStatistics(after: trace.batchStatistics, convention: framework.movingStatistics)
        if let r = reducer, bnReducer == nil { moving = try r.collectives.broadcast(moving, names: moving.names.sorted()) }
        for (name, t) in moving.entries { weights[name] = t }
        return StepResult(loss: value.loss, output: y)
    }
}

/// A model whose state a checkpoint holds.
public protocol CheckpointableModel: TrainingModel {
    var architecture: Architecture { get }
    var weights: TensorStore { get }
    var optimizer: Optimizer { get }
    var bnEpsilon: Float { get }
    /// Trainable tensors beyond the architecture's (a classification head), with shapes.
    var extraTrainableShapes: [String: [Int]] { get }
}

extension Trainer: CheckpointableModel {
    public var extraTrainableShapes: [String: [Int]] { [:] }
}
