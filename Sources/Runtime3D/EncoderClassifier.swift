import GenesisModel
import Tensors

/// The classification model of `genesis finetune --task classification`: the Genesis encoder
/// (blocks depth_0 ... depth_7, i.e. down_tr64 ... down_tr512) -> global average pooling ->
/// Dense(16b -> 1024, ReLU) -> Dense(1024 -> K), sigmoid for one class, softmax for more.
/// Output (N, K, 1, 1, 1). Its head tensors are `head.fc1.*` and `head.fc2.*` (PyTorch layout).
public struct EncoderClassifier: Sendable {
    public static let hidden = ClassifierHead.hidden
    /// The head's tensors in their documented order (`ClassifierHead.names`).
    public static let headNames = ClassifierHead.names

    public let network: GenesisNetwork
    public let fc1: Dense
    public let fc2: Dense
    public var classes: Int { fc2.outFeatures }

    public init(network: GenesisNetwork, weights: TensorStore) throws {
        self.network = network
        let features = 16 * network.architecture.baseFilters
        func tensor(_ n: String) throws -> [Float] {
            guard let t = weights[n] else { throw RuntimeError.missingTensor(name: n, expectedShape: []) }
            return t.floats()
        }
        fc1 = try Dense(weight: tensor("head.fc1.weight"), bias: tensor("head.fc1.bias"), inFeatures: features, outFeatures: Self.hidden)
        let w2 = try tensor("head.fc2.weight")
        fc2 = try Dense(weight: w2, bias: tensor("head.fc2.bias"), inFeatures: Self.hidden, outFeatures: w2.count / Self.hidden)
    }

    /// The head tensors' shapes for `classes` classes at base width `b`.
    public static func headShapes(baseFilters b: Int, classes: Int) -> [String: [Int]] {
        ClassifierHead.shapes(baseFilters: b, classes: classes)
    }

    /// What backward needs from a forward pass.
    public final class Trace {
        var blockInputs: [FeatureMap] = []
        var convOutputs: [FeatureMap] = []
        var statistics: [BatchNormStatistics] = []
        var blockOutputs: [FeatureMap] = []
        var pooled: [Float] = []
        var hiddenPre: [Float] = []
        var hidden: [Float] = []
        var output: FeatureMap?
        var mode: BatchNormMode = .batch
        public init() {}
        /// The batch statistics each encoder block normalised with (depth_0 ... depth_7).
        public var batchStatistics: [BatchNormStatistics] { statistics }
    }

    public func forward(_ x: FeatureMap, bn: BatchNormMode, threads: Int = Parallel.defaultThreads, trace: Trace? = nil) throws -> FeatureMap {
        try network.validate(x)
        trace?.mode = bn
        var current = x
        for i in 0..<8 {
            if i > 0, i % 2 == 0 { current = try Resampling.maxPool2(current, threads: threads) }
            trace?.blockInputs.append(current)
            var y = try network.convolutions[i].forward(current, threads: threads)
            trace?.convOutputs.append(y)
            let stats = try network.batchNorms[i].apply(&y, mode: bn, relu: true, threads: threads)
            trace?.statistics.append(stats)
            trace?.blockOutputs.append(y)
            current = y
        }
        let n = x.batch
        let pooled = GlobalAveragePool.forward(current)
        let pre = fc1.forward(pooled, batch: n)
        let hidden = Activations.relu(pre)
        var out = try FeatureMap(shape: [n, classes, 1, 1, 1], data: fc2.forward(hidden, batch: n))
        if classes == 1 { Activations.sigmoid(&out) } else { Activations.softmaxChannels(&out) }
        trace?.pooled = pooled
        trace?.hiddenPre = pre
        trace?.hidden = hidden
        trace?.output = out
        return out
    }

    /// Gradients of every encoder and head tensor, given dLoss/dOutput.
    public func backward(trace: Trace, outputGradient dOut: FeatureMap, threads: Int = Parallel.defaultThreads) throws -> TensorStore {
        guard let output = trace.output, trace.blockOutputs.count == 8 else {
            throw RuntimeError.badInput(reason: "classifier backward: the trace is incomplete")
        }
        let n = output.batch
        let dLogits = classes == 1 ? try Activations.sigmoidBackward(output: output, outputGradient: dOut)
                                   : try Activations.softmaxChannelsBackward(output: output, outputGradient: dOut)
        var grads = TensorStore()
        let g2 = fc2.backward(input: trace.hidden, outputGradient: dLogits.data, batch: n)
        grads["head.fc2.weight"] = Tensor(shape: [classes, Self.hidden], floats: g2.weight)
        grads["head.fc2.bias"] = Tensor(shape: [classes], floats: g2.bias)
        let dPre = zip(g2.input, trace.hiddenPre).map { $1 > 0 ? $0 : 0 }
        let g1 = fc1.backward(input: trace.pooled, outputGradient: dPre, batch: n)
        grads["head.fc1.weight"] = Tensor(shape: [Self.hidden, fc1.inFeatures], floats: g1.weight)
        grads["head.fc1.bias"] = Tensor(shape: [Self.hidden], floats: g1.bias)
        var g = try GlobalAveragePool.backward(g1.input, shape: trace.blockOutputs[7].shape)
        let mode = trace.mode
        for i in stride(from: 7, through: 0, by: -1) {
            let module = Layout.blockModules[i]
            let b = try network.batchNorms[i].backward(input: trace.convOutputs[i], output: trace.blockOutputs[i], outputGradient: g,
                                                       statistics: trace.statistics[i], mode: mode, relu: true, threads: threads)
            grads[module + ".bn1.weight"] = Tensor(shape: [b.gamma.count], floats: b.gamma)
            grads[module + ".bn1.bias"] = Tensor(shape: [b.beta.count], floats: b.beta)
            let conv = network.convolutions[i]
            let c = try conv.backward([.map(trace.blockInputs[i])], outputGradient: b.input, inputGradient: i > 0, threads: threads)
            grads[module + ".conv1.weight"] = Tensor(shape: [conv.outChannels, conv.inChannels, 3, 3, 3], floats: c.weight)
            grads[module + ".conv1.bias"] = Tensor(shape: [conv.outChannels], floats: c.bias)
            if i > 0 {
                g = c.inputs[0]
                if i % 2 == 0 { g = try Resampling.maxPool2Backward(input: trace.blockOutputs[i - 1], outputGradient: g, threads: threads) }
            }
        }
        return grads
    }
}
