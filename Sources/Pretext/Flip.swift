import Tensors

/// The official `data_augmentation(x, y, prob)`: while `random() < prob` and at most 3 times,
/// `random.choice([0, 1, 2])` picks an axis of the (1, rows, cols, deps) sample and both the
/// input and the target are flipped along it. Axis 0 is the channel axis of size 1, so that
/// pick flips nothing; 1 flips rows, 2 flips cols; deps (axis 3) is never flipped.
/// As in the official loop, the `random()` is drawn before the count is checked.
public struct Flip: Equatable, Sendable {
    public var rate: Double
    public var maxFlips: Int

    public init(rate: Double = 0.4, maxFlips: Int = 3) {
        self.rate = rate
        self.maxFlips = maxFlips
    }

    /// The axes picked, in order (0, 1 or 2 each); empty when the first draw fails.
    public func draw(_ rng: inout SeededGenerator) -> [Int] {
        var axes: [Int] = []
        var left = maxFlips
        while rng.random() < rate, left > 0 {
            axes.append(rng.choice([0, 1, 2]))
            left -= 1
        }
        return axes
    }

    /// Flips `cube` along each axis in `axes` (0: nothing, 1: rows, 2: cols).
    public static func apply(_ axes: [Int], to cube: inout Cube) {
        for axis in axes {
            switch axis {
            case 1: flipRows(&cube)
            case 2: flipCols(&cube)
            default: break
            }
        }
    }

    static func flipRows(_ cube: inout Cube) {
        let plane = cube.cols * cube.deps
        cube.values.withUnsafeMutableBufferPointer { v in
            var (a, b) = (0, cube.rows - 1)
            while a < b {
                for k in 0..<plane { v.swapAt(a * plane + k, b * plane + k) }
                a += 1
                b -= 1
            }
        }
    }

    static func flipCols(_ cube: inout Cube) {
        let (cols, deps) = (cube.cols, cube.deps)
        cube.values.withUnsafeMutableBufferPointer { v in
            for r in 0..<cube.rows {
                var (a, b) = (0, cols - 1)
                while a < b {
                    for d in 0..<deps { v.swapAt((r * cols + a) * deps + d, (r * cols + b) * deps + d) }
                    a += 1
                    b -= 1
                }
            }
        }
    }
}
