/// Named tensors in a fixed order, with string metadata: what every reader returns and every
/// writer takes.
public struct TensorStore: Sendable, Equatable {
    public private(set) var names: [String] = []
    private var byName: [String: Tensor] = [:]
    /// Free-form string metadata (format, versions, provenance) carried alongside.
    public var metadata: [String: String] = [:]

    public init() {}

    public init(_ pairs: [(String, Tensor)]) {
        for (n, t) in pairs { self[n] = t }
    }

    public var count: Int { names.count }
    public var isEmpty: Bool { names.isEmpty }

    /// Reads, replaces (keeping the position) or appends (at the end) a tensor; `nil` removes.
    public subscript(name: String) -> Tensor? {
        get { byName[name] }
        set {
            if let t = newValue {
                if byName[name] == nil { names.append(name) }
                byName[name] = t
            } else if byName.removeValue(forKey: name) != nil {
                names.removeAll { $0 == name }
            }
        }
    }

    public func contains(_ name: String) -> Bool { byName[name] != nil }

    /// Tensors in order.
    public var entries: [(name: String, tensor: Tensor)] { names.map { ($0, byName[$0]!) } }

    /// Total bytes of all tensors.
    public var byteCount: Int { byName.values.reduce(0) { $0 + $1.bytes.count } }

    /// A store with every name passed through `rename` (order kept); names mapped to `nil` dropped.
    public func renamed(_ rename: (String) -> String?) -> TensorStore {
        var out = TensorStore()
        out.metadata = metadata
        for (n, t) in entries { if let m = rename(n) { out[m] = t } }
        return out
    }
}
