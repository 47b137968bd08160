import GenesisModel
import HDF5Sandbox
import KerasFormat
import Tensors

/// Keras files <-> canonical Genesis tensors: Keras 2 HDF5 (read and written), Keras 3
/// `.weights.h5` and `.keras` (read). One bridge value per `FormatKind`; the three share the
/// reader, which picks the layout from the file's structure.
struct KerasBridge: FormatBridge {
    static let kerasKinds: Set<FormatKind> = [.kerasH5, .keras3Weights, .keras3Zip]

    let kind: FormatKind
    init(_ kind: FormatKind) {
        precondition(Self.kerasKinds.contains(kind))
        self.kind = kind
    }

    var extensions: [String] { kind.extensions }
    var containers: [FormatKind.Container] { kind == .keras3Zip ? [.zip] : [.hdf5] }
    var summary: String {
        switch kind {
        case .kerasH5: return "Keras 2 HDF5: model.save (default when writing) or save_weights (--weights-only)"
        case .keras3Weights: return "Keras 3 .weights.h5 (read only)"
        default: return "Keras 3 .keras archive (read only)"
        }
    }
    var canWrite: Bool { kind == .kerasH5 }
    func variant(for source: Variant) -> Variant { .keras }
    var optimizerConvention: OptimizerState.Convention? { .keras }
    func carriesOptimizer(_ options: WriteOptions) -> Bool { canWrite && options.includeOptimizer && options.kerasFullModel }

    // MARK: Reading

    func load(_ path: String, verifyChecksums: Bool) throws -> LoadedModel {
        try load(path, verifyChecksums: verifyChecksums, hdf5: .standard)
    }

    /// libhdf5 reads the file in a sandboxed child unless `hdf5` names a reason not to.
    func load(_ path: String, verifyChecksums: Bool, hdf5: HDF5Isolation) throws -> LoadedModel {
        let k = try hdf5.readKeras(path, archive: kind == .keras3Zip)
        let sibling = SiblingReader.keras(Self.sourceLayers(k), naming: Self.naming(k), path: path)
        let mapped = sibling?.mapped ?? Self.mapped(k)
        var input: [Int]?
        // The recorded input (batch axis dropped) when it is a usable cube shape: 4 positive
        // sides whose float32 cube fits the tensor cap; anything else is treated as absent.
        if let recorded = k.config?.inputShape, recorded.count == 4, case let s = recorded.compactMap({ $0 }), s.count == 4,
           s.allSatisfy({ $0 >= 1 }), (try? Limits.byteCount(s, .float32)) != nil {
            input = s
        }
        let detected = Detection.detect(mapped)
        var optimizer: OptimizerState?
        var head = TensorStore()
        if let arch = detected?.architecture {
            let candidate = Self.head(k)
            if sibling == nil, ClassifierHead.classes(in: candidate, baseFilters: arch.baseFilters) != nil { head = candidate }
            // A classifier's Keras model trains the encoder and the head (in that order); the
            // U-Net's trains every trainable tensor.
            let network = arch.tensors.filter { $0.role.isTrainable }
            let trainable = head.isEmpty ? network.map(\.name) : network.filter { ($0.block ?? 99) < 8 }.map(\.name) + ClassifierHead.names
            var shapes = Dictionary(uniqueKeysWithValues: network.map { ($0.name, $0.shape) })
            for (n, t) in head.entries { shapes[n] = t.shape }
            // A sibling's optimizer state covers its head too: not read.
            optimizer = sibling == nil ? KerasOptimizerBridge.state(k, trainable: trainable, shapes: shapes) : nil
        }
        var loaded = LoadedModel(path: path, format: kind, formatDescription: Self.describe(k), mapped: mapped, detected: detected,
                                 kerasListing: KerasListing(k), inputShape: input, optimizer: optimizer, writer: k.writer)
        loaded.head = head
        loaded.sibling = sibling?.head
        if detected == nil, !Self.head(k).isEmpty, k.extraLayers.isEmpty {
            loaded.detectionNote = "a Keras classifier (two Dense layers after the encoder) without the Genesis decoder that genesis keeps beside it (group \(KerasWriter.Header.extraLayersGroup), which a Keras re-save drops): genesis reads, runs and resumes whole Genesis networks only; load it in Keras, or fine-tune again from the pretrained model"
        }
        loaded.annotations = k.annotations
        return loaded
    }

