import Foundation
#if canImport(Tensors)
import Tensors
#endif

/// Seeded synthetic CT-like cubes for the learning tests (issue 9) and `scripts/learning_demo.sh`.
///
/// Each cube looks like HU-clipped ([-1000, 1000]) CT scaled to [0, 1]: soft tissue around
/// 0.45-0.55 with low-frequency variation, one or two darker lung-like ellipsoids (0.1-0.2)
/// with soft edges, Gaussian noise, and in a chosen fraction of the cubes one bright round
/// "nodule" (0.75-0.85) of a few voxels radius at a random position. The mask marks the
/// nodule's voxels (distance to its centre <= its radius); the label is 1 when a cube has one.
///
/// The cubes use Foundation only, with their own generator (splitmix64), so that
/// scripts/learning_demo.sh can compile this file with `swiftc` (beside
/// Sources/Tensors/SeededGenerator.swift, which `validationIndices` needs); the same seed
/// gives the same values on every run on this platform.
public enum SyntheticCT {
    public struct Batch {
        public let count: Int
        /// D, H, W.
        public let spatial: [Int]
        /// (N, 1, D, H, W) in [0, 1].
        public var images: [Float]
        /// (N, D, H, W), 1 inside the nodule.
        public var masks: [Float]
        /// (N,), 1 when the cube has a nodule.
        public var labels: [Float]

        public var imageShape: [Int] { [count, 1] + spatial }
        public var maskShape: [Int] { [count] + spatial }
        public var voxelsPerCube: Int { spatial.reduce(1, *) }
        /// Nodule voxels of cube i.
        public func maskVoxels(_ i: Int) -> Int {
            let s = voxelsPerCube
            return Int(masks[(i * s)..<((i + 1) * s)].reduce(0, +))
        }
    }

    /// `count` cubes of `spatial` (D, H, W); exactly round(count * noduleFraction) of them,
    /// chosen by a seeded shuffle, carry a nodule of radius in `noduleRadius` (voxels).
    public static func make(count: Int, spatial: [Int], seed: UInt64, noduleFraction: Double = 0.5,
                            noduleRadius: ClosedRange<Double> = 2.0...3.5) -> Batch {
        precondition(spatial.count == 3 && spatial.allSatisfy { $0 >= 8 }, "SyntheticCT: spatial must be D, H, W >= 8")
        var rng = SplitMix(seed: seed)
        let withNodule = Int((Double(count) * noduleFraction).rounded())
        var has = [Bool](repeating: false, count: count)
        for i in 0..<withNodule { has[i] = true }
        for i in stride(from: count - 1, to: 0, by: -1) { has.swapAt(i, rng.below(i + 1)) }

        let (d, h, w) = (spatial[0], spatial[1], spatial[2])
        let s = d * h * w
        var images = [Float](repeating: 0, count: count * s)
        var masks = [Float](repeating: 0, count: count * s)
        var labels = [Float](repeating: 0, count: count)
        let size = [Double(d), Double(h), Double(w)]

        for n in 0..<count {
            var cube = [Double](repeating: 0, count: s)
            // Soft tissue: a base level with three low-frequency waves (at most one cycle per cube).
            let base = rng.uniform(0.45, 0.55)
            var waves: [(k: [Double], phase: Double, amplitude: Double)] = []
            for _ in 0..<3 {
                let k = (0..<3).map { a in rng.uniform(-1, 1) * 2 * Double.pi / size[a] }
                waves.append((k, rng.uniform(0, 2 * Double.pi), rng.uniform(0.01, 0.03)))
            }
            // Lungs: one or two ellipsoids (semi-axes 20-40% of each side), soft edge of about a voxel.
            var lungs: [(c: [Double], r: [Double], value: Double)] = []
            for _ in 0..<(1 + rng.below(2)) {
                let r = size.map { $0 * rng.uniform(0.2, 0.4) }
                let c = size.map { rng.uniform(0, $0) }
                lungs.append((c, r, rng.uniform(0.1, 0.2)))
            }
            // The nodule: centre at least radius + 1 voxels from every face.
            var nodule: (c: [Double], r: Double, value: Double)?
            if has[n] {
                let r = rng.uniform(noduleRadius.lowerBound, noduleRadius.upperBound)
                let c = size.map { rng.uniform(r + 1, $0 - r - 1) }
                nodule = (c, r, rng.uniform(0.75, 0.85))
                labels[n] = 1
            }
            for z in 0..<d {
                for y in 0..<h {
                    for x in 0..<w {
                        let p = [Double(z) + 0.5, Double(y) + 0.5, Double(x) + 0.5]
                        var v = base
                        for wave in waves { v += wave.amplitude * cos(wave.k[0] * p[0] + wave.k[1] * p[1] + wave.k[2] * p[2] + wave.phase) }
                        for lung in lungs {
                            // Normalised radius rho, edge distance in voxels about (rho - 1) * mean semi-axis.
                            var rho2 = 0.0
                            for a in 0..<3 { let q = (p[a] - lung.c[a]) / lung.r[a]; rho2 += q * q }
                            let edge = (rho2.squareRoot() - 1) * (lung.r.reduce(0, +) / 3)
                            let inside = 1 / (1 + exp(2 * edge))
                            v = v * (1 - inside) + (lung.value + 0.3 * (v - base)) * inside
                        }
                        let i = (z * h + y) * w + x
                        if let nod = nodule {
                            var d2 = 0.0
                            for a in 0..<3 { let q = p[a] - nod.c[a]; d2 += q * q }
                            let dist = d2.squareRoot()
                            let inside = min(1, max(0, nod.r + 0.5 - dist))
                            v = v * (1 - inside) + nod.value * inside
                            if dist <= nod.r { masks[n * s + i] = 1 }
                        }
                        cube[i] = v + 0.015 * rng.gaussian()
                    }
                }
            }
            for i in 0..<s { images[n * s + i] = Float(min(1, max(0, cube[i]))) }
        }
        return Batch(count: count, spatial: spatial, images: images, masks: masks, labels: labels)
    }

