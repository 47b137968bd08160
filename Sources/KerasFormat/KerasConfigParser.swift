import Foundation

/// Parses Keras's JSON `model_config` and `training_config` (Functional/Model, Sequential
/// with a layer list or the older bare list, Keras 3 `config.json`).
enum KerasConfigParser {
    static func modelConfig(_ json: String, file: String) throws -> KerasModelConfig {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw KerasError.badConfig(file: file, reason: "not a JSON object")
        }
        let modelClass = obj["class_name"] as? String ?? "?"
        var layerList: [[String: Any]] = []
        var name: String?
        if let cfg = obj["config"] as? [String: Any] {
            name = cfg["name"] as? String
            layerList = cfg["layers"] as? [[String: Any]] ?? []
        } else if let list = obj["config"] as? [[String: Any]] {
            layerList = list  // Keras <= 2.2 Sequential: a bare list of layers
        }
        var layers: [(String, String)] = []
        var inputShape: [Int?]?
        for l in layerList {
            let cls = l["class_name"] as? String ?? "?"
            let cfg = l["config"] as? [String: Any] ?? [:]
            let lname = (cfg["name"] as? String) ?? (l["name"] as? String) ?? "?"
            layers.append((cls, lname))
            if inputShape == nil, let shape = (cfg["batch_input_shape"] ?? cfg["batch_shape"]) as? [Any] {
                inputShape = shape.dropFirst().map { ($0 as? NSNumber)?.intValue }
            }
        }
        return KerasModelConfig(modelClass: modelClass, name: name, layers: layers, inputShape: inputShape)
    }

    static func optimizer(trainingConfig json: String) -> KerasOptimizerConfig? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let opt = obj["optimizer_config"] as? [String: Any] else { return nil }
        let cls = opt["class_name"] as? String ?? "?"
        var hp: [String: Double] = [:]
        for (k, v) in opt["config"] as? [String: Any] ?? [:] {
            if let n = v as? NSNumber { hp[k] = n.doubleValue }
        }
        return KerasOptimizerConfig(className: cls, hyperparameters: hp)
    }
}
