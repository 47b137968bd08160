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

    /// Every parameter, node by node in order (the official PyTorch `state_dict` order for the
    /// Genesis networks).
    public var parameters: [ParameterSpec] { nodes.flatMap(\.parameters) }

    /// The nodes that read node `i`'s output, in order.
    public func consumers(of i: Int) -> [Int] { nodes.indices.filter { nodes[$0].inputs.contains(i) } }

    /// How much the spatial sides shrink on the way to the coarsest node: inputs must be
    /// multiples of it (8 for the Genesis U-Net's three 2x poolings).
    public var spatialMultiple: Int {
        var factor = [Int](repeating: 1, count: nodes.count)
        for (i, node) in nodes.enumerated() {
            let f = node.inputs.map { factor[$0] }.max() ?? 1
            switch node.operation {
            case let .maxPool(size): factor[i] = f * size
            case let .conv(c) where c.stride > 1: factor[i] = f * c.stride
            default: factor[i] = f
            }
        }
        return factor.max() ?? 1
    }

    /// The number of downsampling steps (2x poolings, strided convolutions) on the deepest path.
    public var downsamplingSteps: Int {
        var steps = [Int](repeating: 0, count: nodes.count)
        for (i, node) in nodes.enumerated() {
            let s = node.inputs.map { steps[$0] }.max() ?? 0
            switch node.operation {
            case .maxPool: steps[i] = s + 1
            case let .conv(c) where c.stride > 1: steps[i] = s + 1
            default: steps[i] = s
            }
        }
        return steps.max() ?? 0
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

/// A convolution's hyper-parameters (3-D, cubic kernel and stride, symmetric zero padding).
public struct ConvolutionSpec: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    /// Zero padding on each side; `kernel / 2` is "same" for stride 1 (Keras `padding='same'`,
    /// PyTorch `padding=1` for kernel 3).
    public let padding: Int
    public let bias: Bool

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil, bias: Bool = true) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding ?? kernel / 2
        self.bias = bias
    }
}

/// What a node computes. Tensors are NCDHW; dense layers read (N, C, 1, 1, 1).
public enum Operation: Sendable, Equatable {
    case input(channels: Int)
    /// Conv3d; weight (out, in, k, k, k), bias (out) when `bias`.
    case conv(ConvolutionSpec)
    /// ConvTranspose3d (kernel = stride, no padding); weight (in, out, k, k, k), bias (out).
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
            let k = c.kernel
            return [(.weight, [c.outChannels, c.inChannels, k, k, k], .float32, true, false)]
                + (c.bias ? [(.bias, [c.outChannels], .float32, true, false)] : [])
        case let .convTranspose(c):
            let k = c.kernel
            return [(.weight, [c.inChannels, c.outChannels, k, k, k], .float32, true, false)]
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
