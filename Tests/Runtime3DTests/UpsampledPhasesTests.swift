@testable import Runtime3D
import XCTest

/// The convolution of a part read through 2x nearest upsampling by its 8 phases at the low
/// resolution (Conv3D+UpsampledPhases; threshold lowered to 1 voxel so these small shapes take
/// it) against the float64 reference of the materialised upsampling and concatenation
/// (`Reference`). Tolerance 5e-5 absolute as ConvolutionTests (measured below 2e-6: the phase
/// weights are exact sums in Double, the GEMMs reduce over at most 8 x in terms).
final class UpsampledPhasesTests: XCTestCase {
    private func reference(_ parts: [(FeatureMap, Bool)], _ w: [Float], _ b: [Float], out: Int) -> Grid {
        let full = parts.map { $0.1 ? Reference.upsample(Grid($0.0)) : Grid($0.0) }
        return Reference.conv(Reference.concat(full), w.map(Double.init), b.map(Double.init), out: out, k: 3)
    }

    func testPhasesMatchTheReferenceOnEveryPartLayout() throws {
        // (low shape, skip channels before, skip channels after): odd low sides, the
        // upsampled part first, last, alone, and between two plain parts.
        let cases: [([Int], Int, Int)] = [([1, 3, 2, 3, 4], 0, 2), ([2, 2, 3, 1, 2], 2, 0), ([1, 4, 2, 2, 2], 0, 0), ([1, 2, 1, 3, 3], 1, 2)]
        var worst: Float = 0
        for (index, (low, before, after)) in cases.enumerated() {
            let seed = UInt64(100 + 10 * index)
            let full = [low[0], 1, 2 * low[2], 2 * low[3], 2 * low[4]]
            var parts: [(FeatureMap, Bool)] = []
            if before > 0 { parts.append((try randomMap([full[0], before] + full[2...], seed: seed), false)) }
            parts.append((try randomMap(low, seed: seed + 1), true))
            if after > 0 { parts.append((try randomMap([full[0], after] + full[2...], seed: seed + 2), false)) }
            let cin = parts.reduce(0) { $0 + $1.0.channels }
            var r = SeededValues(seed: seed + 3)
            let w = r.array(3 * cin * 27), b = r.array(3)
            let expected = reference(parts, w, b, out: 3)
            for algorithm in [Conv3D.Algorithm.im2col, .winograd2D] {
                let tuning = ConvolutionTuning(winograd2DMinChannels: 1, winograd2DMinTiles: 1, upsampledPhasesMinVoxels: 1)
                let conv = try Conv3D(weight: w, bias: b, outChannels: 3, inChannels: cin, kernel: 3, algorithm: algorithm, tuning: tuning)
                let inputs = parts.map { $0.1 ? ConvInput.upsampled($0.0) : .map($0.0) }
                XCTAssertTrue(conv.runsByPhases(inputs, threads: 2))
                // The chunks (so the GEMMs' shapes and roundings) depend on the threads; a run
                // with the same threads repeats its bits (a resumed training run relies on it).
                for threads in [1, 2] {
                    let y = try conv.forward(inputs, threads: threads)
                    XCTAssertEqual(y.shape, expected.shape)
                    let error = maxAbsDifference(y.data, expected.data.map(Float.init))
                    worst = max(worst, error)
                    XCTAssertLessThanOrEqual(error, 5e-5, "\(low) \(before)+\(after) \(algorithm) threads \(threads)")
                    XCTAssertEqual(y.data, try conv.forward(inputs, threads: threads).data, "\(low): a second run differs")
                }
            }
        }
        print("upsampled phases vs float64 reference: max abs error \(worst)")
    }

    /// The summed weights by hand: along one axis phase 0 weighs its low-resolution taps
    /// (a - 1, a) with (w0, w1 + w2), phase 1 (a, a + 1) with (w0 + w1, w2); in 3-D the
    /// products of the three axes' sums. One output, one input channel, w[kd, kh, kw] = the
    /// tap's index + 1, so phase 000 tap 111 is the sum over kd, kh, kw in {1, 2} of
    /// (9 kd + 3 kh + kw + 1) = 8 x (9 x 1.5 + 3 x 1.5 + 1.5 + 1) = 164.
    func testPhaseWeightsByHand() throws {
        let w = (0..<27).map { Float($0 + 1) }
        let conv = try Conv3D(weight: w, bias: [0], outChannels: 1, inChannels: 1, kernel: 3)
        let u = conv.phaseWeights(0..<1, threads: 1)   // [phase][tap]
        XCTAssertEqual(u[0 * 8 + 7], 164)
        XCTAssertEqual(u[0 * 8 + 0], 1)        // phase 000 tap 000: w[0, 0, 0]
        XCTAssertEqual(u[7 * 8 + 7], 27)       // phase 111 tap 111: w[2, 2, 2]
        XCTAssertEqual(u[7 * 8 + 0], 8 * (9 * 0.5 + 3 * 0.5 + 0.5 + 1))   // kd, kh, kw in {0, 1}: 60
        XCTAssertEqual(u.reduce(0, +), 8 * w.reduce(0, +))   // every phase sums every weight once
    }

    /// Above the threshold and finite: phases; below it or with a NaN in the input: not.
    func testPhasesRunOnlyWhereChosen() throws {
        let low = try randomMap([1, 2, 2, 2, 2], seed: 7)
        var r = SeededValues(seed: 8)
        let conv = try Conv3D(weight: r.array(2 * 2 * 27), bias: r.array(2), outChannels: 2, inChannels: 2, kernel: 3,
                              tuning: ConvolutionTuning(upsampledPhasesMinVoxels: 8))
        XCTAssertTrue(conv.runsByPhases([.upsampled(low)], threads: 1))
        XCTAssertFalse(conv.runsByPhases([.map(try Resampling.upsampleNearest2(low))], threads: 1))
        var nan = low
        nan.data[3] = .nan
        XCTAssertFalse(conv.runsByPhases([.upsampled(nan)], threads: 1))
        let bigger = try Conv3D(weight: conv.weight, bias: conv.bias, outChannels: 2, inChannels: 2, kernel: 3,
                                tuning: ConvolutionTuning(upsampledPhasesMinVoxels: 9))
        XCTAssertFalse(bigger.runsByPhases([.upsampled(low)], threads: 1))
    }
}
