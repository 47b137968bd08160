import FormatNames
import Tensors

/// The Models Genesis 3D U-Net as a family: every format maps a file onto its names (`Mapping`),
/// the topology match recognises it (`TopologyMatch`), `Architecture` is its network.
public struct GenesisUNetFamily: NetworkFamily {
    public init() {}
    public var name: NetworkFamilyName { .modelsGenesisUNet3D }

    /// The formats' own mapping is this family's.
    public func map(_ file: MappedTensors) -> MappedTensors? { file }

    public func match(_ m: MappedTensors) -> FamilyMatch {
        let t = TopologyMatch.of(m)
        return FamilyMatch(family: name, architecture: t.architecture, evidence: t.evidence, verdict: t.verdict, anyTensorMapped: t.anyTensorMapped,
                           steps: t.steps.map { StructureStep(label: $0.label, tensor: $0.tensor, expected: $0.expected, found: $0.found) })
    }

    public func architecture(variant: String, baseFilters: Int, labels: Int?, like: (any NetworkArchitecture)?) -> (any NetworkArchitecture)? {
        guard let v = Variant(rawValue: variant), (1...Architecture.maxBaseFilters).contains(baseFilters) else { return nil }
        let n = labels ?? (like?.family == name ? like!.labels : 1)
        guard (1...Architecture.maxLabels).contains(n) else { return nil }
        return Architecture(variant: v, baseFilters: baseFilters, labels: n)
    }

    /// `ct` and `mri` are the generic windows (`IntensityWindow`): nothing of its own.
    public var inputWindows: [InputNormalisation] { [] }
    public var defaultScanWindow: String { "ct" }
}

extension Architecture: NetworkArchitecture {
    public var family: NetworkFamilyName { .modelsGenesisUNet3D }
    public var variantName: String { variant.rawValue }
    public var conventions: FrameworkConventions { FrameworkConventions(variant) }
    /// keras: Keras `predict` uses the moving statistics; torch: the official `ContBatchNorm3d`
    /// always normalises with the batch's.
    public var officialBatchStatistics: Bool? { variant == .torch }
    public func verify(_ m: MappedTensors) -> [Problem] { Verification.verify(m, against: self).problems }
    /// Measured bound (`ForwardMemoryEstimate`): skip 2b, up-convolution 4b, two block outputs
    /// 2b each, the input and the lower levels: 9b + 4 + labels per input voxel.
    public var activationValuesPerVoxel: Int? { 9 * baseFilters + 4 + labels }
}
