import FormatNames
import Tensors

/// A network genesis recognises, checks and runs, whatever its family: its description (what the
/// runtime builds), the facts `verify` reports, the conventions its weights follow, and the check
/// of a file's tensors against it. `Architecture` (the Models Genesis 3D U-Net) and
/// `NNUNetArchitecture` (nnU-Net Genesis) are the two; commands and the library take
/// `any NetworkArchitecture` where they do not depend on the family.
public protocol NetworkArchitecture: Sendable, CustomStringConvertible {
    var family: NetworkFamilyName { get }
    /// `keras`, `torch`, `nnunet` (`NetworkFamilyName.variants`).
    var variantName: String { get }
    /// Width of the first convolution.
    var baseFilters: Int { get }
    /// Output channels (label maps or logits).
    var labels: Int { get }
    /// The network as data: what the runtime builds, and the tensor table the checks derive from.
    var network: NetworkDescription { get }
    /// Facts beyond family, variant, base width and labels, in report order (`pools`,
    /// `max_filters`, ...), each under its JSON key.
    var facts: [ArchitectureFact] { get }
    /// The framework whose conventions the weights follow (norm arithmetic, optimizer rule).
    var conventions: FrameworkConventions { get }
    /// Whether the official code normalises with the batch's own statistics when it predicts;
    /// nil when the network has no BatchNorm.
    var officialBatchStatistics: Bool? { get }
    /// How the family's official code trains the network (`TrainingRecipe`).
    var recipe: TrainingRecipe { get }
    /// Every problem of a file's tensors (mapped by this family) against this architecture.
    func verify(_ m: MappedTensors) -> [Problem]
    /// Float32 activations per input voxel per cube that bound a forward pass's peak, where
    /// measured (the Genesis U-Net's); nil: derived from the description.
    var activationValuesPerVoxel: Int? { get }
}

extension NetworkArchitecture {
    public var facts: [ArchitectureFact] { [] }
    public var activationValuesPerVoxel: Int? { nil }
    public var recipe: TrainingRecipe { .genesisUNet }
    /// Trainable values (weights, biases, norm scales and shifts).
    public var trainableCount: Int { network.parameters.filter(\.trainable).reduce(0) { $0 + $1.elementCount } }
    /// BatchNorm moving statistics (means and variances).
    public var statisticsCount: Int {
        network.parameters.filter { $0.kind == .runningMean || $0.kind == .runningVariance }.reduce(0) { $0 + $1.elementCount }
    }
    /// Tensors a complete file holds.
    public var tensorCount: Int { network.parameters.count }
    /// Inputs must be multiples of these per spatial axis (D, H, W).
    public var spatialMultiples: [Int] { network.spatialMultiples }

    /// The same network: family, variant and description.
    public func isSame(as other: any NetworkArchitecture) -> Bool {
        family == other.family && variantName == other.variantName && network == other.network
    }
}

/// One fact of an architecture under its JSON key (`pools`: [[2,2,2], ...]).
public struct ArchitectureFact: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case int(Int), ints([Int]), intLists([[Int]]), bool(Bool), none
    }
    public let key: String
    public let value: Value

    public init(_ key: String, _ value: Value) {
        self.key = key
        self.value = value
    }

    /// As JSON serialisation takes it (NSNull-free: nil for `none`).
    public var jsonValue: Any? {
        switch value {
        case let .int(i): return i
        case let .ints(a): return a
        case let .intLists(a): return a
        case let .bool(b): return b
        case .none: return nil
        }
    }
}

/// An input normalisation a family names for `run --window` (beyond the generic `ct`, `mri`
/// and `LO,HI`): v -> (clip(v * inputScale + inputOffset, low, high) - mean) / std.
public struct InputNormalisation: Sendable, Equatable {
    public let name: String
    /// What values it takes: "HU", "[0, 1] cubes".
    public let takes: String
    /// What it does, in words (help text and the run's summary line).
    public let summary: String
    public let inputScale: Double
    public let inputOffset: Double
    public let low: Double
    public let high: Double
    public let mean: Double
    public let std: Double

    public init(name: String, takes: String, summary: String, inputScale: Double = 1, inputOffset: Double = 0, low: Double, high: Double, mean: Double, std: Double) {
        self.name = name
        self.takes = takes
        self.summary = summary
        self.inputScale = inputScale
        self.inputOffset = inputOffset
        self.low = low
        self.high = high
        self.mean = mean
        self.std = std
    }
}

/// One weighted step of a network as a file's tensors fit it: a kernel's expected and found shape.
public struct StructureStep: Sendable, Equatable {
    /// `conv_blocks_context.0.blocks.0.conv`, `depth_3`, `tu.4`.
    public let label: String
    /// The kernel's name in the file (or the name it would have there).
    public let tensor: String
    public let expected: [Int]?
    /// Nil when the file has no such tensor.
    public let found: [Int]?
    public var fits: Bool { found != nil && found == expected }

    public init(label: String, tensor: String, expected: [Int]?, found: [Int]?) {
        self.label = label
        self.tensor = tensor
        self.expected = expected
        self.found = found
    }
}

