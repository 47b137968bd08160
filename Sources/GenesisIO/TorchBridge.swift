import GenesisModel
import Tensors
import TorchFormat

/// PyTorch `.pt` files <-> payloads. Optimizer state is keyed by position in
/// `model.parameters()` order, which is the canonical order of the trainable tensors.
struct TorchBridge: FormatBridge {
    var kind: FormatKind { .torch }
    var extensions: [String] { kind.extensions }
    var containers: [FormatKind.Container] { [.zip, .torchLegacy] }
    var summary: String { "PyTorch torch.save, zip (read and written) or legacy pickle (read)" }
    func variant(for source: Variant) -> Variant { .torch }
    var optimizerConvention: OptimizerState.Convention? { .torch }
    func carriesOptimizer(_ options: WriteOptions) -> Bool { options.includeOptimizer }

    func load(_ path: String, verifyChecksums: Bool) throws -> LoadedModel {
        let c = try TorchReader.read(path, verifyChecksums: verifyChecksums)
        let sibling = SiblingReader.flat(c.stateDict, naming: .torch, path: path)
        let mapped = sibling?.mapped ?? Mapping.fromFlat(c.stateDict, naming: .torch)
        let detected = Detection.detect(mapped)
        var optimizer: OptimizerState?
        var head = TensorStore()
        if let arch = detected?.architecture {
            let candidate = ClassifierHead.tensors(in: mapped.unexpected)
            if sibling == nil, ClassifierHead.classes(in: candidate, baseFilters: arch.baseFilters) != nil { head = candidate }
            // A sibling's optimizer state covers its head too (positions after the trunk's):
            // not read.
            if let o = c.optimizer, sibling == nil {
                let network = arch.tensors.filter { $0.role.isTrainable }.map(\.name)
                optimizer = Self.state(o, parameters: network, extra: head.isEmpty ? [] : ClassifierHead.names)
            }
        } else if let o = c.optimizer, let other = NetworkFamilies.recognise(mapped)?.match.architecture {
            // Another family's network: its trainable parameters in `model.parameters()` order.
            optimizer = Self.state(o, parameters: other.network.parameters.filter(\.trainable).map(\.name))
        }
        var description = c.format == .legacy ? "PyTorch legacy pickle (torch < 1.6)" : "PyTorch zip (torch >= 1.6)"
        if c.stateDictKey != nil { description += ", checkpoint dict" + (c.epoch.map { " at epoch \($0)" } ?? "") }
        if c.hadModulePrefix { description += ", module. prefix" }
        var loaded = LoadedModel(path: path, format: .torch, formatDescription: description, mapped: mapped, detected: detected, kerasListing: nil,
                                 inputShape: nil, optimizer: optimizer, epoch: c.epoch,
                                 versions: ["torch_format": c.format.rawValue, "other_keys": c.otherKeys.joined(separator: ",")],
                                 writer: c.extras[GenesisWriter.key].flatMap { if case let .string(w) = $0 { return w } else { return nil } })
        loaded.head = head
        loaded.sibling = sibling?.head
        loaded.annotations = GenesisWriter.annotations(c.extras.compactMap { e in
            if case let .string(s) = e.value { return (e.name, s) } else { return nil }
        })
        return loaded
    }

    /// Per-position state -> canonical names: positions 0..<n are the network's `parameters`,
    /// and when the optimizer covers more, the next are `extra` (a classifier's head, in
    /// `ClassifierHead.names` order, as `write` puts them). Nil when the optimizer covers
    /// another parameter list.
    static func state(_ o: TorchOptimizerState, parameters network: [String], extra: [String] = []) -> OptimizerState? {
        let parameters = o.parameterCount == network.count + extra.count && !extra.isEmpty ? network + extra : network
        guard o.parameterCount == parameters.count, o.kind != .unknown else { return nil }
        var slots: [String: [String: Tensor]] = [:]
        var step: Int64?
        for (position, values) in o.state {
            guard position >= 0, position < parameters.count else { return nil }
            for v in values {
                if v.name == "step" { step = step ?? v.value.doubleValue.flatMap { Int64(exactly: $0.rounded(.towardZero)) }; continue }
                guard let generic = OptimizerState.genericSlot(v.name), let t = v.value.tensorValue else { continue }
                slots[parameters[position], default: [:]][generic] = t
            }
        }
        var hp: [String: Double] = [:]
        for h in o.paramGroups.first?.hyperparameters ?? [] {
            switch h.value {
            case let .tuple(items) where h.name == "betas" && items.count == 2:
                hp["beta_1"] = items[0].doubleValue
                hp["beta_2"] = items[1].doubleValue
            default:
                if let d = h.value.doubleValue { hp[h.name] = d } else if let b = h.value.boolValue { hp[h.name] = b ? 1 : 0 }
            }
        }
        return OptimizerState(kind: o.kind == .adam ? .adam : .sgd, convention: .torch, step: step, hyperparameters: hp, slots: slots)
    }

