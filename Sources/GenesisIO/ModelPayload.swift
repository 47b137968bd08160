import GenesisModel
import Tensors

/// Everything a writer needs: canonical weights, their architecture, optional optimizer state,
/// and where they came from.
public struct ModelPayload: Sendable {
    public struct Provenance: Sendable {
        public var sourceFile: String
        public var sourceSHA256: String
        public var sourceFormat: String
        public var sourceVersion: String?
        /// What the conversion did, in words.
        public var actions: [String]

        public init(sourceFile: String, sourceSHA256: String, sourceFormat: String, sourceVersion: String?, actions: [String] = []) {
            self.sourceFile = sourceFile
            self.sourceSHA256 = sourceSHA256
            self.sourceFormat = sourceFormat
            self.sourceVersion = sourceVersion
            self.actions = actions
        }
    }

    public var architecture: Architecture
    public var weights: TensorStore
    public var optimizer: OptimizerState?
    public var epoch: Int?
    /// BatchNorm epsilon of the framework the weights were trained in.
    public var bnEpsilon: Float
    /// The epsilon as the shortest decimal that reads back as this Float (0.001, not
    /// 0.0010000000474974513): what JSON metadata and model_config record.
    public var bnEpsilonDecimal: Double { Double("\(bnEpsilon)") ?? Double(bnEpsilon) }
    /// Input shape (C, D, H, W) the network was built for.
    public var inputShape: [Int]
    public var provenance: Provenance?
    /// The Keras version and backend the source recorded (a Keras file's `keras_version` and
    /// `backend`, or the Keras version a `.genesis` converted from one records); nil when the
    /// source did not say. Keras writers keep them instead of claiming a version of their own.
    public var kerasVersion: String?
    public var kerasBackend: String?
    /// `genesis_*` string entries to store with the weights (`GenesisWriter.annotationPrefix`).
    public var annotations: [String: String] = [:]
    /// Keras layer names of the source where they differ from the official plan's
    /// (`KerasLayerPlan.sourceLayerNames`: tf_keras names the final conv `conv3d`, Keras 2.2.4
    /// `conv3d_1`); the Keras writer keeps them, so `load_weights(by_name=True)` still matches.
    public var kerasLayerNames: [String: String] = [:]

    public init(architecture: Architecture, weights: TensorStore, optimizer: OptimizerState? = nil, epoch: Int? = nil,
                bnEpsilon: Float? = nil, inputShape: [Int] = [1, 64, 64, 32], provenance: Provenance? = nil) {
        self.architecture = architecture
        self.weights = weights
        self.optimizer = optimizer
        self.epoch = epoch
        self.bnEpsilon = bnEpsilon ?? architecture.variant.defaultBNEpsilon
        self.inputShape = inputShape
        self.provenance = provenance
    }
}

/// How to write: options that apply to some formats only.
public struct WriteOptions: Sendable {
    /// Keras .h5: the `model.save` layout (model_config + model_weights [+ optimizer_weights]),
    /// which both `load_model` and `load_weights` take; false: the `save_weights` layout.
    public var kerasFullModel = true
    /// PyTorch: prefix keys with `module.` as `nn.DataParallel` saves them.
    public var modulePrefix = false
    /// Include optimizer state where the format carries it.
    public var includeOptimizer = true
    /// safetensors: which names to write.
    public var naming: Naming = .canonical
    /// A sibling's file (`LoadedModel.sibling`): write its Genesis trunk alone, the head dropped.
    public var trunkOnly = false
    /// ONNX: BatchNorm with the running statistics or the batch's own (nil: the batch's when the
    /// network's official code predicts with them, the PyTorch Genesis U-Net; else inference).
    public var onnxBatchNorm: ONNXBatchNorm?
    /// ONNX: the default domain's opset version (`ONNXExport.opsets`).
    public var onnxOpset: Int = ONNXExport.defaultOpset
    /// MONAI bundle: the weights' licence text (its LICENSE), and one sentence for its README.
    public var licence: String?
    public var licenceSummary: String?

    public init(kerasFullModel: Bool = true, modulePrefix: Bool = false, includeOptimizer: Bool = true, naming: Naming = .canonical,
                trunkOnly: Bool = false, onnxBatchNorm: ONNXBatchNorm? = nil, onnxOpset: Int = ONNXExport.defaultOpset) {
        self.kerasFullModel = kerasFullModel
        self.modulePrefix = modulePrefix
        self.includeOptimizer = includeOptimizer
        self.naming = naming
        self.trunkOnly = trunkOnly
        self.onnxBatchNorm = onnxBatchNorm
        self.onnxOpset = onnxOpset
    }
}

extension LoadedModel {
    /// The file's tensors as a payload for writers (weights only of the network; architecture
    /// detected). Throws `notGenesis` when the file is not a Genesis network.
    /// `digest`: hash the source file for provenance (only formats that record it need it).
    public func payload(digest: Bool = true) throws -> ModelPayload {
        let arch = try architecture()
        let digest = digest ? (try? Checksum.sha256Hex(fileAt: ModelLoader.identifyingFile(path))) ?? "" : ""
        let version = kerasListing?.versions["keras"] ?? versions["format_version"] ?? versions["torch_format"]
        var p = ModelPayload(architecture: arch, weights: mapped.store, optimizer: optimizer, epoch: epoch, bnEpsilon: effectiveBNEpsilon,
                             inputShape: inputShape ?? [1, 64, 64, 32],
                             provenance: .init(sourceFile: path, sourceSHA256: digest, sourceFormat: format.rawValue, sourceVersion: version))
        p.annotations = annotations
        if let k = kerasListing {
            p.kerasVersion = k.versions["keras"]
            p.kerasBackend = k.versions["backend"]
            p.kerasLayerNames = kerasLayerNames
        } else if let r = recorded, let f = r.sourceFormat.flatMap(FormatKind.init(rawValue:)), KerasBridge.kerasKinds.contains(f) {
            p.kerasVersion = r.sourceFormatVersion
        }
        return p
    }

    /// The file's Keras 2 layer names where they differ from the official plan's (empty for
    /// other formats and when the file is not laid out as the plan): what writers keep.
    public var kerasLayerNames: [String: String] {
        guard let k = kerasListing, mapped.naming == .keras2, let arch = try? architecture() else { return [:] }
        return KerasLayerPlan(arch).sourceLayerNames(sourceNames: mapped.sourceNames, sourceLayers: k.groups.map { ($0.name, $0.className) })
    }
}
