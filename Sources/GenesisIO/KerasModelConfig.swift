import Foundation
import GenesisModel

/// The `model_config` and `training_config` JSON of the official Keras model
/// (`keras/unet3d.py`: channels_first, `same` 3x3x3 convolutions, BN axis 1), as a
/// Keras 2 `model.save` writes them, so that tf_keras `load_model` and Keras 3's legacy h5
/// loader rebuild the network from our files.
enum KerasModelConfig {
    /// `plan`: the layers to describe (default: the whole U-Net; a classifier's plan gives the
    /// functional model whose output is the classifier's, `KerasLayerPlan(classifier:classes:)`).
    static func modelConfig(_ arch: Architecture, inputShape: [Int], bnEpsilon: Double = 1e-3, plan: KerasLayerPlan? = nil) -> String {
        let plan = plan ?? KerasLayerPlan(arch)
        var layers: [[String: Any]] = []
        for layer in plan.layers {
            var cfg: [String: Any] = ["name": layer.name, "trainable": true, "dtype": "float32"]
            switch layer.className {
            case "InputLayer":
                cfg = ["name": layer.name, "batch_input_shape": [NSNull()] + inputShape.map { $0 as Any }, "dtype": "float32", "sparse": false]
            case "Conv3D":
                let b = layer.block!
                let spec = b == 14 ? arch.finalConv : arch.blocks[b]
                let k = spec.kernel
                cfg.merge(["filters": spec.outChannels, "kernel_size": [k, k, k], "strides": [1, 1, 1], "padding": b == 14 ? "valid" : "same",
                           "data_format": "channels_first", "dilation_rate": [1, 1, 1], "activation": "linear", "use_bias": true]) { $1 }
            case "Conv3DTranspose":
                let u = Int(layer.name.split(separator: "_").last!)! - 1
                cfg.merge(["filters": arch.upsamplerChannels[u], "kernel_size": [2, 2, 2], "strides": [2, 2, 2], "padding": "valid",
                           "data_format": "channels_first", "activation": "linear", "use_bias": true]) { $1 }
            case "BatchNormalization":
                cfg.merge(["axis": 1, "momentum": 0.99, "epsilon": bnEpsilon, "center": true, "scale": true]) { $1 }
            case "Activation":
                let isFinal = layer.name == plan.layers.last!.name
                cfg["activation"] = isFinal ? (arch.labels == 1 ? "sigmoid" : "softmax") : "relu"
            case "MaxPooling3D":
                cfg.merge(["pool_size": [2, 2, 2], "strides": [2, 2, 2], "padding": "valid", "data_format": "channels_first"]) { $1 }
            case "UpSampling3D":
                cfg.merge(["size": [2, 2, 2], "data_format": "channels_first"]) { $1 }
            case "Concatenate":
                cfg["axis"] = 1
            case "GlobalAveragePooling3D":
                cfg.merge(["data_format": "channels_first", "keepdims": false]) { $1 }
            case "Dense":
                cfg.merge(["units": layer.units ?? 1, "activation": layer.activation ?? "linear", "use_bias": true]) { $1 }
            default:
                break
            }
            let inbound: [Any] = layer.inputs.isEmpty ? [] : [layer.inputs.map { [$0, 0, 0, [String: Any]()] as [Any] }]
            layers.append(["class_name": layer.className, "name": layer.name, "config": cfg, "inbound_nodes": inbound])
        }
        let config: [String: Any] = [
            "class_name": "Model",
            "config": ["name": "model_1", "layers": layers, "input_layers": [["input_1", 0, 0]],
                       "output_layers": [[plan.layers.last!.name, 0, 0]]],
        ]
        return json(config)
    }

    /// SGD (the official optimiser) or Adam.
    /// `loss`: the run's (`mse` for pretraining, `binary_crossentropy` / `categorical_crossentropy`
    /// for a classifier; segmentation's Dice is no Keras built-in, so it records `mse` as the
    /// official pretraining does).
    static func trainingConfig(optimizer: String, hyperparameters: [String: Double], loss: String = "mse") -> String {
        // Only arguments every Keras generation's SGD/Adam accepts (Keras 3 rejects unknown ones).
        var cfg: [String: Any] = ["name": optimizer]
        if let lr = hyperparameters["learning_rate"] ?? hyperparameters["lr"], lr.isFinite { cfg["learning_rate"] = lr }
        let numeric = optimizer == "SGD" ? ["momentum"] : ["beta_1", "beta_2", "epsilon"]
        for k in numeric { if let v = hyperparameters[k], v.isFinite { cfg[k] = v } }
        let flag = optimizer == "SGD" ? "nesterov" : "amsgrad"
        if let v = hyperparameters[flag] { cfg[flag] = v != 0 }
        return json(["optimizer_config": ["class_name": optimizer, "config": cfg], "loss": loss, "metrics": NSNull(),
                     "weighted_metrics": NSNull(), "loss_weights": NSNull()])
    }

    private static func json(_ v: Any) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]), as: UTF8.self)
    }
}