    /// The official `{'epoch', 'state_dict', 'optimizer_state_dict'}` layout, `epoch` only when
    /// the source recorded one, plus `genesis_writer` (a string: `torch.load(weights_only=True)`
    /// takes it, and the official code reads only `state_dict`).
    func write(_ p: ModelPayload, to path: String, options: WriteOptions) throws {
        var optimizer: TorchOptimizerState?
        if options.includeOptimizer, let o = p.optimizer, o.convention == .torch {
            // The network's parameters in `model.parameters()` order, then a classifier's head
            // (ClassifierHead.names: fc1 weight, bias, fc2 weight, bias) when the weights carry it.
            optimizer = Self.optimizer(o, parameters: ClassifierHead.parameterOrder(p.architecture, weights: p.weights))
        }
        let checkpoint = TorchCheckpoint(epoch: p.epoch, stateDict: p.weights, optimizer: optimizer, format: .zip, otherKeys: [], stateDictKey: "state_dict",
                                         extras: [TorchNamedValue(GenesisWriter.key, .string(GenesisWriter.name))]
                                             + p.annotations.sorted { $0.key < $1.key }.map { TorchNamedValue($0.key, .string($0.value)) })
        try TorchWriter.write(checkpoint, to: path, modulePrefix: options.modulePrefix)
    }

    /// Optimizer state keyed by position in `parameters` (`model.parameters()` order); a
    /// parameter without slots (never given a gradient) gets no entry, as torch leaves it.
    static func optimizer(_ o: OptimizerState, parameters params: [String]) -> TorchOptimizerState {
        var state: [Int: [TorchNamedValue]] = [:]
        for (i, name) in params.enumerated() {
            guard let s = o.slots[name] else { continue }
            var values: [TorchNamedValue] = []
            if o.kind == .adam { values.append(TorchNamedValue("step", .tensor(Tensor(shape: [], floats: [Float(o.step ?? 0)])))) }
            for generic in (o.kind == .sgd ? OptimizerState.sgdSlots : OptimizerState.adamSlots) {
                if let t = s[generic] { values.append(TorchNamedValue(OptimizerState.slotName(generic, in: .torch), .tensor(t))) }
            }
            state[i] = values
        }
        return TorchOptimizerState(paramGroups: [TorchParamGroup(hyperparameters: hyperparameters(o), params: Array(0..<params.count))], state: state)
    }

    /// param_groups entries in torch 1.3.1's set (what the official `Genesis_Chest_CT.pt` has).
    static func hyperparameters(_ o: OptimizerState) -> [TorchNamedValue] {
        let h = o.hyperparameters
        let lr = TorchNamedValue("lr", .double(o.learningRate ?? 0))
        if o.kind == .sgd {
            return [lr, TorchNamedValue("momentum", .double(h["momentum"] ?? 0)), TorchNamedValue("dampening", .double(h["dampening"] ?? 0)),
                    TorchNamedValue("weight_decay", .double(h["weight_decay"] ?? 0)), TorchNamedValue("nesterov", .bool((h["nesterov"] ?? 0) != 0))]
        }
        return [lr, TorchNamedValue("betas", .tuple([.double(h["beta_1"] ?? 0.9), .double(h["beta_2"] ?? 0.999)])),
                TorchNamedValue("eps", .double(h["eps"] ?? 1e-8)), TorchNamedValue("weight_decay", .double(h["weight_decay"] ?? 0)),
                TorchNamedValue("amsgrad", .bool((h["amsgrad"] ?? 0) != 0))]
    }
}
