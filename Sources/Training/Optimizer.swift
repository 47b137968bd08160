import GenesisModel
import Foundation

/// SGD with momentum and Adam, each in the Keras (tf_keras 2.x) or the PyTorch convention
/// (schemas/numerics.md), on flat float32 parameters keyed by canonical name. Slots use the
/// generic names of `GenesisModel.OptimizerState` (`momentum`; `m`, `v`, `vhat`).
///
/// Keras SGD:   m = mu m - lr g; w += m (nesterov: w += mu m - lr g).
/// PyTorch SGD: buf = g on the first step, then mu buf + (1 - dampening) g; w -= lr buf
///              (nesterov: w -= lr (g + mu buf)).
/// Keras Adam:  t = iterations + 1; alpha = lr sqrt(1 - b2^t) / (1 - b1^t);
///              m += (1 - b1)(g - m); v += (1 - b2)(g^2 - v); w -= alpha m / (sqrt(v) + eps), eps 1e-7.
/// PyTorch Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
///              w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), eps 1e-8.
/// Weight decay: PyTorch adds wd w to the gradient (coupled); Keras (tf_keras optimizers)
/// subtracts lr wd w from the weight before the update (decoupled).
public struct Optimizer: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case sgd, adam }
    /// The framework whose update rule the optimizer follows (`FrameworkConventions.optimizerRule`).
    public typealias Convention = FrameworkConventions

    public var kind: Kind
    public var convention: Convention
    public var learningRate: Double
    public var momentum: Double
    public var nesterov: Bool
    public var dampening: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var amsgrad: Bool
    public var weightDecay: Double
    /// Steps applied so far (Keras `iterations`; PyTorch Adam's per-parameter `step`, all equal).
    public var step: Int64
    /// Canonical parameter name -> slot -> values.
    public var slots: [String: [String: [Float]]]

    public init(kind: Kind, convention: Convention, learningRate: Double, momentum: Double = 0, nesterov: Bool = false,
                dampening: Double = 0, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double? = nil, amsgrad: Bool = false,
                weightDecay: Double = 0, step: Int64 = 0, slots: [String: [String: [Float]]] = [:]) {
        self.kind = kind
        self.convention = convention
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.dampening = dampening
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon ?? convention.adamEpsilon
        self.amsgrad = amsgrad
        self.weightDecay = weightDecay
        self.step = step
        self.slots = slots
    }

    /// Updates one parameter in place with its gradient, at the current step (call
    /// `finishStep()` once after every parameter of the step is updated).
    public mutating func update(_ name: String, weights w: inout [Float], gradient g: [Float]) {
        var state = slots.removeValue(forKey: name) ?? [:]   // uniquely held: the slots update in place
        apply(name, weights: &w, gradient: g, state: &state)
        slots[name] = state
    }

    /// The update of one parameter with its slots `state`, at the current step.
    func apply(_ name: String, weights w: inout [Float], gradient g: [Float], state: inout [String: [Float]]) {
        precondition(w.count == g.count, "optimizer: \(name) has \(w.count) values but its gradient \(g.count)")
        switch (kind, convention.optimizerRule) {
        case (.sgd, .keras): kerasSGD(&w, g, &state)
        case (.sgd, .torch): torchSGD(&w, g, &state)
        case (.adam, .keras): kerasAdam(&w, g, &state)
        case (.adam, .torch): torchAdam(&w, g, &state)
        }
    }

    public mutating func finishStep() { step += 1 }

    private func kerasSGD(_ w: inout [Float], _ g: [Float], _ s: inout [String: [Float]]) {
        let lr = Float(learningRate), mu = Float(momentum)
        decoupledDecay(&w)
        guard momentum != 0 else {
            for i in w.indices { w[i] -= lr * g[i] }
            return
        }
        var m = s.removeValue(forKey: "momentum") ?? [Float](repeating: 0, count: w.count)
        for i in w.indices {
            m[i] = mu * m[i] - lr * g[i]
            w[i] += nesterov ? mu * m[i] - lr * g[i] : m[i]
        }
        s["momentum"] = m
    }

    private func torchSGD(_ w: inout [Float], _ g: [Float], _ s: inout [String: [Float]]) {
        let lr = Float(learningRate), mu = Float(momentum), wd = Float(weightDecay), damp = Float(1 - dampening)
        guard momentum != 0 else {
            for i in w.indices { w[i] -= lr * (g[i] + wd * w[i]) }
            return
        }
        if var buf = s.removeValue(forKey: "momentum") {
            for i in w.indices {
                let gi = g[i] + wd * w[i]
                buf[i] = mu * buf[i] + damp * gi
                w[i] -= lr * (nesterov ? gi + mu * buf[i] : buf[i])
            }
            s["momentum"] = buf
        } else {
            var buf = [Float](repeating: 0, count: w.count)
            for i in w.indices {
                let gi = g[i] + wd * w[i]
                buf[i] = gi
                w[i] -= lr * (nesterov ? gi + mu * gi : gi)
            }
            s["momentum"] = buf
        }
    }

    private func kerasAdam(_ w: inout [Float], _ g: [Float], _ s: inout [String: [Float]]) {
        let t = Double(step + 1)
        let alpha = Float(learningRate * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t)))
        let (b1, b2, eps) = (Float(1 - beta1), Float(1 - beta2), Float(epsilon))
        decoupledDecay(&w)
        var m = s.removeValue(forKey: "m") ?? [Float](repeating: 0, count: w.count)
        var v = s.removeValue(forKey: "v") ?? [Float](repeating: 0, count: w.count)
        var vhat = amsgrad ? (s.removeValue(forKey: "vhat") ?? [Float](repeating: 0, count: w.count)) : []
        for i in w.indices {
            m[i] += (g[i] - m[i]) * b1
            v[i] += (g[i] * g[i] - v[i]) * b2
            var denom = v[i]
            if amsgrad { vhat[i] = max(vhat[i], v[i]); denom = vhat[i] }
            w[i] -= m[i] * alpha / (denom.squareRoot() + eps)
        }
        s["m"] = m
        s["v"] = v
        if amsgrad { s["vhat"] = vhat }
    }

    private func torchAdam(_ w: inout [Float], _ g: [Float], _ s: inout [String: [Float]]) {
        let t = Double(step + 1)
        let bc1 = 1 - pow(beta1, t), bc2 = 1 - pow(beta2, t)
        let stepSize = Float(learningRate / bc1), bc2Root = Float(bc2.squareRoot())
        let (b1, b2, eps, wd) = (Float(beta1), Float(beta2), Float(epsilon), Float(weightDecay))
        var m = s.removeValue(forKey: "m") ?? [Float](repeating: 0, count: w.count)
        var v = s.removeValue(forKey: "v") ?? [Float](repeating: 0, count: w.count)
        var vhat = amsgrad ? (s.removeValue(forKey: "vhat") ?? [Float](repeating: 0, count: w.count)) : []
        for i in w.indices {
            let gi = g[i] + wd * w[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            var second = v[i]
            if amsgrad { vhat[i] = max(vhat[i], v[i]); second = vhat[i] }
            w[i] -= stepSize * m[i] / (second.squareRoot() / bc2Root + eps)
        }
        s["m"] = m
        s["v"] = v
        if amsgrad { s["vhat"] = vhat }
    }

    /// tf_keras optimizers' `weight_decay`: w -= lr wd w, before the update.
    private func decoupledDecay(_ w: inout [Float]) {
        guard weightDecay != 0 else { return }
        let f = Float(learningRate * weightDecay)
        for i in w.indices { w[i] -= f * w[i] }
    }
}
