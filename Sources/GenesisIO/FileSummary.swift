import GenesisModel
import KerasFormat
import Tensors

/// What `inspect` reports about any file: container, versions, layers (or tensor groups) in
/// saved order with each tensor's shape, dtype and value count, optimizer state, totals.
public struct FileSummary: Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let dtype: DType
        public var values: Int { shape.reduce(1, *) }
    }

    public struct Group: Sendable {
        public let name: String
        public let className: String?
        public let tensors: [Entry]
    }

    public struct Optimizer: Sendable {
        public let className: String?
        public let hyperparameters: [String: Double]
        /// The step counter (`iterations`, `iter`, `iteration`, `step`), when stored.
        public let iterations: Int64?
        public let entries: [Entry]
        /// Entries other than counters and the learning rate: the per-parameter slots.
        public let slotCount: Int
        public let slotValues: Int
    }

    public let path: String
    public let format: FormatKind
    public let formatDescription: String
    public let versions: [String: String]
    public let groups: [Group]
    public let optimizer: Optimizer?
    public let genesis: Detection.Result?
    public let fileBytes: Int
    /// The program that wrote the file, when it says (`genesis_writer`, `created_by`).
    public var writer: String?
    /// What a `.genesis` file records: provenance, BatchNorm settings, training counters.
    public var recorded: RecordedProvenance?
    /// The network the tensors were recognised as, of any family (`genesis` is the Genesis U-Net's).
    public var network: DetectedNetwork?
    /// A Models Genesis sibling's head, when the file is one (`LoadedModel.sibling`).
    public var sibling: SiblingHead?

    public var tensorCount: Int { groups.reduce(0) { $0 + $1.tensors.count } }
    public var valueCount: Int { groups.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.values } } }
    public var tensorBytes: Int { groups.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.values * $1.dtype.byteSize } } }

    public static func of(_ model: LoadedModel) -> FileSummary {
        var s = listing(model)
        s.writer = model.writer
        s.recorded = model.recorded
        s.network = model.recognised
        s.sibling = model.sibling
        return s
    }

    static func listing(_ model: LoadedModel) -> FileSummary {
        let size = (try? FileIO.size(of: model.path)) ?? 0
        if let k = model.kerasListing {
            return FileSummary(path: model.path, format: model.format, formatDescription: model.formatDescription, versions: k.versions,
                               groups: k.groups, optimizer: k.optimizer, genesis: model.detected, fileBytes: size)
        }
        // Flat stores: one group per module (the name up to its last dot).
        var groups: [Group] = []
        var current: (name: String, entries: [Entry])?
        let all = model.mapped.store.entries.map { (model.mapped.sourceNames[$0.name] ?? $0.name, $0.tensor) } + model.mapped.unexpected.map { ($0.name, $0.tensor) }
        for (name, t) in all {
            let module = name.split(separator: ".").dropLast().joined(separator: ".")
            if current?.name != module {
                if let c = current { groups.append(Group(name: c.name, className: nil, tensors: c.entries)) }
                current = (module, [])
            }
            current!.entries.append(Entry(name: name, shape: t.shape, dtype: t.dtype))
        }
        if let c = current { groups.append(Group(name: c.name, className: nil, tensors: c.entries)) }
        var optimizer: Optimizer?
        if let o = model.optimizer {
            var entries: [Entry] = []
            for (p, slots) in o.slots.sorted(by: { $0.key < $1.key }) {
                for (s, t) in slots.sorted(by: { $0.key < $1.key }) { entries.append(Entry(name: "\(p)/\(OptimizerState.slotName(s, in: o.convention))", shape: t.shape, dtype: t.dtype)) }
            }
            optimizer = Optimizer(className: "\(o.kind.rawValue) (\(o.convention.rawValue) convention)", hyperparameters: o.hyperparameters, iterations: o.step,
                                  entries: entries, slotCount: entries.count, slotValues: o.slotValueCount)
        }
        return FileSummary(path: model.path, format: model.format, formatDescription: model.formatDescription, versions: model.versions,
                           groups: groups, optimizer: optimizer, genesis: model.detected, fileBytes: size)
    }

    static func summarizeKerasOptimizer(_ k: KerasModelFile) -> Optimizer {
        var iterations: Int64?
        var slots = 0, slotValues = 0
        for w in k.optimizerWeights {
            switch KerasOptimizerBridge.classify(w) {
            case let .counter(n): iterations = n
            case .learningRate: continue
            case .slot:
                slots += 1
                slotValues += w.tensor.elementCount
            }
        }
        return Optimizer(className: k.optimizer?.className, hyperparameters: k.optimizer?.hyperparameters ?? [:], iterations: iterations,
                         entries: k.optimizerWeights.map { Entry(name: $0.name, shape: $0.tensor.shape, dtype: $0.tensor.dtype) },
                         slotCount: slots, slotValues: slotValues)
    }
}

/// What a Keras file lists, in saved order, without its tensor data: kept by `LoadedModel` so
/// that the Keras-layout tensors are freed once mapped onto the canonical layout.
public struct KerasListing: Sendable {
    public let versions: [String: String]
    public let groups: [FileSummary.Group]
    public let optimizer: FileSummary.Optimizer?

    public init(_ k: KerasModelFile) {
        var versions: [String: String] = [:]
        versions["keras"] = k.kerasVersion
        versions["backend"] = k.backend
        versions["layout"] = k.layout.rawValue
        self.versions = versions
        groups = k.layers.map { l in
            FileSummary.Group(name: l.name, className: l.className,
                              tensors: l.weights.map { FileSummary.Entry(name: $0.name, shape: $0.tensor.shape, dtype: $0.tensor.dtype) })
        }
        optimizer = k.optimizerWeights.isEmpty && k.optimizer == nil ? nil : FileSummary.summarizeKerasOptimizer(k)
    }
}
