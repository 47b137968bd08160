/// Keras names for tensors a file lacks, in the file's own naming, and the names of the
/// official Keras 2.2.4 file (`Genesis_Chest_CT.h5`) for `genesis architecture`.
///
/// Keras names the blocks (`depth_{i}_conv`, `depth_{i}_bn`); the final convolution and the
/// up-convolutions are auto-named, and those names vary by Keras version (`conv3d_1` in Keras
/// 2.2.4, where it is the first unnamed Conv3D; other versions count differently). Files are
/// always mapped by position and shape; these names are only for showing.
public enum KerasNames {
    /// Said wherever a Keras 2.2.4 auto-name stands in for a name the file does not give.
    public static let autoNameNote = "the final conv and the up-convolutions are auto-named layers: conv3d_1 and conv3d_transpose_N in Keras 2.2.4, other names in other Keras versions"

    /// Canonical name -> `layer/weight:0` in the official Keras 2.2.4 file, for a variant.
    static let official: [Variant: [String: String]] = Dictionary(uniqueKeysWithValues: Variant.allCases.map { v in
        let plan = KerasLayerPlan(Architecture(variant: v, baseFilters: 1, labels: 1))
        return (v, Dictionary(uniqueKeysWithValues: plan.layers.flatMap { l in l.weights.map { ($0.canonical, "\(l.name)/\($0.keras):0") } }))
    })

    /// The official Keras 2.2.4 name (`depth_3_conv/kernel:0`, `conv3d_1/kernel:0`); nil for
    /// tensors Keras does not have (`num_batches_tracked`).
    public static func official(_ spec: TensorSpec, variant: Variant) -> String? {
        official[variant]?[spec.name] ?? official[.torch]?[spec.name]
    }

    /// Whether the layer holding this tensor is auto-named by Keras (final conv, up-convolutions).
    public static func isAutoNamed(_ spec: TensorSpec) -> Bool { spec.block == 14 || spec.upsampler != nil }

    /// A name for a tensor the file lacks, in the file's naming: the layer of a tensor of the
    /// same module the file has, else the block name, else Keras 2.2.4's auto-name; `:0` when
    /// the file's weight names carry it. `guessed` is true when the auto-name was used.
    static func missingName(_ spec: TensorSpec, in m: MappedTensors) -> (name: String, guessed: Bool) {
        let module = String(spec.name[..<spec.name.lastIndex(of: ".")!])
        let weight = m.naming == .keras3 ? keras3Variable(spec) : NameMaps.kerasWeight(spec.role)
        // Keras 2 weight names end in `:0` (TensorFlow's); Keras 3's legacy .h5 drops it.
        let suffix = m.naming == .keras3 || m.sourceNames.values.contains(where: { !$0.hasSuffix(":0") }) ? "" : ":0"
        let sibling = m.sourceNames.first { key, _ in key.hasPrefix(module + ".") && !key.dropFirst(module.count + 1).contains(".") }
        if let (_, name) = sibling, let slash = name.lastIndex(of: "/") {
            return ("\(name[..<slash])/\(weight)\(suffix)", false)
        }
        let layer = NameMaps.kerasLayer(of: spec)
        if m.naming == .keras3 {
            // Keras 3.6+ records layer names (`vars@name`); older files only the class keys.
            // Named layers keep their names; Keras 3 auto-names the final conv `conv3d` and the
            // up-convolutions `conv3d_transpose`, `conv3d_transpose_1`, ...
            if m.sourceNames.values.contains(where: { $0.hasPrefix("depth_") }) {
                if let layer { return ("\(layer)/\(weight)", false) }
                if spec.block == 14 { return ("\(NameMaps.keras3ConvClass)/\(weight)", true) }
                if let u = spec.upsampler { return ("\(u == 0 ? NameMaps.keras3UpClass : "\(NameMaps.keras3UpClass)_\(u)")/\(weight)", true) }
            }
            return (keras3Group(spec).map { "\($0)/\(weight)" } ?? spec.name, isAutoNamed(spec))
        }
        if let layer { return ("\(layer)/\(weight)\(suffix)", false) }
        var name = official(spec, variant: spec.upsampler == nil ? .keras : .torch) ?? spec.name
        if suffix.isEmpty, name.hasSuffix(":0") { name.removeLast(2) }
        // Another layer of this file may carry that auto-name (a network that is not Genesis).
        if m.sourceNames.values.contains(where: { $0.hasPrefix(name.prefix { $0 != "/" } + "/") }) {
            return ((spec.upsampler.map { "up-convolution \($0)" } ?? "final conv") + "/\(weight)\(suffix)", false)
        }
        return (name, true)
    }

    /// Keras 3 names groups by class and creation order: `conv3d`, `conv3d_1`, ... (the final
    /// conv is the 15th), `batch_normalization_{i}`, `conv3d_transpose_{u}`; weights `0`, `1`, ...
    static func keras3Group(_ spec: TensorSpec) -> String? {
        func numbered(_ base: String, _ i: Int) -> String { i == 0 ? base : "\(base)_\(i)" }
        switch spec.role {
        case .convWeight, .convBias: return spec.block.map { numbered(NameMaps.keras3ConvClass, $0) }
        case .bnGamma, .bnBeta, .bnMean, .bnVariance: return spec.block.map { numbered(NameMaps.keras3BNClass, $0) }
        case .upWeight, .upBias: return spec.upsampler.map { numbered(NameMaps.keras3UpClass, $0) }
        case .bnCount: return nil
        }
    }

    static func keras3Variable(_ spec: TensorSpec) -> String {
        let order = [NameMaps.kerasConvOrder, NameMaps.kerasBNOrder, NameMaps.kerasUpOrder].first { $0.contains(spec.role) }
        return order.flatMap { $0.firstIndex(of: spec.role) }.map(String.init) ?? NameMaps.torchSuffix(spec.role)
    }
}
