import Foundation
import KerasFormat
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
        // The files' own (Keras) names; shapes in the canonical layout both are mapped onto.
        XCTAssertTrue(r.stdout.contains("  depth_0_conv/kernel:0: shape (2,1,3,3,3) vs (4,1,3,3,3)"), r.stdout)
        XCTAssertFalse(r.stdout.contains("down_tr64"), r.stdout)
    }

    func testImpliedTensorsAreOneLineNotTwenty() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["convert", Fixtures.path("keras/genesis_tiny.h5"), dir + "/a.pt"]).status, 0)
        let r = try genesis(["diff", Fixtures.path("keras/genesis_tiny.h5"), dir + "/a.pt"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        // 3 up-convolutions x (weight, bias) + 14 BN counters = 20, on b's side only.
        XCTAssertTrue(r.stdout.contains("  20 tensors only in b, implied by a's variant (identity up-convolutions, BN counters): not compared"), r.stdout)
        XCTAssertFalse(r.stdout.contains("only in b: "), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("86 tensors compared, 86 bit-identical, max |a - b| = 0.0: within tolerance 0.0\n"), r.stdout)
    }

    func testMissingTensorsAreNamedAsMissingNotAsValueDifferences() throws {
        let dir = Fixtures.scratchDirectory()
        var layers = try KerasReader.read(Fixtures.path("keras/genesis_tiny_weights.h5")).layers
        layers.removeAll { $0.name == "depth_7_bn" }  // 4 tensors: gamma, beta, moving mean, moving variance
        try KerasWriter.writeWeights(layers, to: dir + "/partial.h5")
        let r = try genesis(["diff", Fixtures.path("keras/genesis_tiny_weights.h5"), dir + "/partial.h5"])
        XCTAssertEqual(r.status, 1)
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertEqual(last, "82 tensors compared, 82 bit-identical, max |a - b| = 0.0 (within tolerance 0.0); missing tensors: 4 only in a, 0 only in b")
        XCTAssertFalse(r.stdout.contains("NOT within tolerance"), r.stdout)
        XCTAssertEqual(r.stdout.components(separatedBy: "  only in a: depth_7_bn/").count - 1, 4, r.stdout)
        let j = try XCTUnwrap(try genesis(["diff", Fixtures.path("keras/genesis_tiny_weights.h5"), dir + "/partial.h5", "--json"]).json)
        XCTAssertEqual(j["within_tolerance"] as? Bool, false)
        XCTAssertEqual(j["values_within_tolerance"] as? Bool, true)
        XCTAssertEqual((j["missing"] as? [String: Any])?["only_in_a"] as? Int, 4)
        XCTAssertEqual((j["only_in_a"] as? [String])?.count, 4)
        XCTAssertTrue((j["only_in_a"] as? [String])?.allSatisfy { $0.hasPrefix("depth_7_bn/") } == true, "\(j["only_in_a"] ?? "")")
        XCTAssertEqual((j["missing"] as? [String: Any])?["only_in_b"] as? Int, 0)
    }
}
