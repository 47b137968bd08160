import Runtime3D
import XCTest

/// Backward passes of BatchNorm (+ReLU), max-pool, upsampling, the transposed convolution,
/// the channel split and the activations, each against central differences of its float64
/// reference forward (`Reference`) with loss sum(r * y), on small seeded shapes; each float32
/// forward is first checked against the float64 one. Tolerances are relative to the largest
/// gradient entry and about 3x the measured values printed by each test.
final class PointwiseBackwardTests: XCTestCase {
    /// Float32 values and the same values in Double.
    private func values(_ n: Int, seed: UInt64, scale: Float = 1) -> ([Float], [Double]) {
        var r = SeededValues(seed: seed)
        let f = r.array(n, scale: scale)
        return (f, f.map(Double.init))
    }

    /// BatchNorm in batch mode (the statistics depend on x: the full Jacobian) and inference
    /// mode (an affine map), with and without the fused ReLU; every entry of x, gamma, beta.
    /// Measured relative errors (all four cases): x <= 7.2e-8, gamma <= 1.2e-7, beta <= 1.1e-7;
    /// tolerance 3e-7 for each; forward 1e-5 absolute.
    func testBatchNormBackwardMatchesFiniteDifferences() throws {
        let shape = [2, 3, 2, 3, 4]
        let count = shape.reduce(1, *)
        let (xf, xd) = values(count, seed: 600, scale: 2)
        let (gf, gd) = values(3, seed: 601)
        let (bf, bd) = values(3, seed: 602)
        let movingMean: [Float] = [0.1, -0.2, 0.3], movingVariance: [Float] = [0.5, 1.5, 0.8]
        let eps: Float = 1e-3
        let bn = try BatchNorm(gamma: gf, beta: bf, movingMean: movingMean, movingVariance: movingVariance, epsilon: eps)
        let (rf, rd) = values(count, seed: 603)
        let x = try FeatureMap(shape: shape, data: xf)
        for mode in BatchNormMode.allCases {
            for relu in [false, true] {
                let moving = mode == .inference ? (movingMean.map(Double.init), movingVariance.map(Double.init)) : nil
                func loss(_ x: [Double], _ g: [Double], _ b: [Double]) -> Double {
                    Reference.dot(Reference.batchNorm(Grid(shape: shape, data: x), gamma: g, beta: b, eps: Double(eps), moving: moving, relu: relu), rd)
                }
                var y = x
                let stats = try bn.apply(&y, mode: mode, relu: relu, threads: 2)
                let expected = Reference.batchNorm(Grid(shape: shape, data: xd), gamma: gd, beta: bd, eps: Double(eps), moving: moving, relu: relu)
                XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected.data.map(Float.init)), 1e-5, "forward \(mode) relu \(relu)")
                let g = try bn.backward(input: x, output: relu ? y : nil, outputGradient: FeatureMap(shape: shape, data: rf),
                                        statistics: stats, mode: mode, relu: relu, threads: 2)
                let fdX = (0..<count).map { i in Reference.centralDifference(xd, i) { loss($0, gd, bd) } }
                let fdG = (0..<3).map { i in Reference.centralDifference(gd, i) { loss(xd, $0, bd) } }
                let fdB = (0..<3).map { i in Reference.centralDifference(bd, i) { loss(xd, gd, $0) } }
                let (ex, eg, eb) = (relativeError(g.input.data.map(Double.init), fdX), relativeError(g.gamma.map(Double.init), fdG),
                                    relativeError(g.beta.map(Double.init), fdB))
                print("batchnorm backward \(mode) relu \(relu): x \(ex), gamma \(eg), beta \(eb)")
                XCTAssertLessThanOrEqual(ex, 3e-7, "x \(mode) relu \(relu)")
                XCTAssertLessThanOrEqual(eg, 3e-7, "gamma \(mode) relu \(relu)")
                XCTAssertLessThanOrEqual(eb, 3e-7, "beta \(mode) relu \(relu)")
            }
        }
    }

    /// Max-pool: h = 1e-6 (piecewise linear: exact away from ties, which seeded values in
    /// [-1, 1) do not have within 1e-6); every input entry. Measured 3.4e-10 (the difference's
    /// own rounding, 1e-16 / 1e-6); tolerance 1e-9.
    func testMaxPoolBackwardMatchesFiniteDifferences() throws {
        let shape = [2, 2, 4, 2, 6]
        let count = shape.reduce(1, *)
        let (xf, xd) = values(count, seed: 610)
        let x = try FeatureMap(shape: shape, data: xf)
        let y = try Resampling.maxPool2(x, threads: 2)
        let expected = Reference.maxPool(Grid(shape: shape, data: xd))
        XCTAssertEqual(y.data, expected.data.map(Float.init))
        let (rf, rd) = values(y.data.count, seed: 611)
        let g = try Resampling.maxPool2Backward(input: x, outputGradient: FeatureMap(shape: y.shape, data: rf), threads: 2)
        let fd = (0..<count).map { i in Reference.centralDifference(xd, i, h: 1e-6) { Reference.dot(Reference.maxPool(Grid(shape: shape, data: $0)), rd) } }
        let err = relativeError(g.data.map(Double.init), fd)
        print("maxpool backward: \(err)")
        XCTAssertLessThanOrEqual(err, 1e-9)
    }

    /// Ties and NaN by hand, as PyTorch's CPU max_pool3d indices: equal maxima send the
    /// gradient to the first in (d, h, w) scan order; a window with NaN sends it to its last NaN.
    func testMaxPoolBackwardTiesAndNaNByHand() throws {
        // (1, 1, 2, 2, 4): window 0 = w 0-1, window 1 = w 2-3; index = (d * 2 + h) * 4 + w.
        var data = [Float](repeating: 0, count: 16)
        data[1] = 5; data[4] = 5; data[13] = 5            // window 0: 5 at (0,0,1), (0,1,0), (1,1,1)
        data[2] = .nan; data[11] = .nan; data[15] = 9     // window 1: NaN at (0,0,2) and (0,1,3)
        let g = try Resampling.maxPool2Backward(input: FeatureMap(shape: [1, 1, 2, 2, 4], data: data),
                                                outputGradient: FeatureMap(shape: [1, 1, 1, 1, 2], data: [3, 7]))
        var expected = [Float](repeating: 0, count: 16)
        expected[1] = 3
        expected[11] = 7
        XCTAssertEqual(g.data, expected)
    }

    /// Nearest upsampling (sum over 2x2x2 children) and the transposed convolution (input,
    /// weight, bias), every entry; linear, so the differences are exact up to rounding.
    /// Measured: upsampling 3.4e-8 (tolerance 1e-7); transposed input 6.6e-8 and weight 7.0e-8
    /// (tolerance 2e-7), bias 2.5e-7 (tolerance 6e-7). Forward 1e-5 absolute.
    func testUpsamplingAndTransposedConvolutionBackward() throws {
        let shape = [2, 3, 2, 1, 3]
        let count = shape.reduce(1, *)
        let (xf, xd) = values(count, seed: 620)
        let x = try FeatureMap(shape: shape, data: xf)
        let up = try Resampling.upsampleNearest2(x, threads: 2)
        let (rf, rd) = values(up.data.count, seed: 621)
        let gu = try Resampling.upsampleNearest2Backward(FeatureMap(shape: up.shape, data: rf), threads: 2)
        let fdU = (0..<count).map { i in Reference.centralDifference(xd, i) { Reference.dot(Reference.upsample(Grid(shape: shape, data: $0)), rd) } }
        let errU = relativeError(gu.data.map(Double.init), fdU)
        XCTAssertLessThanOrEqual(errU, 1e-7)

        let cout = 4
        let (wf, wd) = values(3 * cout * 8, seed: 622)
        let (bf, bd) = values(cout, seed: 623)
        let t = try ConvTranspose3D(weight: wf, bias: bf, inChannels: 3, outChannels: cout)
        let y = try t.forward(x, threads: 2)
        let expected = Reference.convTranspose(Grid(shape: shape, data: xd), wd, bd, out: cout)
        XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected.data.map(Float.init)), 1e-5)
        let (sf, sd) = values(y.data.count, seed: 624)
        func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            Reference.dot(Reference.convTranspose(Grid(shape: shape, data: x), w, b, out: cout), sd)
        }
        for tile in [1 << 20, 32 * 3] {   // one chunk per sample, or one row per chunk
            let small = try ConvTranspose3D(weight: wf, bias: bf, inChannels: 3, outChannels: cout, tileFloats: tile)
            let g = try small.backward(input: x, outputGradient: FeatureMap(shape: y.shape, data: sf), threads: 2)
            let ex = relativeError(g.input.data.map(Double.init), (0..<count).map { i in Reference.centralDifference(xd, i) { loss($0, wd, bd) } })
            let ew = relativeError(g.weight.map(Double.init), (0..<wd.count).map { i in Reference.centralDifference(wd, i) { loss(xd, $0, bd) } })
            let eb = relativeError(g.bias.map(Double.init), (0..<cout).map { i in Reference.centralDifference(bd, i) { loss(xd, wd, $0) } })
            print("upsample backward \(errU); transposed conv backward tile \(tile): input \(ex), weight \(ew), bias \(eb)")
            XCTAssertLessThanOrEqual(ex, 2e-7, "tile \(tile)")
            XCTAssertLessThanOrEqual(ew, 2e-7, "tile \(tile)")
            XCTAssertLessThanOrEqual(eb, 6e-7, "tile \(tile)")
        }
    }

    /// Sigmoid and softmax over channels, from their outputs; every entry. Measured 1.7e-7 and
    /// 2.2e-7; tolerance 5e-7 and 6e-7. ReLU by hand. The channel split is the concatenation's backward (exact).
    func testActivationsAndSplitBackward() throws {
        let shape = [2, 3, 1, 2, 2]
        let count = shape.reduce(1, *)
        let (xf, xd) = values(count, seed: 630, scale: 3)
        let (rf, rd) = values(count, seed: 631)
        let dY = try FeatureMap(shape: shape, data: rf)
        var s = try FeatureMap(shape: shape, data: xf)
        Activations.sigmoid(&s)
        let gs = try Activations.sigmoidBackward(output: s, outputGradient: dY)
        let es = relativeError(gs.data.map(Double.init), (0..<count).map { i in Reference.centralDifference(xd, i) { Reference.dot(Reference.sigmoid(Grid(shape: shape, data: $0)), rd) } })
        var m = try FeatureMap(shape: shape, data: xf)
        Activations.softmaxChannels(&m)
        XCTAssertLessThanOrEqual(maxAbsDifference(m.data, Reference.softmaxChannels(Grid(shape: shape, data: xd)).data.map(Float.init)), 1e-6)
        let gm = try Activations.softmaxChannelsBackward(output: m, outputGradient: dY)
        let em = relativeError(gm.data.map(Double.init), (0..<count).map { i in Reference.centralDifference(xd, i) { Reference.dot(Reference.softmaxChannels(Grid(shape: shape, data: $0)), rd) } })
        print("sigmoid backward \(es), softmax backward \(em)")
        XCTAssertLessThanOrEqual(es, 5e-7)
        XCTAssertLessThanOrEqual(em, 6e-7)

        var relu = try FeatureMap(shape: shape, data: xf)
        Activations.relu(&relu)
        let gr = try Activations.reluBackward(output: relu, outputGradient: dY)
        XCTAssertEqual(gr.data, zip(xf, rf).map { $0 > 0 ? $1 : 0 })

        let a = try randomMap([2, 1, 1, 2, 2], seed: 632), b = try randomMap([2, 2, 1, 2, 2], seed: 633)
        let parts = try FeatureMap.concatenated([a, b]).splitChannels([1, 2])
        XCTAssertEqual(parts, [a, b])
        XCTAssertThrowsError(try a.splitChannels([2]))
    }

    /// Moving statistics by hand. Batch: values 1, 2, 3, 4 (M = 4): mean 2.5, biased variance
    /// 1.25, unbiased 5/3 (both frameworks fold in the unbiased one; see
    /// MovingStatisticsConvention). Keras from mean 0, variance 1: 0 - (0 - 2.5) * 0.01 = 0.025
    /// and 1 - (1 - 5/3) * 0.01 = 1.0066667; PyTorch: 0.9 * 0 + 0.1 * 2.5 = 0.25 and
    /// 0.9 * 1 + 0.1 * 5/3 = 1.0666667. Tolerance 1e-7 (float32 rounding).
    func testMovingStatisticsUpdateByHand() throws {
        let x = try FeatureMap(shape: [2, 1, 1, 1, 2], data: [1, 2, 3, 4])
        let bn = try BatchNorm(gamma: [1], beta: [0], movingMean: [0], movingVariance: [1], epsilon: 1e-3)
        let stats = BatchNorm.batchStatistics(x)
        XCTAssertEqual(stats, BatchNormStatistics(mean: [2.5], variance: [1.25], count: 4))
        let keras = bn.updatedMovingStatistics(stats, convention: .keras)
        XCTAssertEqual(keras.mean[0], 0.025, accuracy: 1e-7)
        XCTAssertEqual(keras.variance[0], Float(1 + 0.01 * (5.0 / 3.0 - 1)), accuracy: 1e-7)
        let torch = bn.updatedMovingStatistics(stats, convention: .torch)
        XCTAssertEqual(torch.mean[0], 0.25, accuracy: 1e-7)
        XCTAssertEqual(torch.variance[0], Float(0.9 + 0.1 * 5.0 / 3.0), accuracy: 1e-7)
    }
}
