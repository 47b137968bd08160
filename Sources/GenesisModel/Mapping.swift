import Tensors

/// How a file named its tensors.
public enum Naming: String, Sendable, Codable {
    case keras2, keras3, torch, canonical
    /// nnU-Net v2's `PlainConvUNet` names (`NNUNetV2Names`): an output naming for the nnU-Net
    /// Genesis network; files so named are read as `torch`, their tensors folded onto v1 names.
    case nnunetv2
}

/// A weighted layer as a Keras file lists it: neutral of the file format.
public struct SourceLayer: Sendable {
    public let name: String
    /// Layer class when known (`Conv3D`, `BatchNormalization`, `Conv3DTranspose`), or a Keras 3
    /// group key such as `conv3d_4`.
    public let className: String?
    public let weights: [(name: String, tensor: Tensor)]

    public init(name: String, className: String?, weights: [(name: String, tensor: Tensor)]) {
        self.name = name
        self.className = className
        self.weights = weights
    }
}

/// A file's tensors under canonical names and layouts, with where each came from and what did
/// not map.
public struct MappedTensors: Sendable {
    public var naming: Naming
    /// Canonical name -> tensor in canonical layout.
    public var store = TensorStore()
    /// Canonical name -> the name in the file.
    public var sourceNames: [String: String] = [:]
    /// Tensors in the file that are not part of the network, under their file names.
    public var unexpected: [(name: String, tensor: Tensor)] = []
    /// Whether keys carried the DataParallel `module.` prefix.
    public var hadModulePrefix = false
    /// Whether the tensors were named as nnU-Net v2's `PlainConvUNet` and folded onto v1 names
    /// (`NNUNetV2Names`).
    public var nnunetV2 = false
    /// Such a file's v2-only biases (transposed and segmentation convolutions), as it holds
    /// them: v1 computes them as zero, so a nonzero one cannot go to v1 exactly.
    public var v2Only = TensorStore()
    /// Problems found folding aliases onto one tensor (an alias that differs from its key).
    public var foldProblems: [Problem] = []

    public init(naming: Naming) { self.naming = naming }

    /// The name a user of the source file would look for: the file's own name, or for a tensor
    /// the file lacks, the name it would have there (`KerasNames.missingName`).
    public func displayName(_ spec: TensorSpec) -> String {
        if let s = sourceNames[spec.name] { return s }
        switch naming {
        case .keras2, .keras3: return KerasNames.missingName(spec, in: self).name
        case .torch: return (hadModulePrefix ? NameMaps.dataParallelPrefix : "") + spec.name
        case .canonical, .nnunetv2: return spec.name
        }
    }

    /// The store in the official `state_dict` order (for containers such as safetensors that
    /// order tensors by their own rule).
    public func canonicallyOrdered() -> MappedTensors {
        var m = self
        let rank = Mapping.canonicalRank
        let sorted = store.names.sorted { (rank[$0] ?? Int.max, $0) < (rank[$1] ?? Int.max, $1) }
        var s = TensorStore()
        s.metadata = store.metadata
        for n in sorted { s[n] = store[n] }
        m.store = s
        return m
    }

    /// Whether shapes should be reported in Keras layout.
    public var kerasLayout: Bool { naming == .keras2 || naming == .keras3 }
}

/// Mapping file tensors to canonical ones. Pure data transformation: no files.
public enum Mapping {
    /// Flat PyTorch-style keys (`module.` prefix optional), or canonical keys.
    public static func fromFlat(_ store: TensorStore, naming: Naming = .torch) -> MappedTensors {
        var m = MappedTensors(naming: naming)
        let known = knownCanonicalNames
        let prefixed = !store.isEmpty && store.names.allSatisfy { $0.hasPrefix(NameMaps.dataParallelPrefix) }
        m.hadModulePrefix = prefixed
        for (name, t) in store.entries {
            let key = prefixed ? String(name.dropFirst(NameMaps.dataParallelPrefix.count)) : name
            if known.contains(key) {
                m.store[key] = t
                m.sourceNames[key] = name
            } else {
                m.unexpected.append((name, t))
            }
        }
        return m
    }

