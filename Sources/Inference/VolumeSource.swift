/// Where the blender reads its windows from: a scan of shape (i, j, k).
///
/// `readPatch` fills `buffer` with the box at `origin` of `size` (inside the shape) in the
/// network's order: i slowest, k fastest (D, H, W). A scan file holds i fastest, so a source
/// transposes.
public protocol VolumeSource {
    var shape: [Int] { get }
    func readPatch(origin: [Int], size: [Int], into buffer: UnsafeMutableBufferPointer<Float>) throws
}

/// Where the blender writes its result: one k-slab at a time, k ascending from 0, each holding
/// every channel: `slab[(c * J + j) * I + i]`.
public protocol SlabSink: AnyObject {
    func append(k: Int, channels: Int, slab: UnsafeBufferPointer<Float>) throws
}

/// A scan held in memory, i fastest (as NIfTI and MetaImage store it).
public struct InMemoryVolume: VolumeSource, Sendable {
    public let shape: [Int]
    public var voxels: [Float]

    public init(shape: [Int], voxels: [Float]) throws {
        guard shape.count == 3 else { throw InferenceError.badRegion(reason: "a volume needs 3 sides (i, j, k), got \(shape)") }
        let n = try CheckedSize.product(shape, what: "volume voxels")
        guard n == voxels.count else { throw InferenceError.badRegion(reason: "shape \(shape) holds \(n) voxels, found \(voxels.count)") }
        self.shape = shape
        self.voxels = voxels
    }

    public func readPatch(origin: [Int], size: [Int], into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try Self.checkBox(origin: origin, size: size, shape: shape, capacity: buffer.count)
        let (ni, nj) = (shape[0], shape[1])
        let (si, sj, sk) = (size[0], size[1], size[2])
        voxels.withUnsafeBufferPointer { v in
            for a in 0..<si {
                let i = origin[0] + a
                for b in 0..<sj {
                    let j = origin[1] + b
                    let row = (a * sj + b) * sk
                    var src = (origin[2] * nj + j) * ni + i
                    let stride = ni * nj
                    for c in 0..<sk {
                        buffer[row + c] = v[src]
                        src += stride
                    }
                }
            }
        }
    }

    /// A box must lie inside the shape and fit the buffer.
    static func checkBox(origin: [Int], size: [Int], shape: [Int], capacity: Int) throws {
        guard origin.count == 3, size.count == 3 else { throw InferenceError.badRegion(reason: "box origin \(origin) size \(size) must have 3 sides") }
        for a in 0..<3 where origin[a] < 0 || size[a] < 0 || origin[a] > shape[a] - size[a] {
            throw InferenceError.badRegion(reason: "box at \(origin) of size \(size) is not inside the scan \(shape)")
        }
        let n = try CheckedSize.product(size, what: "box voxels")
        guard n <= capacity else { throw InferenceError.badRegion(reason: "box of \(n) voxels does not fit a buffer of \(capacity)") }
    }
}

/// A sink that keeps every slab in memory, i fastest then j, k, then channel (a NIfTI's order
/// for shape (I, J, K, C)). For tests and small scans.
public final class InMemorySink: SlabSink {
    public let shape: [Int]
    public let channels: Int
    public private(set) var values: [Float]
    /// The k of each append, in order.
    public private(set) var order: [Int] = []

    public init(shape: [Int], channels: Int) throws {
        self.shape = shape
        self.channels = channels
        values = [Float](repeating: .nan, count: try CheckedSize.product(shape + [channels], what: "output values"))
    }

    public func append(k: Int, channels c: Int, slab: UnsafeBufferPointer<Float>) throws {
        let plane = shape[0] * shape[1]
        guard c == channels, slab.count == plane * c, k >= 0, k < shape[2] else {
            throw InferenceError.badRegion(reason: "slab k=\(k) of \(slab.count) values (\(c) channels) does not fit \(shape) x \(channels)")
        }
        for ch in 0..<c {
            let dst = (ch * shape[2] + k) * plane
            for t in 0..<plane { values[dst + t] = slab[ch * plane + t] }
        }
        order.append(k)
    }
}
