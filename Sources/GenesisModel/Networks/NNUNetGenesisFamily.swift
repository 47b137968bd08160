import FormatNames
import Tensors

/// An nnU-Net Genesis network (`NetworkDescription.nnunetGenesis`, schemas/nnunet-genesis.md):
/// nnU-Net v1's `Generic_UNet` with convolutional pooling and upsampling, InstanceNorm and
/// LeakyReLU, widths doubling from `baseFilters` up to `maxFilters`, the logits of the last
/// segmentation convolution as output.
public struct NNUNetArchitecture: NetworkArchitecture, Equatable {
    public let inputChannels: Int
    public let baseFilters: Int
    /// The width cap (`max_num_features`; 320 in nnU-Net v1 3D).
    public let maxFilters: Int
    /// Whether some level's width is the cap (else the tensors cannot tell it: any cap at least
    /// the widest level gives the same network).
    public let maxFiltersReached: Bool
    /// Per downsampling, the factors on D, H, W.
    public let pools: [[Int]]
    /// Per stage (pools.count + 1), the convolution kernel on D, H, W.
    public let kernels: [[Int]]
    public let labels: Int
    public let convsPerStage: Int

    /// The official file's network: base 32, cap 320, 2 labels, the official pools, 3x3x3 kernels.
    public static let official = NNUNetArchitecture(baseFilters: 32)

    /// Largest accepted base width, cap, label count and stage count (the official: 32, 320, 2, 5 pools).
    public static let maxWidth = 4096
    public static let maxLabels = 4096
    public static let maxPools = 8

    public init(inputChannels: Int = 1, baseFilters: Int, maxFilters: Int = 320, maxFiltersReached: Bool = true,
                pools: [[Int]] = NetworkDescription.nnunetGenesisPools, kernels: [[Int]]? = nil, labels: Int = 2, convsPerStage: Int = 2) {
        self.inputChannels = inputChannels
        self.baseFilters = baseFilters
        self.maxFilters = maxFilters
        self.maxFiltersReached = maxFiltersReached
        self.pools = pools
        self.kernels = kernels ?? [[Int]](repeating: [3, 3, 3], count: pools.count + 1)
        self.labels = labels
        self.convsPerStage = convsPerStage
    }

    public var family: NetworkFamilyName { .nnunetV1GenericUNet }
    public var variantName: String { "nnunet" }
    public var conventions: FrameworkConventions { .torch }
    /// InstanceNorm only: no batch statistics either way.
    public var officialBatchStatistics: Bool? { nil }
    public var recipe: TrainingRecipe { .nnunetGenesis }

    /// Width of each level, the bottleneck last (Generic_UNet: twice the previous, capped).
    public var widths: [Int] {
        var w = [baseFilters]
        for _ in pools.indices { w.append(min(2 * w[w.count - 1], maxFilters)) }
        return w
    }

    public var network: NetworkDescription {
        NetworkDescription.nnunetGenesis(inputChannels: inputChannels, baseFilters: baseFilters, maxFilters: maxFilters, pools: pools,
                                         kernels: kernels, labels: labels, convsPerStage: convsPerStage)
    }

    public var facts: [ArchitectureFact] {
        [ArchitectureFact("pools", .intLists(pools)), ArchitectureFact("max_filters", maxFiltersReached ? .int(maxFilters) : .none),
         ArchitectureFact("widths", .ints(widths)), ArchitectureFact("kernels", .intLists(kernels)),
         ArchitectureFact("convs_per_stage", .int(convsPerStage)), ArchitectureFact("input_channels", .int(inputChannels))]
    }

    public func verify(_ m: MappedTensors) -> [Problem] { Verification.verify(m, parameters: network.parameters) }

