import Tensors

/// The official `local_pixel_shuffling(x, prob)`: with probability `rate`, `blocks` (10,000)
/// times: sides `random.randint(1, dim // 10)` (both ends included) for rows, cols, deps, in
/// that order, then starts `random.randint(0, dim - side)` (included), then the voxels of the
/// block *as they were before any shuffling* are permuted uniformly (`np.random.shuffle` of the
/// flattened window) and written into the copy.
///
/// Blocks overlap, and each one reads the unshuffled cube but overwrites what earlier blocks
/// wrote, so only the last block written over a voxel decides its value: the values of the
/// last block are a permutation of the original values there, but the cube as a whole does not
/// keep its multiset of values (a value can be written twice and another lost). Every voxel
/// still holds a value that stood, before shuffling, in a block containing it.
///
/// The official code raises for a side under 10 (`randint(1, 0)`); here a side is at least 1.
public struct LocalPixelShuffle: Equatable, Sendable {
    public var rate: Double
    public var blocks: Int
    /// Block sides are drawn in `1...max(1, dim / sideDivisor)`.
    public var sideDivisor: Int

    public init(rate: Double = 0.5, blocks: Int = 10_000, sideDivisor: Int = 10) {
        self.rate = rate
        self.blocks = blocks
        self.sideDivisor = sideDivisor
    }

    public func largestSide(_ dim: Int) -> Int { max(1, dim / sideDivisor) }

    /// Shuffles `cube` in place (reading the cube as given, writing the result) and returns
    /// the blocks in the order they were written.
    @discardableResult
    public func apply(to cube: inout Cube, rng: inout SeededGenerator) -> [CubeBox] {
        let original = cube
        var window = [Float](repeating: 0, count: largestSide(cube.rows) * largestSide(cube.cols) * largestSide(cube.deps))
        var written: [CubeBox] = []
        written.reserveCapacity(blocks)
        for _ in 0..<blocks {
            let rows = rng.randint(1, largestSide(cube.rows))
            let cols = rng.randint(1, largestSide(cube.cols))
            let deps = rng.randint(1, largestSide(cube.deps))
            let box = CubeBox(row: rng.randint(0, cube.rows - rows), col: rng.randint(0, cube.cols - cols),
                              dep: rng.randint(0, cube.deps - deps), rows: rows, cols: cols, deps: deps)
            box.forEachVoxel(in: original) { i, k in window[k] = original.values[i] }
            rng.shuffle(&window, count: box.volume)
            cube.values.withUnsafeMutableBufferPointer { out in
                box.forEachVoxel(in: original) { i, k in out[i] = window[k] }
            }
            written.append(box)
        }
        return written
    }
}
