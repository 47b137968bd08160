import GenesisModel
import Runtime3D
import XCTest

/// NaN and Inf propagate through every op as in PyTorch (issue 8): Swift's `max(0, .nan)` is 0,
/// so clamps written with `max` used to drop NaN and an all-NaN cube gave outputs near 0.5.
/// Expected values are worked by hand from PyTorch's definitions (IEEE arithmetic, NaN-aware
/// max-pool and ReLU, batch statistics Inf - Inf = NaN).
final class NonFiniteTests: XCTestCase {
    private let nan = Float.nan, inf = Float.infinity

    /// True where both are NaN, or both equal (including equal infinities).
    private func sameValues(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for i in 0..<min(a.count, b.count) where !(a[i] == b[i] || (a[i].isNaN && b[i].isNaN)) {
            XCTFail("index \(i): \(a[i]) vs \(b[i])", file: file, line: line)
            return
        }
    }

    func testReLUKeepsNaNAndInfinities() throws {
        var x = try FeatureMap(shape: [1, 1, 1, 1, 6], data: [nan, -1, inf, -inf, 2, 0])
        Activations.relu(&x)
        sameValues(x.data, [nan, 0, inf, 0, 2, 0])
    }

    /// Inference mode is an affine map per channel: only the NaN voxel is NaN; +Inf stays +Inf
    /// through a positive scale, -Inf is clipped by the ReLU.
    func testBatchNormInferenceKeepsNaNPerVoxel() throws {
        var x = try FeatureMap(shape: [1, 1, 1, 1, 4], data: [nan, 1, inf, -inf])
        let bn = try BatchNorm(gamma: [0.5], beta: [0.25], movingMean: [1], movingVariance: [3], epsilon: 1)
        try bn.apply(&x, mode: .inference, relu: true)
        sameValues(x.data, [nan, 0.25, inf, 0])
    }

    /// Batch mode: a channel holding one NaN (or one Inf: Inf - Inf in the variance) has NaN
    /// statistics, so the whole channel, in every sample, is NaN after BN + ReLU; the other
    /// channel is untouched (mean 2.5, variance 1.25, as in PointwiseOpTests).
    func testBatchNormBatchModeMakesTheWholeChannelNaN() throws {
        for bad in [nan, inf, -inf] {
            // (n 2, c 2, 1, 1, 2): channel 0 holds `bad` in sample 1.
            var x = try FeatureMap(shape: [2, 2, 1, 1, 2], data: [5, 6, 1, 2, 7, bad, 3, 4])
            let bn = try BatchNorm(gamma: [1, 1], beta: [0, 0], movingMean: [0, 0], movingVariance: [1, 1], epsilon: 0)
            let stats = try bn.apply(&x, mode: .batch, relu: true)
            XCTAssertTrue(stats.mean[0].isNaN || stats.variance[0].isNaN, "\(bad)")
            XCTAssertTrue(stats.variance[0].isNaN, "\(bad): variance \(stats.variance[0])")
            XCTAssertEqual(stats.mean[1], 2.5)
            XCTAssertEqual(stats.variance[1], 1.25)
            for i in [0, 1, 4, 5] { XCTAssertTrue(x.data[i].isNaN, "\(bad) index \(i)") }
            for i in [2, 3, 6, 7] { XCTAssertFalse(x.data[i].isNaN, "\(bad) index \(i)") }
        }
    }

    /// Each 2x2x2 window: NaN anywhere gives NaN (first, middle or last position); +Inf wins;
    /// -Inf loses to any finite value.
    func testMaxPoolWindowWithNaNIsNaN() throws {
        // (1, 1, 2, 2, 10): five windows along w, window k holds x[., ., 2k...2k+1].
        var data = [Float](repeating: 1, count: 40)
        func set(_ d: Int, _ h: Int, _ w: Int, _ v: Float) { data[(d * 2 + h) * 10 + w] = v }
        set(0, 0, 0, nan)              // window 0: NaN first in scan order
        set(1, 1, 3, nan)              // window 1: NaN last
        set(0, 1, 4, inf)              // window 2: +Inf
        set(1, 0, 6, -inf)             // window 3: -Inf among ones
        set(0, 0, 8, 5); set(1, 0, 9, nan)  // window 4: a larger value before the NaN
        let y = try Resampling.maxPool2(try FeatureMap(shape: [1, 1, 2, 2, 10], data: data))
        sameValues(y.data, [nan, nan, inf, 1, nan])
    }

