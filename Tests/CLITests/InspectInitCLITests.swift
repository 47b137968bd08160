import Foundation
import Tensors
import TestSupport
import XCTest

final class InspectInitCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    func testInspectListsLayersInSavedOrderWithOptimizerState() throws {
        let r = try genesis(["inspect", Fixtures.path("keras/genesis_tiny.h5"), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json)
        let layers = try XCTUnwrap(j["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 54)
        XCTAssertEqual(layers.prefix(3).map { $0["name"] as? String }, ["input_1", "depth_0_conv", "depth_0_bn"])
        XCTAssertEqual(layers[1]["class"] as? String, "Conv3D")
        let opt = try XCTUnwrap(j["optimizer"] as? [String: Any])
        // fixtures/README: SGD after two real training steps; one slot per trainable weight (58).
        XCTAssertEqual(opt["iterations"] as? Int, 2)
        XCTAssertEqual(opt["slots"] as? Int, 58)
        XCTAssertEqual(opt["slot_values"] as? Int, 255_873)
        XCTAssertEqual((j["totals"] as? [String: Any])?["values"] as? Int, 255_873 + 584)
    }

    func testInspectWorksOnAnyKerasFile() throws {
        for f in ["wild/keras216_voxelmorph_miccai2018_adam.h5", "wild/tfkeras224_kotlindl_toyresnet_weights.h5", "formats/k3_sgd.keras",
                  "formats/tfk_v3.weights.h5", "formats/k3_adam.weights.h5"] {
            let r = try genesis(["inspect", Fixtures.path(f)])
            XCTAssertEqual(r.status, 0, "\(f): \(r.stderr)")
            XCTAssertTrue(r.stdout.contains("totals:"), f)
        }
    }

    func testInitIsSeededAndVerifiesClean() throws {
        let dir = Fixtures.scratchDirectory()
        let a = dir + "/a.h5", b = dir + "/b.h5", c = dir + "/c.h5"
        XCTAssertEqual(try genesis(["init", "--base-filters", "4", "--labels", "2", "--seed", "5", "--out", a]).status, 0)
        Thread.sleep(forTimeInterval: 1.1)  // HDF5 would record a different modification time: we tell it not to
        XCTAssertEqual(try genesis(["init", "--base-filters", "4", "--labels", "2", "--seed", "5", "--out", b]).status, 0)
        XCTAssertEqual(try genesis(["init", "--base-filters", "4", "--labels", "2", "--seed", "6", "--out", c]).status, 0)
        let ha = try Checksum.sha256Hex(fileAt: a), hb = try Checksum.sha256Hex(fileAt: b), hc = try Checksum.sha256Hex(fileAt: c)
        XCTAssertEqual(ha, hb)
        XCTAssertNotEqual(ha, hc)
        let v = try genesis(["verify", a, "--json"])
        XCTAssertEqual(v.status, 0, v.stdout)
        XCTAssertEqual(v.json?["labels"] as? Int, 2)
        XCTAssertEqual(v.json?["base_filters"] as? Int, 4)
        // No temporary files are left beside the output.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["a.h5", "b.h5", "c.h5"])
    }
}
