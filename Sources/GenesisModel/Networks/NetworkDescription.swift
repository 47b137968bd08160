import Tensors

/// A network as data: a list of nodes in execution order, each an operation on earlier nodes'
/// outputs, with the canonical module name its parameters go by (schemas/genesis-architecture.md
/// for the Genesis networks). The runtime builds, runs and differentiates a network from this
/// value alone; the tensor tables of verification, conversion and name maps derive from it.
///
/// Node 0 is the input. Every other node reads the outputs of nodes before it (`inputs`, by
/// index), so the list is a topological order: forward walks it front to back, backward back to
/// front. `outputs` lists the nodes the network returns (several for deep supervision).
public struct NetworkDescription: Sendable, Equatable {
    public private(set) var nodes: [Node]
    public var outputs: [Int]

    /// A network with only its input node (`channels` input channels).
    public init(inputChannels: Int) {
        nodes = [Node(name: "input", operation: .input(channels: inputChannels), inputs: [])]
        outputs = []
    }

    public var inputChannels: Int {
        if case let .input(c) = nodes[0].operation { return c }
        return 0
    }

    /// Appends a node reading `inputs` (indices of earlier nodes) and returns its index.
    @discardableResult
    public mutating func add(_ name: String, _ operation: Operation, _ inputs: [Int]) -> Int {
        precondition(inputs.allSatisfy { $0 >= 0 && $0 < nodes.count }, "a node reads earlier nodes only")
        nodes.append(Node(name: name, operation: operation, inputs: inputs))
        return nodes.count - 1
    }

    /// The top-level modules in the order PyTorch registers them, when that differs from the
    /// execution order (nnU-Net v1's `Generic_UNet` registers `conv_blocks_localization` before
    /// `conv_blocks_context`); empty: execution order.
    public var moduleOrder: [String] = []

    /// Every parameter in the PyTorch `state_dict` order (also `model.parameters()`'s, which
    /// optimizer state positions follow): node by node in execution order, grouped by
    /// `moduleOrder` when it is set (stable within a group; a node under none comes last).
    public var parameters: [ParameterSpec] {
        let all = nodes.flatMap(\.parameters)
        guard !moduleOrder.isEmpty else { return all }
        func group(_ p: ParameterSpec) -> Int {
            moduleOrder.firstIndex { p.node == $0 || p.node.hasPrefix($0 + ".") } ?? moduleOrder.count
        }
        return all.enumerated().sorted { (group($0.element), $0.offset) < (group($1.element), $1.offset) }.map(\.element)
    }

    /// The nodes that read node `i`'s output, in order.
    public func consumers(of i: Int) -> [Int] { nodes.indices.filter { nodes[$0].inputs.contains(i) } }

    /// How much each spatial side (D, H, W) shrinks on the way to the coarsest node: inputs
    /// must be multiples of it per axis ([8, 8, 8] for the Genesis U-Net's three 2x poolings,
    /// [16, 32, 32] for nnU-Net Genesis's pools [2, 2, 2] x 4 then [1, 2, 2]).
    public var spatialMultiples: [Int] {
        var factor = [[Int]](repeating: [1, 1, 1], count: nodes.count)
        for (i, node) in nodes.enumerated() {
            let f = (0..<3).map { a in node.inputs.map { factor[$0][a] }.max() ?? 1 }
            switch node.operation {
            case let .maxPool(size): factor[i] = f.map { $0 * size }
            case let .conv(c): factor[i] = (0..<3).map { f[$0] * c.strides[$0] }
            default: factor[i] = f
            }
        }
        return (0..<3).map { a in factor.map { $0[a] }.max() ?? 1 }
    }

    /// The largest of `spatialMultiples` (every axis's for the Genesis networks).
    public var spatialMultiple: Int { spatialMultiples.max() ?? 1 }

