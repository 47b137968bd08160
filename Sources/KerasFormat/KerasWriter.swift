import HDF5
import Tensors

/// Writes Keras 2 HDF5 files in the layout every Keras generation loads (schemas/formats.md, "Keras 2 HDF5"):
/// fixed-length null-padded name lists (split past 64512 bytes), a group per listed layer
/// (weightless ones included, with the empty float64 `weight_names`), float32 datasets at
/// `<layer>/<weight_name>`. Files are written beside the target and renamed into place.
public enum KerasWriter {
    /// What the file says of itself. `kerasVersion` and `backend` go where Keras puts them (root
    /// and weights group); `writer`, when set, becomes the root attribute `genesis_writer`,
    /// which no Keras loader reads.
    public struct Header: Sendable {
        /// The version tf_keras 2.21 records (`2.21.0`, as in the shared fixtures): the layout
        /// written here (Keras 2 legacy HDF5, `:0` weight names, tf_keras optimizer entry names)
        /// is the one tf_keras 2.21 `model.save(..., save_format="h5")` writes and loads.
        public static let defaultKerasVersion = "2.21.0"
        public static let writerAttribute = "genesis_writer"
        /// A root group of layers that belong with the weights but not to the Keras model
        /// (the decoder beside a fine-tuned classifier): the `model_weights` layout, plus
        /// `layer_classes` (the layers' classes, in `layer_names` order). No Keras loader reads it.
        public static let extraLayersGroup = "genesis_extra_layers"
        public var kerasVersion: String
        public var backend: String
        public var writer: String?
        /// More root attributes (variable-length strings), e.g. `genesis_run`; no Keras loader reads them.
        public var annotations: [String: String]
        public init(kerasVersion: String = Header.defaultKerasVersion, backend: String = "tensorflow", writer: String? = nil,
                    annotations: [String: String] = [:]) {
            self.kerasVersion = kerasVersion
            self.backend = backend
            self.writer = writer
            self.annotations = annotations
        }

        func writeRootAttributes(_ root: H5Group) throws {
            if let w = writer { try root.setStringAttribute(Header.writerAttribute, w) }
            for (k, v) in annotations.sorted(by: { $0.key < $1.key }) { try root.setVariableStringAttribute(k, v, utf8: true) }
        }
    }

    /// `save_weights` layout: `layer_names` at the root.
    public static func writeWeights(_ layers: [KerasLayer], extraLayers: [KerasLayer] = [], to path: String, header: Header = Header()) throws {
        try FileIO.atomicWrite(to: path) { tmp in
            let file = try H5File.create(tmp)
            let root = try file.root()
            try writeLayers(layers, into: root, header: header)
            try writeExtraLayers(extraLayers, into: root, header: header)
            try header.writeRootAttributes(root)
            try file.flush()
        }
    }

    /// `model.save` layout: root `keras_version`, `backend`, `model_config`, `training_config`
    /// (when given), `/model_weights`, and `/optimizer_weights` (when there is state).
    public static func writeModel(_ layers: [KerasLayer], extraLayers: [KerasLayer] = [], optimizerWeights: [KerasWeight], modelConfig: String,
                                  trainingConfig: String?, to path: String, header: Header = Header()) throws {
        try FileIO.atomicWrite(to: path) { tmp in
            let file = try H5File.create(tmp)
            let root = try file.root()
            try root.setVariableStringAttribute("keras_version", header.kerasVersion)
            try root.setVariableStringAttribute("backend", header.backend)
            try root.setVariableStringAttribute("model_config", modelConfig)
            if let trainingConfig { try root.setVariableStringAttribute("training_config", trainingConfig) }
            try header.writeRootAttributes(root)
            try writeLayers(layers, into: try root.createGroup("model_weights"), header: header)
            try writeExtraLayers(extraLayers, into: root, header: header)
            if !optimizerWeights.isEmpty {
                let g = try root.createGroup("optimizer_weights")
                try g.setStringListAttribute("weight_names", optimizerWeights.map(\.name))
                for w in optimizerWeights { try g.writeTensor(w.name, w.tensor) }
            }
            try file.flush()
        }
    }

    static func writeExtraLayers(_ layers: [KerasLayer], into root: H5Group, header: Header) throws {
        guard !layers.isEmpty else { return }
        let g = try root.createGroup(Header.extraLayersGroup)
        try writeLayers(layers, into: g, header: header)
        try g.setStringListAttribute("layer_classes", layers.map { $0.className ?? "" })
    }

    static func writeLayers(_ layers: [KerasLayer], into g: H5Group, header: Header) throws {
        try g.setStringListAttribute("layer_names", layers.map(\.name))
        try g.setStringAttribute("backend", header.backend)
        try g.setStringAttribute("keras_version", header.kerasVersion)
        for layer in layers {
            let lg = try g.createGroup(layer.name)
            try lg.setStringListAttribute("weight_names", layer.weights.map(\.name))
            for w in layer.weights { try lg.writeTensor(w.name, w.tensor) }
        }
    }
}
