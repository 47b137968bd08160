import Tensors

/// Reads PyTorch `.pt` files, zip (torch >= 1.6) or legacy (torch 1.3.1), without executing
/// any pickle code.
public enum TorchReader {
    /// ZIP local header magic.
    static let zipMagic: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
    /// PROTO 2, LONG1 of 10 bytes: the legacy magic number 0x1950a86a20f9469cfc6c.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Which format a file is in, by its first bytes; nil when it is neither.
    public static func sniff(_ path: String) -> TorchFileFormat? {
        guard let head = try? FileIO.readPrefix(path, count: legacyMagic.count) else { return nil }
        if head.starts(with: zipMagic) { return .zip }
        if head == legacyMagic { return .legacy }
        return nil
    }

    /// `verifyChecksums: false` skips the zip CRC-32s, for a caller that compares every byte
    /// against what it wrote itself; everyone else keeps them on.
    public static func read(_ path: String, verifyChecksums: Bool = true) throws -> TorchCheckpoint {
        let head: [UInt8]
        do { head = try FileIO.readPrefix(path, count: legacyMagic.count) } catch { throw TorchError.io(file: path, reason: "\(error)") }
        if head.starts(with: zipMagic) {
            let (root, storages) = try TorchZip.load(path)
            let checkpoint = try Interpreter(file: path, storages: storages).checkpoint(root, format: .zip)
            if verifyChecksums { try storages.finish() }
            return checkpoint
        }
        if head.starts(with: legacyMagic.prefix(3)) {
            let (root, storages) = try TorchLegacy.load(path)
            return try Interpreter(file: path, storages: storages).checkpoint(root, format: .legacy)
        }
        throw TorchError.notTorch(file: path, reason: "starts with neither a zip header nor the legacy pickle magic")
    }
}

/// Storage bytes by key, fetched once and shared by every tensor that views them.
protocol StorageSource: AnyObject {
    func bytes(_ ref: StorageRef) throws -> [UInt8]
    /// Checks deferred to the end (the zip CRC-32s, on all cores).
    func finish() throws
}

extension StorageSource {
    func finish() throws {}
}

/// Every persistent id of one pickle: the same key must always name the same class and size.
final class StorageRegistry {
    let file: String
    let legacy: Bool
    private(set) var byKey: [String: StorageRef] = [:]
    private(set) var order: [String] = []

    init(file: String, legacy: Bool) {
        self.file = file
        self.legacy = legacy
    }

    func load(_ pid: PValue, at: Int) throws -> PValue {
        let s = try Reduce.storage(pid, legacy: legacy, file: file, at: at)
        if let seen = byKey[s.key] {
            guard seen.className == s.className, seen.numel == s.numel else {
                throw TorchError.storage(file: file, key: s.key, expected: "\(seen.className) of \(seen.numel) elements, as first seen",
                                         found: "\(s.className) of \(s.numel)")
            }
        } else {
            byKey[s.key] = s
            order.append(s.key)
        }
        return .storage(s)
    }
}

/// Turns the unpickled object into a checkpoint.
struct Interpreter {
    let file: String
    let storages: StorageSource
    let budget: Budget

    init(file: String, storages: StorageSource) {
        self.file = file
        self.storages = storages
        self.budget = Budget(fileBytes: (try? FileIO.size(of: file)) ?? 0)
    }

    /// What one file may make us build: tensor bytes (views can repeat a storage, but not
    /// without bound: a stride-0 view of one element could claim gigabytes) and plain-value
    /// nodes (a memo can share a tuple twice per level).
    final class Budget {
        let maxTensorBytes: Int
        var tensorBytes = 0
        var valueNodes = 0
        static let maxValueNodes = 1_000_000

        init(fileBytes: Int) { maxTensorBytes = max(64 << 20, fileBytes.multipliedReportingOverflow(by: 4).partialValue) }
    }

    /// `net`: SuPreM's `{'net': model.state_dict(), 'optimizer', 'scheduler', 'epoch'}`.
    static let stateDictKeys = ["state_dict", "model_state_dict", "network_weights", "net"]
    static let optimizerKeys = ["optimizer_state_dict", "optimizer"]

