import Tensors

/// How training cubes are cut from a scan, after the official Models Genesis generator
/// (MrGiovanni/ModelsGenesis `infinite_generator_3D.py`, `infinite_generator_from_one_volume`):
///
/// 1. intensities clipped to the window and scaled to [0, 1] (CT [-1000, 1000] HU; MRI
///    [0, 4000]);
/// 2. a corner drawn uniformly, each end included: x in [b, nx - D - 1 - b], y in
///    [b, ny - H - 1 - b], z in [bz, nz - W - depthLook - 1 - bz] (b = 100, bz = 30 there);
/// 3. the tissue score of the window of D x H x (W + depthLook) voxels there: for each voxel
///    (i, j, d) of the cube, k = the first of 0..<depthLook with value(i, j, d + k) >= the
///    threshold (0.425 = -150 HU), else depthLook - 1; score += 1 - k / (depthLook - 1);
/// 4. the cube (its first W slices) kept only when score <= maxTissue x D x H x W (0.15 there):
///    a cube mostly of air and lung is kept, one full of dense tissue drawn again;
/// 5. at most attemptsPerCube x perVolume draws (50 x scale there); a volume may give fewer.
///
/// Deviations: our seeded xoshiro generator instead of Python's `random.seed(1)` (the same
/// rule, other positions); a volume too small for the cube and borders on any axis gives no
/// cube (the script returns None for z and raises for x and y); crop size = cube size (the
/// script's resize branch is unused at its defaults); the same threshold and rule for MRI on
/// its [0, 4000] scale (the script is CT only); a 4-D scan gives cubes from t = 0.
public struct CubeSampling: Sendable, Equatable {
    /// D, H, W: along i, j, k of the volume.
    public var size: [Int]
    public var perVolume: Int
    public var window: IntensityWindow
    /// Borders kept clear on x and y, and on z (official: 100, 30).
    public var borderXY: Int
    public var borderZ: Int
    /// Slices looked ahead for tissue (official len_depth: 3).
    public var depthLook = 3
    /// Scaled intensity counted as tissue (official: (-150 + 1000) / 2000 = 0.425).
    public var threshold = 0.425
    /// Largest tissue score kept, as a fraction of the cube's voxels (official lung_max: 0.15).
    public var maxTissue = 0.15
    /// Draws per wanted cube (official: 50).
    public var attemptsPerCube = 50

    public init(size: [Int], perVolume: Int, window: IntensityWindow, borderXY: Int = 100, borderZ: Int = 30) {
        self.size = size
        self.perVolume = perVolume
        self.window = window
        self.borderXY = borderXY
        self.borderZ = borderZ
    }
}

/// The cubes cut from one volume.
public struct SampledCubes: Sendable {
    /// count x D x H x W values, each cube C-ordered (W fastest).
    public var values: [Float]
    /// Corner (x, y, z) of each kept cube, in voxels.
    public var positions: [[Int]]
    public var attempts: Int
    public var rejected: Int
    /// Why a volume gave no draw at all (too small), else nil.
    public var skipped: String?
    public var count: Int { positions.count }
}

public enum CubeSampler {
    /// Cubes from one volume; `volume.voxels` are raw intensities (windowed here).
    public static func sample(_ volume: Volume, _ s: CubeSampling, rng: inout SeededGenerator) -> SampledCubes {
        let (nx, ny, nz) = (volume.shape[0], volume.shape[1], volume.shape[2])
        let (d, h, w) = (s.size[0], s.size[1], s.size[2])
        var out = SampledCubes(values: [], positions: [], attempts: 0, rejected: 0, skipped: nil)
        let ranges = [(s.borderXY, nx - d - 1 - s.borderXY), (s.borderXY, ny - h - 1 - s.borderXY),
                      (s.borderZ, nz - w - s.depthLook - 1 - s.borderZ)]
        if let axis = ranges.firstIndex(where: { $0.1 < $0.0 }) {
            let need = [d + 1 + 2 * s.borderXY, h + 1 + 2 * s.borderXY, w + s.depthLook + 1 + 2 * s.borderZ][axis]
            out.skipped = "axis \(["x", "y", "z"][axis]) has \(volume.shape[axis]) voxels; a \(s.size.map(String.init).joined(separator: "x")) cube with these borders needs \(need)"
            return out
        }
        let plane = nx * ny
        let windowed = (0..<(plane * nz)).map { s.window.apply(Double(volume.voxels[$0])) }   // t = 0
        let limit = s.maxTissue * Double(d * h * w)
        out.values.reserveCapacity(s.perVolume * d * h * w)
        while out.count < s.perVolume, out.attempts < s.attemptsPerCube * s.perVolume {
            out.attempts += 1
            let corner = ranges.map { draw(in: $0.0...$0.1, &rng) }
            let score = tissueScore(windowed, shape: [nx, ny, nz], corner: corner, s)
            guard score <= limit else { out.rejected += 1; continue }
            out.positions.append(corner)
            for a in 0..<d {
                for b in 0..<h {
                    let base = (corner[0] + a) + (corner[1] + b) * nx + corner[2] * plane
                    for c in 0..<w { out.values.append(windowed[base + c * plane]) }
                }
            }
        }
        return out
    }

    /// The official `sum(d_img)` of the window at `corner` (see CubeSampling), over scaled
    /// values of a volume of `shape` (i fastest).
    public static func tissueScore(_ values: [Float], shape: [Int], corner: [Int], _ s: CubeSampling) -> Double {
        let (nx, plane) = (shape[0], shape[0] * shape[1])
        var total = 0.0
        let last = Double(max(1, s.depthLook - 1))
        let threshold = Float(s.threshold)
        for a in 0..<s.size[0] {
            for b in 0..<s.size[1] {
                let base = (corner[0] + a) + (corner[1] + b) * nx + corner[2] * plane
                for c in 0..<s.size[2] {
                    var k = 0
                    while k < s.depthLook - 1, values[base + (c + k) * plane] < threshold { k += 1 }
                    total += 1 - Double(k) / last
                }
            }
        }
        return total
    }

    /// Uniform in `range`, unbiased (rejection), the same on every platform and Swift version.
    static func draw(in range: ClosedRange<Int>, _ rng: inout SeededGenerator) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) + 1
        let limit = UInt64.max - UInt64.max % span
        var x = rng.next()
        while x >= limit { x = rng.next() }
        return range.lowerBound + Int(x % span)
    }
}
