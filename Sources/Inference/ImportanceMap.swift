import Foundation

/// The weight of each voxel of a window when overlapping windows are blended, as MONAI's
/// `compute_importance_map(patch, mode="gaussian", sigma_scale=0.125)` (`monai/data/utils.py`):
/// per axis, x runs from -(p-1)/2 to (p-1)/2 in steps of 1, g(x) = exp(x^2 / (-2 sigma^2)) with
/// sigma = 0.125 * p, all in float32; the map is the outer product g_i * g_j * g_k, and values are
/// clamped from below at max(min(map), 1e-3).
///
/// MONAI (since 1.1, PR #5302) does not divide by the maximum: the centre of an even patch is
/// g(0.5)^3 < 1. Dividing by a constant would not change a blend (value sum / weight sum) except
/// where the clamp bites, so we keep MONAI's unnormalised map to match it there too.
///
/// Layout: (D, H, W) = (i, j, k), k fastest, as the network's patches.
public struct ImportanceMap: Sendable, Equatable {
    public let patch: [Int]
    public let sigmaScale: Double
    public let values: [Float]

    /// MONAI's floor under the Gaussian's tails.
    public static let floor: Float = 1e-3

    public init(patch: [Int], sigmaScale: Double = 0.125) throws {
        guard patch.count == 3, patch.allSatisfy({ $0 >= 1 }) else {
            throw InferenceError.badPlan(reason: "importance map needs 3 positive sides, got \(patch)")
        }
        guard sigmaScale > 0, sigmaScale.isFinite else { throw InferenceError.badPlan(reason: "sigma scale must be positive, got \(sigmaScale)") }
        let n = try CheckedSize.product(patch, what: "importance map voxels", limit: 1 << 28)
        self.patch = patch
        self.sigmaScale = sigmaScale
        let axes = patch.map { Self.gaussian1D(side: $0, sigmaScale: sigmaScale) }
        var map = [Float](repeating: 0, count: n)
        var lowest = Float.infinity
        let (d, h, w) = (patch[0], patch[1], patch[2])
        for a in 0..<d {
            for b in 0..<h {
                let ab = axes[0][a] * axes[1][b]
                let row = (a * h + b) * w
                for c in 0..<w {
                    let v = ab * axes[2][c]
                    map[row + c] = v
                    lowest = min(lowest, v)
                }
            }
        }
        let clamp = max(lowest, Self.floor)
        for t in map.indices where map[t] < clamp { map[t] = clamp }
        values = map
    }

    /// exp(x^2 / (-2 sigma^2)) at x = -(p-1)/2 + t, float32 as torch computes it.
    static func gaussian1D(side p: Int, sigmaScale: Double) -> [Float] {
        let sigma = Double(p) * sigmaScale
        let denominator = Float(-2 * sigma * sigma)
        let first = Float(-Double(p - 1) / 2)
        return (0..<p).map { t in
            let x = first + Float(t)
            return Foundation.exp(x * x / denominator)
        }
    }

    /// The weight at (i, j, k) inside the window.
    public subscript(i: Int, j: Int, k: Int) -> Float { values[(i * patch[1] + j) * patch[2] + k] }
}