    /// The number of downsampling steps (2x poolings, convolutions strided on some axis) on the
    /// deepest path.
    public var downsamplingSteps: Int {
        var steps = [Int](repeating: 0, count: nodes.count)
        for (i, node) in nodes.enumerated() {
            let s = node.inputs.map { steps[$0] }.max() ?? 0
            switch node.operation {
            case .maxPool: steps[i] = s + 1
            case let .conv(c) where c.strides.contains(where: { $0 > 1 }): steps[i] = s + 1
            default: steps[i] = s
            }
        }
        return steps.max() ?? 0
    }

    /// Per node: whether its output reaches one of `outputs` (all true when `outputs` is
    /// empty). A node that does not (nnU-Net's seg_outputs 0-3 without deep supervision, which
    /// PyTorch computes and discards) is not run, and its parameters get no gradient.
    public var reachesOutput: [Bool] {
        guard !outputs.isEmpty else { return [Bool](repeating: true, count: nodes.count) }
        var live = [Bool](repeating: false, count: nodes.count)
        for o in outputs { live[o] = true }
        for i in nodes.indices.reversed() where live[i] { for j in nodes[i].inputs { live[j] = true } }
        return live
    }

    /// One node: an operation, the nodes it reads and its canonical module name (parameters are
    /// `<name>.weight`, `<name>.bias`, ...; parameterless nodes carry an op name such as
    /// `maxpool 0`, which is also the name benchmarks time the step under).
    public struct Node: Sendable, Equatable {
        public let name: String
        public let operation: Operation
        public let inputs: [Int]

        /// The node's parameters with canonical names and shapes (PyTorch layouts).
        public var parameters: [ParameterSpec] {
            operation.parameterKinds.map { kind, shape, dtype, trainable, optional in
                ParameterSpec(name: name + "." + kind.rawValue, kind: kind, shape: shape, dtype: dtype, trainable: trainable,
                              optional: optional, node: name)
            }
        }
    }
}

/// A convolution's hyper-parameters: kernel, stride and symmetric zero padding per spatial
/// axis (D, H, W), as PyTorch's `kernel_size`, `stride`, `padding` tuples. nnU-Net's anisotropic
/// pool [1, 2, 2] is a stride (1, 2, 2) convolution and a kernel = stride (1, 2, 2) transposed one.
public struct ConvolutionSpec: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    /// (D, H, W).
    public let kernelSize: [Int]
    public let strides: [Int]
    /// Zero padding on each side per axis; `kernel / 2` is "same" for stride 1 (Keras
    /// `padding='same'`, PyTorch `padding=1` for kernel 3).
    public let paddings: [Int]
    public let bias: Bool

    /// The same kernel, stride and padding on every axis.
    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil, bias: Bool = true) {
        self.init(inChannels: inChannels, outChannels: outChannels, kernelSize: [kernel, kernel, kernel], strides: [stride, stride, stride],
                  paddings: padding.map { [$0, $0, $0] }, bias: bias)
    }

    /// Per-axis (D, H, W) kernel, stride and padding (default `kernel / 2` per axis).
    public init(inChannels: Int, outChannels: Int, kernelSize: [Int], strides: [Int], paddings: [Int]? = nil, bias: Bool = true) {
        precondition(kernelSize.count == 3 && strides.count == 3 && (paddings?.count ?? 3) == 3, "3-D convolutions take three sides")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.strides = strides
        self.paddings = paddings ?? kernelSize.map { $0 / 2 }
        self.bias = bias
    }

    /// Kernel, stride and padding the same on every axis.
    public var isIsotropic: Bool { Set(kernelSize).count == 1 && Set(strides).count == 1 && Set(paddings).count == 1 }
    /// The D axis's kernel, stride and padding: every axis's when `isIsotropic` (read the
    /// per-axis arrays otherwise).
    public var kernel: Int { kernelSize[0] }
    public var stride: Int { strides[0] }
    public var padding: Int { paddings[0] }
    /// Taps of one filter (kd kh kw).
    public var taps: Int { kernelSize.reduce(1, *) }

    /// Output sides of a convolution on input sides `sides`: (in + 2 pad - k) / s + 1 per axis.
    public func outputSides(_ sides: [Int]) -> [Int] { (0..<3).map { (sides[$0] + 2 * paddings[$0] - kernelSize[$0]) / strides[$0] + 1 } }
    /// Output sides of a transposed convolution: (in - 1) s + k - 2 pad per axis.
    public func transposedOutputSides(_ sides: [Int]) -> [Int] { (0..<3).map { (sides[$0] - 1) * strides[$0] + kernelSize[$0] - 2 * paddings[$0] } }
}

