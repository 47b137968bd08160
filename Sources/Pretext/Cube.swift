import Tensors

/// One single-channel cube, the official sample of shape (1, rows, cols, deps): the network's
/// (1, D, H, W) with rows = D, cols = H, deps = W (official: 64, 64, 32). Values in C order,
/// index `(r * cols + c) * deps + d`.
public struct Cube: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public let deps: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, deps: Int, values: [Float]) {
        precondition(rows > 0 && cols > 0 && deps > 0, "a cube needs positive sides, got \(rows)x\(cols)x\(deps)")
        precondition(values.count == rows * cols * deps, "\(values.count) values for a \(rows)x\(cols)x\(deps) cube")
        self.rows = rows
        self.cols = cols
        self.deps = deps
        self.values = values
    }

    public init(rows: Int, cols: Int, deps: Int, repeating value: Float) {
        self.init(rows: rows, cols: cols, deps: deps, values: [Float](repeating: value, count: rows * cols * deps))
    }

    /// (rows, cols, deps).
    public var sides: [Int] { [rows, cols, deps] }
    public var count: Int { values.count }

    @inline(__always) public func index(_ r: Int, _ c: Int, _ d: Int) -> Int { (r * cols + c) * deps + d }

    public subscript(r: Int, c: Int, d: Int) -> Float {
        get { values[index(r, c, d)] }
        set { values[index(r, c, d)] = newValue }
    }

    /// The 2D slice at depth `d`: rows x cols, row-major.
    public func depthSlice(_ d: Int) -> [Float] {
        precondition((0..<deps).contains(d), "depth \(d) outside 0..<\(deps)")
        var out = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { out[r * cols + c] = values[index(r, c, d)] } }
        return out
    }
}

extension Cube {
    /// The cubes of a float32 (N, 1, D, H, W) tensor (VolumeBatch.networkInput's form), or
    /// only the first `limit` of them.
    public static func cubes(of batch: Tensor, limit: Int? = nil) throws -> [Cube] {
        guard batch.dtype == .float32, batch.rank == 5, batch.shape[1] == 1, batch.shape.allSatisfy({ $0 > 0 }) else {
            throw PretextError.shape(expected: "float32 (N, 1, D, H, W)", found: "\(batch.dtype.rawValue) \(batch.shape)")
        }
        let (rows, cols, deps) = (batch.shape[2], batch.shape[3], batch.shape[4])
        let n = min(batch.shape[0], max(0, limit ?? batch.shape[0]))
        let per = rows * cols * deps
        return batch.bytes.withUnsafeBytes { raw in
            let all = raw.bindMemory(to: Float.self)
            return (0..<n).map { i in Cube(rows: rows, cols: cols, deps: deps, values: Array(all[(i * per)..<((i + 1) * per)])) }
        }
    }

    /// Cubes of one shape as a float32 (N, 1, D, H, W) tensor.
    public static func batch(_ cubes: [Cube]) throws -> Tensor {
        guard let first = cubes.first else { throw PretextError.shape(expected: "at least one cube", found: "none") }
        guard cubes.allSatisfy({ $0.sides == first.sides }) else {
            throw PretextError.shape(expected: "cubes of one shape \(first.sides)", found: "\(Set(cubes.map { "\($0.sides)" }).sorted())")
        }
        var all = [Float]()
        all.reserveCapacity(cubes.count * first.count)
        for c in cubes { all += c.values }
        return Tensor(shape: [cubes.count, 1] + first.sides, floats: all)
    }
}

/// What the Pretext module refuses.
public enum PretextError: Error, CustomStringConvertible, Equatable {
    case shape(expected: String, found: String)

    public var description: String {
        switch self {
        case let .shape(e, f): return "cubes: expected \(e), found \(f)"
        }
    }
}
