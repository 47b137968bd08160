/// The network families genesis recognises from a file's tensors, and the variant names each one
/// reports (`verify --json`'s `variant`): the one table the families in `GenesisModel`
/// (`NetworkFamilies.all`), the zoo manifests' `architecture.family` and `architecture.variant`,
/// and `schemas/zoo-manifest.schema.json` are made from or tested against. A target of its own's
/// table (FormatNames) so that `Zoo`, which imports no network, reads the same names.
public enum NetworkFamilyName: String, Sendable, CaseIterable, Codable {
    /// The Models Genesis 3D U-Net (schemas/genesis-architecture.md): `keras` and `torch` variants.
    case modelsGenesisUNet3D = "models-genesis-unet3d"
    /// nnU-Net v1's `Generic_UNet` as pretrained by Models Genesis (schemas/nnunet-genesis.md).
    case nnunetV1GenericUNet = "nnunet-v1-generic-unet"

    /// The variant names the family reports, the usual one first.
    public var variants: [String] {
        switch self {
        case .modelsGenesisUNet3D: return FrameworkName.allCases.map(\.rawValue)
        case .nnunetV1GenericUNet: return ["nnunet"]
        }
    }

    /// What a person calls it: "Models Genesis 3D U-Net", "nnU-Net Genesis".
    public var title: String {
        switch self {
        case .modelsGenesisUNet3D: return "Models Genesis 3D U-Net"
        case .nnunetV1GenericUNet: return "nnU-Net Genesis"
        }
    }

    /// The family a variant name belongs to.
    public static func family(ofVariant v: String) -> NetworkFamilyName? { allCases.first { $0.variants.contains(v) } }

    /// Every variant of every family, for messages: "keras, torch or nnunet".
    public static var variantList: String {
        let all = allCases.flatMap(\.variants)
        return all.dropLast().joined(separator: ", ") + (all.count > 1 ? " or " : "") + (all.last ?? "")
    }
}
