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

    /// Every tensor against the description, and for a v2-named file every alias that differs
    /// and every v2-only bias of another shape than its layer's output (a nonzero one is not a
    /// problem of the file: it makes a conversion to v1 lossy).
    public func verify(_ m: MappedTensors) -> [Problem] {
        var problems = Verification.verify(m, parameters: network.parameters) + m.foldProblems
        guard m.nnunetV2 else { return problems }
        let expected = NNUNetV2Names.keys(self).filter { $0.v1 == nil }
        for k in expected {
            let shown = (m.hadModulePrefix ? NameMaps.dataParallelPrefix : "") + k.name
            guard let t = m.v2Only[k.name] else {
                problems.append(Problem(tensor: shown, kind: .missing, expected: "\(k.shape)", found: "absent", message: "\(shown): missing (expected float32 \(k.shape))"))
                continue
            }
            if t.shape != k.shape {
                problems.append(Problem(tensor: shown, kind: .shape, expected: "\(k.shape)", found: "\(t.shape)", message: "\(shown): wrong shape: expected \(k.shape), found \(t.shape)"))
            }
        }
        for name in m.v2Only.names where !expected.contains(where: { $0.name == name }) {
            problems.append(Problem(tensor: name, kind: .unexpected, expected: "absent", found: "\(m.v2Only[name]!.shape)", message: "\(name): not a tensor of this network"))
        }
        return problems
    }

    /// A v2-named file's v2-only biases that are not all zero (what v1 cannot hold).
    public static func nonzeroV2Only(_ m: MappedTensors) -> [String] {
        m.v2Only.entries.filter { !$0.tensor.asFloat32().floats().allSatisfy { $0 == 0 } }.map(\.name)
    }

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
        let keys = entries.map { m.hadModulePrefix ? String($0.name.dropFirst(prefix.count)) : $0.name }
        if keys.contains(where: NNUNetV2Names.isV2), let (p, c) = NNUNetV2Names.shape(of: keys) {
            return mapV2(entries, keys: keys, into: m, bottleneck: p, convs: c)
        }
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

    /// An nnU-Net v2 `PlainConvUNet` state dict: each tensor under its v1 name (`NNUNetV2Names`),
    /// taken from its first name; every alias checked equal to it (a differing one is a fold
    /// problem), the v2-only biases kept aside (`v2Only`), anything else unexpected.
    private func mapV2(_ entries: [(name: String, tensor: Tensor)], keys: [String], into start: MappedTensors, bottleneck p: Int, convs c: Int) -> MappedTensors {
        var m = start
        m.nnunetV2 = true
        var firstName: [String: String] = [:]
        for ((name, t), key) in zip(entries, keys) {
            if NNUNetV2Names.isV2Only(key), m.v2Only[key] == nil {
                m.v2Only[key] = t
            } else if let v1 = NNUNetV2Names.v1Name(key, bottleneck: p, convs: c) {
                if let held = m.store[v1] {
                    if held != t {
                        let first = firstName[v1] ?? v1
                        m.foldProblems.append(Problem(tensor: name, kind: .architecture, expected: "equal to \(first) (the same module)",
                                                      found: "different values" + (held.shape == t.shape ? "" : " and shape \(t.shape)"),
                                                      message: "\(name): an alias of \(first) that holds other values (PlainConvUNet registers one tensor under both names)"))
                    }
                } else {
                    m.store[v1] = t
                    m.sourceNames[v1] = name
                    firstName[v1] = name
                }
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