    func checkpoint(_ root: PValue, format: TorchFileFormat) throws -> TorchCheckpoint {
        guard let top = root.asDict else {
            throw TorchError.malformed(file: file, key: "top level", expected: "a dict or OrderedDict", found: root.kind)
        }
        let sdKey = Interpreter.stateDictKeys.first { top[$0]?.asDict != nil }
        guard let sdKey, let sd = top[sdKey]?.asDict else {
            let store = try stateDict(top, what: "state dict")
            return TorchCheckpoint(stateDict: store, format: format, stateDictKey: nil)
        }
        var epoch: Int?
        // nnU-Net v2's checkpoint says `current_epoch`.
        let epochKey = top["epoch"] != nil ? "epoch" : sdKey == "network_weights" && top["current_epoch"] != nil ? "current_epoch" : "epoch"
        if let e = top[epochKey] {
            guard case let .int(i) = e, let v = Int(exactly: i) else {
                throw TorchError.malformed(file: file, key: epochKey, expected: "an int", found: e.kind)
            }
            epoch = v
        }
        var optimizer: TorchOptimizerState?
        let optKey = Interpreter.optimizerKeys.first { top[$0]?.asDict != nil }
        if let optKey, let o = top[optKey]?.asDict {
            optimizer = try OptimizerParser(file: file, convert: value).parse(o)
        }
        var others: [String] = []
        var extras: [TorchNamedValue] = []
        for (k, v) in top.entries {
            let name = k.asString ?? k.kind
            guard name != sdKey && name != epochKey && name != optKey else { continue }
            others.append(name)
            if k.asString != nil, case let .string(s) = v { extras.append(TorchNamedValue(name, .string(s))) }
        }
        let store = try stateDict(sd, what: sdKey)
        return TorchCheckpoint(epoch: epoch, stateDict: store, optimizer: optimizer, format: format,
                               otherKeys: others, stateDictKey: sdKey, extras: extras)
    }

    private func stateDict(_ d: PDict, what: String) throws -> TensorStore {
        var store = TensorStore()
        for (k, v) in d.entries {
            guard let name = k.asString else {
                throw TorchError.malformed(file: file, key: what, expected: "string keys", found: k.kind)
            }
            guard case let .tensor(ref) = v else {
                throw TorchError.malformed(file: file, key: name, expected: "a tensor in the \(what)", found: v.kind)
            }
            store[name] = try tensor(ref, name: name)
        }
        store.metadata["torch.format"] = "pt"
        return store
    }

    func tensor(_ ref: TensorRef, name: String) throws -> Tensor {
        let bytes = try storages.bytes(ref.storage)
        let t = try TensorMaterializer.tensor(ref, storage: bytes, name: name, file: file)
        budget.tensorBytes += t.bytes.count
        guard budget.tensorBytes <= budget.maxTensorBytes else {
            throw TorchError.limitExceeded(file: file, what: "tensor bytes built from the file (4x its size)", limit: budget.maxTensorBytes, found: budget.tensorBytes)
        }
        return t
    }

    /// A plain value (hyperparameter or state entry); tensors are copied out.
    func value(_ v: PValue, name: String) throws -> TorchValue {
        budget.valueNodes += 1
        guard budget.valueNodes <= Budget.maxValueNodes else {
            throw TorchError.limitExceeded(file: file, what: "plain values built from the file", limit: Budget.maxValueNodes, found: budget.valueNodes)
        }
        switch v {
        case .none: return .none
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .float(d): return .double(d)
        case let .string(s): return .string(s)
        case let .tuple(t): return .tuple(try t.items.map { try value($0, name: name) })
        case let .list(l): return .list(try l.items.map { try value($0, name: name) })
        case let .tensor(r): return .tensor(try tensor(r, name: name))
        default:
            throw TorchError.malformed(file: file, key: name, expected: "None, bool, int, float, str, tuple, list or tensor", found: v.kind)
        }
    }
}
