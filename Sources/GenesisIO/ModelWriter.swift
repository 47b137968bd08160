import GenesisModel
import KerasFormat
import Tensors

/// Writes canonical Genesis tensors in any supported format.
public enum ModelWriter {
    public struct KerasOptions: Sendable {
        /// Write the `model.save` layout (model_config, model_weights) instead of `save_weights`.
        public var fullModel = false
        /// Input shape (C, D, H, W) recorded in model_config.
        public var inputShape: [Int] = [1, 64, 64, 32]
        public init(fullModel: Bool = false, inputShape: [Int] = [1, 64, 64, 32]) {
            self.fullModel = fullModel
            self.inputShape = inputShape
        }
    }

    public static func write(_ store: TensorStore, architecture: Architecture, to path: String, format: FormatKind,
                             keras: KerasOptions = KerasOptions()) throws {
        switch format {
        case .kerasH5:
            let layers = try KerasBridge.kerasLayers(store, architecture: architecture)
            if keras.fullModel {
                try KerasWriter.writeModel(layers, optimizerWeights: [], modelConfig: KerasModelConfig.modelConfig(architecture, inputShape: keras.inputShape),
                                           trainingConfig: nil, to: path)
            } else {
                try KerasWriter.writeWeights(layers, to: path)
            }
        default:
            throw GenesisIOError.cannotWrite(file: path, reason: "writing \(format.rawValue) is not available yet")
        }
    }
}
