import HDF5
import Tensors

/// One weight of a Keras layer, under the name the file lists (`depth_0_conv/kernel:0`).
public struct KerasWeight: Sendable {
    public let name: String
    public let tensor: Tensor
    /// Set only by a read with `locateData` (the sandboxed reader's child): the weight's dtype,
    /// shape and where its bytes lie in the file, which were not read; `tensor` is then empty.
    public let located: LocatedTensor?

    public init(name: String, tensor: Tensor) {
        self.name = name
        self.tensor = tensor
        located = nil
    }

    public init(name: String, located: LocatedTensor) {
        self.name = name
        tensor = Tensor(shape: [0], floats: [])
        self.located = located
    }
}

/// A tensor found but not read: its dtype and shape, and the bytes of the file that hold it
/// exactly as a read would return them (`H5Group.contiguousExtent`).
public struct LocatedTensor: Sendable, Equatable {
    public let dtype: DType
    public let shape: [Int]
    public let extent: FileExtent

    public init(dtype: DType, shape: [Int], extent: FileExtent) {
        self.dtype = dtype
        self.shape = shape
        self.extent = extent
    }
}

/// A layer as saved: its name, class (from `model_config` when present) and weights in order.
public struct KerasLayer: Sendable {
    public let name: String
    public let className: String?
    public let weights: [KerasWeight]
    public init(name: String, className: String?, weights: [KerasWeight]) {
        self.name = name
        self.className = className
        self.weights = weights
    }
}

/// Everything a Keras weights file holds, in saved order.
public struct KerasModelFile: Sendable {
    public enum Layout: String, Sendable, Codable {
        /// Keras 2 `model.save`: root attributes, `model_weights`, `optimizer_weights`.
        case fullSave = "keras2-model"
        /// Keras 2 `save_weights`: `layer_names` at the root.
        case weightsOnly = "keras2-weights"
        /// Keras 3 `.weights.h5` (`layers/<class key>/vars/<i>`).
        case keras3Weights = "keras3-weights"
        /// Keras 3 `.keras` zip (config.json + model.weights.h5).
        case keras3Archive = "keras3-archive"
    }

    public let path: String
    public let layout: Layout
    public let kerasVersion: String?
    public let backend: String?
    /// Every listed layer, weightless ones included, in saved order.
    public let layers: [KerasLayer]
    /// Optimizer state in the order the file lists it (restored positionally by Keras).
    public let optimizerWeights: [KerasWeight]
    public let config: KerasModelConfig?
    public let optimizer: KerasOptimizerConfig?
    /// The root attribute `genesis_writer` (the program that wrote the file), when present.
    public let writer: String?
    /// Root string attributes named `genesis_*` other than the writer (e.g. `genesis_run`).
    public var annotations: [String: String] = [:]
    /// Layers kept beside the Keras model (`KerasWriter.Header.extraLayersGroup`: a classifier's
    /// decoder), classes from its `layer_classes`; empty for files without the group.
    public var extraLayers: [KerasLayer] = []

    public init(path: String, layout: Layout, kerasVersion: String?, backend: String?, layers: [KerasLayer],
                optimizerWeights: [KerasWeight], config: KerasModelConfig?, optimizer: KerasOptimizerConfig?, writer: String? = nil) {
        self.path = path
        self.layout = layout
        self.kerasVersion = kerasVersion
        self.backend = backend
        self.layers = layers
        self.optimizerWeights = optimizerWeights
        self.config = config
        self.optimizer = optimizer
        self.writer = writer
    }

    /// Layers that carry weights.
    public var weightedLayers: [KerasLayer] { layers.filter { !$0.weights.isEmpty } }

    /// Values of all layer weights.
    public var valueCount: Int { layers.reduce(0) { $0 + $1.weights.reduce(0) { $0 + $1.tensor.elementCount } } }
}

/// The parts of `model_config` the tool uses: model class, layer classes and names, input shape.
public struct KerasModelConfig: Sendable {
    public let modelClass: String
    public let name: String?
    public let layers: [(className: String, name: String)]
    /// Input shape without the batch axis (`[1, 64, 64, 32]`), nil entries for free axes.
    public let inputShape: [Int?]?

    public init(modelClass: String, name: String?, layers: [(className: String, name: String)], inputShape: [Int?]?) {
        self.modelClass = modelClass
        self.name = name
        self.layers = layers
        self.inputShape = inputShape
    }

    public func className(of layer: String) -> String? { layers.first { $0.name == layer }?.className }
}

/// The optimizer from `training_config`: class and hyperparameters.
public struct KerasOptimizerConfig: Sendable {
    public let className: String
    /// Numeric hyperparameters (`lr`/`learning_rate`, `momentum`, `decay`, `nesterov` as 0/1, ...).
    public let hyperparameters: [String: Double]

    public init(className: String, hyperparameters: [String: Double]) {
        self.className = className
        self.hyperparameters = hyperparameters
    }
}