    static func describe(_ k: KerasModelFile) -> String {
        let what: String
        switch k.layout {
        case .fullSave: what = "Keras 2 HDF5 model save"
        case .weightsOnly: what = "Keras 2 HDF5 weights (save_weights)"
        case .keras3Weights: what = "Keras 3 .weights.h5"
        case .keras3Archive: what = "Keras 3 .keras archive"
        }
        let details = [k.kerasVersion.map { "keras \($0)" }, k.backend].compactMap { $0 }
        return details.isEmpty ? what : "\(what) (\(details.joined(separator: ", ")))"
    }

    /// The model's layers, then those Genesis keeps beside a classifier's model (its decoder).
    static func sourceLayers(_ m: KerasModelFile) -> [SourceLayer] {
        (m.layers + m.extraLayers).map { l in SourceLayer(name: l.name, className: l.className, weights: l.weights.map { ($0.name, $0.tensor) }) }
    }

    /// A classification head: the model's two Dense layers (by class in model_config, else by
    /// name `dense*`), kernels (in, out) transposed to the canonical (out, in). Empty when the
    /// model has no such pair; the caller checks the shapes against the network.
    static func head(_ m: KerasModelFile) -> TensorStore {
        let dense = m.layers.filter { ($0.className ?? $0.name).lowercased().hasPrefix("dense") && $0.weights.count == 2 }
        guard dense.count == 2 else { return TensorStore() }
        var s = TensorStore()
        for (layer, (_, weight, bias)) in zip(dense, ClassifierHead.kerasLayers) {
            for w in layer.weights {
                switch NameMaps.kerasVariable(w.name) {
                case "kernel" where w.tensor.rank == 2: s[weight] = canonicalLayout(w.tensor)
                case "bias" where w.tensor.rank == 1: s[bias] = w.tensor
                default: return TensorStore()
                }
            }
        }
        return s
    }

    /// Keras layout -> canonical: conv kernels (kD, kH, kW, in, out) -> (out, in, kD, kH, kW),
    /// Dense kernels (in, out) -> (out, in) (the only rank-2 tensors); others as they are.
    @Sendable static func canonicalLayout(_ t: Tensor) -> Tensor {
        t.rank == 5 ? t.permuted(NameMaps.kerasToCanonicalAxes) : t.rank == 2 ? t.permuted([1, 0]) : t
    }

    /// Canonical -> Keras layout (the inverse of `canonicalLayout`).
    @Sendable static func kerasLayout(_ t: Tensor) -> Tensor {
        t.rank == 5 ? t.permuted(NameMaps.canonicalToKerasAxes) : t.rank == 2 ? t.permuted([1, 0]) : t
    }

    static func mapped(_ m: KerasModelFile) -> MappedTensors {
        Mapping.fromKeras(sourceLayers(m), naming: naming(m))
    }

    static func naming(_ m: KerasModelFile) -> Naming {
        (m.layout == .keras3Weights || m.layout == .keras3Archive) ? .keras3 : .keras2
    }

    // MARK: Writing

