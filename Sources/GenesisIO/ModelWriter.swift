import GenesisModel
import KerasFormat
import Tensors

/// Writes a payload in any supported format. The payload's architecture must already be the
/// variant the format holds (`Converter` takes care of that).
public enum ModelWriter {
    public static func write(_ p: ModelPayload, to path: String, format: FormatKind, options: WriteOptions = WriteOptions()) throws {
        switch format {
        case .kerasH5:
            let layers = try KerasBridge.kerasLayers(p.weights, architecture: p.architecture)
            if options.kerasFullModel {
                let trainable = p.architecture.tensors.filter { $0.role.isTrainable }.map(\.name)
                var optimizerWeights: [KerasWeight] = []
                var training: String?
                if options.includeOptimizer, let o = p.optimizer, o.convention == .keras {
                    optimizerWeights = KerasOptimizerBridge.kerasWeights(o, trainable: trainable)
                    training = KerasModelConfig.trainingConfig(optimizer: o.kind == .sgd ? "SGD" : "Adam", hyperparameters: o.hyperparameters)
                }
                try KerasWriter.writeModel(layers, optimizerWeights: optimizerWeights,
                                           modelConfig: KerasModelConfig.modelConfig(p.architecture, inputShape: p.inputShape, bnEpsilon: Double(p.bnEpsilon)),
                                           trainingConfig: training, to: path)
            } else {
                try KerasWriter.writeWeights(layers, to: path)
            }
        case .native:
            try NativeBridge.write(p, to: path, includeOptimizer: options.includeOptimizer)
        case .safetensors:
            try SafeTensorsBridge.write(p, to: path, naming: options.naming, modulePrefix: options.modulePrefix)
        case .torch:
            try TorchBridge.write(p, to: path, modulePrefix: options.modulePrefix, includeOptimizer: options.includeOptimizer)
        case .keras3Weights, .keras3Zip:
            throw GenesisIOError.cannotWrite(file: path, reason: "writing \(format.rawValue) is not available yet")
        }
    }

    /// Whether a write in this format with these options stores optimizer state.
    public static func carriesOptimizer(_ format: FormatKind, options: WriteOptions) -> Bool {
        guard options.includeOptimizer else { return false }
        switch format {
        case .native, .torch: return true
        case .kerasH5: return options.kerasFullModel
        case .safetensors, .keras3Weights, .keras3Zip: return false
        }
    }

    /// The variant a format stores: Keras 2 HDF5 holds the official Keras network (UpSampling3D),
    /// PyTorch the official PyTorch one (ConvTranspose3d); the others keep the source's.
    public static func variant(for format: FormatKind, source: Variant) -> Variant {
        switch format {
        case .kerasH5, .keras3Weights, .keras3Zip: return .keras
        case .torch: return .torch
        case .safetensors, .native: return source
        }
    }
}
