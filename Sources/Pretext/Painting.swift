import Tensors

/// The official painting step: `if random() < paint_rate: if random() < inpaint_rate:
/// in-painting else out-painting`, with `inpaint_rate = 1.0 - outpaint_rate` (0.2). Both work
/// on the cube as transformed so far (after flip, shuffling and the intensity map); the noise is
/// `np.random.rand`, uniform in [0, 1), drawn after the intensity map and so never mapped.
public struct Painting: Equatable, Sendable {
    public var rate: Double
    public var outpaintRate: Double
    /// Probability of each further box (official: 0.95 for both kinds).
    public var continueRate: Double
    /// In-painting boxes at most (official: 5).
    public var maxInpaintBoxes: Int
    /// Out-painting boxes after the first at most (official: 4).
    public var maxExtraOutpaintBoxes: Int

    public init(rate: Double = 0.9, outpaintRate: Double = 0.8, continueRate: Double = 0.95,
                maxInpaintBoxes: Int = 5, maxExtraOutpaintBoxes: Int = 4) {
        self.rate = rate
        self.outpaintRate = outpaintRate
        self.continueRate = continueRate
        self.maxInpaintBoxes = maxInpaintBoxes
        self.maxExtraOutpaintBoxes = maxExtraOutpaintBoxes
    }

    public var inpaintRate: Double { 1.0 - outpaintRate }

    public enum Kind: String, Sendable { case inPainting = "in-painting", outPainting = "out-painting" }

    /// Side bounds, both ends included. In-painting: `randint(dim // 6, dim // 3)`.
    public static func inpaintSides(_ dim: Int) -> ClosedRange<Int> { (dim / 6)...(dim / 3) }

    /// Out-painting: `dim - randint(3 * dim // 7, 4 * dim // 7)`.
    public static func outpaintSides(_ dim: Int) -> ClosedRange<Int> { (dim - 4 * dim / 7)...(dim - 3 * dim / 7) }

    /// `image_in_painting`: while fewer than 5 boxes and `random() < 0.95`, a box (sides rows,
    /// cols, deps, then starts, as drawn officially) is filled with uniform noise. Returns the
    /// boxes in order; zero boxes (probability 0.05) leaves the cube as it was.
    public func inPaint(_ cube: inout Cube, rng: inout SeededGenerator) -> [CubeBox] {
        var boxes: [CubeBox] = []
        let (cubeCols, cubeDeps) = (cube.cols, cube.deps)
        while boxes.count < maxInpaintBoxes, rng.random() < continueRate {
            let rows = rng.randint(Self.inpaintSides(cube.rows)), cols = rng.randint(Self.inpaintSides(cube.cols))
            let deps = rng.randint(Self.inpaintSides(cube.deps))
            let box = place(rows, cols, deps, in: cube, rng: &rng)
            cube.values.withUnsafeMutableBufferPointer { out in
                box.forEachVoxel(cubeCols: cubeCols, cubeDeps: cubeDeps) { i, _ in out[i] = rng.rand() }
            }
            boxes.append(box)
        }
        return boxes
    }

    /// `image_out_painting`: the whole cube becomes uniform noise, then one box, and while fewer
    /// than 4 more and `random() < 0.95` another, are restored from the cube as it was before.
    /// Returns the restored boxes in order (the first always).
    public func outPaint(_ cube: inout Cube, rng: inout SeededGenerator) -> [CubeBox] {
        let before = cube
        cube.values.withUnsafeMutableBufferPointer { out in
            for i in out.indices { out[i] = rng.rand() }
        }
        var boxes: [CubeBox] = []
        func restoreOne() {
            let rows = rng.randint(Self.outpaintSides(cube.rows)), cols = rng.randint(Self.outpaintSides(cube.cols))
            let deps = rng.randint(Self.outpaintSides(cube.deps))
            let box = place(rows, cols, deps, in: cube, rng: &rng)
            cube.values.withUnsafeMutableBufferPointer { out in
                box.forEachVoxel(in: before) { i, _ in out[i] = before.values[i] }
            }
            boxes.append(box)
        }
        restoreOne()
        while boxes.count <= maxExtraOutpaintBoxes, rng.random() < continueRate { restoreOne() }
        return boxes
    }

    /// Starts `random.randint(3, dim - side - 3)` for rows, cols, deps (PaintMargin).
    private func place(_ rows: Int, _ cols: Int, _ deps: Int, in cube: Cube, rng: inout SeededGenerator) -> CubeBox {
        CubeBox(row: rng.randint(PaintMargin.startRange(dim: cube.rows, side: rows)),
                col: rng.randint(PaintMargin.startRange(dim: cube.cols, side: cols)),
                dep: rng.randint(PaintMargin.startRange(dim: cube.deps, side: deps)),
                rows: rows, cols: cols, deps: deps)
    }
}

extension SeededGenerator {
    /// `random.randint` over a closed range.
    @inline(__always) mutating func randint(_ range: ClosedRange<Int>) -> Int { randint(range.lowerBound, range.upperBound) }
}
