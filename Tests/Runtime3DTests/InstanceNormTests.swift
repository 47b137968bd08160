import Foundation
import Runtime3D
import XCTest

/// InstanceNorm3d and LeakyReLU: hand-worked values, and backward against central differences
/// (h = 1e-4) of float64 re-statements of their definitions.
final class InstanceNormTests: XCTestCase {
    /// One plane [1, 2, 3, 4]: mean 2.5, biased variance 1.25; with eps 0 x^ = (x - 2.5) / sqrt(1.25).
    func testHandWorkedPlane() throws {
        let norm = try InstanceNorm(channels: 1, gamma: [2], beta: [0.5], epsilon: 0)
        let y = try norm.forward(FeatureMap(shape: [1, 1, 1, 2, 2], data: [1, 2, 3, 4]))
        let s = 1.25.squareRoot()
        for (v, x) in zip(y.data, [1.0, 2, 3, 4]) { XCTAssertEqual(Double(v), 2 * (x - 2.5) / s + 0.5, accuracy: 1e-6) }
    }

    static func reference(_ x: [Double], shape: [Int], gamma: [Double], beta: [Double], eps: Double) -> [Double] {
        let s = shape[2...].reduce(1, *), c = shape[1]
        var y = x
        for plane in 0..<(shape[0] * c) {
            let v = x[(plane * s)..<((plane + 1) * s)]
            let mean = v.reduce(0, +) / Double(s)
            let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(s)
            for i in 0..<s { y[plane * s + i] = gamma[plane % c] * (x[plane * s + i] - mean) / (variance + eps).squareRoot() + beta[plane % c] }
        }
        return y
    }

    /// Gradients of input, gamma and beta over two samples (gamma and beta sum over both).
    /// Tolerance 1e-5 relative to the tensor's largest entry (float32 output, Double sums).
    func testBackwardMatchesCentralDifferences() throws {
        let shape = [2, 3, 2, 3, 4]
        let x = try randomMap(shape, seed: 70)
        var r = SeededValues(seed: 71)
        let gamma = r.array(3), beta = r.array(3)
        let eps: Float = 1e-5
        let norm = try InstanceNorm(channels: 3, gamma: gamma, beta: beta, epsilon: eps)
        let y = try norm.forward(x)
        let (xd, gd, bd) = (x.data.map(Double.init), gamma.map(Double.init), beta.map(Double.init))
        XCTAssertLessThanOrEqual(maxAbsDifference(y.data, Self.reference(xd, shape: shape, gamma: gd, beta: bd, eps: Double(eps)).map(Float.init)), 2e-6)
        let rr = seededDoubles(y.data.count, seed: 72)
        let g = try norm.backward(input: x, outputGradient: FeatureMap(shape: shape, data: rr.map(Float.init)))
        func loss(_ xv: [Double], _ gv: [Double], _ bv: [Double]) -> Double {
            zip(Self.reference(xv, shape: shape, gamma: gv, beta: bv, eps: Double(eps)), rr).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let xi = sampleIndices(xd.count, 30, seed: 73)
        XCTAssertLessThanOrEqual(relativeError(xi.map { Double(g.input.data[$0]) },
                                               xi.map { i in Reference.centralDifference(xd, i) { loss($0, gd, bd) } }), 1e-5)
        XCTAssertLessThanOrEqual(relativeError(g.gamma.map(Double.init), (0..<3).map { i in Reference.centralDifference(gd, i) { loss(xd, $0, bd) } }), 1e-5)
        XCTAssertLessThanOrEqual(relativeError(g.beta.map(Double.init), (0..<3).map { i in Reference.centralDifference(bd, i) { loss(xd, gd, $0) } }), 1e-5)
    }

    /// LeakyReLU(0.01): [-2, -0.5, 0, 3, NaN] -> [-0.02, -0.005, 0, 3, NaN]; its gradient of ones
    /// is [0.01, 0.01, 0.01, 1, 0.01] (x > 0 takes dy, the rest slope dy, as PyTorch).
    func testLeakyReLUHandWorked() throws {
        var x = try FeatureMap(shape: [1, 1, 1, 1, 5], data: [-2, -0.5, 0, 3, .nan])
        Activations.leakyReLU(&x, slope: 0.01)
        XCTAssertEqual(Array(x.data[0..<4]), [-0.02, -0.005, 0, 3])
        XCTAssertTrue(x.data[4].isNaN)
        let g = try Activations.leakyReLUBackward(output: x, outputGradient: FeatureMap(shape: [1, 1, 1, 1, 5], data: [1, 1, 1, 1, 1]), slope: 0.01)
        XCTAssertEqual(g.data, [0.01, 0.01, 0.01, 1, 0.01])
    }
}
