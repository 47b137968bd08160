import Pretext
import Tensors
import XCTest

final class PaintingTests: XCTestCase {
    /// Original values in [2, 3), so noise ([0, 1)) and kept values cannot be confused.
    let original = distinctCube(64, 64, 32, offset: 2)

    func union(_ boxes: [CubeBox], _ r: Int, _ c: Int, _ d: Int) -> Bool { boxes.contains { $0.contains(r, c, d) } }

    /// In-painting changes only inside its boxes, and fills all of them with noise in [0, 1)
    /// whose mean is 1/2 (tolerance 5 / sqrt(12 n)).
    func testInPaintingChangesOnlyInsideItsBoxes() {
        var nonEmpty = 0
        for seed in 0..<12 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            var cube = original
            let boxes = Painting().inPaint(&cube, rng: &g)
            if !boxes.isEmpty { nonEmpty += 1 }
            var sum = 0.0, n = 0
            for r in 0..<64 { for c in 0..<64 { for d in 0..<32 {
                let v = cube[r, c, d]
                if union(boxes, r, c, d) {
                    XCTAssertTrue(v >= 0 && v < 1, "\(v) inside a box")
                    sum += Double(v); n += 1
                } else {
                    XCTAssertEqual(v, original[r, c, d])
                }
            } } }
            if n > 0 { XCTAssertEqual(sum / Double(n), 0.5, accuracy: 5 / (12 * Double(n)).squareRoot()) }
        }
        XCTAssertGreaterThan(nonEmpty, 0)
    }

    /// Out-painting keeps its restored boxes equal to the cube before, and fills the rest with
    /// noise in [0, 1) of mean 1/2 (tolerance 5 / sqrt(12 n)).
    func testOutPaintingRestoresItsBoxesAndFillsTheRestWithNoise() {
        for seed in 0..<8 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            var cube = original
            let boxes = Painting().outPaint(&cube, rng: &g)
            XCTAssertTrue((1...5).contains(boxes.count))
            var sum = 0.0, n = 0
            for r in 0..<64 { for c in 0..<64 { for d in 0..<32 {
                let v = cube[r, c, d]
                if union(boxes, r, c, d) { XCTAssertEqual(v, original[r, c, d]) } else {
                    XCTAssertTrue(v >= 0 && v < 1)
                    sum += Double(v); n += 1
                }
            } } }
            XCTAssertGreaterThan(n, 0)
            XCTAssertEqual(sum / Double(n), 0.5, accuracy: 5 / (12 * Double(n)).squareRoot())
        }
    }

    /// Box sides and starts over many seeds, on the official 64x64x32 cube, with Python's
    /// inclusive `random.randint`: in-painting sides 10...21 (rows, cols) and 5...10 (deps);
    /// out-painting sides 64 - (27...36) = 28...37 and 32 - (13...18) = 14...19; starts
    /// 3...(dim - side - 3). Every end is reached, none passed.
    func testBoxSidesAndStartsStayWithinTheInclusiveOfficialBounds() {
        var inBoxes: [CubeBox] = [], outBoxes: [CubeBox] = []
        let small = Cube(rows: 64, cols: 64, deps: 32, repeating: 2)
        for seed in 0..<400 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            var a = small, b = small
            inBoxes += Painting().inPaint(&a, rng: &g)
            outBoxes += Painting().outPaint(&b, rng: &g)
        }
        XCTAssertEqual(Set(inBoxes.map(\.rows)), Set(10...21))
        XCTAssertEqual(Set(inBoxes.map(\.cols)), Set(10...21))
        XCTAssertEqual(Set(inBoxes.map(\.deps)), Set(5...10))
        XCTAssertEqual(Set(outBoxes.map(\.rows)), Set(28...37))
        XCTAssertEqual(Set(outBoxes.map(\.cols)), Set(28...37))
        XCTAssertEqual(Set(outBoxes.map(\.deps)), Set(14...19))
        for boxes in [inBoxes, outBoxes] {
            for b in boxes {
                XCTAssertTrue(b.row >= 3 && b.col >= 3 && b.dep >= 3, "\(b)")
                XCTAssertTrue(b.row + b.rows <= 61 && b.col + b.cols <= 61 && b.dep + b.deps <= 29, "\(b)")
            }
            XCTAssertTrue(boxes.contains { $0.row == 3 } && boxes.contains { $0.row + $0.rows == 61 })
            XCTAssertTrue(boxes.contains { $0.dep == 3 } && boxes.contains { $0.dep + $0.deps == 29 })
        }
    }

    /// Box counts: in-painting k boxes with probability 0.95^k 0.05 (k < 5), 0.95^5 for 5;
    /// out-painting 1 + k likewise with at most 4 more (4.5-sigma binomial bounds).
    func testBoxCountsFollowTheOfficialLoops() {
        let n = 6_000
        var inCounts = [Int](repeating: 0, count: 6), outCounts = [Int](repeating: 0, count: 6)
        let tiny = Cube(rows: 16, cols: 16, deps: 16, repeating: 2)
        for seed in 0..<UInt64(n) {
            var g = SeededGenerator(seed: seed)
            var a = tiny, b = tiny
            inCounts[Painting().inPaint(&a, rng: &g).count] += 1
            outCounts[Painting().outPaint(&b, rng: &g).count] += 1
        }
        for k in 0...5 {
            let p = k < 5 ? pow(0.95, Double(k)) * 0.05 : pow(0.95, 5)
            assertRate(inCounts[k], of: n, is: p, "in-painting \(k) boxes")
        }
        XCTAssertEqual(outCounts[0], 0)
        for k in 1...5 {
            let p = k < 5 ? pow(0.95, Double(k - 1)) * 0.05 : pow(0.95, 4)
            assertRate(outCounts[k], of: n, is: p, "out-painting \(k) boxes")
        }
    }

    /// Cubes too small for the official margin of 3 (the official code raises): boxes still fit.
    func testSmallCubesShrinkTheMargin() {
        for seed in 0..<50 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            var a = Cube(rows: 8, cols: 8, deps: 4, repeating: 2), b = a
            for box in Painting().inPaint(&a, rng: &g) + Painting().outPaint(&b, rng: &g) { XCTAssertTrue(box.fits(in: a), "\(box)") }
        }
    }
}
