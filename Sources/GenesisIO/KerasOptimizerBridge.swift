import GenesisModel
import KerasFormat
import Tensors

/// Keras `optimizer_weights` (any generation's naming) <-> `OptimizerState` on canonical names.
/// Keras restores these positionally; we classify each entry by its name where the name tells
/// (tf_keras `SGD/m/...`, `Adam/v/...`, `.../momentum:0`, Keras 3 `..._velocity`) and by
/// position where it does not (Keras 2.2.4 `training/SGD/Variable_k:0`).
enum KerasOptimizerBridge {
    static let counters: Set<String> = ["iterations", "iter", "iteration"]

    enum Entry { case counter(Int64), learningRate(Float), slot }

    /// What one `optimizer_weights` entry is, by its variable name and size.
    static func classify(_ w: KerasWeight) -> Entry {
        let v = NameMaps.kerasVariable(w.name)
        guard w.tensor.elementCount == 1 else { return .slot }
        if counters.contains(v) { return .counter(w.tensor.int64s()[0]) }
        if v == "learning_rate" { return .learningRate(w.tensor.floats()[0]) }
        return .slot
    }

    /// `trainable`: canonical names of the trainable parameters in Keras weight order.
    static func state(_ k: KerasModelFile, trainable: [String], shapes: [String: [Int]]) -> OptimizerState? {
        guard !k.optimizerWeights.isEmpty else { return nil }
        var step: Int64?
        var hp = k.optimizer?.hyperparameters ?? [:]
        var slotEntries: [KerasWeight] = []
        for w in k.optimizerWeights {
            switch classify(w) {
            case let .counter(n): step = n
            case let .learningRate(lr): hp["learning_rate"] = Double(lr)
            case .slot: slotEntries.append(w)
            }
        }
        let n = trainable.count
        guard n > 0 else { return nil }
        let className = (k.optimizer?.className ?? "").lowercased()
        let names = slotEntries.map(\.name)
        let isAdam = className.contains("adam") || names.contains { $0.lowercased().hasPrefix("adam") || $0.contains("training/Adam") }
        // Classify by name, else by blocks of n in order.
        var byKind: [String: [Tensor]] = [:]
        var order: [String] = []
        for (i, w) in slotEntries.enumerated() {
            let kind = slotKind(w.name, isAdam: isAdam) ?? (isAdam ? ["m", "v", "vhat"][min(2, i / n)] : "momentum")
            if byKind[kind] == nil { order.append(kind) }
            byKind[kind, default: []].append(w.tensor)
        }
        var slots: [String: [String: Tensor]] = [:]
        for (kind, tensors) in byKind {
            // Keras 2.2.4 Adam without amsgrad keeps a (1,) placeholder per vhat: not state.
            if kind == "vhat", tensors.allSatisfy({ $0.elementCount == 1 }) { continue }
            guard tensors.count == n else { return nil }
            let canonical = tensors.concurrentMap(KerasBridge.canonicalLayout)
            for (p, c) in zip(trainable, canonical) {
                guard c.shape == shapes[p] else { return nil }
                slots[p, default: [:]][kind] = c
            }
        }
        if hp["lr"] == nil, let lr = hp["learning_rate"] { hp["lr"] = lr }
        return OptimizerState(kind: isAdam ? .adam : .sgd, convention: .keras, step: step, hyperparameters: hp, slots: slots)
    }

    /// The slot kind a Keras optimizer variable name states, if it does.
    static func slotKind(_ name: String, isAdam: Bool) -> String? {
        let parts = name.split(separator: "/").map(String.init)
        let last = NameMaps.kerasVariable(name)
        if parts.count >= 3, ["m", "v", "vhat"].contains(parts[1]) { return isAdam ? parts[1] : "momentum" }  // tf_keras new
        if last == "momentum" || last.hasSuffix("_momentum") { return isAdam ? "m" : "momentum" }               // legacy, Keras 3
        if last == "m" || last == "v" || last == "vhat" { return last }                                          // tf_keras legacy Adam
        if last.hasSuffix("_velocity") { return "v" }
        return nil
    }

    /// Entries for a state in the keras convention, named and ordered as tf_keras 2.21 writes
    /// them (the shared fixtures): `iteration:0`, then per trainable weight in Keras order SGD
    /// `SGD/m/<layer>/<var>:0`, Adam `Adam/m/...` and `Adam/v/...` interleaved. tf_keras and
    /// Keras restore these positionally, so the order is what matters; our reader takes any naming.
    /// `names`: trainable canonical names with their Keras names (`depth_0_conv/kernel`), in Keras order.
    /// `shapes`: canonical shapes of the weights, for the zeros of slots the state lacks.
    static func kerasWeights(_ s: OptimizerState, names: [(canonical: String, keras: String)], shapes: [String: [Int]] = [:]) -> [KerasWeight] {
        let prefix = s.kind == .sgd ? "SGD" : "Adam"
        var out = [KerasWeight(name: "iteration:0", tensor: Tensor(scalarInt64: s.step ?? 0))]
        let kinds = s.kind == .sgd ? [("momentum", "m")] : [("m", "m"), ("v", "v")]
        for (canonical, keras) in names {
            for (kind, label) in kinds {
                // tf_keras restores positionally, one slot per trainable weight: a weight the run
                // never updated (frozen) gets the zeros tf_keras starts it with.
                guard let t = s.slots[canonical]?[kind] ?? shapes[canonical].map({ Tensor(shape: $0, floats: [Float](repeating: 0, count: $0.reduce(1, *))) })
                else { continue }
                out.append(KerasWeight(name: "\(prefix)/\(label)/\(keras):0", tensor: KerasBridge.kerasLayout(t)))
            }
        }
        return out
    }
}
