import Foundation
import Runtime3D
import XCTest

/// BatchNorm, pooling, upsampling and activations against hand-worked values.
final class PointwiseOpTests: XCTestCase {
    /// Channel 0 holds 1, 2, 3, 4 over a batch of 2 (two voxels each): mean 2.5, biased
    /// variance 1.25 (by hand). gamma 2, beta 1, eps 0.25: y = 2 (x - 2.5) / sqrt(1.5) + 1.
    /// Channel 1 is constant 7: variance 0, y = beta. Tolerance 1e-6 (float32 rounding).
    func testBatchNormBatchStatisticsByHand() throws {
        // layout (n, c, d=1, h=1, w=2)
        let x = try FeatureMap(shape: [2, 2, 1, 1, 2], data: [1, 2, 7, 7, 3, 4, 7, 7])
        let bn = try BatchNorm(gamma: [2, 3], beta: [1, -1], movingMean: [0, 0], movingVariance: [1, 1], epsilon: 0.25)
        var y = x
        let stats = try bn.apply(&y, mode: .batch)
        XCTAssertEqual(stats.mean, [2.5, 7])
        XCTAssertEqual(stats.variance, [1.25, 0])
        XCTAssertEqual(stats.count, 4)
        let s = Float(1.5).squareRoot()
        let expected: [Float] = [2 * (1 - 2.5) / s + 1, 2 * (2 - 2.5) / s + 1, -1, -1,
                                 2 * (3 - 2.5) / s + 1, 2 * (4 - 2.5) / s + 1, -1, -1]
        XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected), 1e-6)
    }

    /// Inference mode uses the moving statistics: (x - 1) / sqrt(3 + 1) * 0.5 + 0.25, then ReLU.
    /// Values worked by hand; exact in float32.
    func testBatchNormInferenceWithReLUByHand() throws {
        var x = try FeatureMap(shape: [1, 1, 1, 1, 4], data: [-3, 1, 5, 9])
        let bn = try BatchNorm(gamma: [0.5], beta: [0.25], movingMean: [1], movingVariance: [3], epsilon: 1)
        try bn.apply(&x, mode: .inference, relu: true)
        XCTAssertEqual(x.data, [0, 0.25, 1.25, 2.25])   // -0.75 clipped to 0
    }

    /// Max-pool by hand: one 2x2x2 window per output voxel.
    func testMaxPoolByHand() throws {
        // (1,1,2,2,4): two windows along w; first holds 0...7 scrambled, second negatives.
        let data: [Float] = [3, 0, -5, -1, 7, 1, -2, -9, 2, 6, -8, -4, 4, 5, -3, -6]
        let x = try FeatureMap(shape: [1, 1, 2, 2, 4], data: data)
        let y = try Resampling.maxPool2(x)
        XCTAssertEqual(y.shape, [1, 1, 1, 1, 2])
        XCTAssertEqual(y.data, [7, -1])
        XCTAssertThrowsError(try Resampling.maxPool2(try FeatureMap(shape: [1, 1, 2, 2, 3], data: [Float](repeating: 0, count: 12))))
    }

    /// Nearest upsampling by hand on a 1x1x2 row: each value fills its 2x2x2 block.
    func testUpsampleNearestByHand() throws {
        let x = try FeatureMap(shape: [1, 1, 1, 1, 2], data: [1, 2])
        let y = try Resampling.upsampleNearest2(x)
        XCTAssertEqual(y.shape, [1, 1, 2, 2, 4])
        XCTAssertEqual(y.data, [1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2])
    }

    /// Nearest upsampling equals the transposed convolution whose weight is the identity on
    /// channels at all 8 taps with zero bias (schemas/genesis-architecture.md). Exact: each output is 1 * x + 0s.
    func testUpsampleNearestEqualsIdentityTransposedConvolution() throws {
        let x = try randomMap([2, 5, 3, 2, 4], seed: 21)
        let a = try Resampling.upsampleNearest2(x, threads: 2)
        let b = try ConvTranspose3D.identity(channels: 5).forward(x, threads: 2)
        XCTAssertEqual(a.shape, b.shape)
        XCTAssertEqual(a.data, b.data)
    }

    /// sigmoid(0) = 0.5, sigmoid(ln 3) = 0.75, sigmoid(-ln 3) = 0.25; large inputs saturate
    /// without NaN. Tolerance 1e-7.
    func testSigmoidByHand() throws {
        var x = try FeatureMap(shape: [1, 1, 1, 1, 5], data: [0, Float(log(3.0)), -Float(log(3.0)), 200, -200])
        Activations.sigmoid(&x)
        XCTAssertLessThanOrEqual(maxAbsDifference(x.data, [0.5, 0.75, 0.25, 1, 0]), 1e-7)
    }

    /// Softmax over channels at each voxel: logits (0, ln 3) -> (0.25, 0.75); equal logits ->
    /// halves; 1000 vs 0 saturates without overflow. Tolerance 1e-7.
    func testSoftmaxOverChannelsByHand() throws {
        // (1, 2, 1, 1, 3): channel 0 then channel 1 over three voxels.
        var x = try FeatureMap(shape: [1, 2, 1, 1, 3], data: [0, 5, 1000, Float(log(3.0)), 5, 0])
        Activations.softmaxChannels(&x)
        XCTAssertLessThanOrEqual(maxAbsDifference(x.data, [0.25, 0.5, 1, 0.75, 0.5, 0]), 1e-7)
    }

    /// ReLU by hand.
    func testReLUByHand() throws {
        var x = try FeatureMap(shape: [1, 1, 1, 1, 4], data: [-1, 0, 2, -0.5])
        Activations.relu(&x)
        XCTAssertEqual(x.data, [0, 0, 2, 0])
    }
}
