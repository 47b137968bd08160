import Pretext
import Tensors
import XCTest

final class IntensityCurveTests: XCTestCase {
    typealias P = IntensityCurve.Point

    /// Hand-worked points of the curve with controls (0.2, 0.8), (0.5, 0.9):
    /// X(s) = 3(1-s)^2 s 0.2 + 3(1-s) s^2 0.5 + s^3, Y(s) likewise with 0.8, 0.9.
    /// X(0.5) = 0.3875, Y(0.5) = 0.7625; X(0.25) = 0.1703125, Y(0.25) = 0.4796875,
    /// Y(0.75) = 0.9140625. Unflipped f(X(s)) = Y(s); flipped f(X(s)) = Y(1 - s).
    /// Tolerance 1e-8: 100,000 samples, linear interpolation error ~1e-10 here.
    func testHandWorkedPoints() {
        let up = IntensityCurve(P(x: 0.2, y: 0.8), P(x: 0.5, y: 0.9), flipped: false)
        XCTAssertEqual(up(0.3875), 0.7625, accuracy: 1e-8)
        XCTAssertEqual(up(0.1703125), 0.4796875, accuracy: 1e-8)
        let down = IntensityCurve(P(x: 0.2, y: 0.8), P(x: 0.5, y: 0.9), flipped: true)
        XCTAssertEqual(down(0.1703125), 0.9140625, accuracy: 1e-8)
        XCTAssertEqual(down(0.3875), 0.7625, accuracy: 1e-8)  // s = 1/2 is its own mirror
    }

    /// Controls on the diagonal make X = Y = s: the curve is the identity, and flipped it is
    /// exactly v -> 1 - v.
    func testDiagonalControlsGiveIdentityAndReversal() {
        let a = P(x: 1.0 / 3, y: 1.0 / 3), b = P(x: 2.0 / 3, y: 2.0 / 3)
        let up = IntensityCurve(a, b, flipped: false), down = IntensityCurve(a, b, flipped: true)
        for k in 0...200 {
            let v = Double(k) / 200
            XCTAssertEqual(up(v), v, accuracy: 1e-9)
            XCTAssertEqual(down(v), 1 - v, accuracy: 1e-9)
        }
    }

    /// Random curves (official draws): increasing when not flipped, decreasing when flipped,
    /// [0, 1] into [0, 1], endpoints 0 -> 0 and 1 -> 1 (flipped: 0 -> 1, 1 -> 0), to 1e-12.
    func testDrawnCurvesAreMonotoneWithinUnitIntervalAndKeepEndpoints() {
        let intensity = NonlinearIntensity(samples: 20_000)
        var flips = 0
        for seed in 0..<60 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            let f = intensity.draw(&g)
            if f.flipped { flips += 1 }
            let sign = f.flipped ? -1.0 : 1.0
            XCTAssertEqual(f(0), f.flipped ? 1 : 0, accuracy: 1e-12)
            XCTAssertEqual(f(1), f.flipped ? 0 : 1, accuracy: 1e-12)
            var previous = f(0)
            for k in 1...1000 {
                let y = f(Double(k) / 1000)
                XCTAssertGreaterThanOrEqual(sign * (y - previous), -1e-12, "seed \(seed) at \(k)")
                XCTAssertTrue(y >= 0 && y <= 1 + 1e-15)
                previous = y
            }
        }
        XCTAssertTrue(flips > 0 && flips < 60)
    }

    /// Applied to a cube: every value stays in [0, 1], and voxel order is kept (or reversed).
    func testCubeMapStaysInUnitIntervalAndKeepsOrder() {
        let cube = uniformCube(16, 16, 8, seed: 2)
        for seed in 0..<4 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            let f = NonlinearIntensity().draw(&g)
            var out = cube
            f.apply(to: &out)
            XCTAssertTrue(out.values.allSatisfy { $0 >= 0 && $0 <= 1 })
            let order = cube.values.indices.sorted { cube.values[$0] < cube.values[$1] }
            let mapped = order.map { out.values[$0] }
            for k in 1..<mapped.count {
                if f.flipped { XCTAssertLessThanOrEqual(mapped[k], mapped[k - 1]) } else { XCTAssertGreaterThanOrEqual(mapped[k], mapped[k - 1]) }
            }
        }
    }

    /// `np.interp` at and beyond the table's ends: the end values.
    func testInterpolationBeyondTheTable() {
        let f = IntensityCurve(P(x: 0.2, y: 0.8), P(x: 0.5, y: 0.9), flipped: false, samples: 1000)
        XCTAssertEqual(f(-3), 0)
        XCTAssertEqual(f(7), 1)
        XCTAssertTrue(f(.nan).isNaN)
    }
}