    /// Keras layers (Keras 2 or Keras 3) in file order: `depth_{i}_*` by name, others by kind
    /// and order (the final and transposed convolutions carry generated names).
    public static func fromKeras(_ layers: [SourceLayer], naming: Naming) -> MappedTensors {
        var m = MappedTensors(naming: naming)
        var convTaken = Set<Int>()   // blocks 0...13, 14 = final
        var bnTaken = Set<Int>()
        var upTaken = 0
        var pendingConv: [SourceLayer] = []
        var pendingBN: [SourceLayer] = []
        var other: [SourceLayer] = []

        // Keras 5-D kernels move to the canonical layout up front, on all cores.
        let layers = layers.concurrentMap { l in
            SourceLayer(name: l.name, className: l.className,
                        weights: l.weights.map { ($0.name, $0.tensor.rank == 5 ? $0.tensor.permuted(NameMaps.kerasToCanonicalAxes) : $0.tensor) })
        }
        for layer in layers where !layer.weights.isEmpty {
            if let (b, isBN) = NameMaps.parseKerasBlockLayer(layer.name) {
                if isBN, !bnTaken.contains(b) { bnTaken.insert(b); assign(layer, module: Layout.blockModules[b] + ".bn1", order: NameMaps.kerasBNOrder, into: &m); continue }
                if !isBN, !convTaken.contains(b) { convTaken.insert(b); assign(layer, module: Layout.blockModules[b] + ".conv1", order: NameMaps.kerasConvOrder, into: &m); continue }
                other.append(layer); continue
            }
            switch kind(of: layer) {
            case .up:
                if upTaken < 3 {
                    assign(layer, module: Layout.upsamplerModules[upTaken], order: NameMaps.kerasUpOrder, into: &m)
                    upTaken += 1
                } else { other.append(layer) }
            case .conv: pendingConv.append(layer)
            case .bn: pendingBN.append(layer)
            case .other: other.append(layer)
            }
        }
        // Unnamed convolutions fill the remaining conv slots in order (the final one last).
        var convSlots = (0...14).filter { !convTaken.contains($0) }[...]
        for layer in pendingConv {
            guard let slot = convSlots.popFirst() else { other.append(layer); continue }
            let module = slot == 14 ? Layout.finalModule : Layout.blockModules[slot] + ".conv1"
            assign(layer, module: module, order: NameMaps.kerasConvOrder, into: &m)
        }
        var bnSlots = (0..<14).filter { !bnTaken.contains($0) }[...]
        for layer in pendingBN {
            guard let slot = bnSlots.popFirst() else { other.append(layer); continue }
            assign(layer, module: Layout.blockModules[slot] + ".bn1", order: NameMaps.kerasBNOrder, into: &m)
        }
        for layer in other {
            for w in layer.weights { m.unexpected.append((layer.name + "/" + w.name, w.tensor)) }
        }
        return m
    }

    private enum Kind { case conv, bn, up, other }

    private static func kind(of layer: SourceLayer) -> Kind {
        let c = (layer.className ?? layer.name).lowercased()
        let base = stripIndexSuffix(c)
        switch base {
        case "conv3dtranspose", NameMaps.keras3UpClass, "deconvolution3d": return .up
        case "conv3d", "convolution3d": return .conv
        case "batchnormalization", NameMaps.keras3BNClass: return .bn
        default: break
        }
        // Unknown class: judge by the weights' own names.
        let vars = Set(layer.weights.map { NameMaps.kerasVariable($0.name) })
        if vars.contains("gamma") || vars.contains("moving_mean") { return .bn }
        // A 3-D kernel under a name of the model's own (`final_conv` of the siblings' Y-Net) in a
        // save_weights file, which records no classes.
        if layer.className == nil, layer.weights.contains(where: { NameMaps.kerasVariable($0.name) == "kernel" && $0.tensor.rank == 5 }) { return .conv }
        return .other
    }

    /// `conv3d_14` -> `conv3d`; `batch_normalization` unchanged.
    private static func stripIndexSuffix(_ s: String) -> String {
        guard let u = s.lastIndex(of: "_"), Int(s[s.index(after: u)...]) != nil else { return s }
        return String(s[..<u])
    }

    /// Places a layer's weights: by Keras variable name when recognisable, else by position.
    private static func assign(_ layer: SourceLayer, module: String, order: [TensorRole], into m: inout MappedTensors) {
        let byName = layer.weights.map { w in order.first { NameMaps.kerasWeight($0) == NameMaps.kerasVariable(w.name) } }
        let useNames = byName.allSatisfy { $0 != nil } && Set(byName.compactMap { $0 }).count == byName.count
        for (i, w) in layer.weights.enumerated() {
            let role: TensorRole? = useNames ? byName[i] : (i < order.count ? order[i] : nil)
            guard let role else { m.unexpected.append((layer.name + "/" + w.name, w.tensor)); continue }
            let canonical = module + "." + NameMaps.torchSuffix(role)
            m.store[canonical] = w.tensor  // already in the canonical layout (fromKeras)
            m.sourceNames[canonical] = w.name.hasPrefix(layer.name + "/") ? w.name : layer.name + "/" + w.name
        }
    }

    /// Position of every canonical name in the official `state_dict` order.
    static let canonicalRank: [String: Int] = Dictionary(uniqueKeysWithValues:
        Architecture(variant: .torch, baseFilters: 1, labels: 1).tensors.enumerated().map { ($1.name, $0) })

    /// Every canonical name any variant, width and label count can have.
    public static let knownCanonicalNames: Set<String> = Set(
        Architecture(variant: .torch, baseFilters: 1, labels: 1).tensors.map(\.name)
    )
}
