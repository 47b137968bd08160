import Tensors
import Training
import XCTest

/// Each optimizer convention against steps worked by hand from its update rule (schemas/numerics.md,
/// `Optimizer`'s documentation), and the two SGD conventions against each other.
final class OptimizerTests: XCTestCase {
    func run(_ o: inout Optimizer, _ w: inout [Float], _ gradients: [[Float]]) {
        for g in gradients {
            o.update("w", weights: &w, gradient: g)
            o.finishStep()
        }
    }

    func testSGDMomentumBothConventionsByHand() {
        // Keras: m = 0.9 * 0 - 0.1 * 0.5 = -0.05, w = 0.95; m = 0.9 * -0.05 - 0.05 = -0.095, w = 0.855.
        var k = Optimizer(kind: .sgd, convention: .keras, learningRate: 0.1, momentum: 0.9)
        var wk: [Float] = [1]
        run(&k, &wk, [[0.5]])
        XCTAssertEqual(wk[0], 0.95, accuracy: 1e-7)
        XCTAssertEqual(k.slots["w"]?["momentum"]?[0] ?? 0, -0.05, accuracy: 1e-7)
        run(&k, &wk, [[0.5]])
        XCTAssertEqual(wk[0], 0.855, accuracy: 1e-7)
        // PyTorch: buf = g = 0.5 on the first step, w = 0.95; buf = 0.45 + 0.5 = 0.95, w = 0.855.
        var t = Optimizer(kind: .sgd, convention: .torch, learningRate: 0.1, momentum: 0.9)
        var wt: [Float] = [1]
        run(&t, &wt, [[0.5]])
        XCTAssertEqual(t.slots["w"]?["momentum"]?[0] ?? 0, 0.5, accuracy: 1e-7)
        run(&t, &wt, [[0.5]])
        XCTAssertEqual(wt[0], 0.855, accuracy: 1e-7)
        XCTAssertEqual(t.slots["w"]?["momentum"]?[0] ?? 0, 0.95, accuracy: 1e-7)
    }

    /// With a constant lr the conventions are one trajectory, state mapped by m = -lr buf
    /// (measured: equal to 1 ulp-level rounding, < 1e-6).
    func testSGDConventionsFollowOneTrajectory() {
        var g = SeededGenerator(seed: 3)
        let grads = (0..<6).map { _ in (0..<8).map { _ in Float(Int(g.next() % 2001) - 1000) / 1000 } }
        var k = Optimizer(kind: .sgd, convention: .keras, learningRate: 0.05, momentum: 0.9)
        var t = Optimizer(kind: .sgd, convention: .torch, learningRate: 0.05, momentum: 0.9)
        var wk = [Float](repeating: 0.3, count: 8), wt = wk
        run(&k, &wk, grads)
        run(&t, &wt, grads)
        for i in 0..<8 {
            XCTAssertEqual(wk[i], wt[i], accuracy: 1e-6)
            XCTAssertEqual(k.slots["w"]!["momentum"]![i], -0.05 * t.slots["w"]!["momentum"]![i], accuracy: 1e-6)
        }
    }

    func testAdamBothConventionsByHand() {
        // t = 1, g = 0.5, lr = 1e-3: m = 0.05, v = 2.5e-4 in both.
        // Keras: alpha = lr sqrt(1 - 0.999) / (1 - 0.9); w -= alpha m / (sqrt v + 1e-7).
        var k = Optimizer(kind: .adam, convention: .keras, learningRate: 1e-3)
        var wk: [Float] = [1]
        run(&k, &wk, [[0.5]])
        let alpha = 1e-3 * (0.001 as Double).squareRoot() / 0.1
        XCTAssertEqual(Double(wk[0]), 1 - alpha * 0.05 / ((2.5e-4 as Double).squareRoot() + 1e-7), accuracy: 1e-7)
        XCTAssertEqual(k.slots["w"]?["m"]?[0] ?? 0, 0.05, accuracy: 1e-8)
        XCTAssertEqual(k.slots["w"]?["v"]?[0] ?? 0, 2.5e-4, accuracy: 1e-10)
        XCTAssertEqual(k.epsilon, 1e-7)
        // PyTorch: w -= lr / (1 - 0.9) * m / (sqrt(v) / sqrt(1 - 0.999) + 1e-8) = 1e-2 * 0.05 / (0.5 + 1e-8).
        var t = Optimizer(kind: .adam, convention: .torch, learningRate: 1e-3)
        var wt: [Float] = [1]
        run(&t, &wt, [[0.5]])
        XCTAssertEqual(Double(wt[0]), 1 - 1e-2 * 0.05 / (0.5 + 1e-8), accuracy: 1e-7)
        XCTAssertEqual(t.epsilon, 1e-8)
        // Second step, g = -0.25, PyTorch: m = 0.045 - 0.025 = 0.02, v = 2.4975e-4 + 6.25e-5 * 0.001.
        run(&t, &wt, [[-0.25]])
        let m2 = 0.9 * 0.05 + 0.1 * -0.25, v2 = 0.999 * 2.5e-4 + 0.001 * 0.0625
        let w2 = 1 - 1e-2 * 0.05 / (0.5 + 1e-8) - 1e-3 / (1 - 0.81) * m2 / (v2.squareRoot() / (1 - 0.998001).squareRoot() + 1e-8)
        XCTAssertEqual(Double(wt[0]), w2, accuracy: 1e-7)
        XCTAssertEqual(t.step, 2)
    }

    func testWeightDecayCoupledInTorchDecoupledInKeras() {
        // PyTorch SGD without momentum: w -= lr (g + wd w) = 1 - 0.1 * (0.5 + 0.01).
        var t = Optimizer(kind: .sgd, convention: .torch, learningRate: 0.1, weightDecay: 0.01)
        var wt: [Float] = [1]
        run(&t, &wt, [[0.5]])
        XCTAssertEqual(wt[0], 0.949, accuracy: 1e-7)
        // Keras: w -= lr wd w first (0.999), then w -= lr g.
        var k = Optimizer(kind: .sgd, convention: .keras, learningRate: 0.1, weightDecay: 0.01)
        var wk: [Float] = [1]
        run(&k, &wk, [[0.5]])
        XCTAssertEqual(wk[0], 0.949, accuracy: 1e-7)
        // They differ once momentum carries the decay term: torch's buffer holds it, Keras's does not.
        var tm = Optimizer(kind: .sgd, convention: .torch, learningRate: 0.1, momentum: 0.9, weightDecay: 0.1)
        var km = Optimizer(kind: .sgd, convention: .keras, learningRate: 0.1, momentum: 0.9, weightDecay: 0.1)
        var a: [Float] = [1], b: [Float] = [1]
        run(&tm, &a, [[0.5], [0.5]])
        run(&km, &b, [[0.5], [0.5]])
        // torch: buf1 = 0.6, w1 = 0.94; buf2 = 0.54 + 0.5 + 0.094 = 1.134, w2 = 0.8266.
        XCTAssertEqual(a[0], 0.8266, accuracy: 1e-6)
        // keras: w = 0.99, m = -0.05, w1 = 0.94; w = 0.9306, m = -0.095, w2 = 0.8356.
        XCTAssertEqual(b[0], 0.8356, accuracy: 1e-6)
    }
}
