import Tensors

/// Reads `optimizer.state_dict()`: `{'state': {key: {...}}, 'param_groups': [{..., 'params': [key, ...]}]}`.
/// Keys are positions (torch >= 1.6) or `id(param)` (torch <= 1.5); both are mapped through the
/// `params` lists, in group order, to positions 0..<n.
struct OptimizerParser {
    let file: String
    let convert: (PValue, String) throws -> TorchValue

    func parse(_ d: PDict) throws -> TorchOptimizerState {
        guard let groupsValue = d["param_groups"], let groups = groupsValue.asList else {
            throw TorchError.malformed(file: file, key: "optimizer_state_dict.param_groups", expected: "a list",
                                       found: d["param_groups"]?.kind ?? "nothing")
        }
        var positionOf: [Int64: Int] = [:]
        var isIndex = true
        var parsedGroups: [TorchParamGroup] = []
        for (g, groupValue) in groups.enumerated() {
            let where_ = "optimizer_state_dict.param_groups[\(g)]"
            guard let group = groupValue.asDict else {
                throw TorchError.malformed(file: file, key: where_, expected: "a dict", found: groupValue.kind)
            }
            var hyper: [TorchNamedValue] = []
            var params: [Int] = []
            var sawParams = false
            for (k, v) in group.entries {
                guard let name = k.asString else {
                    throw TorchError.malformed(file: file, key: where_, expected: "string keys", found: k.kind)
                }
                if name != "params" {
                    hyper.append(TorchNamedValue(name, try convert(v, "\(where_).\(name)")))
                    continue
                }
                sawParams = true
                guard let ids = v.asSequence else {
                    throw TorchError.malformed(file: file, key: "\(where_).params", expected: "a list of ints", found: v.kind)
                }
                for id in ids {
                    guard case let .int(raw) = id else {
                        throw TorchError.malformed(file: file, key: "\(where_).params", expected: "ints (indices or ids)", found: id.kind)
                    }
                    guard positionOf[raw] == nil else {
                        throw TorchError.malformed(file: file, key: "\(where_).params", expected: "each parameter once", found: "\(raw) twice")
                    }
                    let position = positionOf.count
                    if raw != Int64(position) { isIndex = false }
                    positionOf[raw] = position
                    params.append(position)
                }
            }
            guard sawParams else {
                throw TorchError.malformed(file: file, key: where_, expected: "a 'params' list", found: "none")
            }
            parsedGroups.append(TorchParamGroup(hyperparameters: hyper, params: params))
        }

        var state: [Int: [TorchNamedValue]] = [:]
        if let stateValue = d["state"] {
            guard let s = stateValue.asDict else {
                throw TorchError.malformed(file: file, key: "optimizer_state_dict.state", expected: "a dict", found: stateValue.kind)
            }
            for (k, v) in s.entries {
                guard case let .int(raw) = k, let position = positionOf[raw] else {
                    throw TorchError.malformed(file: file, key: "optimizer_state_dict.state",
                                               expected: "keys listed in param_groups[*].params", found: k.kind)
                }
                let where_ = "optimizer_state_dict.state[\(position)]"
                guard let entries = v.asDict else {
                    throw TorchError.malformed(file: file, key: where_, expected: "a dict", found: v.kind)
                }
                var values: [TorchNamedValue] = []
                for (ek, ev) in entries.entries {
                    guard let name = ek.asString else {
                        throw TorchError.malformed(file: file, key: where_, expected: "string keys", found: ek.kind)
                    }
                    values.append(TorchNamedValue(name, try convert(ev, "\(where_).\(name)")))
                }
                state[position] = values
            }
        }
        return TorchOptimizerState(paramGroups: parsedGroups, state: state, keyStyle: isIndex ? .index : .objectID)
    }
}
