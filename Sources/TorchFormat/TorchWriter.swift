import Tensors

/// Writes `.pt` files in the zip format that `torch.load(path, weights_only=True)` reads:
/// a bare state dict (an OrderedDict), or the official `{'epoch', 'state_dict',
/// 'optimizer_state_dict'}` layout with index-keyed optimizer state. Atomic: a failure never
/// leaves a partial file at `path`.
public enum TorchWriter {
    /// Writes `checkpoint`. `modulePrefix` true adds `module.` to every state-dict key (as
    /// `nn.DataParallel` saves), false removes it. A checkpoint without epoch, optimizer and
    /// `stateDictKey` is written as a bare state dict.
    public static func write(_ checkpoint: TorchCheckpoint, to path: String, modulePrefix: Bool) throws {
        let (pickle, storages) = try encode(checkpoint, modulePrefix: modulePrefix, file: path)
        try TorchZip.write(pickle: pickle, storages: storages, root: rootName(for: path), to: path)
    }

    /// The zip root folder torch would use: the file's base name without extension, when it is
    /// a plain identifier; `archive` otherwise.
    static func rootName(for path: String) -> String {
        var base = path.split(separator: "/").last.map(String.init) ?? ""
        if let dot = base.lastIndex(of: "."), dot != base.startIndex { base = String(base[..<dot]) }
        let ok = !base.isEmpty && base.count <= 64 && base.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        return ok ? base : "archive"
    }

    /// `data.pkl` and the storages. `parameterKeys` replaces the optimizer's positions by other
    /// keys (tests use it to produce torch 1.3.1-style `id()` keys).
    static func encode(_ checkpoint: TorchCheckpoint, modulePrefix: Bool, file: String = "<memory>",
                       parameterKeys: [Int64]? = nil) throws -> ([UInt8], [(key: String, bytes: [UInt8])]) {
        var enc = Encoder(file: file)
        let sd = modulePrefix ? TorchCheckpoint.addingModulePrefix(checkpoint.stateDict)
                              : TorchCheckpoint.strippingModulePrefix(checkpoint.stateDict)
        guard sd.count == checkpoint.stateDict.count else {
            throw TorchError.cannotWrite(file: file, key: "state dict", reason: "two keys become the same when the module. prefix changes")
        }
        let wrapped = checkpoint.stateDictKey != nil || checkpoint.epoch != nil || checkpoint.optimizer != nil || !checkpoint.extras.isEmpty
        if wrapped {
            enc.w.op(Op.emptyDict)
            enc.w.memoize()
            let count = 1 + (checkpoint.epoch == nil ? 0 : 1) + (checkpoint.optimizer == nil ? 0 : 1) + checkpoint.extras.count
            enc.w.beginItems(count)
            if let e = checkpoint.epoch {
                enc.w.string("epoch")
                enc.w.int(Int64(e))
            }
            enc.w.string(checkpoint.stateDictKey ?? "state_dict")
            try enc.stateDict(sd)
            if let o = checkpoint.optimizer {
                enc.w.string("optimizer_state_dict")
                try enc.optimizer(o, keys: parameterKeys)
            }
            for e in checkpoint.extras {
                guard ![checkpoint.stateDictKey ?? "state_dict", "epoch", "optimizer_state_dict"].contains(e.name) else {
                    throw TorchError.cannotWrite(file: file, key: e.name, reason: "an extra top-level entry may not reuse a checkpoint key")
                }
                enc.w.string(e.name)
                try enc.value(e.value, name: e.name)
            }
            enc.w.endItems(count)
        } else {
            try enc.stateDict(sd)
        }
        enc.w.stop()
        return (enc.w.bytes, enc.storages)
    }
}

/// Pickle emission for tensors, values and optimizer state; every tensor gets its own storage
/// record (`0`, `1`, … in first-seen order, continuing into the optimizer).
private struct Encoder {
    let file: String
    var w = PickleWriter()
    var storages: [(key: String, bytes: [UInt8])] = []

    init(file: String) { self.file = file }

    mutating func stateDict(_ sd: TensorStore) throws {
        w.orderedDict()
        let entries = sd.entries
        w.beginItems(entries.count)
        for (name, t) in entries {
            w.string(name)
            try tensor(t, name: name)
        }
        w.endItems(entries.count)
    }

