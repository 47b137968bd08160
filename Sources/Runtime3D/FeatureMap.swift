import Tensors

/// A dense NCDHW float32 volume batch: the activations every op reads and writes.
/// Spatial axes are named depth, height, width in memory order (the official cubes are
/// 64 x 64 x 32: rows, columns, slices).
public struct FeatureMap: Sendable, Equatable {
    public let batch: Int
    public let channels: Int
    public let depth: Int
    public let height: Int
    public let width: Int
    /// Values in C order (n, c, d, h, w).
    public var data: [Float]

    /// A zero-filled map; sizes are checked for overflow and against `Limits.maxTensorBytes`.
    public init(batch: Int, channels: Int, depth: Int, height: Int, width: Int, what: String = "activation") throws {
        let shape = [batch, channels, depth, height, width]
        let count = try FeatureMap.checkedCount(shape, what: what)
        self.batch = batch
        self.channels = channels
        self.depth = depth
        self.height = height
        self.width = width
        self.data = [Float](repeating: 0, count: count)
    }

    /// A map whose values the caller overwrites completely before reading (skips zero-filling
    /// the large activations that every op writes in full).
    init(uninitializedBatch batch: Int, channels: Int, depth: Int, height: Int, width: Int, what: String = "activation") throws {
        let count = try FeatureMap.checkedCount([batch, channels, depth, height, width], what: what)
        self.batch = batch
        self.channels = channels
        self.depth = depth
        self.height = height
        self.width = width
        self.data = [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
    }

    /// Wraps values; the count must match the shape.
    public init(shape: [Int], data: [Float], what: String = "input") throws {
        guard shape.count == 5 else { throw RuntimeError.badInput(reason: "\(what): expected rank 5 (N,C,D,H,W), found shape \(shape)") }
        let count = try FeatureMap.checkedCount(shape, what: what)
        guard count == data.count else {
            throw RuntimeError.badInput(reason: "\(what): shape \(shape) holds \(count) values, found \(data.count)")
        }
        (batch, channels, depth, height, width) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        self.data = data
    }

    /// A rank-5 tensor of any numeric dtype, converted to float32.
    public init(_ tensor: Tensor, what: String = "input") throws {
        try self.init(shape: tensor.shape, data: tensor.floats(), what: what)
    }

    public var shape: [Int] { [batch, channels, depth, height, width] }
    /// Voxels per channel (d * h * w).
    public var spatialCount: Int { depth * height * width }
    /// Values per sample (c * d * h * w).
    public var sampleCount: Int { channels * spatialCount }

    /// As a float32 `Tensor` in the same layout.
    public var tensor: Tensor { Tensor(shape: shape, floats: data) }

    /// Element count of `shape`, refusing overflow, negative sides and sizes over the cap.
    static func checkedCount(_ shape: [Int], what: String) throws -> Int {
        guard shape.allSatisfy({ $0 >= 0 }), let bytes = try? Limits.byteCount(shape, .float32, what: what) else {
            throw RuntimeError.tooLarge(what: what, shape: shape)
        }
        return bytes / 4
    }
}
