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
    /// a rank whose sizes differ from rank 0's fails instead of mixing two models).
    public func broadcast(_ store: TensorStore, names: [String]) throws -> TensorStore {
        var sizes = names.map { Double(store[$0]?.elementCount ?? -1) }
        let own = sizes
        try broadcast(&sizes)
        guard sizes == own else {
            let bad = names.indices.first { sizes[$0] != own[$0] }!
            throw TrainingError.ranksDisagree(rank: rank, what: "\(names[bad]) has \(Int(own[bad])) values here, \(Int(sizes[bad])) on rank 0")
        }
        var flat: [Float] = []
        flat.reserveCapacity(Int(own.reduce(0, +)))
        for n in names { if let t = store[n] { flat += t.floats() } }
        try broadcast(&flat)
        var out = store
        var offset = 0
        for n in names {
            guard let t = store[n] else { continue }
            out[n] = Tensor(shape: t.shape, floats: Array(flat[offset..<(offset + t.elementCount)]))
            offset += t.elementCount
        }
        return out
    }
}
