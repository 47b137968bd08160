import Foundation
import TestSupport
import XCTest

final class DiffCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    func testSameModelSavedTwoWaysIsBitIdentical() throws {
        // fixtures/README: genesis_tiny.weights.h5 and genesis_tiny.keras are one Keras 3 model.
        let r = try genesis(["diff", Fixtures.path("keras3/genesis_tiny.weights.h5"), Fixtures.path("keras3/genesis_tiny.keras"), "--json"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.json?["bit_identical"] as? Int, 86)
        XCTAssertEqual(r.json?["max_abs_diff"] as? Double, 0)
    }

    func testDifferentModelsExceedTheTolerance() throws {
        let r = try genesis(["diff", Fixtures.path("keras/genesis_tiny.h5"), Fixtures.path("keras/genesis_tiny_weights.h5"), "--json"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.json?["within_tolerance"] as? Bool, false)
        XCTAssertGreaterThan(r.json?["max_abs_diff"] as? Double ?? 0, 0)
    }

    func testDifferentWidthsReportShapes() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--out", dir + "/b2.h5"]).status, 0)
        let r = try genesis(["diff", dir + "/b2.h5", Fixtures.path("keras/genesis_tiny_weights.h5")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("down_tr64.ops.0.conv1.weight: shape (2,1,3,3,3) vs (4,1,3,3,3)"), r.stdout)
    }
}
