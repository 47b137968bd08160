import GenesisModel
import Tensors

/// Reads a sibling's file (`SiblingNetworks`): sets the head's tensors apart by name, strips the
/// trunk's prefixes, maps the trunk with the Genesis name maps and detects it. Nil when no
/// layout's head is in the file or the rest is no Genesis network.
enum SiblingReader {
    struct Found {
        var mapped: MappedTensors
        var head: SiblingHead
    }

    /// Flat `state_dict`s (PyTorch, safetensors, `.genesis`): keys with or without `module.`.
    static func flat(_ store: TensorStore, naming: Naming, path: String) -> Found? {
        let prefix = NameMaps.dataParallelPrefix
        let prefixed = !store.isEmpty && store.names.allSatisfy { $0.hasPrefix(prefix) }
        for layout in SiblingNetworks.all {
            let names = layout.headNames
            var trunk = TensorStore()
            var trunkSource: [String: String] = [:]
            var head = TensorStore()
            var headSource: [String: String] = [:]
            for (name, t) in store.entries {
                var key = prefixed ? String(name.dropFirst(prefix.count)) : name
                if names.contains(key) {
                    head[key] = t
                    headSource[key] = name
                    continue
                }
                if let p = layout.trunkPrefixes.first(where: { key.hasPrefix($0) }) { key = String(key.dropFirst(p.count)) }
                trunk[key] = t
                trunkSource[key] = name
            }
            // Recognised by the head's tensors: at least half of the required ones by name.
            let required = layout.head.filter { !$0.optional }.map(\.name)
            guard required.filter({ head[$0] != nil }).count * 2 >= required.count, !head.isEmpty else { continue }
            var m = Mapping.fromFlat(trunk, naming: naming)
            for (canonical, stripped) in m.sourceNames { m.sourceNames[canonical] = trunkSource[stripped] ?? stripped }
            m.unexpected = m.unexpected.map { (trunkSource[$0.name] ?? $0.name, $0.tensor) }
            m.hadModulePrefix = prefixed
            guard let d = Detection.detect(m) else { continue }
            return Found(mapped: m, head: make(layout, head, headSource, base: d.architecture.baseFilters, path: path))
        }
        return nil
    }

    /// Keras layers: the head's layers set apart by name before the Genesis mapping (which would
    /// otherwise fill the final convolution's slot with `depth_14_conv`). Head tensors keep the
    /// Keras layout, named `layer/weight`.
    static func keras(_ layers: [SourceLayer], naming: Naming, path: String) -> Found? {
        for layout in SiblingNetworks.all where layout.keras {
            let headLayers = layout.headLayers
            let (head, trunk) = (layers.filter { headLayers.contains($0.name) }, layers.filter { !headLayers.contains($0.name) })
            guard !head.isEmpty else { continue }
            let m = Mapping.fromKeras(trunk, naming: naming)
            guard let d = Detection.detect(m) else { continue }
            var store = TensorStore()
            var source: [String: String] = [:]
            for layer in head {
                for w in layer.weights {
                    let key = layer.name + "/" + NameMaps.kerasVariable(w.name)
                    store[key] = w.tensor
                    source[key] = w.name.hasPrefix(layer.name + "/") ? w.name : layer.name + "/" + w.name
                }
            }
            return Found(mapped: m, head: make(layout, store, source, base: d.architecture.baseFilters, path: path))
        }
        return nil
    }

    private static func make(_ layout: SiblingLayout, _ found: TensorStore, _ source: [String: String], base: Int, path: String) -> SiblingHead {
        // The head in the layout's order, whatever the file's.
        var ordered = TensorStore()
        for h in layout.head { if let t = found[h.name] { ordered[h.name] = t } }
        let check = layout.check(ordered, baseFilters: base)
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return SiblingHead(layout: layout, network: layout.network(fileName: file), tensors: ordered, sourceNames: source,
                           widths: check.widths, problems: check.problems)
    }
}

extension LoadedModel {
    /// Every problem of the file against the network it holds: the trunk's (a sibling's trunk
    /// without the Genesis output layer is not missing it) and the sibling head's.
    public func problems(_ arch: any NetworkArchitecture) -> [Problem] {
        var p = arch.verify(mapped)
        if let s = sibling, !s.layout.trunkHasOutput {
            p.removeAll { $0.kind == .missing && ($0.tensor.hasSuffix(Layout.finalModule + ".weight") || $0.tensor.hasSuffix(Layout.finalModule + ".bias")) }
        }
        return p + (sibling?.problems ?? [])
    }

    /// Whether the network has its output layer (a SuPreM trunk has none).
    public var hasOutputLayer: Bool { sibling?.layout.trunkHasOutput ?? true }
}
