import GenesisModel
import Tensors

/// The classification model of `genesis finetune --task classification`
/// (`NetworkDescription.genesisClassifier`): the Genesis encoder -> global average pooling ->
/// Dense(16b -> 1024, ReLU) -> Dense(1024 -> K), sigmoid for one class, softmax for more.
/// Output (N, K, 1, 1, 1). Its head tensors are `head.fc1.*` and `head.fc2.*` (PyTorch layout).
public struct EncoderClassifier: Sendable {
    public static let hidden = ClassifierHead.hidden
    /// The head's tensors in their documented order (`ClassifierHead.names`).
    public static let headNames = ClassifierHead.names
    public typealias Trace = ForwardTrace

    public let classes: Int
    public let model: Network

    /// The classifier on `network`'s encoder (its layers reused as built) with the head in
    /// `weights`; the class count is `head.fc2.weight`'s first axis.
    public init(network: GenesisNetwork, weights: TensorStore) throws {
        guard let w2 = weights[Self.headNames[2]] else {
            throw RuntimeError.missingTensor(name: Self.headNames[2], expectedShape: [])
        }
        classes = w2.shape.count == 2 ? w2.shape[0] : w2.elementCount / Self.hidden
        let arch = network.architecture
        let graph = NetworkDescription.genesisClassifier(variant: arch.variant, baseFilters: arch.baseFilters, classes: max(1, classes))
        model = try Network(graph, weights: weights, options: network.options, reusing: network.network)
    }

    /// The head tensors' shapes for `classes` classes at base width `b`.
    public static func headShapes(baseFilters b: Int, classes: Int) -> [String: [Int]] {
        ClassifierHead.shapes(baseFilters: b, classes: classes)
    }

    public func forward(_ x: FeatureMap, bn: BatchNormMode, threads: Int = Parallel.defaultThreads, trace: Trace? = nil) throws -> FeatureMap {
        try model.forwardOutputs(x, bn: bn, threads: threads, trace: trace)[0]
    }

    /// Gradients of every encoder and head tensor, given dLoss/dOutput.
    public func backward(trace: Trace, outputGradient dOut: FeatureMap, threads: Int = Parallel.defaultThreads) throws -> TensorStore {
        try model.backward(trace: trace, outputGradients: [dOut], threads: threads).tensors
    }
}
