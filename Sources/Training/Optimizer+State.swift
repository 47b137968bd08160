import GenesisModel
import Tensors

extension Optimizer {
    /// One step over `names` in order: each tensor that has a gradient and is not frozen is
    /// updated in `weights`; then the step counter advances.
    public mutating func step(_ names: [String], gradients: TensorStore, weights: inout TensorStore, frozen: Set<String>) {
        for name in names where !frozen.contains(name) {
            guard let g = gradients[name], let t = weights[name] else { continue }
            var w = t.floats()
            update(name, weights: &w, gradient: g.floats())
            weights[name] = Tensor(shape: t.shape, floats: w)
        }
        finishStep()
    }

    /// The optimizer a file's state describes (its convention, hyperparameters, step and
    /// slots), continuing it exactly. Nil when the state names no learning rate.
    public init?(state s: OptimizerState) {
        guard let lr = s.learningRate else { return nil }
        let h = s.hyperparameters
        let slots = s.slots.mapValues { $0.mapValues { $0.floats() } }
        self.init(kind: s.kind == .sgd ? .sgd : .adam, convention: s.convention == .keras ? .keras : .torch,
                  learningRate: lr, momentum: h["momentum"] ?? 0, nesterov: (h["nesterov"] ?? 0) != 0,
                  dampening: h["dampening"] ?? 0, beta1: h["beta_1"] ?? 0.9, beta2: h["beta_2"] ?? 0.999,
                  epsilon: h["epsilon"] ?? h["eps"], amsgrad: (h["amsgrad"] ?? 0) != 0,
                  weightDecay: h["weight_decay"] ?? 0, step: s.step ?? 0, slots: slots)
    }

    /// This optimizer as a file's state, slots shaped like their parameters (`shapes`).
    public func state(shapes: [String: [Int]]) -> OptimizerState {
        var h: [String: Double] = ["lr": learningRate]
        switch kind {
        case .sgd:
            h["momentum"] = momentum
            h["nesterov"] = nesterov ? 1 : 0
            if convention == .torch { h["dampening"] = dampening }
        case .adam:
            h["beta_1"] = beta1
            h["beta_2"] = beta2
            h[convention == .keras ? "epsilon" : "eps"] = epsilon
            h["amsgrad"] = amsgrad ? 1 : 0
        }
        h["weight_decay"] = weightDecay
        var tensors: [String: [String: Tensor]] = [:]
        for (name, slot) in slots {
            guard let shape = shapes[name] else { continue }
            tensors[name] = slot.mapValues { Tensor(shape: shape, floats: $0) }
        }
        return OptimizerState(kind: kind == .sgd ? .sgd : .adam, convention: convention == .keras ? .keras : .torch,
                              step: step, hyperparameters: h, slots: tensors)
    }
}