    /// Keras 2 HDF5. The full save (default) carries `model_config`, and `training_config` and
    /// `optimizer_weights` when there is Keras-convention optimizer state; `keras_version` and
    /// `backend` are the source's when it recorded them, else tf_keras 2.21's (the layout's).
    /// Weights with a classification head (`ClassifierHead`) are written as the classifier's
    /// Keras model (`KerasLayerPlan(classifier:classes:)`), its decoder beside it in
    /// `KerasWriter.extraLayersGroup`, which Keras loaders do not read.
    func write(_ p: ModelPayload, to path: String, options: WriteOptions) throws {
        guard canWrite else { throw GenesisIOError.cannotWrite(file: path, reason: "writing \(kind.rawValue) is not available: write .h5 (Keras 3 loads it)") }
        let arch = p.architecture
        let classes = ClassifierHead.classes(in: p.weights, baseFilters: arch.baseFilters)
        let plan = (classes.map { KerasLayerPlan(classifier: arch, classes: $0) } ?? KerasLayerPlan(arch)).renamed(p.kerasLayerNames)
        let layers = try Self.kerasLayers(p.weights, layers: plan.layers)
        let extra = classes == nil ? [] : try Self.kerasLayers(p.weights, layers: KerasLayerPlan.decoderLayers(arch))
        var header = KerasWriter.Header(writer: GenesisWriter.name, annotations: p.annotations)
        if let v = p.kerasVersion, !v.isEmpty { header.kerasVersion = v }
        if let b = p.kerasBackend, !b.isEmpty { header.backend = b }
        guard options.kerasFullModel else {
            try KerasWriter.writeWeights(layers, extraLayers: extra, to: path, header: header)
            return
        }
        var optimizerWeights: [KerasWeight] = []
        var training: String?
        if options.includeOptimizer, let o = p.optimizer, o.convention == .keras {
            let shapes = Dictionary(uniqueKeysWithValues: p.weights.entries.map { ($0.name, $0.tensor.shape) })
            optimizerWeights = KerasOptimizerBridge.kerasWeights(o, names: Self.kerasWeightNames(plan, architecture: arch), shapes: shapes)
            training = KerasModelConfig.trainingConfig(optimizer: o.kind == .sgd ? "SGD" : "Adam", hyperparameters: o.hyperparameters,
                                                       loss: classes.map { $0 == 1 ? "binary_crossentropy" : "categorical_crossentropy" } ?? "mse")
        }
        try KerasWriter.writeModel(layers, extraLayers: extra, optimizerWeights: optimizerWeights,
                                   modelConfig: KerasModelConfig.modelConfig(arch, inputShape: p.inputShape, bnEpsilon: p.bnEpsilonDecimal, plan: plan),
                                   trainingConfig: training, to: path, header: header)
    }

    /// Canonical tensors as the Keras 2 layers of the official model (kernels back in Keras
    /// layout, `:0` weight names as TensorFlow gives them).
    static func kerasLayers(_ store: TensorStore, architecture: Architecture) throws -> [KerasLayer] {
        try kerasLayers(store, layers: KerasLayerPlan(architecture).layers)
    }

    static func kerasLayers(_ store: TensorStore, layers: [KerasLayerPlan.Layer]) throws -> [KerasLayer] {
        try layers.map { layer in
            let weights = try layer.weights.map { w -> KerasWeight in
                guard let t = store[w.canonical] else {
                    throw GenesisIOError.cannotWrite(file: layer.name, reason: "tensor \(w.canonical) is missing")
                }
                return KerasWeight(name: "\(layer.name)/\(w.keras):0", tensor: kerasLayout(t))
            }
            return KerasLayer(name: layer.name, className: layer.className, weights: weights)
        }
    }

    /// Trainable canonical names in Keras weight order, with their Keras names (`depth_0_conv/kernel`).
    static func kerasWeightNames(_ architecture: Architecture) -> [(canonical: String, keras: String)] {
        kerasWeightNames(KerasLayerPlan(architecture), architecture: architecture)
    }

    static func kerasWeightNames(_ plan: KerasLayerPlan, architecture: Architecture) -> [(canonical: String, keras: String)] {
        let trainable = Set(architecture.tensors.filter { $0.role.isTrainable }.map(\.name) + ClassifierHead.names)
        return plan.layers.flatMap { layer in
            layer.weights.filter { trainable.contains($0.canonical) }.map { ($0.canonical, "\(layer.name)/\($0.keras)") }
        }
    }
}
