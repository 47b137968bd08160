/// The metadata document of a `.genesis` file (schemas/native-checkpoint.md section 4), stored
/// as a JSON string under the `__metadata__` key `genesis`.
public struct NativeMetadata: Codable, Equatable, Sendable {
    public var format: String
    public var formatVersion: FormatVersion
    public var architecture: ArchitectureInfo
    public var provenance: Provenance
    public var training: TrainingState?
    /// Named strings a writer keeps with the weights (`genesis_run`: a training run's progress).
    public var annotations: [String: String]?
    /// SHA-256 of the data buffer; the writer sets it, the reader checks it.
    public var dataSHA256: String

    public init(architecture: ArchitectureInfo, provenance: Provenance, training: TrainingState? = nil) {
        self.format = NativeCheckpoint.formatName
        self.formatVersion = NativeCheckpoint.currentVersion
        self.architecture = architecture
        self.provenance = provenance
        self.training = training
        self.dataSHA256 = ""
    }

    enum CodingKeys: String, CodingKey {
        case format, architecture, provenance, training, annotations
        case formatVersion = "format_version"
        case dataSHA256 = "data_sha256"
    }
}

/// `MAJOR.MINOR`, coded as that string.
public struct FormatVersion: Codable, Equatable, Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses `MAJOR.MINOR`: two decimal integers, no sign, no leading zeros, no overflow.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        func number(_ s: Substring) -> Int? {
            guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), s == "0" || !s.hasPrefix("0") else { return nil }
            return Int(s)  // nil on overflow
        }
        guard let a = number(parts[0]), let b = number(parts[1]) else { return nil }
        self.init(major: a, minor: b)
    }

    public var description: String { "\(major).\(minor)" }

    public static func < (l: Self, r: Self) -> Bool { (l.major, l.minor) < (r.major, r.minor) }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let v = FormatVersion(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\"\(s)\" is not MAJOR.MINOR"))
        }
        self = v
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// The network, as plain fields (section 4.1); GenesisModel turns it into an `Architecture`.
public struct ArchitectureInfo: Codable, Equatable, Sendable {
    /// `keras` (nearest up-sampling) or `torch` (ConvTranspose3d up-convolutions).
    public var variant: String
    public var baseWidth: Int
    public var labels: Int
    /// `[channels, rows, cols, depth]` of one input cube (no batch axis).
    public var inputShape: [Int]
    public var bnEpsilon: Double
    /// The source's BN momentum in its own convention (Keras 0.99, PyTorch 0.1).
    public var bnMomentum: Double
    /// `keras` or `torch`.
    public var bnMomentumConvention: String

    public init(variant: String, baseWidth: Int, labels: Int, inputShape: [Int], bnEpsilon: Double,
                bnMomentum: Double, bnMomentumConvention: String) {
        self.variant = variant
        self.baseWidth = baseWidth
        self.labels = labels
        self.inputShape = inputShape
        self.bnEpsilon = bnEpsilon
        self.bnMomentum = bnMomentum
        self.bnMomentumConvention = bnMomentumConvention
    }

    enum CodingKeys: String, CodingKey {
        case variant, labels
        case baseWidth = "base_width"
        case inputShape = "input_shape"
        case bnEpsilon = "bn_epsilon"
        case bnMomentum = "bn_momentum"
        case bnMomentumConvention = "bn_momentum_convention"
    }
}

/// Where the weights came from and what the conversion did (section 4.2).
public struct Provenance: Codable, Equatable, Sendable {
    public var sourceFile: String?
    public var sourceSHA256: String?
    public var sourceFormat: String?
    public var sourceFormatVersion: String?
    /// One string per step, in order; empty when nothing was done.
    public var conversion: [String]
    public var createdBy: String?

    public init(sourceFile: String? = nil, sourceSHA256: String? = nil, sourceFormat: String? = nil,
                sourceFormatVersion: String? = nil, conversion: [String] = [], createdBy: String? = nil) {
        self.sourceFile = sourceFile
        self.sourceSHA256 = sourceSHA256
        self.sourceFormat = sourceFormat
        self.sourceFormatVersion = sourceFormatVersion
        self.conversion = conversion
        self.createdBy = createdBy
    }

    enum CodingKeys: String, CodingKey {
        case conversion
        case sourceFile = "source_file"
        case sourceSHA256 = "source_sha256"
        case sourceFormat = "source_format"
        case sourceFormatVersion = "source_format_version"
        case createdBy = "created_by"
    }
}

/// Training state, all optional (section 4.3).
public struct TrainingState: Codable, Equatable, Sendable {
    public var epoch: Int?
    public var step: Int?
    public var optimizer: OptimizerInfo?

    public init(epoch: Int? = nil, step: Int? = nil, optimizer: OptimizerInfo? = nil) {
        self.epoch = epoch
        self.step = step
        self.optimizer = optimizer
    }
}

public struct OptimizerInfo: Codable, Equatable, Sendable {
    /// `sgd`, `adam`, `adamw`, ...
    public var kind: String
    /// `keras` or `torch`: whose update rule and slot meanings the slots follow.
    public var convention: String
    public var hyperparameters: [String: HyperValue]?

    public init(kind: String, convention: String, hyperparameters: [String: HyperValue]? = nil) {
        self.kind = kind
        self.convention = convention
        self.hyperparameters = hyperparameters
    }
}

/// A hyperparameter: a number, a boolean, a string or an array of numbers (e.g. Adam betas).
public enum HyperValue: Codable, Equatable, Sendable {
    case number(Double)
    case bool(Bool)
    case string(String)
    case numbers([Double])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([Double].self) { self = .numbers(a) }
        else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "expected a number, boolean, string or array of numbers"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .number(d): try c.encode(d)
        case let .bool(b): try c.encode(b)
        case let .string(s): try c.encode(s)
        case let .numbers(a): try c.encode(a)
        }
    }
}