    func testSigmoidAndSoftmaxKeepNaN() throws {
        var s = try FeatureMap(shape: [1, 1, 1, 1, 3], data: [nan, inf, -inf])
        Activations.sigmoid(&s)
        sameValues(s.data, [nan, 1, 0])
        // (1, 2, 1, 1, 2): voxel 0 has a NaN logit in channel 1, voxel 1 is finite (0, ln 3).
        var x = try FeatureMap(shape: [1, 2, 1, 1, 2], data: [0, 0, nan, Float(log(3.0))])
        Activations.softmaxChannels(&x)
        XCTAssertTrue(x.data[0].isNaN && x.data[2].isNaN)
        XCTAssertEqual(x.data[1], 0.25, accuracy: 1e-7)
        XCTAssertEqual(x.data[3], 0.75, accuracy: 1e-7)
    }

    /// One NaN voxel: every algorithm (2-D threshold lowered to 1 so it runs at in = 2) gives
    /// NaN exactly on the voxel's 3x3x3 neighbourhood in every output channel, as the direct sum
    /// does (the Winograd paths would widen it to whole tiles: they fall back to im2col on
    /// non-finite input). One +Inf voxel gives +-Inf there with the sign of the weight that
    /// meets it, equal to the direct loop's. Finite elsewhere, within 5e-5 of im2col.
    func testConvolutionPropagatesNonFiniteInputAsTheDirectSum() throws {
        let shape = [1, 2, 4, 8, 8]
        var r = SeededValues(seed: 91)
        let w = r.array(3 * 2 * 27), b = r.array(3)
        let tuning = ConvolutionTuning(winograd2DMinChannels: 1, winograd2DMinTiles: 1)
        let voxel = (d: 1, h: 4, w: 0)
        for bad in [nan, inf] {
            var x = try randomMap(shape, seed: 92)
            x.data[((1 * 4 + voxel.d) * 8 + voxel.h) * 8 + voxel.w] = bad     // channel 1
            let direct = try Conv3D(weight: w, bias: b, outChannels: 3, inChannels: 2, kernel: 3, algorithm: .im2col).forward(x, threads: 2)
            for algorithm in Conv3D.Algorithm.allCases {
                let conv = try Conv3D(weight: w, bias: b, outChannels: 3, inChannels: 2, kernel: 3, algorithm: algorithm, tuning: tuning)
                let y = try conv.forward(x, threads: 2)
                for o in 0..<3 { for d in 0..<4 { for h in 0..<8 { for ww in 0..<8 {
                    let i = ((o * 4 + d) * 8 + h) * 8 + ww
                    let near = abs(d - voxel.d) <= 1 && abs(h - voxel.h) <= 1 && abs(ww - voxel.w) <= 1
                    if near {
                        let tap = ((voxel.d - d + 1) * 3 + (voxel.h - h + 1)) * 3 + (voxel.w - ww + 1)
                        let weight = w[(o * 2 + 1) * 27 + tap]
                        if bad.isNaN { XCTAssertTrue(y.data[i].isNaN, "\(algorithm) \(o) \(d) \(h) \(ww)") }
                        else { XCTAssertEqual(y.data[i], weight > 0 ? inf : -inf, "\(algorithm) \(o) \(d) \(h) \(ww)") }
                    } else {
                        XCTAssertTrue(y.data[i].isFinite, "\(algorithm) \(bad) \(o) \(d) \(h) \(ww)")
                        XCTAssertEqual(y.data[i], direct.data[i], accuracy: 5e-5)
                    }
                } } } }
            }
        }
    }

