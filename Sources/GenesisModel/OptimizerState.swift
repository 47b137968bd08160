import Tensors

/// Optimizer state on canonical parameter names, in one framework's convention
/// (schemas/numerics.md): SGD with momentum and Adam.
public struct OptimizerState: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case sgd, adam }
    /// Whose update rule the slots follow (`FrameworkConventions.optimizerRule`).
    public typealias Convention = FrameworkConventions

    /// Slot names, the same in both conventions: `momentum` (SGD), `m`, `v`, `vhat` (Adam).
    public static let sgdSlots = ["momentum"]
    public static let adamSlots = ["m", "v", "vhat"]

    /// Each slot's name in PyTorch's `optimizer.state_dict()` (and in `.genesis` files written in
    /// the torch convention); the Keras convention uses the generic names themselves.
    public static let torchSlotNames: [(generic: String, torch: String)] = [
        ("momentum", "momentum_buffer"), ("m", "exp_avg"), ("v", "exp_avg_sq"), ("vhat", "max_exp_avg_sq"),
    ]

    public static func slotName(_ generic: String, in convention: Convention) -> String {
        convention == .keras ? generic : torchSlotNames.first { $0.generic == generic }?.torch ?? generic
    }

    public static func genericSlot(_ name: String) -> String? {
        if ["momentum", "m", "v", "vhat"].contains(name) { return name }
        return torchSlotNames.first { $0.torch == name }?.generic
    }

    public var kind: Kind
    public var convention: Convention
    /// Steps taken (Keras `iterations`, PyTorch Adam `step`).
    public var step: Int64?
    /// lr, momentum, nesterov (0/1), beta_1, beta_2, epsilon, decay, weight_decay.
    public var hyperparameters: [String: Double]
    /// Canonical parameter name -> slot name -> tensor (canonical layout).
    public var slots: [String: [String: Tensor]]

    public init(kind: Kind, convention: Convention, step: Int64? = nil, hyperparameters: [String: Double] = [:], slots: [String: [String: Tensor]] = [:]) {
        self.kind = kind
        self.convention = convention
        self.step = step
        self.hyperparameters = hyperparameters.filter { $0.value.isFinite }  // NaN/Inf from a file mean nothing
        self.slots = slots
    }

    public var learningRate: Double? { hyperparameters["lr"] ?? hyperparameters["learning_rate"] }

    public var slotValueCount: Int { slots.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.elementCount } } }

    /// The same state in the other framework's convention. SGD momentum maps by
    /// keras_m = -lr * torch_buf (exact for a constant lr; needs the lr); Adam's m and v follow the
    /// same recurrences in both and are kept. Returns nil when SGD has no learning rate.
    public func converted(to target: Convention) -> (state: OptimizerState, note: String)? {
        if target == convention { return (self, "optimizer state kept in the \(target.rawValue) convention") }
        var out = self
        out.convention = target
        switch kind {
        case .adam:
            return (out, "Adam m and v kept (same recurrences); epsilon convention differs (Keras 1e-7 on sqrt(v_hat), PyTorch 1e-8)")
        case .sgd:
            guard let lr = learningRate, lr != 0 else { return nil }
            // keras -> torch: buf = -m / lr; torch -> keras: m = -lr * buf.
            let factor = Float(target == .torch ? -1 / lr : -lr)
            let params = slots.keys.filter { slots[$0]?["momentum"] != nil }
            let scaled = params.concurrentMap { p -> Tensor in
                slots[p]!["momentum"]!.scaled(by: factor)
            }
            for (p, t) in zip(params, scaled) { out.slots[p]!["momentum"] = t }
            return (out, "SGD momentum rescaled: \(target == .torch ? "buf = -m / lr" : "m = -lr * buf") with lr \(lr)")
        }
    }
}
