import Foundation
import Runtime3D

/// Naive float64 forward passes of every runtime op, written from the definitions with plain
/// loops: the reference the float32 ops are checked against, and the function whose central
/// differences check the float32 backward passes.
struct Grid {
    var shape: [Int]          // n, c, d, h, w
    var data: [Double]

    init(shape: [Int], data: [Double]) {
        precondition(shape.reduce(1, *) == data.count)
        self.shape = shape
        self.data = data
    }
    init(zeros shape: [Int]) { self.init(shape: shape, data: [Double](repeating: 0, count: shape.reduce(1, *))) }
    init(_ m: FeatureMap) { self.init(shape: m.shape, data: m.data.map(Double.init)) }

    var n: Int { shape[0] }
    var c: Int { shape[1] }
    var spatial: Int { shape[2] * shape[3] * shape[4] }
    func index(_ n: Int, _ c: Int, _ d: Int, _ h: Int, _ w: Int) -> Int { (((n * shape[1] + c) * shape[2] + d) * shape[3] + h) * shape[4] + w }
}

enum Reference {
    /// "Same" 3D cross-correlation, kernel k (1 or 3), weight (out, in, k, k, k), bias.
    static func conv(_ x: Grid, _ w: [Double], _ b: [Double], out: Int, k: Int) -> Grid {
        let (n, cin, d, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        var y = Grid(zeros: [n, out, d, h, wd])
        let pad = k / 2
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeMutableBufferPointer { yp in
                for s in 0..<n { for o in 0..<out {
                    let yo = (s * out + o) * d * h * wd
                    for i in 0..<d * h * wd { yp[yo + i] = b[o] }
                    for i in 0..<cin { for a in 0..<k { for bb in 0..<k { for c in 0..<k {
                        let wv = w[(((o * cin + i) * k + a) * k + bb) * k + c]
                        let xo = (s * cin + i) * d * h * wd
                        for z in 0..<d {
                            let sz = z + a - pad
                            if sz < 0 || sz >= d { continue }
                            for yy in 0..<h {
                                let sy = yy + bb - pad
                                if sy < 0 || sy >= h { continue }
                                let row = yo + (z * h + yy) * wd, src = xo + (sz * h + sy) * wd
                                for xx in max(0, pad - c)..<min(wd, wd + pad - c) { yp[row + xx] += wv * xp[src + xx + c - pad] }
                            }
                        }
                    } } } }
                } }
            }
        }
        return y
    }