    /// An infinite weight: every algorithm gives the same non-finite pattern as im2col (which
    /// computes 0 x Inf = NaN at the zero padding, as PyTorch's padded convolution does).
    func testInfiniteWeightGivesTheDirectSumsPattern() throws {
        let x = try randomMap([1, 8, 4, 8, 8], seed: 93)
        var r = SeededValues(seed: 94)
        var w = r.array(2 * 8 * 27)
        w[5 * 27 + 4] = inf
        let b = r.array(2)
        let direct = try Conv3D(weight: w, bias: b, outChannels: 2, inChannels: 8, kernel: 3, algorithm: .im2col).forward(x, threads: 2)
        XCTAssertTrue(direct.data.contains { $0.isNaN } && direct.data.contains { $0.isInfinite })
        for algorithm in Conv3D.Algorithm.allCases {
            let y = try Conv3D(weight: w, bias: b, outChannels: 2, inChannels: 8, kernel: 3, algorithm: algorithm).forward(x, threads: 2)
            XCTAssertEqual(y.data.map(\.isNaN), direct.data.map(\.isNaN), "\(algorithm)")
            XCTAssertEqual(y.data.map { $0.isInfinite ? $0.sign : nil }, direct.data.map { $0.isInfinite ? $0.sign : nil }, "\(algorithm)")
        }
    }

    /// 1x1x1 convolution and the transposed convolution: a NaN input voxel makes its own output
    /// voxel (1x1x1) or its 2x2x2 block (transposed) NaN in every channel, nothing else.
    func testPointwiseAndTransposedConvolutionPropagateNaN() throws {
        var x = try randomMap([1, 2, 2, 2, 2], seed: 95)
        x.data[8 + 3] = nan   // channel 1, voxel (0, 1, 1)
        var r = SeededValues(seed: 96)
        let pointwise = try Conv3D(weight: r.array(3 * 2), bias: r.array(3), outChannels: 3, inChannels: 2, kernel: 1).forward(x, threads: 2)
        for o in 0..<3 { for v in 0..<8 { XCTAssertEqual(pointwise.data[o * 8 + v].isNaN, v == 3, "1x1x1 \(o) \(v)") } }
        let t = try ConvTranspose3D(weight: r.array(2 * 3 * 8), bias: r.array(3), inChannels: 2, outChannels: 3).forward(x, threads: 2)
        for o in 0..<3 { for d in 0..<4 { for h in 0..<4 { for w in 0..<4 {
            let isNaN = t.data[((o * 4 + d) * 4 + h) * 4 + w].isNaN
            XCTAssertEqual(isNaN, d / 2 == 0 && h / 2 == 1 && w / 2 == 1, "transposed \(o) \(d) \(h) \(w)")
        } } } }
    }

    /// The whole network: an all-NaN cube gives an all-NaN output in both BN modes and both
    /// variants (it used to give values in [0.44, 0.57]); one NaN voxel reaches the output in
    /// inference mode, while the same cube without it gives a finite output.
    func testNetworkPropagatesNaN() throws {
        for variant in [Variant.keras, .torch] {
            let arch = Architecture(variant: variant, baseFilters: 2, labels: 1)
            let net = try GenesisNetwork(architecture: arch, weights: seededStore(arch, seed: 97))
            let allNaN = try FeatureMap(shape: [1, 1, 16, 16, 8], data: [Float](repeating: nan, count: 16 * 16 * 8))
            for mode in BatchNormMode.allCases {
                let y = try net.forward(allNaN, bn: mode, threads: 2)
                XCTAssertTrue(y.data.allSatisfy(\.isNaN), "\(variant) \(mode): \(y.data.filter { !$0.isNaN }.count) non-NaN outputs")
            }
            var one = try randomMap([1, 1, 16, 16, 8], seed: 98)
            XCTAssertTrue(try net.forward(one, bn: .inference, threads: 2).data.allSatisfy(\.isFinite))
            one.data[(5 * 16 + 9) * 8 + 2] = nan
            let y = try net.forward(one, bn: .inference, threads: 2)
            XCTAssertTrue(y.data.contains { $0.isNaN }, "\(variant): one NaN voxel vanished")
        }
    }
}
