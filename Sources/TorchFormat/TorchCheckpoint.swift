import Tensors

/// Which container a `.pt` file used.
public enum TorchFileFormat: String, Sendable, Equatable {
    /// torch >= 1.6 `torch.save`: a zip with `data.pkl` and `data/<key>` storages.
    case zip
    /// The pre-1.6 format (torch 1.3.1 wrote it): concatenated pickles and raw storages.
    case legacy
}

/// A plain value from a checkpoint (hyperparameters, optimizer state entries).
public indirect enum TorchValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case tuple([TorchValue])
    case list([TorchValue])
    case tensor(Tensor)

    /// Ints, floats and one-element numeric tensors as Double (`step` is either).
    public var doubleValue: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        case let .tensor(t) where t.elementCount == 1:
            return t.dtype == .float64 ? t.bytes.withUnsafeBytes { $0.loadUnaligned(as: Double.self) } : Double(t.floats()[0])
        default: return nil
        }
    }

    public var intValue: Int64? {
        switch self {
        case let .int(i): return i
        case let .tensor(t) where t.elementCount == 1 && !t.dtype.isFloatingPoint: return t.int64s()[0]
        default: return nil
        }
    }

    public var boolValue: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var tensorValue: Tensor? { if case let .tensor(t) = self { return t }; return nil }
}

/// A named value, kept in file order.
public struct TorchNamedValue: Sendable, Equatable {
    public var name: String
    public var value: TorchValue
    public init(_ name: String, _ value: TorchValue) {
        self.name = name
        self.value = value
    }
}

extension Array where Element == TorchNamedValue {
    /// The value named `name`, if present.
    public subscript(name: String) -> TorchValue? { first { $0.name == name }?.value }
}

/// One `param_groups` entry: hyperparameters in file order and the positions of its parameters.
public struct TorchParamGroup: Sendable, Equatable {
    /// Every key except `params`, in file order (`lr`, `momentum`, `betas`, ...).
    public var hyperparameters: [TorchNamedValue]
    /// Positions 0..<n in `model.parameters()` order (across all groups).
    public var params: [Int]

    public init(hyperparameters: [TorchNamedValue], params: [Int]) {
        self.hyperparameters = hyperparameters
        self.params = params
    }

    public subscript(name: String) -> TorchValue? { hyperparameters[name] }
}

/// `optimizer.state_dict()`, with state keyed by parameter position. Positions follow the
/// network's `parameters()` order; naming them is the caller's job (GenesisIO).
public struct TorchOptimizerState: Sendable, Equatable {
    public enum Kind: String, Sendable { case sgd, adam, unknown }
    /// How the file keyed the state: positions (torch >= 1.6) or `id(param)` (torch <= 1.5).
    public enum KeyStyle: String, Sendable { case index, objectID }

    public var paramGroups: [TorchParamGroup]
    /// Per parameter position: `momentum_buffer`, or `step`, `exp_avg`, `exp_avg_sq`,
    /// `max_exp_avg_sq`, in file order. Parameters that never stepped have no entry.
    public var state: [Int: [TorchNamedValue]]
    public var keyStyle: KeyStyle

    public init(paramGroups: [TorchParamGroup], state: [Int: [TorchNamedValue]], keyStyle: KeyStyle = .index) {
        self.paramGroups = paramGroups
        self.state = state
        self.keyStyle = keyStyle
    }

    /// Number of parameters the groups list.
    public var parameterCount: Int { paramGroups.reduce(0) { $0 + $1.params.count } }

    /// SGD or Adam, from the state entries or else the hyperparameters.
    public var kind: Kind {
        let names = Set(state.values.flatMap { $0.map(\.name) })
        if names.contains("exp_avg") { return .adam }
        if names.contains("momentum_buffer") { return .sgd }
        let hyper = Set(paramGroups.flatMap { $0.hyperparameters.map(\.name) })
        if hyper.contains("betas") { return .adam }
        if hyper.contains("momentum") { return .sgd }
        return .unknown
    }

    /// A state tensor (`momentum_buffer`, `exp_avg`, ...) of the parameter at `position`.
    public func tensor(_ name: String, position: Int) -> Tensor? { state[position]?[name]?.tensorValue }

    /// Adam's `step` at `position`, whether the file held an int or a 0-d tensor.
    public func step(position: Int) -> Double? { state[position]?["step"]?.doubleValue }
}

/// What a `.pt` file holds: a bare state dict or a `{'epoch','state_dict','optimizer_state_dict'}`
/// checkpoint.
public struct TorchCheckpoint: Sendable, Equatable {
    public var epoch: Int?
    /// Tensors under the file's own key names (with `module.` if it was there), in file order.
    public var stateDict: TensorStore
    /// Every state-dict key started with `module.` (saved from `nn.DataParallel`).
    public var hadModulePrefix: Bool
    public var optimizer: TorchOptimizerState?
    public var format: TorchFileFormat
    /// Top-level keys other than `epoch`, the state dict and `optimizer_state_dict`.
    public var otherKeys: [String]
    /// The key the state dict sat under (`state_dict`), or nil for a bare state dict.
    public var stateDictKey: String?
    /// Top-level entries with a plain string value besides the above (e.g. `genesis_writer`),
    /// in file order; written after the state dict and optimizer of a checkpoint dict.
    public var extras: [TorchNamedValue]

    public init(epoch: Int? = nil, stateDict: TensorStore, optimizer: TorchOptimizerState? = nil,
                format: TorchFileFormat = .zip, otherKeys: [String] = [], stateDictKey: String? = "state_dict",
                extras: [TorchNamedValue] = []) {
        self.epoch = epoch
        self.stateDict = stateDict
        self.hadModulePrefix = TorchCheckpoint.allPrefixed(stateDict)
        self.optimizer = optimizer
        self.format = format
        self.otherKeys = otherKeys
        self.stateDictKey = stateDictKey
        self.extras = extras
    }

    public static let modulePrefix = "module."

    static func allPrefixed(_ s: TensorStore) -> Bool {
        !s.isEmpty && s.names.allSatisfy { $0.hasPrefix(modulePrefix) }
    }

    /// `store` with a leading `module.` removed from every key that has one (order kept).
    public static func strippingModulePrefix(_ store: TensorStore) -> TensorStore {
        store.renamed { $0.hasPrefix(modulePrefix) ? String($0.dropFirst(modulePrefix.count)) : $0 }
    }

    /// `store` with `module.` added to every key that lacks it (order kept).
    public static func addingModulePrefix(_ store: TensorStore) -> TensorStore {
        store.renamed { $0.hasPrefix(modulePrefix) ? $0 : modulePrefix + $0 }
    }

    /// The state dict without `module.` prefixes.
    public var strippedStateDict: TensorStore { TorchCheckpoint.strippingModulePrefix(stateDict) }
}
