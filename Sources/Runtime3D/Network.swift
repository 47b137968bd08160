import GenesisModel
import Tensors

/// How a described network's layers compute: BatchNorm epsilon and arithmetic (the framework's,
/// schemas/numerics.md), the data-parallel BatchNorm reducer, and the convolutions' algorithm
/// and tiling.
public struct NetworkOptions: Sendable {
    public var bnEpsilon: Float
    public var bnArithmetic: BatchNormArithmetic
    /// `--sync-bn`: every BatchNorm normalises with the whole batch's statistics.
    public var bnReducer: (any BatchNormReducer)?
    public var algorithm: Conv3D.Algorithm
    public var tuning: ConvolutionTuning

    public init(bnEpsilon: Float, bnArithmetic: BatchNormArithmetic, bnReducer: (any BatchNormReducer)? = nil,
                algorithm: Conv3D.Algorithm = Conv3D.defaultAlgorithm, tuning: ConvolutionTuning = .default) {
        self.bnEpsilon = bnEpsilon
        self.bnArithmetic = bnArithmetic
        self.bnReducer = bnReducer
        self.algorithm = algorithm
        self.tuning = tuning
    }
}

/// The runtime op of one described node, holding its parameters (forward and backward are in
/// `Network+Forward.swift` and `Network+Backward.swift`, op by op).
enum Layer: Sendable {
    case none
    case conv(Conv3D)
    case convTranspose(ConvTranspose3D)
    case batchNorm(BatchNorm)
    case instanceNorm(InstanceNorm)
    case dense(Dense)
}

/// A network built from its description (`NetworkDescription`) and a store of canonical
/// tensors: every node's layer with its weights bound, and the execution plan (which nodes the
/// executor fuses). Runs forward and backward by walking the description; nothing here knows a
/// particular network.
public struct Network: Sendable {
    public let graph: NetworkDescription
    let layers: [Layer]
    let plan: ExecutionPlan

    /// Binds every parameter the description names: each must be in `weights` with its
    /// described shape and a floating-point dtype (else `RuntimeError.missingTensor`,
    /// `.shapeMismatch`, `.badDType` with the name, expected and found); optional ones
    /// (`num_batches_tracked`) and extra tensors are not read. `reusing`: layers of another
    /// network with the same node name and operation are taken as they are (prepared filters
    /// included) instead of being rebuilt.
    public init(_ graph: NetworkDescription, weights: TensorStore, options: NetworkOptions, reusing: Network? = nil) throws {
        self.graph = graph
        var reused: [String: Layer] = [:]
        if let r = reusing {
            for (i, node) in r.graph.nodes.enumerated() { reused[node.name + "\u{0}" + "\(node.operation)"] = r.layers[i] }
        }
        layers = try graph.nodes.map { node in
            if let layer = reused[node.name + "\u{0}" + "\(node.operation)"] { return layer }
            return try Layer(node, weights: weights, options: options)
        }
        plan = ExecutionPlan(graph)
    }

    /// The BatchNorm layers in node order, with their node names.
    public var batchNorms: [(name: String, layer: BatchNorm)] {
        zip(graph.nodes, layers).compactMap { node, layer in
            if case let .batchNorm(bn) = layer { return (node.name, bn) }
            return nil
        }
    }

    /// Checks an input: (N, C, D, H, W) with the described C, N >= 1, every spatial side a
    /// positive multiple of the network's downsampling on its axis
    /// (`NetworkDescription.spatialMultiples`).
    public func validate(_ x: FeatureMap) throws {
        let c = graph.inputChannels
        guard x.channels == c else {
            throw RuntimeError.badInput(reason: "expected \(c) channel\(c == 1 ? "" : "s") (N,\(c),D,H,W), found shape \(x.shape)")
        }
        guard x.batch >= 1 else { throw RuntimeError.badInput(reason: "empty batch: shape \(x.shape)") }
        let multiples = graph.spatialMultiples, steps = graph.downsamplingSteps
        let words = ["no", "one", "two", "three", "four", "five", "six", "seven"]
        let count = steps < words.count ? words[steps] : "\(steps)"
        let why = Set(multiples).count == 1 ? "\(count) 2x pooling\(steps == 1 ? "" : "s")"
            : "\(count) downsampling\(steps == 1 ? "" : "s"): D, H, W multiples of \(multiples.map(String.init).joined(separator: ", "))"
        for (a, (axis, side)) in [("D", x.depth), ("H", x.height), ("W", x.width)].enumerated() where side < multiples[a] || side % multiples[a] != 0 {
            let m = multiples[a]
            throw RuntimeError.badInput(reason: "spatial side \(axis) = \(side) must be a positive multiple of \(m) (\(why)); shape \(x.shape)")
        }
    }