    /// `_rebuild_tensor_v2(('storage', cls, key, 'cpu', numel), 0, size, stride, False, OrderedDict())`.
    mutating func tensor(_ t: Tensor, name: String) throws {
        guard t.bytes.count == t.elementCount * t.dtype.byteSize else {
            throw TorchError.cannotWrite(file: file, key: name, reason: "byte count \(t.bytes.count) does not match shape \(t.shape)")
        }
        let key = String(storages.count)
        storages.append((key, t.bytes))
        let cls = Allowed.storageClass(for: t.dtype)
        let dot = cls.firstIndex(of: ".")!
        w.global("torch._utils", "_rebuild_tensor_v2")
        w.beginTuple(6)
        w.beginTuple(5)
        w.string("storage")
        w.global(String(cls[..<dot]), String(cls[cls.index(after: dot)...]))
        w.string(key)
        w.string("cpu")
        w.int(Int64(t.elementCount))
        w.endTuple(5)
        w.op(Op.binpersid)
        w.int(0)
        w.intTuple(t.shape)
        w.intTuple(TensorMaterializer.contiguousStrides(t.shape))
        w.bool(false)
        w.orderedDict()
        w.endTuple(6)
        w.op(Op.reduce)
        w.memoize()
    }

    mutating func value(_ v: TorchValue, name: String) throws {
        switch v {
        case .none: w.none()
        case let .bool(b): w.bool(b)
        case let .int(i): w.int(i)
        case let .double(d): w.float(d)
        case let .string(s): w.string(s)
        case let .tuple(items):
            w.beginTuple(items.count)
            for x in items { try value(x, name: name) }
            w.endTuple(items.count)
        case let .list(items):
            w.op(Op.emptyList)
            w.memoize()
            w.beginItems(items.count)
            for x in items { try value(x, name: name) }
            w.endItems(items.count, list: true)
        case let .tensor(t): try tensor(t, name: name)
        }
    }

    /// `{'state': {key: {...}}, 'param_groups': [{hyper..., 'params': [key, ...]}]}`.
    mutating func optimizer(_ o: TorchOptimizerState, keys: [Int64]?) throws {
        let n = o.parameterCount
        if let keys, keys.count != n {
            throw TorchError.cannotWrite(file: file, key: "optimizer_state_dict", reason: "\(keys.count) keys for \(n) parameters")
        }
        func key(_ position: Int) throws -> Int64 {
            guard position >= 0, position < n else {
                throw TorchError.cannotWrite(file: file, key: "optimizer_state_dict.state", reason: "position \(position) outside 0..<\(n)")
            }
            return keys?[position] ?? Int64(position)
        }
        w.op(Op.emptyDict)
        w.memoize()
        w.beginItems(2)
        w.string("state")
        w.op(Op.emptyDict)
        w.memoize()
        let positions = o.state.keys.sorted()
        w.beginItems(positions.count)
        for p in positions {
            w.int(try key(p))
            w.op(Op.emptyDict)
            w.memoize()
            let entries = o.state[p]!
            w.beginItems(entries.count)
            for e in entries {
                w.string(e.name)
                try value(e.value, name: "optimizer_state_dict.state[\(p)].\(e.name)")
            }
            w.endItems(entries.count)
        }
        w.endItems(positions.count)
        w.string("param_groups")
        w.op(Op.emptyList)
        w.memoize()
        w.beginItems(o.paramGroups.count)
        for (g, group) in o.paramGroups.enumerated() {
            w.op(Op.emptyDict)
            w.memoize()
            let hyper = group.hyperparameters.filter { $0.name != "params" }
            w.beginItems(hyper.count + 1)
            for h in hyper {
                w.string(h.name)
                try value(h.value, name: "optimizer_state_dict.param_groups[\(g)].\(h.name)")
            }
            w.string("params")
            w.op(Op.emptyList)
            w.memoize()
            w.beginItems(group.params.count)
            for p in group.params { w.int(try key(p)) }
            w.endItems(group.params.count, list: true)
            w.endItems(hyper.count + 1)
        }
        w.endItems(o.paramGroups.count, list: true)
        w.endItems(2)
    }
}
