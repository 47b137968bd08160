/// A plan under the layer names of the file it came from.
///
/// The plan names layers as Keras 2.2.4 did (`conv3d_1`, `activation_1`, ...); tf_keras and
/// other versions auto-name them differently (`conv3d`, `activation`), and a user's
/// `load_weights(by_name=True)` matches by those names. A writer that starts from a file keeps
/// that file's names: this maps each plan layer to the source's name.
extension KerasLayerPlan {
    /// Plan layer name -> the source file's name for it, where they differ.
    ///
    /// - `sourceNames`: canonical tensor -> the file's `layer/weight:0` name (`MappedTensors`),
    ///   which names every layer with weights;
    /// - `sourceLayers`: the file's layers in model order with their classes (a full save's
    ///   `layer_names`); used for the layers without weights only when the file has exactly the
    ///   plan's layers, class for class.
    ///
    /// Empty when the names would not be unique (a file that is not laid out as the plan).
    public func sourceLayerNames(sourceNames: [String: String], sourceLayers: [(name: String, className: String?)]) -> [String: String] {
        var names: [String: String] = [:]
        for layer in layers {
            let found = Set(layer.weights.compactMap { w in sourceNames[w.canonical].flatMap(Self.layerName) })
            if found.count == 1, let name = found.first, name != layer.name { names[layer.name] = name }
        }
        let sameLayers = sourceLayers.count == layers.count
            && zip(sourceLayers, layers).allSatisfy { s, p in s.className == nil || s.className == p.className }
        if sameLayers {
            for (s, p) in zip(sourceLayers, layers) where p.weights.isEmpty && s.name != p.name { names[p.name] = s.name }
        }
        let renamed = layers.map { names[$0.name] ?? $0.name }
        return Set(renamed).count == renamed.count ? names : [:]
    }

    /// This plan with layers renamed (`names`: plan name -> new name), inputs included.
    public func renamed(_ names: [String: String]) -> KerasLayerPlan {
        guard !names.isEmpty else { return self }
        return KerasLayerPlan(layers: layers.map { l in
            var r = Layer(name: names[l.name] ?? l.name, className: l.className, weights: l.weights)
            r.inputs = l.inputs.map { names[$0] ?? $0 }
            r.block = l.block
            r.units = l.units
            r.activation = l.activation
            return r
        })
    }

    /// `conv3d/kernel:0` -> `conv3d`; a name without a layer part -> nil.
    static func layerName(_ weight: String) -> String? {
        guard let slash = weight.firstIndex(of: "/"), slash != weight.startIndex else { return nil }
        return String(weight[..<slash])
    }
}