    /// Every BatchNorm's moving mean and variance after folding in `statistics` (one per
    /// BatchNorm node, in order, as `NetworkGradients.statistics`) by `convention`, under
    /// canonical names (`<node>.running_mean`, `.running_var`).
    public func movingStatistics(after statistics: [BatchNormStatistics], convention: MovingStatisticsConvention) throws -> TensorStore {
        let norms = batchNorms
        guard statistics.count == norms.count else {
            throw RuntimeError.badInput(reason: "moving statistics: \(statistics.count) statistics for \(norms.count) batch norms")
        }
        var store = TensorStore()
        for (i, bn) in norms.enumerated() {
            let (mean, variance) = bn.layer.updatedMovingStatistics(statistics[i], convention: convention)
            store[bn.name + ".running_mean"] = Tensor(shape: [mean.count], floats: mean)
            store[bn.name + ".running_var"] = Tensor(shape: [variance.count], floats: variance)
        }
        return store
    }
}

extension Layer {
    /// The node's layer with its parameters read from `weights` (checked against the
    /// description's shapes).
    init(_ node: NetworkDescription.Node, weights: TensorStore, options: NetworkOptions) throws {
        func floats(_ kind: ParameterKind) throws -> [Float] {
            guard let spec = node.parameters.first(where: { $0.kind == kind }) else { return [] }
            guard let t = weights[spec.name] else { throw RuntimeError.missingTensor(name: spec.name, expectedShape: spec.shape) }
            guard t.shape == spec.shape else { throw RuntimeError.shapeMismatch(name: spec.name, expected: spec.shape, found: t.shape) }
            guard t.dtype.isFloatingPoint else { throw RuntimeError.badDType(name: spec.name, found: t.dtype.rawValue) }
            return t.floats()
        }
        switch node.operation {
        case let .conv(c):
            let weight = try floats(.weight)
            let bias = c.bias ? try floats(.bias) : [Float](repeating: 0, count: c.outChannels)
            self = .conv(try Conv3D(weight: weight, bias: bias, outChannels: c.outChannels, inChannels: c.inChannels, kernelSize: c.kernelSize,
                                    strides: c.strides, paddings: c.paddings, algorithm: options.algorithm, tuning: options.tuning))
        case let .convTranspose(c):
            guard c.kernelSize == c.strides, c.paddings == [0, 0, 0] else {
                throw RuntimeError.badInput(reason: "\(node.name): transposed convolution kernel \(c.kernelSize) stride \(c.strides) padding \(c.paddings) unsupported (kernel = stride, no padding)")
            }
            let weight = try floats(.weight)
            let bias = c.bias ? try floats(.bias) : [Float](repeating: 0, count: c.outChannels)
            self = .convTranspose(try ConvTranspose3D(weight: weight, bias: bias, inChannels: c.inChannels, outChannels: c.outChannels,
                                                      kernelSize: c.kernelSize, tileFloats: options.tuning.transposedTileFloats,
                                                      preciseMaxMultiplyAdds: options.tuning.preciseMaxMultiplyAdds))
        case .batchNorm:
            var bn = try BatchNorm(gamma: floats(.weight), beta: floats(.bias), movingMean: floats(.runningMean),
                                   movingVariance: floats(.runningVariance), epsilon: options.bnEpsilon)
            bn.reducer = options.bnReducer
            bn.arithmetic = options.bnArithmetic
            self = .batchNorm(bn)
        case let .instanceNorm(ch, affine, eps):
            self = .instanceNorm(try InstanceNorm(channels: ch, gamma: affine ? floats(.weight) : nil, beta: affine ? floats(.bias) : nil, epsilon: eps))
        case let .dense(i, o):
            self = .dense(try Dense(weight: floats(.weight), bias: floats(.bias), inFeatures: i, outFeatures: o))
        case .maxPool(let s) where s != 2, .upsampleNearest(let s) where s != 2:
            throw RuntimeError.badInput(reason: "\(node.name): window \(s) unsupported (2)")
        default:
            self = .none
        }
    }
}
