/// Everything that differs between training in tf_keras and in PyTorch, as one value
/// (schemas/numerics.md): BatchNorm epsilon, how the moving statistics fold in a batch, the order
/// BatchNorm rounds its scale and shift in, and the optimizer's update rule. How a network
/// upsamples is not a convention: it is part of the network's description
/// (`NetworkDescription.genesisUNet`).
///
/// Written to files (checkpoints, run state, JSON) as its name, `keras` or `torch`.
public struct FrameworkConventions: Sendable, Hashable, RawRepresentable, Codable, CaseIterable, CustomStringConvertible {
    /// `keras` or `torch`: the name files record.
    public let rawValue: String
    /// BatchNorm epsilon (keras 1e-3, torch 1e-5).
    public let bnEpsilon: Float
    /// The weight of a new batch in the moving statistics, as the framework rounds it: Keras
    /// casts the Python double 1 - 0.99 to float32 (0.01); PyTorch keeps its momentum 0.1 in double.
    public let bnBatchWeight: Double
    /// How the moving statistics are updated (both fold in the unbiased batch variance).
    public let movingStatisticsUpdate: MovingStatisticsUpdate
    /// How BatchNorm rounds y = x * scale + shift.
    public let bnArithmetic: BatchNormArithmetic
    /// The optimizers' update rule (and the slot semantics files hold).
    public let optimizerRule: OptimizerRule
    /// Adam's epsilon (keras 1e-7 on sqrt(v_hat), torch 1e-8).
    public let adamEpsilon: Double

    public enum MovingStatisticsUpdate: String, Sendable, Hashable {
        /// TF's assign_sub in float32: moving -= (moving - batch) * w.
        case float32AssignSub
        /// ATen's CPU update in double: w * batch + (1 - w) * running.
        case doubleInterpolation
    }

    public enum OptimizerRule: String, Sendable, Hashable {
        /// Keras: m = mu m - lr g; w += m.
        case keras
        /// PyTorch: buf = mu buf + g; w -= lr buf.
        case torch
    }

    /// tf_keras 2.x.
    public static let keras = FrameworkConventions(rawValue: "keras", bnEpsilon: 1e-3, bnBatchWeight: Double(Float(1.0 - 0.99)),
                                                   movingStatisticsUpdate: .float32AssignSub, bnArithmetic: .tensorflow,
                                                   optimizerRule: .keras, adamEpsilon: 1e-7)
    /// PyTorch.
    public static let torch = FrameworkConventions(rawValue: "torch", bnEpsilon: 1e-5, bnBatchWeight: 0.1,
                                                   movingStatisticsUpdate: .doubleInterpolation, bnArithmetic: .pytorch,
                                                   optimizerRule: .torch, adamEpsilon: 1e-8)

    public static let allCases = [keras, torch]

    private init(rawValue: String, bnEpsilon: Float, bnBatchWeight: Double, movingStatisticsUpdate: MovingStatisticsUpdate,
                 bnArithmetic: BatchNormArithmetic, optimizerRule: OptimizerRule, adamEpsilon: Double) {
        self.rawValue = rawValue
        self.bnEpsilon = bnEpsilon
        self.bnBatchWeight = bnBatchWeight
        self.movingStatisticsUpdate = movingStatisticsUpdate
        self.bnArithmetic = bnArithmetic
        self.optimizerRule = optimizerRule
        self.adamEpsilon = adamEpsilon
    }

    /// The preset named `rawValue` (`keras`, `torch`).
    public init?(rawValue: String) {
        guard let c = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = c
    }

    /// The conventions of the framework a variant's official weights come from.
    public init(_ variant: Variant) { self = variant == .keras ? .keras : .torch }

    public var description: String { rawValue }

    /// Encoded as its name (`"keras"`, `"torch"`), as the enums it replaces were.
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let c = FrameworkConventions(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown framework \(name) (keras or torch)"))
        }
        self = c
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// How a framework rounds BatchNorm's y = x * scale + shift, whose sign decides the ReLU after
/// it: for an x near the mean, scale and shift's last bits move y across zero. Matching the
/// framework's order keeps the ReLU decisions of a training step its own (the torch legacy
/// fixture's reference step flipped with the TensorFlow order: 1.15x the step tolerance; 0.4%
/// with PyTorch's).
public enum BatchNormArithmetic: String, Sendable, CaseIterable {
    /// `tf.nn.batch_normalization` (tf_keras BatchNormalization on 5-D input): inv =
    /// rsqrt(var + eps) * gamma in float32; y = x * inv + (beta - mean * inv).
    case tensorflow
    /// PyTorch's CPU batch norm: invstd = 1 / sqrt(var + eps) in double, rounded to float;
    /// alpha = invstd * w; beta' = b - mean * invstd * w; y = x * alpha + beta'.
    case pytorch
}
