import GenesisModel
import Runtime3D
import Tensors

/// The framework whose training semantics a run follows (schemas/numerics.md): one
/// `FrameworkConventions` value. A run continues the framework its weights came from.
public typealias Framework = FrameworkConventions

extension FrameworkConventions {
    /// The moving-statistics rule (`self`: the conventions are one value).
    public var movingStatistics: MovingStatisticsConvention { self }
    /// The optimizer's convention (`self`).
    public var optimizerConvention: Optimizer.Convention { self }
}

/// What one training step did.
public struct StepResult: Sendable {
    public let loss: Double
    /// The network's output for the batch (before the update).
    public let output: FeatureMap
}

/// One step of training, as the source framework's `train_on_batch` or
/// `forward; loss.backward(); optimizer.step()` does it, for any described network (the Genesis
/// U-Net, or a classifier on its encoder): forward with batch statistics (both frameworks train
/// that way), the loss and its gradient, backward, the optimizer update of every trainable tensor
/// of the network, and the BatchNorm moving statistics folded in by the framework's rule.
/// Tensors of `weights` the network does not use (a classifier's decoder) ride along unchanged,
/// so the checkpoint stays a whole Genesis network.
public struct Trainer: Sendable {
    /// The network whose tensors `weights` holds, of any family.
    public let source: any NetworkArchitecture
    /// The network trained (`source.network` for segmentation, with the recipe's output
    /// activation when its description returns logits).
    public let graph: NetworkDescription
    /// A one-channel target is repeated over the output's channels (the recipe's
    /// `pretrainTargetRepeated`: nnU-Net Genesis's `np.repeat(gt, 2, axis=1)`).
    public var repeatsTarget = false
    /// Classes of a classifier (nil: the U-Net itself).
    public let classes: Int?
    public let framework: Framework
    public let bnEpsilon: Float
    public var loss: Loss
    /// Every tensor under canonical names: trainable ones and BN statistics.
    public var weights: TensorStore
    public var optimizer: Optimizer
    public var threads: Int
    /// Trainable tensors the optimizer leaves alone (e.g. a frozen encoder).
    public var frozen: Set<String> = []
    /// How the 3x3x3 convolutions run in training (see `trainingAlgorithm`).
    public var algorithm: Conv3D.Algorithm = Trainer.trainingAlgorithm
    public var tuning: ConvolutionTuning = Trainer.trainingTuning
    /// Data parallel (nil: one process): averages the gradients over the ranks, the loss is
    /// the global batch's (see `Loss.evaluate(_:_:channels:across:)`).
    public var reducer: GradientReducer?
    /// `--sync-bn`: BatchNorm statistics of the global batch. Without it (data parallel), each
    /// rank normalises with its own slice's statistics and the moving statistics are rank 0's,
    /// as PyTorch DDP's default (`broadcast_buffers`).
    public var bnReducer: (any BatchNormReducer)?

    /// 2-D Winograd F(2x4, 3x3) (a third of im2col's multiplications) in the forward, not the
    /// forward pass's F(4x4, 3x3): the max-pool and ReLU decisions of a step are sensitive to
    /// rounding (5e-6 relative noise on the input of the tiny fixture moves gradients by 8%), and
    /// F(2x4) rounds closer to the direct form. The backward passes (input gradients' flipped
    /// convolutions, weight gradients) run F(4x4): their rounding only scales into the gradients
    /// linearly and moves no decision (about 10% less CPU per full-size step). Layers below
    /// `ConvolutionTuning.preciseMaxMultiplyAdds` (every layer of the fixtures' networks) run
    /// the direct form in float64 GEMMs instead, the same bits on every CPU.
    public static let trainingAlgorithm = Conv3D.Algorithm.winograd2D
    public static let trainingTuning = ConvolutionTuning(winograd2DHeightTile: 2, winograd2DBackwardHeightTile: 4,
                                                                preciseMaxMultiplyAdds: ConvolutionTuning.preciseThreshold)

    /// Training of the Genesis U-Net `architecture`.
    public init(architecture: Architecture, framework: Framework, bnEpsilon: Float? = nil, loss: Loss = .mse,
                weights: TensorStore, optimizer: Optimizer, threads: Int = Parallel.defaultThreads) {
        self.init(architecture: architecture, graph: architecture.network, classes: nil, framework: framework, bnEpsilon: bnEpsilon,
                  loss: loss, weights: weights, optimizer: optimizer, threads: threads)
    }

    /// Training of the encoder classifier (`NetworkDescription.genesisClassifier`) with
    /// `classes` classes on `architecture`'s encoder.
    public init(architecture: Architecture, framework: Framework, bnEpsilon: Float? = nil, loss: Loss, weights: TensorStore,
                optimizer: Optimizer, classes: Int, threads: Int = Parallel.defaultThreads) {
        self.init(architecture: architecture,
                  graph: .genesisClassifier(variant: architecture.variant, baseFilters: architecture.baseFilters, classes: classes),
                  classes: classes, framework: framework, bnEpsilon: bnEpsilon, loss: loss, weights: weights, optimizer: optimizer,
                  threads: threads)
    }

    /// Training of any described network whose tensors `weights` holds.
    public init(architecture: Architecture, graph: NetworkDescription, classes: Int?, framework: Framework, bnEpsilon: Float?,
                loss: Loss, weights: TensorStore, optimizer: Optimizer, threads: Int) {
        self.init(source: architecture, graph: graph, classes: classes, framework: framework, bnEpsilon: bnEpsilon, loss: loss,
                  weights: weights, optimizer: optimizer, threads: threads)
    }

