import Training
import XCTest

/// Schedules and early stopping against sequences worked by hand from PyTorch `StepLR` and
/// Keras `ReduceLROnPlateau` / `EarlyStopping` semantics.
final class ScheduleTests: XCTestCase {
    func testStepDecay() {
        var s = ScheduleState(baseLearningRate: 1)
        let lrs = (0..<5).map { _ in s.endEpoch(loss: nil, schedule: .step(every: 2, factor: 0.5)) }
        XCTAssertEqual(lrs, [1, 0.5, 0.5, 0.25, 0.25])
    }

    func testPlateauHalvesAfterPatienceAndStopsAtTheFloor() {
        var s = ScheduleState(baseLearningRate: 1)
        let plateau = Schedule.plateau(factor: 0.5, patience: 2, floor: 0.3, minDelta: 1e-4)
        // 1.0 best; 0.9 improves; 0.95, 0.95 do not: halve after the second.
        let losses = [1.0, 0.9, 0.95, 0.95, 0.95, 0.9, 0.95, 0.95, 0.95, 0.95]
        let lrs = losses.map { s.endEpoch(loss: $0, schedule: plateau) }
        XCTAssertEqual(lrs, [1, 1, 1, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3])
        // An improvement smaller than minDelta is none.
        var t = ScheduleState(baseLearningRate: 1)
        let small = Schedule.plateau(factor: 0.5, patience: 1, floor: 0, minDelta: 0.1)
        XCTAssertEqual([1.0, 0.95].map { t.endEpoch(loss: $0, schedule: small) }, [1, 0.5])
    }

    func testEarlyStoppingAfterPatienceEpochsWithoutImprovement() {
        var e = EarlyStopping(patience: 2)
        XCTAssertEqual([1.0, 0.5, 0.6, 0.7].map { e.shouldStop(after: $0) }, [false, false, false, true])
        var f = EarlyStopping(patience: 2)
        XCTAssertEqual([1.0, 1.1, 0.9, 1.0, 0.95].map { f.shouldStop(after: $0) }, [false, false, false, false, true])
    }
}