    /// "nnU-Net Genesis, base 32, cap 320, pools 2x2x2 x4, 1x2x2, 2 labels (logits)".
    public var description: String {
        var groups: [(pool: [Int], count: Int)] = []
        for p in pools {
            if let last = groups.last, last.pool == p { groups[groups.count - 1].count += 1 } else { groups.append((p, 1)) }
        }
        let poolText = groups.map { g in g.pool.map(String.init).joined(separator: "x") + (g.count > 1 ? " x\(g.count)" : "") }.joined(separator: ", ")
        let cap = maxFiltersReached ? "cap \(maxFilters)" : "no level at a cap"
        let odd = Set(kernels) == [[3, 3, 3]] ? "" : ", kernels " + kernels.map { $0.map(String.init).joined(separator: "x") }.joined(separator: " ")
        let convs = convsPerStage == 2 ? "" : ", \(convsPerStage) convs per stage"
        let inputs = inputChannels == 1 ? "" : ", \(inputChannels) input channels"
        return "nnU-Net Genesis, base \(baseFilters), \(cap), pools \(poolText)\(odd)\(convs)\(inputs), \(labels) label\(labels == 1 ? "" : "s") (logits)"
    }
}

/// nnU-Net Genesis files (`genesis_nnunet_luna16_006.model`): flat PyTorch keys named as
/// Generic_UNet's `state_dict` (`module.` optional), recognised by `NNUNetDetection`.
public struct NNUNetGenesisFamily: NetworkFamily {
    public init() {}
    public var name: NetworkFamilyName { .nnunetV1GenericUNet }

    /// The official input normalisation (`competition/Genesis_nnUNet.py`): cubes in [0, 1] are
    /// taken back to HU as x * 2000 - 1000, then standardised with these constants.
    public static let mean = -775.8457
    public static let std = 251.9326

    /// Keys under Generic_UNet's module lists go to the store; others do not belong.
    public func map(_ file: MappedTensors) -> MappedTensors? {
        guard file.naming == .torch || file.naming == .canonical else { return nil }
        let entries = file.flatEntries
        var m = MappedTensors(naming: file.naming)
        let prefix = NameMaps.dataParallelPrefix
        m.hadModulePrefix = !entries.isEmpty && entries.allSatisfy { $0.name.hasPrefix(prefix) }
        for (name, t) in entries {
            let key = m.hadModulePrefix ? String(name.dropFirst(prefix.count)) : name
            if NNUNetDetection.modules.contains(where: { key.hasPrefix($0 + ".") }), m.store[key] == nil {
                m.store[key] = t
                m.sourceNames[key] = name
            } else {
                m.unexpected.append((name, t))
            }
        }
        return m
    }

    public func match(_ m: MappedTensors) -> FamilyMatch { NNUNetDetection.match(m) }

    public func architecture(variant: String, baseFilters: Int, labels: Int?, like: (any NetworkArchitecture)?) -> (any NetworkArchitecture)? {
        guard variant == "nnunet", (1...NNUNetArchitecture.maxWidth).contains(baseFilters) else { return nil }
        let a = like as? NNUNetArchitecture ?? .official
        let n = labels ?? a.labels
        guard (1...NNUNetArchitecture.maxLabels).contains(n) else { return nil }
        return NNUNetArchitecture(inputChannels: a.inputChannels, baseFilters: baseFilters, maxFilters: max(a.maxFilters, baseFilters),
                                  maxFiltersReached: a.maxFiltersReached, pools: a.pools, kernels: a.kernels, labels: n, convsPerStage: a.convsPerStage)
    }

    public var inputWindows: [InputNormalisation] {
        [InputNormalisation(name: "nnunet-ct", takes: "HU",
                            summary: "HU clipped to [-1000, 1000], then (x - (-775.8457)) / 251.9326, as Genesis_nnUNet.py normalised its input",
                            low: -1000, high: 1000, mean: Self.mean, std: Self.std),
         InputNormalisation(name: "nnunet-cubes", takes: "[0, 1] cubes",
                            summary: "[0, 1] cubes (genesis cubes, the official cube files) to HU as x * 2000 - 1000, then (x - (-775.8457)) / 251.9326, as Genesis_nnUNet.py normalised its input",
                            inputScale: 2000, inputOffset: -1000, low: -1000, high: 1000, mean: Self.mean, std: Self.std)]
    }

    public var defaultScanWindow: String { "nnunet-ct" }
}