    /// Training of any family's network (`source`) as its recipe pretrains it (`pretraining`) or
    /// fine-tunes it for segmentation: the recipe's activation after the output, its target
    /// convention; the loss and optimizer as given. The framework is the network's.
    public init(network source: any NetworkArchitecture, pretraining: Bool, loss: Loss, weights: TensorStore, optimizer: Optimizer,
                threads: Int = Parallel.defaultThreads) {
        let r = source.recipe
        self.init(source: source, graph: source.network.training(pretraining ? r.pretrainActivation : r.finetuneActivation), classes: nil,
                  framework: source.conventions, bnEpsilon: nil, loss: loss, weights: weights, optimizer: optimizer, threads: threads)
        repeatsTarget = pretraining && r.pretrainTargetRepeated
    }

    private init(source: any NetworkArchitecture, graph: NetworkDescription, classes: Int?, framework: Framework, bnEpsilon: Float?,
                 loss: Loss, weights: TensorStore, optimizer: Optimizer, threads: Int) {
        self.source = source
        self.graph = graph
        self.classes = classes
        self.framework = framework
        self.bnEpsilon = bnEpsilon ?? framework.bnEpsilon
        self.loss = loss
        self.weights = weights
        self.optimizer = optimizer
        self.threads = threads
    }

    /// The Genesis U-Net trained (nil: another family's network).
    public var architecture: Architecture? { source as? Architecture }

    /// The trainable tensors of the network, in the description's order.
    public var trainedNames: [String] { graph.parameters.filter(\.trainable).map(\.name) }

    /// Trainable tensors beyond the architecture's (a classifier's head), with shapes.
    public var extraTrainableShapes: [String: [Int]] {
        let known = Set(architecture?.tensors.map(\.name) ?? source.network.parameters.map(\.name))
        return Dictionary(uniqueKeysWithValues: graph.parameters.filter { $0.trainable && !known.contains($0.name) }.map { ($0.name, $0.shape) })
    }

    /// The network with the current weights (`bnReducer`: the training step's, under --sync-bn).
    public func network(bnReducer: (any BatchNormReducer)? = nil) throws -> Network {
        let options = NetworkOptions(bnEpsilon: bnEpsilon, bnArithmetic: framework.bnArithmetic, bnReducer: bnReducer,
                                     algorithm: algorithm, tuning: tuning)
        return try Network(graph, weights: weights, options: options)
    }

    /// One step on `input` (N, 1, D, H, W) towards `target` (the output's shape).
    @discardableResult
    public mutating func step(input: FeatureMap, target: FeatureMap) throws -> StepResult {
        guard graph.outputs.count == 1 else {
            throw RuntimeError.badInput(reason: "training: the network has \(graph.outputs.count) outputs; a loss over several outputs (deep supervision) is not implemented yet")
        }
        let net = try network(bnReducer: bnReducer)
        let trace = ForwardTrace()
        let y = try net.forwardOutputs(input, bn: .batch, threads: threads, trace: trace)[0]
        let target = try lossTarget(target, output: y)
        let value = try loss.evaluate(y.data, target.data, channels: y.channels, batch: y.batch, across: reducer?.collectives)
        let dOut = try FeatureMap(shape: y.shape, data: value.gradient, what: "loss gradient")
        let grads = try net.backward(trace: trace, outputGradients: [dOut], threads: threads,
                                     onGradient: reducer.map { r in { try r.deliver($0, $1) } })
        var gradients = try reducer?.finish(grads.tensors) ?? grads.tensors
        // Parameters no output reaches get no gradient, as PyTorch leaves their .grad None: the
        // optimizer skips them (no update, no weight decay, no momentum buffer made).
        for name in grads.unreached { gradients[name] = nil }
        optimizer.step(trainedNames, gradients: gradients, weights: &weights, frozen: frozen, threads: threads)
        var moving = try net.movingStatistics(after: grads.statistics, convention: framework.movingStatistics)
        if let r = reducer, bnReducer == nil { moving = try r.collectives.broadcast(moving, names: moving.names.sorted()) }
        for (name, t) in moving.entries { weights[name] = t }
        return StepResult(loss: value.loss, output: y)
    }
}

extension Trainer {
    /// The target the loss compares `output` with: `target` itself, or (`repeatsTarget`) a
    /// one-channel target repeated over the output's channels. Throws when the shapes differ.
    public func lossTarget(_ target: FeatureMap, output y: FeatureMap) throws -> FeatureMap {
        var target = target
        if repeatsTarget, target.channels == 1, y.channels > 1, target.batch == y.batch, target.spatialCount == y.spatialCount {
            let s = target.spatialCount
            var data = [Float](repeating: 0, count: y.data.count)
            for b in 0..<y.batch { for k in 0..<y.channels {
                data.replaceSubrange(((b * y.channels + k) * s)..<((b * y.channels + k + 1) * s), with: target.data[(b * s)..<((b + 1) * s)])
            } }
            target = try FeatureMap(shape: y.shape, data: data, what: "training target")
        }
        guard target.shape == y.shape else {
            throw RuntimeError.badInput(reason: "training target has shape \(target.shape), the network's output \(y.shape)")
        }
        return target
    }
}

/// The classifier's trainer is the one trainer, built with `classes`.
public typealias ClassificationTrainer = Trainer

/// A model whose state a checkpoint holds.
public protocol CheckpointableModel: TrainingModel {
    var source: any NetworkArchitecture { get }
    var weights: TensorStore { get }
    var optimizer: Optimizer { get }
    var bnEpsilon: Float { get }
    /// Trainable tensors beyond the architecture's (a classification head), with shapes.
    var extraTrainableShapes: [String: [Int]] { get }
}

extension Trainer: CheckpointableModel {}