    /// Transposed convolution, kernel 2, stride 2, weight (in, out, 2, 2, 2).
    static func convTranspose(_ x: Grid, _ w: [Double], _ b: [Double], out: Int) -> Grid {
        let (n, cin, d, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        var y = Grid(zeros: [n, out, 2 * d, 2 * h, 2 * wd])
        for s in 0..<n { for o in 0..<out { for z in 0..<2 * d { for yy in 0..<2 * h { for xx in 0..<2 * wd {
            var acc = b[o]
            for i in 0..<cin { acc += x.data[x.index(s, i, z / 2, yy / 2, xx / 2)] * w[((i * out + o) * 2 + z % 2) * 4 + (yy % 2) * 2 + xx % 2] }
            y.data[y.index(s, o, z, yy, xx)] = acc
        } } } } }
        return y
    }

    /// BatchNorm (batch statistics with the biased variance, or the given moving ones), then
    /// ReLU when asked.
    static func batchNorm(_ x: Grid, gamma: [Double], beta: [Double], eps: Double, moving: (mean: [Double], variance: [Double])?, relu: Bool) -> Grid {
        var y = x
        let s = x.spatial
        for ch in 0..<x.c {
            var mean = 0.0, variance = 0.0
            if let moving {
                (mean, variance) = (moving.mean[ch], moving.variance[ch])
            } else {
                for n in 0..<x.n { for v in 0..<s { mean += x.data[(n * x.c + ch) * s + v] } }
                mean /= Double(x.n * s)
                for n in 0..<x.n { for v in 0..<s { let dv = x.data[(n * x.c + ch) * s + v] - mean; variance += dv * dv } }
                variance /= Double(x.n * s)
            }
            let inv = 1 / (variance + eps).squareRoot()
            for n in 0..<x.n { for v in 0..<s {
                let i = (n * x.c + ch) * s + v
                let z = gamma[ch] * (x.data[i] - mean) * inv + beta[ch]
                y.data[i] = relu ? max(0, z) : z
            } }
        }
        return y
    }

    static func maxPool(_ x: Grid) -> Grid {
        let (d, h, w) = (x.shape[2] / 2, x.shape[3] / 2, x.shape[4] / 2)
        var y = Grid(zeros: [x.n, x.c, d, h, w])
        for n in 0..<x.n { for c in 0..<x.c { for z in 0..<d { for yy in 0..<h { for xx in 0..<w {
            var m = -Double.infinity
            for t in 0..<8 { m = max(m, x.data[x.index(n, c, 2 * z + t / 4, 2 * yy + (t / 2) % 2, 2 * xx + t % 2)]) }
            y.data[y.index(n, c, z, yy, xx)] = m
        } } } } }
        return y
    }

    static func upsample(_ x: Grid) -> Grid {
        var y = Grid(zeros: [x.n, x.c, 2 * x.shape[2], 2 * x.shape[3], 2 * x.shape[4]])
        for n in 0..<x.n { for c in 0..<x.c { for z in 0..<y.shape[2] { for yy in 0..<y.shape[3] { for xx in 0..<y.shape[4] {
            y.data[y.index(n, c, z, yy, xx)] = x.data[x.index(n, c, z / 2, yy / 2, xx / 2)]
        } } } } }
        return y
    }

    /// Channel concatenation.
    static func concat(_ parts: [Grid]) -> Grid {
        let s = parts[0].spatial
        var data: [Double] = []
        for n in 0..<parts[0].n { for p in parts { data += p.data[(n * p.c * s)..<((n + 1) * p.c * s)] } }
        return Grid(shape: [parts[0].n, parts.reduce(0) { $0 + $1.c }] + Array(parts[0].shape[2...]), data: data)
    }

    static func sigmoid(_ x: Grid) -> Grid { Grid(shape: x.shape, data: x.data.map { 1 / (1 + exp(-$0)) }) }

    static func softmaxChannels(_ x: Grid) -> Grid {
        var y = x
        let s = x.spatial
        for n in 0..<x.n { for v in 0..<s {
            let idx = (0..<x.c).map { (n * x.c + $0) * s + v }
            let m = idx.map { x.data[$0] }.max()!
            let e = idx.map { exp(x.data[$0] - m) }
            let total = e.reduce(0, +)
            for (k, i) in idx.enumerated() { y.data[i] = e[k] / total }
        } }
        return y
    }

    /// sum(r * y): the scalar whose gradient with respect to y is r.
    static func dot(_ y: Grid, _ r: [Double]) -> Double { zip(y.data, r).reduce(0) { $0 + $1.0 * $1.1 } }

    /// Central difference (f(v + h e_i) - f(v - h e_i)) / 2h.
    static func centralDifference(_ values: [Double], _ i: Int, h: Double = 1e-4, _ f: ([Double]) -> Double) -> Double {
        var plus = values, minus = values
        plus[i] += h
        minus[i] -= h
        return (f(plus) - f(minus)) / (2 * h)
    }
}

/// Seeded Double values in [-1, 1) (the same generator as `SeededValues`).
func seededDoubles(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var r = SeededValues(seed: seed)
    return (0..<n).map { _ in Double(r.next()) * scale }
}

/// A few distinct indices in 0..<count: the first, the last and seeded ones between.
func sampleIndices(_ count: Int, _ k: Int, seed: UInt64) -> [Int] {
    if count <= k { return Array(0..<count) }
    var r = SeededValues(seed: seed)
    var set: Set<Int> = [0, count - 1]
    while set.count < k { set.insert(min(count - 1, Int((r.next() + 1) / 2 * Float(count)))) }
    return set.sorted()
}

/// Compares gradients: returns max |ours - expected| / max(scale, max |expected|) over the
/// given pairs (a relative error against the gradient's own magnitude).
func relativeError(_ ours: [Double], _ expected: [Double]) -> Double {
    let scale = max(1e-12, expected.map(abs).max() ?? 0)
    return zip(ours, expected).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}
