import Tensors

/// The two official Models Genesis networks differ only in how the decoder upsamples.
public enum Variant: String, Sendable, Codable, CaseIterable {
    /// Keras `UpSampling3D(2)`: nearest neighbour, no weights (official `.h5`).
    case keras
    /// PyTorch `ConvTranspose3d(C, C, 2, stride 2)` with bias (official `.pt`).
    case torch

    /// BatchNorm epsilon of the framework the variant comes from.
    public var defaultBNEpsilon: Float { FrameworkConventions(self).bnEpsilon }
}

/// What a tensor is within the network; each role has one layout and one name suffix per
/// framework (see `NameMaps`).
public enum TensorRole: String, Sendable, Codable, CaseIterable {
    case convWeight, convBias
    case bnGamma, bnBeta, bnMean, bnVariance, bnCount
    case upWeight, upBias

    public var isTrainable: Bool {
        switch self {
        case .bnMean, .bnVariance, .bnCount: return false
        default: return true
        }
    }
}

/// One tensor of the network: its canonical name (the official PyTorch module path without
/// `module.`), role and canonical (PyTorch) shape.
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    public let role: TensorRole
    public let shape: [Int]
    public let dtype: DType
    /// Index of the convolution block (0...13), 14 for the final convolution, nil for upsamplers.
    public let block: Int?
    /// Index of the up-convolution (0...2) for upsampler tensors.
    public let upsampler: Int?
    /// A tensor a file may leave out without being wrong (`num_batches_tracked`).
    public let optional: Bool

    public var elementCount: Int { shape.reduce(1, *) }
}

/// One Conv3D -> BatchNorm -> ReLU block.
public struct ConvBlock: Sendable, Equatable {
    public let index: Int
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
}

/// The Genesis 3D U-Net for a given variant, base width and label count (schemas/genesis-architecture.md).
public struct Architecture: Sendable, Equatable, CustomStringConvertible {
    public let variant: Variant
    public let baseFilters: Int
    public let labels: Int

    /// Largest base width accepted (the official is 32; 512 would be a 100 GB network).
    public static let maxBaseFilters = 512
    public static let maxLabels = 4096

    public init(variant: Variant, baseFilters: Int = 32, labels: Int = 1) {
        precondition(baseFilters >= 1 && baseFilters <= Self.maxBaseFilters, "base width out of range")
        precondition(labels >= 1 && labels <= Self.maxLabels, "label count out of range")
        self.variant = variant
        self.baseFilters = baseFilters
        self.labels = labels
    }

    /// The official released network: base 32, one label.
    public static func official(_ variant: Variant) -> Architecture { Architecture(variant: variant) }

    public var description: String { "Genesis \(variant.rawValue) variant, base \(baseFilters), \(labels) label\(labels == 1 ? "" : "s")" }

    /// The 14 convolution blocks, in order (`Layout.blockChannels`).
    public var blocks: [ConvBlock] {
        Layout.blockChannels.enumerated().map { i, c in
            ConvBlock(index: i, inChannels: c.in == 0 ? 1 : c.in * baseFilters, outChannels: c.out * baseFilters, kernel: 3)
        }
    }

    /// Channels of the three up-convolutions (16b, 8b, 4b), decoder order.
    public var upsamplerChannels: [Int] { Layout.upsamplerChannels.map { $0 * baseFilters } }

    /// The final 1x1x1 convolution: 2b -> labels.
    public var finalConv: ConvBlock { ConvBlock(index: 14, inChannels: 2 * baseFilters, outChannels: labels, kernel: 1) }

    /// The network as data (`NetworkDescription.genesisUNet`): what the runtime builds and
    /// trains, and what `tensors` derives from.
    public var network: NetworkDescription {
        NetworkDescription.genesisUNet(variant: variant, baseFilters: baseFilters, labels: labels)
    }

    /// Every tensor, in the order of the official PyTorch `state_dict` (keras variant: without
    /// the up-convolutions and `num_batches_tracked`): the description's parameters, node by
    /// node, with their role and block.
    public var tensors: [TensorSpec] {
        network.parameters.map { p in
            let block: Int? = p.node == Layout.finalModule ? 14 : Layout.blockModules.firstIndex { p.node.hasPrefix($0 + ".") }
            let upsampler = Layout.upsamplerModules.firstIndex(of: p.node)
            let role: TensorRole
            switch p.kind {
            case .weight: role = upsampler != nil ? .upWeight : p.node.hasSuffix(".bn1") ? .bnGamma : .convWeight
            case .bias: role = upsampler != nil ? .upBias : p.node.hasSuffix(".bn1") ? .bnBeta : .convBias
            case .runningMean: role = .bnMean
            case .runningVariance: role = .bnVariance
            case .batchCount: role = .bnCount
            }
            return TensorSpec(name: p.name, role: role, shape: p.shape, dtype: p.dtype, block: block, upsampler: upsampler, optional: p.optional)
        }
    }

    /// Trainable values (weights, biases, BN gamma and beta).
    public var trainableCount: Int { tensors.filter { $0.role.isTrainable }.reduce(0) { $0 + $1.elementCount } }

    /// BN moving statistics (mean and variance) values.
    public var statisticsCount: Int { tensors.filter { $0.role == .bnMean || $0.role == .bnVariance }.reduce(0) { $0 + $1.elementCount } }

    public func spec(named name: String) -> TensorSpec? { tensors.first { $0.name == name } }

    /// Forward FLOPs (multiply-add = 2) for one input of spatial size d x h x w: the
    /// description's convolutions and up-convolutions (`NetworkDescription.forwardFLOPs`).
    public func forwardFLOPs(depth d: Int, height h: Int, width w: Int) -> Double {
        network.forwardFLOPs(depth: d, height: h, width: w)
    }
}