/// What a node computes. Tensors are NCDHW; dense layers read (N, C, 1, 1, 1).
public enum Operation: Sendable, Equatable {
    case input(channels: Int)
    /// Conv3d; weight (out, in, kd, kh, kw), bias (out) when `bias`.
    case conv(ConvolutionSpec)
    /// ConvTranspose3d (kernel = stride per axis, no padding); weight (in, out, kd, kh, kw), bias
    /// (out) when `bias`.
    case convTranspose(ConvolutionSpec)
    /// BatchNorm3d over `channels`; `countsBatches`: PyTorch's `num_batches_tracked` buffer
    /// (optional in files).
    case batchNorm(channels: Int, countsBatches: Bool)
    /// InstanceNorm3d: per sample and channel over D, H, W; affine weight and bias when `affine`.
    case instanceNorm(channels: Int, affine: Bool, epsilon: Float)
    case relu
    case leakyReLU(slope: Float)
    /// Max pooling with window = stride = `size`.
    case maxPool(size: Int)
    /// Nearest-neighbour upsampling by `factor` (Keras `UpSampling3D`).
    case upsampleNearest(factor: Int)
    /// Channel concatenation of the inputs, in order.
    case concat
    /// Mean over D, H, W: (N, C, D, H, W) -> (N, C, 1, 1, 1).
    case globalAveragePool
    /// Linear layer on (N, in, 1, 1, 1); weight (out, in), bias (out).
    case dense(inFeatures: Int, outFeatures: Int)
    /// Output activations: sigmoid per value, softmax over channels.
    case sigmoid
    case softmax

    /// (kind, shape, dtype, trainable, optional) of each parameter, in `state_dict` order.
    var parameterKinds: [(ParameterKind, [Int], DType, Bool, Bool)] {
        switch self {
        case let .conv(c):
            return [(.weight, [c.outChannels, c.inChannels] + c.kernelSize, .float32, true, false)]
                + (c.bias ? [(.bias, [c.outChannels], .float32, true, false)] : [])
        case let .convTranspose(c):
            return [(.weight, [c.inChannels, c.outChannels] + c.kernelSize, .float32, true, false)]
                + (c.bias ? [(.bias, [c.outChannels], .float32, true, false)] : [])
        case let .batchNorm(ch, counts):
            return [(.weight, [ch], .float32, true, false), (.bias, [ch], .float32, true, false),
                    (.runningMean, [ch], .float32, false, false), (.runningVariance, [ch], .float32, false, false)]
                + (counts ? [(.batchCount, [], .int64, false, true)] : [])
        case let .instanceNorm(ch, affine, _):
            return affine ? [(.weight, [ch], .float32, true, false), (.bias, [ch], .float32, true, false)] : []
        case let .dense(i, o):
            return [(.weight, [o, i], .float32, true, false), (.bias, [o], .float32, true, false)]
        default:
            return []
        }
    }
}

/// The kind of a parameter within its node; the raw value is the PyTorch suffix.
public enum ParameterKind: String, Sendable, Equatable {
    case weight, bias
    case runningMean = "running_mean"
    case runningVariance = "running_var"
    case batchCount = "num_batches_tracked"
}

/// One parameter of a described network: canonical name, kind, canonical (PyTorch) shape.
public struct ParameterSpec: Sendable, Equatable {
    public let name: String
    public let kind: ParameterKind
    public let shape: [Int]
    public let dtype: DType
    /// Trained by the optimizer (weights, biases, norm scales); statistics and counters are not.
    public let trainable: Bool
    /// A parameter a file may leave out (`num_batches_tracked`).
    public let optional: Bool
    /// The module (node name) the parameter belongs to.
    public let node: String

    public var elementCount: Int { shape.reduce(1, *) }
}
