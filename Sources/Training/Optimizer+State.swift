import GenesisModel
import Runtime3D
import Tensors

extension Optimizer {
    /// One step over `names`: each tensor that has a gradient and is not frozen is updated in
    /// `weights`; then the step counter advances. The tensors are independent (each update is
    /// elementwise), so they are split over `threads` workers, largest first; the values do not
    /// depend on the split.
    public mutating func step(_ names: [String], gradients: TensorStore, weights: inout TensorStore, frozen: Set<String>,
                              threads: Int = 1) {
        let work = names.filter { !frozen.contains($0) && gradients[$0] != nil && weights[$0] != nil }
            .sorted { (weights[$0]?.elementCount ?? 0, $1) > (weights[$1]?.elementCount ?? 0, $0) }
        var states = work.map { slots.removeValue(forKey: $0) ?? [:] }   // uniquely held: updated in place
        var updated = [Tensor?](repeating: nil, count: work.count)
        let rule = self
        let current = weights
        states.withUnsafeMutableBufferPointer { st in
            updated.withUnsafeMutableBufferPointer { up in
                let (sb, ub) = (st.baseAddress!, up.baseAddress!)
                Parallel.forEach(work.count, threads: threads) { i, _ in
                    let t = current[work[i]]!
                    var w = t.floats()
                    rule.apply(work[i], weights: &w, gradient: gradients[work[i]]!.floats(), state: &sb[i])
                    ub[i] = Tensor(shape: t.shape, floats: w)
                }
            }
        }
        for (i, name) in work.enumerated() {
            weights[name] = updated[i]
            slots[name] = states[i]
        }
        finishStep()
    }

    /// The optimizer a file's state describes (its convention, hyperparameters, step and
    /// slots), continuing it exactly. Nil when the state names no learning rate.
    public init?(state s: OptimizerState) {
        guard let lr = s.learningRate else { return nil }
        let h = s.hyperparameters
        let slots = s.slots.mapValues { $0.mapValues { $0.floats() } }
        self.init(kind: s.kind == .sgd ? .sgd : .adam, convention: s.convention,
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
        return OptimizerState(kind: kind == .sgd ? .sgd : .adam, convention: convention,
                              step: step, hyperparameters: h, slots: tensors)
    }
}
