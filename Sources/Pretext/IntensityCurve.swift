import Tensors

/// The official `nonlinear_transformation(x, prob)`: with probability `rate`, a cubic Bezier
/// curve through [0, 0], two random control points and [1, 1] (drawn in that order:
/// `[random(), random()]` twice), sampled at `samples` (100,000) parameters, maps every voxel
/// by `np.interp(x, xvals, yvals)`.
///
/// The official Bernstein polynomial is `comb(n, i) t^(n-i) (1-t)^i`, the usual one with t
/// reversed: the samples run from [1, 1] down to [0, 0]. Then, with probability 1/2 ("flip"),
/// only `xvals` is sorted and `yvals` keeps its descending order, so the map pairs x(s) with
/// y(1 - s): it is decreasing, sends 0 to 1 and 1 to 0, and is not `1 - curve` in general. Else
/// both are sorted and the map is the increasing curve itself (0 to 0, 1 to 1). Both components
/// of such a curve are monotone for control points in [0, 1], so sorting only reorders.
public struct NonlinearIntensity: Equatable, Sendable {
    public var rate: Double
    public var samples: Int
    /// Probability that the drawn curve is flipped (official: 0.5).
    public var flipProbability: Double

    public init(rate: Double = 0.9, samples: Int = 100_000, flipProbability: Double = 0.5) {
        self.rate = rate
        self.samples = samples
        self.flipProbability = flipProbability
    }

    /// The curve the official code would draw next (after its rate check passed).
    public func draw(_ rng: inout SeededGenerator) -> IntensityCurve {
        let p1 = IntensityCurve.Point(x: rng.random(), y: rng.random())
        let p2 = IntensityCurve.Point(x: rng.random(), y: rng.random())
        let flipped = rng.random() < flipProbability
        return IntensityCurve(p1, p2, flipped: flipped, samples: samples)
    }
}

/// A sampled intensity map: `xs` ascending, `ys` the values there, evaluated as `np.interp`.
public struct IntensityCurve: Equatable, Sendable {
    public struct Point: Equatable, Sendable {
        public var x: Double, y: Double
        public init(x: Double, y: Double) { (self.x, self.y) = (x, y) }
    }

    public let control1: Point
    public let control2: Point
    public let flipped: Bool
    public let xs: [Double]
    public let ys: [Double]

    public init(_ control1: Point, _ control2: Point, flipped: Bool, samples: Int = 100_000) {
        precondition(samples >= 2, "a curve needs at least 2 samples")
        self.control1 = control1
        self.control2 = control2
        self.flipped = flipped
        let px = [0, control1.x, control2.x, 1.0], py = [0, control1.y, control2.y, 1.0]
        let comb = [1.0, 3.0, 3.0, 1.0]
        let step = 1.0 / Double(samples - 1)  // np.linspace(0, 1, n): i * step, last exactly 1
        var xs = [Double](repeating: 0, count: samples), ys = xs
        for k in 0..<samples {
            let t = k == samples - 1 ? 1.0 : Double(k) * step
            let u = 1 - t
            let tp = [1.0, t, t * t, t * t * t], up = [1.0, u, u * u, u * u * u]
            var x = 0.0, y = 0.0
            for i in 0..<4 {
                let b = comb[i] * tp[3 - i] * up[i]  // official bernstein_poly(i, 3, t)
                x += px[i] * b
                y += py[i] * b
            }
            xs[k] = x
            ys[k] = y
        }
        xs.sort()
        if !flipped { ys.sort() }
        self.xs = xs
        self.ys = ys
    }

    /// `np.interp(v, xs, ys)`: ys[0] left of the table, ys[last] from xs[last] on; at a sample
    /// exactly, the value of the last sample with that x; linear in between.
    public func callAsFunction(_ v: Double) -> Double {
        let n = xs.count
        if v.isNaN { return v }
        // j = (number of xs <= v) - 1
        var lo = 0, hi = n
        while lo < hi {
            let mid = (lo + hi) >> 1
            if xs[mid] <= v { lo = mid + 1 } else { hi = mid }
        }
        let j = lo - 1
        if j < 0 { return ys[0] }
        if j >= n - 1 || xs[j] == v { return ys[j] }
        let slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
        return slope * (v - xs[j]) + ys[j]
    }

    /// Maps every voxel. Results are clamped to [0, 1]: exact arithmetic never leaves it, the
    /// clamp only removes rounding residue of a few ulps. NaN stays NaN, as in `np.interp`.
    public func apply(to cube: inout Cube) {
        cube.values.withUnsafeMutableBufferPointer { v in
            for i in v.indices where !v[i].isNaN { v[i] = min(1, max(0, Float(self(Double(v[i]))))) }
        }
    }
}
