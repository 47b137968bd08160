import GenesisModel
import Tensors

/// Two networks on the same seeded cube: the proof that a conversion kept the mathematics.
public enum ForwardComparison {
    public struct Result: Sendable {
        /// Max |a - b| over the outputs, per BatchNorm mode.
        public let maxAbsDifference: [BatchNormMode: Double]
        public let cubeShape: [Int]
        public var worst: Double { maxAbsDifference.values.max() ?? 0 }

        public init(maxAbsDifference: [BatchNormMode: Double], cubeShape: [Int]) {
            self.maxAbsDifference = maxAbsDifference
            self.cubeShape = cubeShape
        }
    }

    /// The smallest proof cube that keeps two voxels per side after the three poolings, so every
    /// one of the 27 taps of every 3x3x3 kernel meets in-bounds voxels at every level (a side of
    /// 1 at the bottom would leave the outer taps unused). It proves layouts and the variant
    /// mapping (a misplaced axis shows at any depth); a single weight can still hide behind a
    /// zero (ReLU) input, which is why conversions also compare every tensor bit for bit.
    public static let proofSpatial = [16, 16, 16]

    /// The cube side used for proofs: the model's own input when recorded, every side at least
    /// 16 and a multiple of 8, and no larger than 32x32x16; else `proofSpatial` (1/32 of the
    /// official 64x64x32 cube's cost).
    public static func cubeSpatial(for inputShape: [Int]?) -> [Int] {
        if let s = inputShape, s.count == 4, s[1...].allSatisfy({ $0 >= 16 && $0 <= 32 && $0 % 8 == 0 }), s[1...].reduce(1, *) <= 32 * 32 * 16 {
            return Array(s[1...])
        }
        return proofSpatial
    }

    /// A seeded cube in [0, 1) of shape (1, 1, D, H, W).
    public static func seededCube(_ spatial: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let n = spatial.reduce(1, *)
        return Tensor(shape: [1, 1] + spatial, floats: (0..<n).map { _ in rng.nextUnitFloat() })
    }

    /// Runs both networks on one cube in both BN modes, with the same epsilon (the source's), so
    /// that only the weights differ.
    public static func compare(_ a: GenesisNetwork, _ b: GenesisNetwork, spatial: [Int] = ForwardComparison.proofSpatial, seed: UInt64 = 1,
                               modes: [BatchNormMode] = BatchNormMode.allCases) throws -> Result {
        try compare(a.runnable, b.runnable, spatial: spatial, seed: seed, modes: modes)
    }

    /// The same for networks of any family (the cube has the first network's input channels).
    public static func compare(_ a: RunnableNetwork, _ b: RunnableNetwork, spatial: [Int] = ForwardComparison.proofSpatial, seed: UInt64 = 1,
                               modes: [BatchNormMode] = BatchNormMode.allCases) throws -> Result {
        let channels = a.architecture.network.inputChannels
        var x = seededCube(spatial, seed: seed)
        if channels != 1 { x = Tensor(shape: [1, channels] + spatial, floats: seededCube([channels * spatial[0]] + spatial.dropFirst(), seed: seed).floats()) }
        var out: [BatchNormMode: Double] = [:]
        for mode in modes {
            let ya = try a.forward(x, bn: mode).floats(), yb = try b.forward(x, bn: mode).floats()
            var m = 0.0
            for i in 0..<min(ya.count, yb.count) { m = max(m, Double(abs(ya[i] - yb[i]))) }
            out[mode] = ya.count == yb.count ? m : .infinity
        }
        return Result(maxAbsDifference: out, cubeShape: x.shape)
    }
}
