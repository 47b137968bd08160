import HDF5
import Tensors

/// Writes Keras 2 HDF5 files in the layout every Keras generation loads (FORMATS.md 1.7):
/// fixed-length null-padded name lists (split past 64512 bytes), a group per listed layer
/// (weightless ones included, with the empty float64 `weight_names`), float32 datasets at
/// `<layer>/<weight_name>`. Files are written beside the target and renamed into place.
public enum KerasWriter {
    public struct Header: Sendable {
        public var kerasVersion: String
        public var backend: String
        public init(kerasVersion: String = "2.2.4", backend: String = "tensorflow") {
            self.kerasVersion = kerasVersion
            self.backend = backend
        }
    }

    /// `save_weights` layout: `layer_names` at the root.
    public static func writeWeights(_ layers: [KerasLayer], to path: String, header: Header = Header()) throws {
        try FileIO.atomicWrite(to: path) { tmp in
            let file = try H5File.create(tmp)
            try writeLayers(layers, into: try file.root(), header: header)
            try file.flush()
        }
    }

    /// `model.save` layout: root `keras_version`, `backend`, `model_config`, `training_config`
    /// (when given), `/model_weights`, and `/optimizer_weights` (when there is state).
    public static func writeModel(_ layers: [KerasLayer], optimizerWeights: [KerasWeight], modelConfig: String,
                                  trainingConfig: String?, to path: String, header: Header = Header()) throws {
        try FileIO.atomicWrite(to: path) { tmp in
            let file = try H5File.create(tmp)
            let root = try file.root()
            try root.setVariableStringAttribute("keras_version", header.kerasVersion)
            try root.setVariableStringAttribute("backend", header.backend)
            try root.setVariableStringAttribute("model_config", modelConfig)
            if let trainingConfig { try root.setVariableStringAttribute("training_config", trainingConfig) }
            try writeLayers(layers, into: try root.createGroup("model_weights"), header: header)
            if !optimizerWeights.isEmpty {
                let g = try root.createGroup("optimizer_weights")
                try g.setStringListAttribute("weight_names", optimizerWeights.map(\.name))
                for w in optimizerWeights { try g.writeTensor(w.name, w.tensor) }
            }
            try file.flush()
        }
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
