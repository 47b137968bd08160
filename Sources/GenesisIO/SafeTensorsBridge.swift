import GenesisModel
import SafeTensors
import Tensors

/// safetensors files <-> payloads, under canonical, PyTorch (`module.` optional) or Keras names.
/// A safetensors container whose metadata says `format: genesis` is a native checkpoint.
struct SafeTensorsBridge: FormatBridge {
    var kind: FormatKind { .safetensors }
    var extensions: [String] { kind.extensions }
    var containers: [FormatKind.Container] { [.safetensors] }
    var summary: String { "safetensors, names by --naming (canonical, torch, keras2)" }
    func carriesOptimizer(_ options: WriteOptions) -> Bool { false }

    func load(_ path: String, verifyChecksums: Bool) throws -> LoadedModel {
        let f = try SafeTensors.read(path)
        if f.metadata["format"] == NativeBridge.formatName { return try NativeBridge().load(path, verifyChecksums: verifyChecksums) }
        let store = f.tensors
        var mapped: MappedTensors
        let sibling = SiblingReader.flat(store, naming: .torch, path: path)
        // Keras names are `layer/weight[:0]`; flat names are dotted module paths.
        if !store.isEmpty, store.names.allSatisfy({ $0.contains("/") }) {
            var layers: [SourceLayer] = []
            for (name, t) in store.entries {
                let layer = String(name[..<name.firstIndex(of: "/")!])
                if let last = layers.last, last.name == layer {
                    layers[layers.count - 1] = SourceLayer(name: layer, className: nil, weights: last.weights + [(name, t)])
                } else {
                    layers.append(SourceLayer(name: layer, className: nil, weights: [(name, t)]))
                }
            }
            mapped = Mapping.fromKeras(layers, naming: .keras2).canonicallyOrdered()
        } else {
            mapped = Mapping.fromFlat(store, naming: .torch).canonicallyOrdered()
        }
        var versions = f.metadata
        versions.removeValue(forKey: "genesis")
        let label = f.metadata["format"].map { " (metadata format: \($0))" } ?? ""
        if let s = sibling { mapped = s.mapped.canonicallyOrdered() }
        var loaded = LoadedModel(path: path, format: .safetensors, formatDescription: "safetensors\(label)", mapped: mapped,
                                 detected: Detection.detect(mapped), kerasListing: nil, inputShape: nil, optimizer: nil, versions: versions,
                                 writer: f.metadata[GenesisWriter.key])
        loaded.sibling = sibling?.head
        return loaded
    }

    func write(_ p: ModelPayload, to path: String, options: WriteOptions) throws {
        let naming = options.naming
        var store = TensorStore()
        switch naming {
        case .nnunetv2:
            throw GenesisIOError.cannotWrite(file: path, reason: "--naming nnunetv2 names the nnU-Net Genesis network's tensors, not the \(p.architecture)'s")
        case .canonical, .torch:
            let prefix = options.modulePrefix ? NameMaps.dataParallelPrefix : ""
            for (n, t) in p.weights.entries { store[prefix + n] = t }
        case .keras2, .keras3:
            for layer in try KerasBridge.kerasLayers(p.weights, architecture: p.architecture) {
                for w in layer.weights { store[w.name] = w.tensor }
            }
        }
        // `format: pt` is what Python's safetensors conversion writes for PyTorch state dicts.
        let metadata = ["format": naming == .keras2 || naming == .keras3 ? "keras" : "pt",
                        "genesis_variant": p.architecture.variant.rawValue, "genesis_base_filters": String(p.architecture.baseFilters),
                        "genesis_labels": String(p.architecture.labels), "genesis_bn_epsilon": String(p.bnEpsilon),
                        GenesisWriter.key: GenesisWriter.name]
        try SafeTensors.write(store, metadata: metadata, to: path)
    }
}
