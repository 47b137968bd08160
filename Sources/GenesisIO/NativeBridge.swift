import Foundation
import GenesisModel
import NativeCheckpoint
import Tensors

/// `.genesis` files <-> payloads: canonical tensors, optimizer slots `optimizer/<param>/<slot>`
/// in the state's own convention, architecture and provenance in the metadata document.
struct NativeBridge: FormatBridge {
    static let counterName = "iterations"
    static let formatName = NativeCheckpoint.formatName

    var kind: FormatKind { .native }
    var extensions: [String] { kind.extensions }
    var containers: [FormatKind.Container] { [.safetensors] }
    var summary: String { "genesis native checkpoint: architecture, provenance, optimizer slots, checksum" }
    func carriesOptimizer(_ options: WriteOptions) -> Bool { options.includeOptimizer }

    func write(_ p: ModelPayload, to path: String, options: WriteOptions) throws {
        let includeOptimizer = options.includeOptimizer
        let arch = p.architecture
        let info = ArchitectureInfo(variant: arch.variant.rawValue, baseWidth: arch.baseFilters, labels: arch.labels, inputShape: p.inputShape,
                                    bnEpsilon: p.bnEpsilonDecimal, bnMomentum: arch.variant == .keras ? 0.99 : 0.1,
                                    bnMomentumConvention: arch.variant.rawValue)
        let prov = Provenance(sourceFile: p.provenance.map { URL(fileURLWithPath: $0.sourceFile).lastPathComponent },
                              sourceSHA256: p.provenance?.sourceSHA256, sourceFormat: p.provenance?.sourceFormat,
                              sourceFormatVersion: p.provenance?.sourceVersion, conversion: p.provenance?.actions ?? [], createdBy: GenesisWriter.name)
        // The network's parameters in state-dict order, then any others the weights carry
        // (a classification head), so a fine-tuned classifier resumes exactly too.
        let (slots, training) = Self.training(includeOptimizer ? p.optimizer : nil, epoch: p.epoch,
                                              order: arch.tensors.filter { $0.role.isTrainable }.map(\.name), weights: p.weights)
        var metadata = NativeMetadata(architecture: info, provenance: prov, training: training)
        metadata.annotations = p.annotations.isEmpty ? nil : p.annotations
        let ckpt = NativeCheckpoint(weights: p.weights, optimizerSlots: slots, metadata: metadata)
        try ckpt.write(to: path)
    }

    /// Optimizer slots (`optimizer/<param>/<slot>`, parameters in `order`, then any other the
    /// weights hold) and the training section, for `o` (nil: the epoch alone, if any).
    static func training(_ o: OptimizerState?, epoch: Int?, order: [String], weights: TensorStore) -> (TensorStore, TrainingState?) {
        var slots = TensorStore()
        guard let o else { return (slots, epoch.map { TrainingState(epoch: $0) }) }
        let others = o.slots.keys.filter { !order.contains($0) && weights[$0] != nil }.sorted()
        for name in order + others {
            for (generic, t) in (o.slots[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                slots[NativeCheckpoint.slotPrefix + name + "/" + OptimizerState.slotName(generic, in: o.convention)] = t
            }
        }
        if let step = o.step { slots[NativeCheckpoint.slotPrefix + counterName] = Tensor(scalarInt64: step) }
        let training = TrainingState(epoch: epoch, step: o.step.map { Int($0) },
                                     optimizer: OptimizerInfo(kind: o.kind.rawValue, convention: o.convention.rawValue,
                                                              hyperparameters: o.hyperparameters.mapValues { .number($0) }))
        return (slots, training)
    }

    func load(_ path: String, verifyChecksums: Bool) throws -> LoadedModel {
        let c = try NativeCheckpoint.read(path, verifyChecksum: verifyChecksums)
        let sibling = SiblingReader.flat(c.weights, naming: .canonical, path: path)
        let mapped = (sibling?.mapped ?? Mapping.fromFlat(c.weights, naming: .canonical)).canonicallyOrdered()
        let a = c.metadata.architecture
        var detected = Detection.detect(mapped)
        if let v = Variant(rawValue: a.variant), (1...Architecture.maxBaseFilters).contains(a.baseWidth), (1...Architecture.maxLabels).contains(a.labels) {
            detected = Detection.Result(architecture: Architecture(variant: v, baseFilters: a.baseWidth, labels: a.labels), evidence: "recorded in the file's metadata")
        }
        var optimizer: OptimizerState?
        if let info = c.metadata.training?.optimizer, let kind = OptimizerState.Kind(rawValue: info.kind),
           let convention = OptimizerState.Convention(rawValue: info.convention) {
            var slots: [String: [String: Tensor]] = [:]
            var step: Int64?
            for (name, t) in c.optimizerSlots.entries {
                let rest = String(name.dropFirst(NativeCheckpoint.slotPrefix.count))
                if rest == Self.counterName { step = t.int64s().first; continue }
                guard let slash = rest.lastIndex(of: "/"), let generic = OptimizerState.genericSlot(String(rest[rest.index(after: slash)...])) else { continue }
                slots[String(rest[..<slash]), default: [:]][generic] = t
            }
            var hp: [String: Double] = [:]
            for (k, v) in info.hyperparameters ?? [:] {
                switch v {
                case let .number(x): hp[k] = x
                case let .bool(b): hp[k] = b ? 1 : 0
                default: break
                }
            }
            optimizer = OptimizerState(kind: kind, convention: convention, step: step ?? c.metadata.training?.step.map { Int64($0) }, hyperparameters: hp, slots: slots)
        }
        let version = c.metadata.formatVersion.description
        let p = c.metadata.provenance
        let recorded = RecordedProvenance(sourceFile: p.sourceFile, sourceSHA256: p.sourceSHA256, sourceFormat: p.sourceFormat,
                                          sourceFormatVersion: p.sourceFormatVersion, conversion: p.conversion, createdBy: p.createdBy,
                                          bnEpsilon: a.bnEpsilon, bnMomentum: a.bnMomentum, bnMomentumConvention: a.bnMomentumConvention,
                                          epoch: c.metadata.training?.epoch, step: c.metadata.training?.step, dataSHA256: c.metadata.dataSHA256)
        var loaded = LoadedModel(path: path, format: .native, formatDescription: "genesis native checkpoint \(version)", mapped: mapped, detected: detected,
                                 kerasListing: nil, inputShape: a.inputShape, optimizer: optimizer, bnEpsilon: Float(a.bnEpsilon), epoch: c.metadata.training?.epoch,
                                 versions: ["format_version": version, "source_format": p.sourceFormat ?? ""], writer: p.createdBy, recorded: recorded)
        loaded.annotations = c.metadata.annotations ?? [:]
        loaded.sibling = sibling?.head
        if let arch = detected?.architecture, sibling == nil {
            let head = ClassifierHead.tensors(in: mapped.unexpected)
            if ClassifierHead.classes(in: head, baseFilters: arch.baseFilters) != nil { loaded.head = head }
        }
        return loaded
    }
}
