import Pretext
import Tensors
import XCTest

final class LocalPixelShuffleTests: XCTestCase {
    /// One block: values outside it are untouched, inside it they are a permutation of the
    /// original values there (same multiset), so the whole cube keeps its multiset too.
    func testOneBlockPermutesItsValuesOnly() {
        let cube = distinctCube(20, 20, 20)
        for seed in 0..<50 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            var out = cube
            let boxes = LocalPixelShuffle(rate: 1, blocks: 1).apply(to: &out, rng: &g)
            XCTAssertEqual(boxes.count, 1)
            let box = boxes[0]
            var inside: [Float] = [], original: [Float] = []
            for r in 0..<20 { for c in 0..<20 { for d in 0..<20 {
                if box.contains(r, c, d) { inside.append(out[r, c, d]); original.append(cube[r, c, d]) }
                else { XCTAssertEqual(out[r, c, d], cube[r, c, d]) }
            } } }
            XCTAssertEqual(inside.sorted(), original.sorted())
            XCTAssertEqual(out.values.sorted(), cube.values.sorted())
        }
    }

    /// The official 10,000 blocks on a 64x64x32 cube: each voxel holds a value that stood, before
    /// shuffling, inside the last block written over it (or its own, if no block covered it),
    /// and the last block holds exactly a permutation of the original values there.
    func testEveryVoxelComesFromTheLastBlockOverIt() {
        let cube = distinctCube(64, 64, 32)
        var g = SeededGenerator(seed: 11)
        var out = cube
        let boxes = LocalPixelShuffle(rate: 1).apply(to: &out, rng: &g)
        XCTAssertEqual(boxes.count, 10_000)
        var last = [Int](repeating: -1, count: cube.count)
        for (b, box) in boxes.enumerated() { box.forEachVoxel(in: cube) { i, _ in last[i] = b } }
        for i in 0..<cube.count {
            let src = sourceIndex(out.values[i], count: cube.count)
            guard last[i] >= 0 else { XCTAssertEqual(src, i); continue }
            let box = boxes[last[i]]
            let (r, c, d) = (src / (64 * 32), (src / 32) % 64, src % 32)
            XCTAssertTrue(box.contains(r, c, d), "voxel \(i) holds the value of \(src), outside its last block \(box)")
        }
        var inLast: [Float] = [], originalLast: [Float] = []
        boxes.last!.forEachVoxel(in: cube) { i, _ in inLast.append(out.values[i]); originalLast.append(cube.values[i]) }
        XCTAssertEqual(inLast.sorted(), originalLast.sorted())
    }

    /// What the official code does and the summary does not say: overlapping blocks read
    /// the unshuffled cube, so some values end up twice and others are lost.
    func testOverlappingBlocksDoNotKeepTheWholeMultiset() {
        let cube = distinctCube(64, 64, 32)
        var g = SeededGenerator(seed: 3)
        var out = cube
        LocalPixelShuffle(rate: 1).apply(to: &out, rng: &g)
        let distinct = Set(out.values).count
        XCTAssertLessThan(distinct, cube.count, "expected duplicated values after 10,000 overlapping blocks")
        XCTAssertGreaterThan(distinct, cube.count / 2)
    }

    /// Sides `random.randint(1, dim // 10)` and starts `random.randint(0, dim - side)`, both ends
    /// included: over 10,000 blocks every bound is reached and none is passed.
    func testBlockSidesAndStartsStayWithinInclusiveOfficialBounds() {
        var g = SeededGenerator(seed: 5)
        var out = distinctCube(64, 64, 32)
        let boxes = LocalPixelShuffle(rate: 1).apply(to: &out, rng: &g)
        XCTAssertEqual(Set(boxes.map(\.rows)), Set(1...6))
        XCTAssertEqual(Set(boxes.map(\.cols)), Set(1...6))
        XCTAssertEqual(Set(boxes.map(\.deps)), Set(1...3))
        for b in boxes { XCTAssertTrue(b.fits(in: out), "\(b)") }
        XCTAssertTrue(boxes.contains { $0.row == 0 } && boxes.contains { $0.row + $0.rows == 64 })
        XCTAssertTrue(boxes.contains { $0.dep == 0 } && boxes.contains { $0.dep + $0.deps == 32 })
        XCTAssertTrue(boxes.contains { $0.rows == 6 && $0.row == 58 }, "start 64 - 6 = 58 is included")
    }

    /// The shuffle of a window is a uniform permutation: each of the 6 orders of 3 values about
    /// 1/6 of 6,000 times (4.5-sigma binomial bounds).
    func testShuffleIsUniform() {
        var g = SeededGenerator(seed: 9)
        var counts: [[Float]: Int] = [:]
        let n = 6_000
        for _ in 0..<n {
            var w: [Float] = [0, 1, 2]
            g.shuffle(&w, count: 3)
            counts[w, default: 0] += 1
        }
        XCTAssertEqual(counts.count, 6)
        for (order, k) in counts { assertRate(k, of: n, is: 1.0 / 6, "order \(order)") }
    }

    /// `random.randint(a, b)` includes both ends, uniformly (4.5-sigma binomial bounds).
    func testRandintIsInclusiveAndUniform() {
        var g = SeededGenerator(seed: 1)
        var counts = [Int](repeating: 0, count: 4)
        let n = 8_000
        for _ in 0..<n { counts[g.randint(3, 6) - 3] += 1 }
        for k in counts { assertRate(k, of: n, is: 0.25, "randint(3, 6)") }
    }
}
