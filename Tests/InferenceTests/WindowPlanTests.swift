import Inference
import XCTest

/// Window positions and the Gaussian importance map against values worked by hand from MONAI's
/// rules (`_get_scan_interval`, `dense_patch_slices`, `compute_importance_map`).
final class WindowPlanTests: XCTestCase {
    /// Side 100, patch 64, overlap 0.5: step int(64 * 0.5) = 32; windows needed: the first d with
    /// d*32 + 64 >= 100 is d = 2 (0+64 and 32+64 fall short), so 3 windows at 0, 32 and 64; the
    /// last would end at 128 and is moved back by 28 to 36.
    func testSide100Patch64HalfOverlap() throws {
        let plan = try WindowPlan(shape: [100, 64, 40], patch: [64, 64, 64], overlap: 0.5)
        XCTAssertEqual(plan.steps[0], 32)
        XCTAssertEqual(plan.starts[0], [0, 32, 36])
        // Side equal to the patch: the step is the patch side and one window.
        XCTAssertEqual(plan.steps[1], 64)
        XCTAssertEqual(plan.starts[1], [0])
        // Side 40 < 64: padded to 64 (12 before, 12 after), one window at 0 of the padded axis.
        XCTAssertEqual(plan.paddedShape, [100, 64, 64])
        XCTAssertEqual(plan.padBefore, [0, 0, 12])
        XCTAssertEqual(plan.starts[2], [0])
        XCTAssertEqual(plan.windowCount, 3)
    }

    /// Overlap 0.25: step int(64 * 0.75) = 48; 0+64 < 100, 48+64 >= 100: 2 windows, the second
    /// moved back from 48 by 12 to 36. Overlap 0, patch 32: step 32; 32, 64, 96 < 100, 128 >= 100:
    /// 4 windows, the last moved back from 96 by 28 to 68.
    func testOtherOverlaps() throws {
        XCTAssertEqual(try WindowPlan(shape: [100, 8, 8], patch: [64, 8, 8], overlap: 0.25).starts[0], [0, 36])
        XCTAssertEqual(try WindowPlan(shape: [100, 8, 8], patch: [32, 8, 8], overlap: 0).starts[0], [0, 32, 64, 68])
        // Overlap 0.9, patch 8: int(8 * 0.1) = int(0.8000000000000002) = 0, raised to 1; side 10:
        // 0+8, 1+8 < 10, 2+8 >= 10: windows at 0, 1, 2.
        let fine = try WindowPlan(shape: [10, 8, 8], patch: [8, 8, 8], overlap: 0.9)
        XCTAssertEqual(fine.steps[0], 1)
        XCTAssertEqual(fine.starts[0], [0, 1, 2])
        // Overlap 0.5, patch 8, side 20: step 4; 8, 12, 16 < 20, 20 >= 20: 0, 4, 8, 12.
        XCTAssertEqual(try WindowPlan(shape: [20, 8, 8], patch: [8, 8, 8], overlap: 0.5).starts[0], [0, 4, 8, 12])
    }

    /// Padding: diff = patch - side, half = diff // 2 before (MONAI's F.pad list), the rest after.
    func testPaddingSplitsLikeMonai() throws {
        let plan = try WindowPlan(shape: [20, 21, 32], patch: [32, 32, 32], overlap: 0.5)
        XCTAssertEqual(plan.padBefore, [6, 5, 0])
        XCTAssertEqual(plan.paddedShape, [32, 32, 32])
        XCTAssertEqual(plan.windowCount, 1)
    }

    /// Windows come in k groups, i slower than j inside a group.
    func testWindowOrder() throws {
        let plan = try WindowPlan(shape: [12, 12, 12], patch: [8, 8, 8], overlap: 0.5)
        XCTAssertEqual(plan.starts, [[0, 4], [0, 4], [0, 4]])
        XCTAssertEqual(plan.allWindows, [[0, 0, 0], [0, 4, 0], [4, 0, 0], [4, 4, 0], [0, 0, 4], [0, 4, 4], [4, 0, 4], [4, 4, 4]])
    }

    func testBadPlansAreRefused() {
        XCTAssertThrowsError(try WindowPlan(shape: [10, 10, 10], patch: [8, 8, 8], overlap: 1)) { e in
            XCTAssertEqual(e as? InferenceError, .badPlan(reason: "overlap must be >= 0 and < 1, got 1.0"))
        }
        XCTAssertThrowsError(try WindowPlan(shape: [10, 0, 10], patch: [8, 8, 8], overlap: 0.5))
        XCTAssertThrowsError(try WindowPlan(shape: [10, 10], patch: [8, 8, 8], overlap: 0.5))
        // 10^9 voxels with patch 1 and overlap 0: 10^9 windows, over the budget before anything runs.
        XCTAssertThrowsError(try WindowPlan(shape: [1000, 1000, 1000], patch: [1, 1, 1], overlap: 0)) { e in
            guard case .tooLarge(what: "window count", _, _) = e as? InferenceError else { return XCTFail("\(e)") }
        }
    }

    /// Patch 8: sigma = 0.125 * 8 = 1, x = -3.5 ... 3.5. The centre voxel (3, 3, 3) has x = -0.5
    /// on each axis: exp(-0.25 / 2)^3 = exp(-0.375) = 0.6872892787909722 (not 1: MONAI does not
    /// normalise). (0, 3, 3): exp(-12.25/2 - 0.125 - 0.125) = exp(-6.375) = 0.001703619795802574.
    /// The corner exp(-3 * 6.125) ~ 1e-8 is under the floor: clamped to max(min, 1e-3) = 1e-3.
    func testGaussianMapCubicPatch() throws {
        let map = try ImportanceMap(patch: [8, 8, 8])
        XCTAssertEqual(map[3, 3, 3], 0.6872892787909722, accuracy: 1e-6 * 0.69)
        XCTAssertEqual(map[4, 4, 4], map[3, 3, 3])
        XCTAssertEqual(map[0, 3, 3], 0.001703619795802574, accuracy: 1e-6 * 0.0017)
        XCTAssertEqual(map[3, 0, 3], map[0, 3, 3])
        XCTAssertEqual(map[0, 0, 0], 1e-3)
        XCTAssertEqual(map[7, 7, 7], 1e-3)
        XCTAssertEqual(map.values.max(), map[3, 3, 3])
        XCTAssertEqual(map.values.min(), 1e-3)
    }

    /// Patch (4, 6, 8): sigmas 0.5, 0.75, 1. (1, 2, 3) has x = -0.5 on every axis:
    /// exp(-0.25/0.5 - 0.25/1.125 - 0.25/2) = exp(-0.847222...) = 0.42860384615383695.
    /// (0, 2, 3): x = -1.5 on i: exp(-2.25/0.5 - 0.25/1.125 - 0.125) = 0.007850153272476257.
    /// (0, 0, 3): exp(-4.5 - 6.25/1.125 - 0.125) = 3.79e-5 < 1e-3: clamped.
    func testGaussianMapPerAxisSigma() throws {
        let map = try ImportanceMap(patch: [4, 6, 8])
        XCTAssertEqual(map.values.count, 192)
        XCTAssertEqual(map[1, 2, 3], 0.42860384615383695, accuracy: 1e-6 * 0.43)
        XCTAssertEqual(map[2, 3, 4], map[1, 2, 3])
        XCTAssertEqual(map[0, 2, 3], 0.007850153272476257, accuracy: 1e-6 * 0.0079)
        XCTAssertEqual(map[0, 0, 3], 1e-3)
    }
}
