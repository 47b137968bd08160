import Tensors

/// The collective operations of a data-parallel run, as the training code sees them: the
/// ranks of the run, sums over every rank and broadcasts from rank 0. `Distributed` implements
/// them over MPI; `SingleProcess` is the run of one process, where every sum is the value
/// itself. Every rank must make the same calls in the same order with the same sizes.
public protocol Collectives: AnyObject, Sendable {
    /// This process's rank, 0..<ranks.
    var rank: Int { get }
    var ranks: Int { get }
    /// Starts summing `count` floats at `buffer` over every rank, in place; the buffer must stay
    /// valid and untouched until `wait` of the returned request returns.
    func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> Int
    /// Lets started sums advance (call now and then while computing).
    func progress() throws
    func wait(_ request: Int) throws
    /// Sums `values` over every rank, in place (Double: loss terms, BatchNorm moments).
    func sum(_ values: inout [Double]) throws
    /// Rank 0's `values` on every rank (the same count everywhere).
    func broadcast(_ values: inout [Float]) throws
    func broadcast(_ values: inout [Double]) throws
    /// Returns once every rank has called it.
    func barrier() throws
}

/// One process: sums are the values themselves, broadcasts keep them.
public final class SingleProcess: Collectives {
    public init() {}
    public var rank: Int { 0 }
    public var ranks: Int { 1 }
    public func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> Int { 0 }
    public func progress() throws {}
    public func wait(_ request: Int) throws {}
    public func sum(_ values: inout [Double]) throws {}
    public func broadcast(_ values: inout [Float]) throws {}
    public func broadcast(_ values: inout [Double]) throws {}
    public func barrier() throws {}
}

extension Collectives {
    /// Rank 0's tensors under `names` (each rank must hold them with the same sizes; checked:
    /// a rank whose sizes differ from rank 0's fails instead of mixing two models). Every tensor
    /// keeps its dtype and bits: float32 ones travel as floats, the others (`num_batches_tracked`
    /// int64, float64, ...) as their raw bytes packed eight to a Double's bit pattern, which a
    /// broadcast moves without arithmetic.
    public func broadcast(_ store: TensorStore, names: [String]) throws -> TensorStore {
        let held = names.filter { store[$0] != nil }
        var sizes = names.map { n in store[n].map { Double($0.bytes.count) } ?? -1 }
        sizes += names.map { n in store[n].map { Double(DType.allCases.firstIndex(of: $0.dtype)!) } ?? -1 }
        let own = sizes
        try broadcast(&sizes)
        guard sizes == own else {
            let bad = sizes.indices.first { sizes[$0] != own[$0] }! % names.count
            throw TrainingError.ranksDisagree(rank: rank, what: "\(names[bad]) has \(Self.describe(own, bad, names.count)) here, \(Self.describe(sizes, bad, names.count)) on rank 0")
        }
        let floatNames = held.filter { store[$0]!.dtype == .float32 }
        let otherNames = held.filter { store[$0]!.dtype != .float32 }
        var flat: [Float] = []
        flat.reserveCapacity(floatNames.reduce(0) { $0 + store[$1]!.elementCount })
        for n in floatNames { flat += store[n]!.floats() }
        try broadcast(&flat)
        var packed = Self.packed(otherNames.map { store[$0]!.bytes })
        try broadcast(&packed)
        var out = store
        var offset = 0
        for n in floatNames {
            let t = store[n]!
            out[n] = Tensor(shape: t.shape, floats: Array(flat[offset..<(offset + t.elementCount)]))
            offset += t.elementCount
        }
        for (n, bytes) in zip(otherNames, Self.unpacked(packed, counts: otherNames.map { store[$0]!.bytes.count })) {
            let t = store[n]!
            out[n] = try Tensor(dtype: t.dtype, shape: t.shape, bytes: bytes, name: n)
        }
        return out
    }

    private static func describe(_ values: [Double], _ i: Int, _ n: Int) -> String {
        let dtype = values[n + i] >= 0 ? DType.allCases[Int(values[n + i])].rawValue : "no tensor"
        return values[i] >= 0 ? "\(Int(values[i])) bytes of \(dtype)" : "no tensor"
    }

    /// Byte strings back to back, eight bytes to a Double's bit pattern (zero-padded at the end).
    static func packed(_ parts: [[UInt8]]) -> [Double] {
        let bytes = parts.flatMap { $0 }
        return stride(from: 0, to: bytes.count, by: 8).map { i in
            var bits: UInt64 = 0
            for k in 0..<min(8, bytes.count - i) { bits |= UInt64(bytes[i + k]) << (8 * k) }
            return Double(bitPattern: bits)
        }
    }

    /// The inverse of `packed`: the byte strings of the given lengths.
    static func unpacked(_ values: [Double], counts: [Int]) -> [[UInt8]] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 8)
        for v in values {
            let bits = v.bitPattern
            for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * k))) }
        }
        var out: [[UInt8]] = []
        var offset = 0
        for c in counts {
            out.append(Array(bytes[offset..<(offset + c)]))
            offset += c
        }
        return out
    }
}
