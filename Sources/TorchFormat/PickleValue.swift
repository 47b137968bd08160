import Tensors

/// The values our pickle subset can build. Nothing here can run code: globals are inert names
/// from the allow-list, and the only "calls" are the few constructors the VM interprets itself.
indirect enum PValue {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer that does not fit Int64: little-endian two's complement bytes, as LONG1 had them.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PTuple)
    case list(PList)
    case dict(PDict)
    /// An allowed global, by its dotted name (`collections.OrderedDict`, `torch.FloatStorage`).
    case global(String)
    case storage(StorageRef)
    case tensor(TensorRef)
    /// numpy data in a plain-data pickle (`NumpyPickle.swift`).
    case ndarray(PNDArray)
    case dtype(PNDType)

    /// Nesting depth (1 for a leaf), kept by each container so it is O(1) here.
    var depth: Int {
        switch self {
        case let .tuple(t): return t.depth
        case let .list(l): return l.depth
        case let .dict(d): return d.depth
        default: return 1
        }
    }

    /// A short description for error messages (never the whole value).
    var kind: String {
        switch self {
        case .none: return "None"
        case let .bool(b): return "bool \(b)"
        case let .int(i): return "int \(i)"
        case let .bigInt(b): return "int of \(b.count) bytes"
        case let .float(d): return "float \(d)"
        case let .string(s): return "str '\(s.prefix(60))'"
        case let .bytes(b): return "bytes of length \(b.count)"
        case let .tuple(t): return "tuple of \(t.items.count)"
        case let .list(l): return "list of \(l.items.count)"
        case let .dict(d): return "dict of \(d.entries.count)"
        case let .global(g): return "global \(g)"
        case let .storage(s): return "storage '\(s.key)'"
        case .tensor: return "tensor"
        case let .ndarray(a): return "ndarray of shape \(a.shape)"
        case let .dtype(t): return "numpy dtype \(t.code)"
        }
    }

    var asString: String? { if case let .string(s) = self { return s }; return nil }
    var asInt: Int64? {
        switch self {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }
    var asTuple: [PValue]? { if case let .tuple(t) = self { return t.items }; return nil }
    var asDict: PDict? { if case let .dict(d) = self { return d }; return nil }
    var asList: [PValue]? { if case let .list(l) = self { return l.items }; return nil }

    /// Items of a tuple or a list (positional sequences in torch's data).
    var asSequence: [PValue]? { asTuple ?? asList }

    /// The dict key form of this value; nil for unhashable values, and for tuples of more than
    /// `maxKeyNodes` nodes (a memo can make a tuple hold one tuple twice at every level:
    /// walking that unchecked doubles the work per level).
    var key: PKey? {
        var budget = PValue.maxKeyNodes
        return key(budget: &budget)
    }

    static let maxKeyNodes = 4096

    private func key(budget: inout Int) -> PKey? {
        budget -= 1
        guard budget >= 0 else { return nil }
        switch self {
        case .none: return PKey.none
        case let .bool(b): return .int(b ? 1 : 0)
        case let .int(i): return .int(i)
        case let .bigInt(b): return .bigInt(b)
        case let .float(d): return d == d.rounded() && abs(d) < 9.2e18 ? .int(Int64(d)) : .float(d.bitPattern)
        case let .string(s): return .string(s)
        case let .bytes(b): return .bytes(b)
        case let .tuple(t):
            var parts: [PKey] = []
            for v in t.items { guard let k = v.key(budget: &budget) else { return nil }; parts.append(k) }
            return .tuple(parts)
        default: return nil
        }
    }
}

/// Hashable form of the keys Python allows in dicts (1 == 1.0 == True, as in Python).
enum PKey: Hashable {
    case none
    case int(Int64)
    case bigInt([UInt8])
    case float(UInt64)
    case string(String)
    case bytes([UInt8])
    case tuple([PKey])
}

/// Containers are reference types so that memo entries and stack entries share them, as in
/// Python. A container is frozen once it is placed inside another one: real pickles finish
/// filling a container before nesting it, and freezing keeps depths exact and cycles impossible.
final class PTuple {
    let items: [PValue]
    let depth: Int
    init(_ items: [PValue]) {
        self.items = items
        depth = 1 + (items.map(\.depth).max() ?? 0)
    }
}

final class PList {
    private(set) var items: [PValue] = []
    private(set) var depth = 1
    var frozen = false
    func append(_ v: PValue) {
        items.append(v)
        depth = max(depth, v.depth + 1)
    }
}

final class PDict {
    private(set) var entries: [(key: PValue, value: PValue)] = []
    private var index: [PKey: Int] = [:]
    private(set) var depth = 1
    var frozen = false
    /// `collections.OrderedDict` (from REDUCE) rather than a plain dict.
    let ordered: Bool
    /// State from BUILD (the `_metadata` attribute of a state dict); kept, never interpreted.
    var attributes: PValue?

    init(ordered: Bool) { self.ordered = ordered }

    /// Python's `d[k] = v`: replaces in place, or appends.
    func set(_ k: PKey, key: PValue, value: PValue) {
        if let i = index[k] {
            entries[i].value = value
        } else {
            index[k] = entries.count
            entries.append((key, value))
        }
        depth = max(depth, key.depth + 1, value.depth + 1)
    }

    subscript(_ name: String) -> PValue? {
        index[.string(name)].map { entries[$0].value }
    }
}

/// A storage as its persistent id describes it; the bytes are fetched later, by key.
struct StorageRef {
    let className: String
    let dtype: DType
    let key: String
    let location: String
    /// Elements in the whole storage.
    let numel: Int
    /// Legacy storage views: element offset and count inside the root storage.
    let view: (offset: Int, numel: Int)?
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view into a storage.
struct TensorRef {
    let storage: StorageRef
    let offset: Int
    let shape: [Int]
    let stride: [Int]
}
