import Tensors

/// numpy's pickled data, as nnU-Net v1's plans files hold it (`ndarray`, `dtype`, scalars),
/// interpreted as data by the same VM: `_reconstruct(ndarray, (0,), b'b')` makes an empty array
/// that BUILD fills from `(version, shape, dtype, is_fortran, raw bytes)`; `dtype(code, align,
/// copy)` a type whose BUILD state gives the byte order; `scalar(dtype, bytes)` a number. Only
/// numeric types; object arrays (whose data is a list of pickled objects) are refused.
final class PNDType {
    let code: String
    let kind: Character
    let size: Int
    var bigEndian = false

    /// `b1`, `i1`...`i8`, `u1`...`u8`, `f4`, `f8` (numpy's `dtype.str` without the byte order).
    init?(_ code: String) {
        guard code.count == 2, let k = code.first, "biuf".contains(k), let n = Int(String(code.last!)) else { return nil }
        switch k {
        case "b": guard n == 1 else { return nil }
        case "f": guard n == 4 || n == 8 else { return nil }
        default: guard [1, 2, 4, 8].contains(n) else { return nil }
        }
        self.code = code
        kind = k
        size = n
    }

    /// One element from its bytes (little- or big-endian as BUILD said).
    func value(_ b: ArraySlice<UInt8>) -> PValue {
        let bytes = bigEndian ? Array(b.reversed()) : Array(b)
        let raw = bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        switch kind {
        case "b": return .bool(raw != 0)
        case "f": return .float(size == 4 ? Double(Float(bitPattern: UInt32(raw))) : Double(bitPattern: raw))
        case "u": return raw <= UInt64(Int64.max) ? .int(Int64(raw)) : .bigInt(bytes)
        default:
            let shift = UInt64(64 - 8 * size)
            return .int(Int64(bitPattern: raw << shift) >> Int64(shift))
        }
    }
}

final class PNDArray {
    private(set) var shape: [Int] = []
    private(set) var values: [PValue] = []
    private(set) var built = false

    /// Largest array a data pickle may hold (plans hold a handful of numbers per array).
    static let maxElements = 1 << 20

    /// BUILD's `(version, shape, dtype, is_fortran, raw)`.
    func build(_ state: PValue, file: String, at: Int) throws {
        func bad(_ expected: String, _ found: String) -> TorchError { .badPickle(file: file, offset: at, expected: expected, found: found) }
        guard !built else { throw bad("an ndarray built once", "a second BUILD") }
        guard let t = state.asTuple, t.count == 5 else { throw bad("ndarray state (version, shape, dtype, is_fortran, data)", state.kind) }
        guard let dims = t[1].asTuple, dims.count <= PickleLimits.maxRank else { throw bad("an ndarray shape tuple", t[1].kind) }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard case let .int(n) = d, n >= 0, n <= Int64(PNDArray.maxElements) else { throw bad("dimensions in 0...\(PNDArray.maxElements)", d.kind) }
            shape.append(Int(n))
            count = count.multipliedReportingOverflow(by: Int(n)).partialValue
            guard count <= PNDArray.maxElements else {
                throw TorchError.limitExceeded(file: file, what: "ndarray elements", limit: PNDArray.maxElements, found: count)
            }
        }
        guard case let .dtype(type) = t[2] else { throw bad("a numeric numpy dtype", t[2].kind) }
        guard case let .bool(fortran) = t[3] else { throw bad("is_fortran True or False", t[3].kind) }
        guard case let .bytes(raw) = t[4] else { throw bad("the array's bytes (object arrays are not data)", t[4].kind) }
        guard raw.count == count * type.size else { throw bad("\(count * type.size) bytes for shape \(shape) of \(type.code)", "\(raw.count) bytes") }
        var v = (0..<count).map { type.value(raw[($0 * type.size)..<(($0 + 1) * type.size)]) }
        if fortran, shape.count > 1 { v = Self.cOrder(v, shape) }
        self.shape = shape
        values = v
        built = true
    }

    /// Column-major elements reordered row-major.
    private static func cOrder(_ v: [PValue], _ shape: [Int]) -> [PValue] {
        var out = v
        var fStride = [Int](repeating: 1, count: shape.count)
        for i in 1..<shape.count { fStride[i] = fStride[i - 1] * shape[i - 1] }
        for c in 0..<v.count {
            var rest = c, f = 0
            for axis in stride(from: shape.count - 1, through: 0, by: -1) {
                f += (rest % shape[axis]) * fStride[axis]
                rest /= shape[axis]
            }
            out[c] = v[f]
        }
        return out
    }
}

enum NumpyReduce {
    static let reconstruct: Set<String> = ["numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"]
    static let scalar: Set<String> = ["numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"]
    static let ndarray = "numpy.ndarray"
    static let dtype = "numpy.dtype"
    static let names = reconstruct.union(scalar).union([ndarray, dtype])

