import Pretext
import Tensors
import XCTest

final class FlipTests: XCTestCase {
    /// With only flipping on, the input is the target, and both are the original flipped along
    /// the drawn axes (checked against a flip written from the definition).
    func testFlipAppliesToInputAndTargetAlike() {
        let cube = distinctCube(8, 6, 4)
        let t = only(flip: 1)  // random() < 1 always: three picks every time
        var sawRows = false, sawCols = false
        for seed in 0..<40 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            let p = t.transformedPair(cube, rng: &g)
            XCTAssertEqual(p.record.flipAxes.count, 3)
            XCTAssertEqual(p.input, p.target)
            XCTAssertEqual(p.target, referenceFlip(cube, axes: p.record.flipAxes), "seed \(seed) axes \(p.record.flipAxes)")
            sawRows = sawRows || p.record.flipAxes.filter { $0 == 1 }.count % 2 == 1
            sawCols = sawCols || p.record.flipAxes.filter { $0 == 2 }.count % 2 == 1
        }
        XCTAssertTrue(sawRows && sawCols, "40 seeds should flip rows and cols an odd number of times at least once each")
    }

    /// Depth is never flipped: every value stays at its depth.
    func testDepthIsNeverFlipped() {
        let cube = distinctCube(5, 5, 7)
        for seed in 0..<30 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            let target = only(flip: 1).pair(cube, rng: &g).target
            for i in 0..<cube.count {
                let src = sourceIndex(target.values[i], count: cube.count)
                XCTAssertEqual(src % cube.deps, i % cube.deps)
            }
        }
    }

    /// The number of picks K follows the official loop: P(K = k) = 0.4^k 0.6 for k < 3 and
    /// P(K = 3) = 0.4^3; each pick is 0, 1 or 2 with probability 1/3 (4.5-sigma binomial bounds).
    func testFlipCountsAndAxesFollowTheOfficialLoop() {
        let flip = Flip()
        var counts = [0, 0, 0, 0], axes = [0, 0, 0], picks = 0
        let n = 20_000
        for seed in 0..<UInt64(n) {
            var g = SeededGenerator(seed: seed)
            let a = flip.draw(&g)
            counts[a.count] += 1
            for x in a { axes[x] += 1 }
            picks += a.count
        }
        for (k, p) in [0.6, 0.24, 0.096, 0.064].enumerated() { assertRate(counts[k], of: n, is: p, "flip count \(k)") }
        for x in 0..<3 { assertRate(axes[x], of: picks, is: 1.0 / 3, "axis \(x)") }
    }
}
