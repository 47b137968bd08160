import Pretext
import Tensors
import XCTest

/// A cube whose every voxel holds a different value, `offset + index / count`, so a value names
/// the voxel it came from (exact in float32 for cubes up to 2^24 voxels).
func distinctCube(_ rows: Int, _ cols: Int, _ deps: Int, offset: Float = 0) -> Cube {
    let n = rows * cols * deps
    return Cube(rows: rows, cols: cols, deps: deps, values: (0..<n).map { offset + Float($0) / Float(n) })
}

/// The voxel index a value of `distinctCube` came from.
func sourceIndex(_ v: Float, count: Int, offset: Float = 0) -> Int { Int(((v - offset) * Float(count)).rounded()) }

/// Seeded cube with values uniform in [0, 1), like the official cubes.
func uniformCube(_ rows: Int, _ cols: Int, _ deps: Int, seed: UInt64) -> Cube {
    var g = SeededGenerator(seed: seed)
    return Cube(rows: rows, cols: cols, deps: deps, values: (0..<(rows * cols * deps)).map { _ in g.nextUnitFloat() })
}

/// A frequency of `p` over `n` trials: within `sigmas` binomial standard deviations.
/// 4.5 sigma: a correct implementation fails with probability about 7e-6 per check (and the
/// seeds are fixed, so a pass is a pass every time).
func assertRate(_ hits: Int, of n: Int, is p: Double, sigmas: Double = 4.5, _ what: String,
                file: StaticString = #filePath, line: UInt = #line) {
    let observed = Double(hits) / Double(n)
    let sd = (p * (1 - p) / Double(n)).squareRoot()
    XCTAssertLessThanOrEqual(abs(observed - p), sigmas * sd,
                             "\(what): \(hits)/\(n) = \(observed), expected \(p) +- \(sigmas) x \(sd)", file: file, line: line)
}

/// A transform set with only the given parts on (the rest at rate 0), cheap sizes for statistics.
func only(flip: Double = 0, shuffle: Double = 0, intensity: Double = 0, paint: Double = 0, outpaint: Double = 0.8,
          blocks: Int = 10_000, samples: Int = 100_000) -> GenesisTransforms {
    GenesisTransforms(flip: Flip(rate: flip), shuffle: LocalPixelShuffle(rate: shuffle, blocks: blocks),
                      intensity: NonlinearIntensity(rate: intensity, samples: samples),
                      painting: Painting(rate: paint, outpaintRate: outpaint))
}

/// Reference flip, from the definition: rows axis 1, cols axis 2, axis 0 nothing.
func referenceFlip(_ cube: Cube, axes: [Int]) -> Cube {
    var out = cube
    for axis in axes where axis != 0 {
        let src = out
        for r in 0..<cube.rows {
            for c in 0..<cube.cols {
                for d in 0..<cube.deps {
                    out[r, c, d] = axis == 1 ? src[cube.rows - 1 - r, c, d] : src[r, cube.cols - 1 - c, d]
                }
            }
        }
    }
    return out
}
