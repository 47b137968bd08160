import GenesisModel
import KerasFormat
import Tensors

/// Keras files <-> canonical Genesis tensors.
enum KerasBridge {
    static func sourceLayers(_ m: KerasModelFile) -> [SourceLayer] {
        m.layers.map { l in SourceLayer(name: l.name, className: l.className, weights: l.weights.map { ($0.name, $0.tensor) }) }
    }

    static func mapped(_ m: KerasModelFile) -> MappedTensors {
        let naming: Naming = (m.layout == .keras3Weights || m.layout == .keras3Archive) ? .keras3 : .keras2
        return Mapping.fromKeras(sourceLayers(m), naming: naming)
    }

    /// Canonical tensors as the Keras 2 layers of the official model (kernels back in Keras
    /// layout, `:0` weight names as TensorFlow gives them).
    static func kerasLayers(_ store: TensorStore, architecture: Architecture) throws -> [KerasLayer] {
        try KerasLayerPlan(architecture).layers.map { layer in
            let weights = try layer.weights.map { w -> KerasWeight in
                guard let t = store[w.canonical] else {
                    throw GenesisIOError.cannotWrite(file: layer.name, reason: "tensor \(w.canonical) is missing")
                }
                let k = t.rank == 5 ? t.permuted(NameMaps.canonicalToKerasAxes) : t
                return KerasWeight(name: "\(layer.name)/\(w.keras):0", tensor: k)
            }
            return KerasLayer(name: layer.name, className: layer.className, weights: weights)
        }
    }
}
