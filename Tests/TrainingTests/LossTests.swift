import Tensors
import Training
import XCTest

/// Losses against hand-worked values, and their gradients against central finite differences
/// of the loss itself (evaluated in Double from float32 inputs; h = 1e-3, tolerance 1e-4
/// relative to the largest gradient: measured under 2e-5).
final class LossTests: XCTestCase {
    func testHandWorkedValues() {
        // MSE: ((0.5 - 0)^2 + (0.25 - 1)^2) / 2 = (0.25 + 0.5625) / 2.
        XCTAssertEqual(Loss.mse.evaluate([0.5, 0.25], [0, 1]).loss, 0.40625, accuracy: 1e-12)
        // Dice: sum(y p) = 0.5, sum y + sum p = 2: 1 - (2 * 0.5 + 1) / (2 + 1) = 1/3.
        XCTAssertEqual(Loss.dice.evaluate([0.5, 0.5], [1, 0]).loss, 1.0 / 3, accuracy: 1e-12)
        // A perfect prediction still has the smoothing: 1 - (2 + 1) / (2 + 1) = 0.
        XCTAssertEqual(Loss.dice.evaluate([1, 0], [1, 0]).loss, 0, accuracy: 1e-12)
        // BCE: -log 0.5 and -log(1 - 0.2).
        XCTAssertEqual(Loss.bce.evaluate([0.5, 0.2], [1, 0]).loss, (log(2) - log(0.8)) / 2, accuracy: 1e-7)
        // BCE clamps log at -100 (PyTorch): p = 0 with y = 1 costs 100.
        XCTAssertEqual(Loss.bce.evaluate([0], [1]).loss, 100, accuracy: 1e-9)
        // CE over 2 channels at 2 voxels, (N, C, S) = (1, 2, 2): -(log 0.75 + log 0.6) / 2.
        let ce = Loss.ce.evaluate([0.25, 0.6, 0.75, 0.4], [0, 1, 1, 0], channels: 2)
        XCTAssertEqual(ce.loss, -(log(0.75) + log(0.6)) / 2, accuracy: 1e-7)
    }

    func testGradientsMatchCentralDifferences() {
        var g = SeededGenerator(seed: 5)
        func uniform() -> Float { Float(g.next() % 1_000_000) / 1_000_000 * 0.8 + 0.1 }
        let n = 24
        let p = (0..<n).map { _ in uniform() }
        let soft = (0..<n).map { _ in uniform() }
        let binary = (0..<n).map { _ in Float(g.next() % 2) }
        // One-hot over 3 channels, (N, C, S) = (2, 3, 4).
        var oneHot = [Float](repeating: 0, count: n)
        for sample in 0..<2 { for v in 0..<4 { oneHot[sample * 12 + Int(g.next() % 3) * 4 + v] = 1 } }
        let cases: [(Loss, [Float], Int)] = [(.mse, soft, 1), (.dice, binary, 1), (.bce, binary, 1), (.bce, soft, 1), (.ce, oneHot, 3)]
        for (loss, y, channels) in cases {
            let analytic = loss.evaluate(p, y, channels: channels).gradient
            let scale = analytic.map { abs(Double($0)) }.max()!
            for i in 0..<n {
                var plus = p, minus = p
                plus[i] += 1e-3
                minus[i] -= 1e-3
                let h = Double(plus[i]) - Double(minus[i])
                let numeric = (loss.evaluate(plus, y, channels: channels).loss - loss.evaluate(minus, y, channels: channels).loss) / h
                XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 1e-4 * scale, "\(loss) element \(i)")
            }
        }
    }
}
