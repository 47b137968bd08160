import Tensors
import Training
import XCTest

/// The losses of a data-parallel step against the same loss of the whole batch in one process:
/// each test plays rank 0 of 2, the peer's contribution to every sum given beforehand.
final class GlobalLossTests: XCTestCase {
    /// Two ranks as seen from rank 0: a sum adds the peer's values (queued in call order).
    final class PeerSums: Collectives, @unchecked Sendable {
        var queued: [[Double]]
        init(_ queued: [[Double]]) { self.queued = queued }
        var rank: Int { 0 }
        var ranks: Int { 2 }
        func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> Int { 0 }
        func progress() throws {}
        func wait(_ request: Int) throws {}
        func sum(_ values: inout [Double]) throws {
            let peer = queued.removeFirst()
            for i in values.indices { values[i] += peer[i] }
        }
        func broadcast(_ values: inout [Float]) throws {}
        func broadcast(_ values: inout [Double]) throws {}
        func barrier() throws {}
    }

    // Two halves of one batch: predictions in (0, 1), 0/1 targets.
    let p0: [Float] = [0.9, 0.2, 0.6, 0.4], y0: [Float] = [1, 0, 1, 0]
    let p1: [Float] = [0.3, 0.8, 0.1, 0.7], y1: [Float] = [0, 1, 1, 1]

    func testDiceOfTheGlobalBatchFromTheRanksSums() throws {
        let whole = Loss.dice.evaluate(p0 + p1, y0 + y1)
        // The peer's sum(y p), sum p, sum y.
        let peer = [Double(0.8 * 1 + 0.1 * 1 + 0.7 * 1), Double(0.3 + 0.8 + 0.1 + 0.7), 3.0]
        let mine = try Loss.dice.evaluate(p0, y0, across: PeerSums([peer]))
        XCTAssertEqual(mine.loss, whole.loss, accuracy: 1e-7)
        // The ranks' gradients are averaged (/ 2): rank 0's slice of the whole batch's gradient.
        for i in 0..<4 { XCTAssertEqual(mine.gradient[i] / 2, whole.gradient[i], accuracy: 1e-6) }
        // Hand-worked: num = 2 (0.9 + 0.6 + 1.6) + 1 = 7.2, den = 5 + 4 + 1 = 10: 1 - 0.72.
        XCTAssertEqual(mine.loss, 0.28, accuracy: 1e-6)
    }

    func testMeanLossesOfEqualSlicesAreTheMeanOfTheRanks() throws {
        for loss in [Loss.mse, .bce] {
            let whole = loss.evaluate(p0 + p1, y0 + y1)
            let peer = loss.evaluate(p1, y1).loss
            let mine = try loss.evaluate(p0, y0, across: PeerSums([[peer]]))
            XCTAssertEqual(mine.loss, whole.loss, accuracy: 1e-12, "\(loss)")
            for i in 0..<4 { XCTAssertEqual(mine.gradient[i] / 2, whole.gradient[i], accuracy: 1e-6, "\(loss)") }
        }
    }
}