    static func apply(_ name: String, _ a: [PValue], file: String, at: Int) throws -> PValue? {
        func bad(_ expected: String, _ found: String) -> TorchError { .badPickle(file: file, offset: at, expected: expected, found: found) }
        if reconstruct.contains(name) {
            guard a.count == 3, case .global(ndarray) = a[0] else { throw bad("_reconstruct(numpy.ndarray, shape, typecode)", a.first?.kind ?? "nothing") }
            return .ndarray(PNDArray())
        }
        if name == dtype {
            guard a.count == 3, let code = a[0].asString else { throw bad("dtype(code, align, copy)", a.first?.kind ?? "nothing") }
            guard let t = PNDType(code) else { throw bad("a numeric dtype (b1, i1-i8, u1-u8, f4, f8)", "dtype '\(code.prefix(16))'") }
            return .dtype(t)
        }
        if scalar.contains(name) {
            guard a.count == 2, case let .dtype(t) = a[0], case let .bytes(b) = a[1], b.count == t.size else {
                throw bad("scalar(dtype, bytes of its size)", a.map(\.kind).joined(separator: ", "))
            }
            return t.value(b[...])
        }
        return nil
    }

    /// BUILD on a dtype: `(3, '<', None, None, None, -1, -1, 0)`, of which the byte order counts.
    static func build(_ t: PNDType, _ state: PValue, file: String, at: Int) throws {
        guard let s = state.asTuple, s.count >= 2, let order = s[1].asString, ["<", ">", "|", "="].contains(order) else {
            throw TorchError.badPickle(file: file, offset: at, expected: "dtype state with a byte order", found: state.kind)
        }
        t.bigEndian = order == ">"
    }
}

/// A pickle of plain data (numbers, strings, lists, tuples, dicts, OrderedDicts, numpy arrays
/// and scalars), as `load` returns it: nothing else can be named, nothing is called.
public indirect enum PickleData: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// Lists and tuples.
    case list([PickleData])
    /// dicts and OrderedDicts, in their order.
    case dict([Entry])
    /// A numpy array, row-major.
    case array(shape: [Int], values: [PickleData])

    public struct Entry: Sendable, Equatable {
        public let key: PickleData
        public let value: PickleData
    }

    /// Numbers as Double (ints, floats, bools).
    public var number: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .float(d): return d
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    public var int: Int? {
        switch self {
        case let .int(i): return Int(exactly: i)
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    public var string: String? { if case let .string(s) = self { return s }; return nil }

    /// Items of a list, a tuple or a one-dimensional array.
    public var items: [PickleData]? {
        switch self {
        case let .list(l): return l
        case let .array(shape, v) where shape.count == 1: return v
        default: return nil
        }
    }

    /// A dict's value under a string or integer key.
    public subscript(_ key: String) -> PickleData? {
        guard case let .dict(e) = self else { return nil }
        return e.first { $0.key == .string(key) }?.value
    }

    public subscript(_ key: Int) -> PickleData? {
        guard case let .dict(e) = self else { return nil }
        return e.first { $0.key == .int(Int64(key)) }?.value
    }

    /// What it is, for error messages.
    public var kind: String {
        switch self {
        case .none: return "None"
        case let .bool(b): return "bool \(b)"
        case let .int(i): return "int \(i)"
        case let .float(d): return "float \(d)"
        case let .string(s): return "str '\(s.prefix(40))'"
        case let .bytes(b): return "bytes of length \(b.count)"
        case let .list(l): return "list of \(l.count)"
        case let .dict(d): return "dict of \(d.count)"
        case let .array(s, _): return "array of shape \(s)"
        }
    }
}

public enum DataPickle {
    /// Runs a plain-data pickle (protocol 2-4) under the same caps and work budget as a
    /// checkpoint's; a name outside numpy's data types and OrderedDict is refused (`TorchError`).
    public static func load(_ bytes: [UInt8], file: String) throws -> PickleData {
        var vm = PickleVM(file: file, data: bytes)
        vm.profile = .data
        let v = try vm.run()
        return try convert(v, file: file)
    }

    private static func convert(_ v: PValue, file: String) throws -> PickleData {
        switch v {
        case .none: return .none
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .float(d): return .float(d)
        case let .string(s): return .string(s)
        case let .bytes(b): return .bytes(b)
        case let .tuple(t): return .list(try t.items.map { try convert($0, file: file) })
        case let .list(l): return .list(try l.items.map { try convert($0, file: file) })
        case let .dict(d): return .dict(try d.entries.map { PickleData.Entry(key: try convert($0.key, file: file), value: try convert($0.value, file: file)) })
        case let .ndarray(a):
            guard a.built else { throw TorchError.malformed(file: file, key: "ndarray", expected: "an array BUILD filled", found: "an empty _reconstruct") }
            return .array(shape: a.shape, values: try a.values.map { try convert($0, file: file) })
        case .bigInt, .global, .storage, .tensor, .dtype:
            throw TorchError.malformed(file: file, key: "data pickle", expected: "plain data", found: v.kind)
        }
    }
}
