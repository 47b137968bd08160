import Tensors

/// The classification head `genesis finetune --task classification` puts on the encoder
/// (global average pooling of depth_7 -> Dense(16b -> 1024, ReLU) -> Dense(1024 -> K)), as data:
/// its canonical tensor names (PyTorch layout, weight (out, in)) and shapes, and the order in
/// which files list its parameters after the network's (optimizer state, Keras weights).
public enum ClassifierHead {
    public static let hidden = 1024
    /// The head's parameters in their documented order: fc1 weight, bias, fc2 weight, bias.
    /// `.pt` optimizer state holds them at positions 64..<68 (after the network's parameters),
    /// a Keras file as `dense_1/kernel`, `dense_1/bias`, `dense_2/kernel`, `dense_2/bias`.
    public static let names = ["head.fc1.weight", "head.fc1.bias", "head.fc2.weight", "head.fc2.bias"]
    /// The Keras layers holding them: (layer name, canonical weight, canonical bias).
    public static let kerasLayers = [("dense_1", names[0], names[1]), ("dense_2", names[2], names[3])]

    public static func shapes(baseFilters b: Int, classes: Int) -> [String: [Int]] {
        [names[0]: [hidden, 16 * b], names[1]: [hidden], names[2]: [classes, hidden], names[3]: [classes]]
    }

    /// The class count of a complete head for base width `b` in `store`, or nil when the store
    /// holds no head or one whose shapes do not fit (every tensor present, fc1 (1024, 16b),
    /// fc2 (K, 1024), biases (1024) and (K)).
    public static func classes(in store: TensorStore, baseFilters b: Int) -> Int? {
        guard let w2 = store[names[2]], w2.rank == 2, w2.shape[1] == hidden, (1...Architecture.maxLabels).contains(w2.shape[0]) else { return nil }
        let want = shapes(baseFilters: b, classes: w2.shape[0])
        return names.allSatisfy { store[$0]?.shape == want[$0] } ? w2.shape[0] : nil
    }

    /// The head tensors among a file's unmapped tensors (`head.*`, with or without `module.`),
    /// in `names` order whatever the file's.
    public static func tensors(in unexpected: [(name: String, tensor: Tensor)]) -> TensorStore {
        var found: [String: Tensor] = [:]
        for (name, t) in unexpected {
            let key = name.hasPrefix(NameMaps.dataParallelPrefix) ? String(name.dropFirst(NameMaps.dataParallelPrefix.count)) : name
            if names.contains(key) { found[key] = t }
        }
        var s = TensorStore()
        for n in names { if let t = found[n] { s[n] = t } }
        return s
    }

    /// Trainable parameters in the order a file lists their state: the network's in state-dict
    /// order, then the head's (in `names` order) when `weights` carry a complete head.
    public static func parameterOrder(_ arch: Architecture, weights: TensorStore) -> [String] {
        let network = arch.tensors.filter { $0.role.isTrainable }.map(\.name)
        return network + (classes(in: weights, baseFilters: arch.baseFilters) != nil ? names : [])
    }
}