/// How far a file's tensors fit one family: the architecture when they are one of its networks,
/// what that rests on, and why not otherwise.
public struct FamilyMatch: Sendable {
    public let family: NetworkFamilyName
    /// The architecture the tensors fit, when they are a network of the family.
    public let architecture: (any NetworkArchitecture)?
    /// What the match rests on: "98 of 98 tensors fit; widths ...".
    public let evidence: String
    /// Why the tensors are or are not a network of the family, naming the first thing that does not fit.
    public let verdict: String
    /// Whether any tensor of the file has a name or place in the family's networks.
    public let anyTensorMapped: Bool
    /// The kernels step by step (for `verify`'s structure report).
    public let steps: [StructureStep]

    public init(family: NetworkFamilyName, architecture: (any NetworkArchitecture)?, evidence: String, verdict: String,
                anyTensorMapped: Bool, steps: [StructureStep]) {
        self.family = family
        self.architecture = architecture
        self.evidence = evidence
        self.verdict = verdict
        self.anyTensorMapped = anyTensorMapped
        self.steps = steps
    }
}

/// A network family: how its files name their tensors, how a file's tensors are recognised as one
/// of its networks (from the tensors alone), the architecture a user asks for by name, and the
/// input normalisations its official code applies. Adding a network to genesis is a description
/// (`Networks/*.swift`), a family, and a line in `NetworkFamilies.all`.
public protocol NetworkFamily: Sendable {
    var name: NetworkFamilyName { get }
    /// A file's tensors under this family's names, from the tensors as the file's format mapped
    /// them (the Genesis names; `MappedTensors.flatEntries` gives the file's own); nil when the
    /// file's naming is not one this family's files use.
    func map(_ file: MappedTensors) -> MappedTensors?
    /// Whether the tensors (mapped by `map`) are one of the family's networks, and which.
    func match(_ m: MappedTensors) -> FamilyMatch
    /// The architecture asked for by variant, base width and labels (`verify --variant`); what
    /// they leave open is taken from `like` when it is of this family, else the official network.
    func architecture(variant: String, baseFilters: Int, labels: Int?, like: (any NetworkArchitecture)?) -> (any NetworkArchitecture)?
    /// Normalisations of this family's official input, by name, for `run --window`.
    var inputWindows: [InputNormalisation] { get }
    /// The `--window` a whole scan gets by default (`ct`, `nnunet-ct`).
    var defaultScanWindow: String { get }
}

/// The families genesis knows, in the order a file is tried against them (the Genesis U-Net
/// first, whose mapping every format makes).
public enum NetworkFamilies {
    public static let all: [any NetworkFamily] = [GenesisUNetFamily(), NNUNetGenesisFamily()]

    public static func family(_ name: NetworkFamilyName) -> any NetworkFamily {
        guard let f = all.first(where: { $0.name == name }) else { preconditionFailure("no family \(name.rawValue) in NetworkFamilies.all") }
        return f
    }

    /// The first family whose network the tensors are, with the tensors as that family maps
    /// them; nil when none.
    public static func recognise(_ file: MappedTensors) -> (mapped: MappedTensors, match: FamilyMatch)? {
        for family in all {
            guard let m = family.map(file) else { continue }
            let match = family.match(m)
            if match.architecture != nil { return (m, match) }
        }
        return nil
    }

    /// Why the tensors are no network genesis knows: the Genesis U-Net's verdict, then the verdict
    /// of any other family some of whose tensors the file has.
    public static func verdict(_ file: MappedTensors) -> String {
        var parts: [String] = []
        for family in all {
            guard let m = family.map(file) else { continue }
            let match = family.match(m)
            if family.name == .modelsGenesisUNet3D { parts.append(match.verdict); continue }
            if match.anyTensorMapped { parts.append("not an \(family.name.title) network either: \(match.verdict)") }
        }
        return parts.joined(separator: "; ")
    }

    /// Every family's named input normalisations.
    public static var inputWindows: [InputNormalisation] { all.flatMap(\.inputWindows) }

    /// The family that reports variant `v`.
    public static func family(ofVariant v: String) -> (any NetworkFamily)? {
        NetworkFamilyName.family(ofVariant: v).map(family)
    }
}

extension MappedTensors {
    /// The file's tensors under the file's own names: the mapped ones, then the ones that did not
    /// map (each group in the order the mapping kept).
    public var flatEntries: [(name: String, tensor: Tensor)] {
        store.entries.map { (sourceNames[$0.name] ?? $0.name, $0.tensor) } + unexpected
    }
}

/// A network a file's tensors were recognised as: its architecture and what that rests on.
public struct DetectedNetwork: Sendable {
    public let architecture: any NetworkArchitecture
    /// "14 of 14 blocks fit base 4, ...", "recorded in the file's metadata", "30 of 30 kernels fit ...".
    public let evidence: String

    public init(architecture: any NetworkArchitecture, evidence: String) {
        self.architecture = architecture
        self.evidence = evidence
    }
}