    /// Dice of a constant prediction (every voxel 1) on the cubes `indices`: 2|y| / (|y| + |V|).
    public static func allOnesDice(_ b: Batch, _ indices: [Int]) -> Double {
        let y = indices.reduce(0) { $0 + b.maskVoxels($1) }
        return 2 * Double(y) / Double(y + indices.count * b.voxelsPerCube)
    }

    /// The cubes `genesis finetune --validation-split SPLIT --seed SEED` holds out of `count`: a
    /// copy of FinetuneCommand's split (`CubeSet.indices(step: 0, batch: N, count: N, shuffle:
    /// true, seed: seed ^ 0x5E11)`, the last ceil(N x split) of that permutation), which the
    /// tests cannot import from Training. Used to state chance levels of the validation data.
    public static func validationIndices(count: Int, split: Double, seed: UInt64) -> [Int] {
        let s = seed ^ 0x5E11, epoch = 0
        var g = SeededGenerator(seed: s &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: epoch) &+ 0x632B_E59B_D9B4_E019)
        var p = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let n = UInt64(i + 1), limit = UInt64.max - UInt64.max % n
            var v = g.next()
            while v >= limit { v = g.next() }
            p.swapAt(i, Int(v % n))
            i -= 1
        }
        let held = Int((Double(count) * split).rounded(.up))
        return Array(p[(count - held)...]).sorted()
    }

    /// Voxel variance of the images: the MSE of the best constant prediction (their mean).
    public static func variance(_ b: Batch) -> Double {
        let mean = b.images.reduce(0.0) { $0 + Double($1) } / Double(b.images.count)
        return b.images.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(b.images.count)
    }

    /// The largest all-one Dice on any `k` of the cubes (the k with the most nodule voxels).
    public static func allOnesDiceBound(_ b: Batch, subsetSize k: Int) -> Double {
        allOnesDice(b, Array((0..<b.count).sorted { b.maskVoxels($0) > b.maskVoxels($1) }.prefix(k)))
    }

    /// splitmix64: small, seeded, the same everywhere.
    public struct SplitMix {
        var state: UInt64
        public init(seed: UInt64) { state = seed }
        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in [0, 1) with 53 bits.
        public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
        public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * unit() }
        /// In 0..<n (n small: the modulo bias is below 2^-50).
        public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        /// Standard normal (Box-Muller).
        public mutating func gaussian() -> Double {
            let u = max(unit(), 1e-300), v = unit()
            return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
        }
    }
}
