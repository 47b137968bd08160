import Pretext
import Tensors
import XCTest

final class GenesisTransformsTests: XCTestCase {
    /// Each transform fires at its official rate over 3,000 seeds: flip 0.4 (at least one pick),
    /// shuffling 0.5, intensity map 0.9 (flipped curve 0.5 of those), painting 0.9, of which
    /// out-painting 0.8 (4.5-sigma binomial bounds). Cheap sizes (16^3, 4 blocks, 200 curve
    /// samples): rates do not depend on them.
    func testFiringRatesMatchTheOfficialProbabilities() {
        var t = GenesisTransforms.official
        t.shuffle.blocks = 4
        t.intensity.samples = 200
        let cube = uniformCube(16, 16, 16, seed: 1)
        let n = 3_000
        var flip = 0, shuffle = 0, curve = 0, flippedCurve = 0, paint = 0, outPaint = 0
        for seed in 0..<UInt64(n) {
            var g = SeededGenerator(seed: seed)
            let r = t.transformedPair(cube, rng: &g).record
            if !r.flipAxes.isEmpty { flip += 1 }
            if r.shuffleBlocks != nil { shuffle += 1 }
            if let c = r.curve { curve += 1; if c.flipped { flippedCurve += 1 } }
            if let p = r.painting { paint += 1; if p == .outPainting { outPaint += 1 } }
        }
        assertRate(flip, of: n, is: 0.4, "flip")
        assertRate(shuffle, of: n, is: 0.5, "local shuffling")
        assertRate(curve, of: n, is: 0.9, "intensity map")
        assertRate(flippedCurve, of: curve, is: 0.5, "flipped curve")
        assertRate(paint, of: n, is: 0.9, "painting")
        assertRate(outPaint, of: paint, is: 0.8, "out-painting")
    }

    /// Rates of 0 give the identity: input and target are the cube itself.
    func testZeroRatesGiveTheIdentity() {
        let cube = uniformCube(16, 16, 8, seed: 4)
        for seed in 0..<20 as Range<UInt64> {
            var g = SeededGenerator(seed: seed)
            let p = GenesisTransforms.identity.transformedPair(cube, rng: &g)
            XCTAssertEqual(p.input, cube)
            XCTAssertEqual(p.target, cube)
            XCTAssertEqual(p.record.summary, "none")
        }
    }

    /// The official set on an official-size cube: the target is the original flipped as recorded
    /// (never shuffled, mapped or painted), the input stays in [0, 1], and the pipeline is
    /// reproducible from the seed.
    func testOfficialPairTargetIsTheFlippedOriginal() {
        let cube = uniformCube(64, 64, 32, seed: 8)
        for seed in 0..<3 as Range<UInt64> {
            var g1 = SeededGenerator(seed: seed), g2 = SeededGenerator(seed: seed)
            let p = GenesisTransforms.official.transformedPair(cube, rng: &g1)
            XCTAssertEqual(p.target, referenceFlip(cube, axes: p.record.flipAxes))
            XCTAssertTrue(p.input.values.allSatisfy { $0 >= 0 && $0 <= 1 })
            XCTAssertEqual(GenesisTransforms.official.transformedPair(cube, rng: &g2), p)
        }
    }

    /// A batch gives the same bytes on 1 and 2 threads, cube i equals the pair drawn alone with
    /// generator (seed, firstIndex + i), and another seed gives other inputs.
    func testBatchIsReproducibleWhateverTheThreadCount() throws {
        let cubes = (0..<4).map { uniformCube(64, 64, 32, seed: UInt64(20 + $0)) }
        let t = GenesisTransforms.official
        let one = t.pairs(cubes, seed: 7, firstIndex: 12, threads: 1)
        let two = t.pairs(cubes, seed: 7, firstIndex: 12, threads: 2)
        XCTAssertEqual(one, two)
        var g = GenesisTransforms.generator(seed: 7, index: 14)
        XCTAssertEqual(t.transformedPair(cubes[2], rng: &g), one[2])
        let other = t.pairs(cubes, seed: 8, firstIndex: 12, threads: 2)
        XCTAssertNotEqual(other.map(\.input), one.map(\.input))

        let batch = try Cube.batch(cubes)
        XCTAssertEqual(batch.shape, [4, 1, 64, 64, 32])
        XCTAssertEqual(try Cube.cubes(of: batch), cubes)
        XCTAssertEqual(try Cube.cubes(of: batch, limit: 2), Array(cubes.prefix(2)))
        let a = try t.pairs(batch: batch, seed: 7, firstIndex: 12, threads: 1)
        let b = try t.pairs(batch: batch, seed: 7, firstIndex: 12, threads: 2)
        XCTAssertEqual(a.input.bytes, b.input.bytes)
        XCTAssertEqual(a.target.bytes, b.target.bytes)
        XCTAssertEqual(try Cube.cubes(of: a.input), one.map(\.input))
    }

    /// Generators of neighbouring (seed, index) pairs are unrelated: their first draws differ.
    func testDerivedGeneratorsDiffer() {
        var firsts = Set<UInt64>()
        for seed in 0..<16 as Range<UInt64> {
            for index in 0..<16 {
                var g = GenesisTransforms.generator(seed: seed, index: index)
                firsts.insert(g.next())
            }
        }
        XCTAssertEqual(firsts.count, 256)
    }
}
