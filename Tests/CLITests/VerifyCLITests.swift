import Foundation
import KerasFormat
import Tensors
import TestSupport
import XCTest

/// The real `genesis` binary on real and damaged files: exit codes, JSON fields, messages that
/// name the file and tensor.
final class VerifyCLITests: XCTestCase {
    func genesis(_ args: String...) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    func testOfficialShapeFileIsValid() throws {
        let r = try genesis("verify", Fixtures.path("keras/genesis_chest_ct_shape.h5"), "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json)
        XCTAssertEqual(j["valid"] as? Bool, true)
        XCTAssertEqual(j["variant"] as? String, "keras")
        XCTAssertEqual(j["base_filters"] as? Int, 32)
        XCTAssertEqual(j["labels"] as? Int, 1)
        XCTAssertEqual(j["parameters"] as? Int, 16_320_257)
        XCTAssertEqual((j["problems"] as? [Any])?.count, 0)
    }

    func testNonGenesisKerasFileIsReadButInvalid() throws {
        let r = try genesis("verify", Fixtures.path("wild/keras224_carnd_model_adam.h5"), "--json")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.json?["valid"] as? Bool, false)
    }

    func testTruncatedFileExitsTwoWithOneLine() throws {
        let dir = Fixtures.scratchDirectory()
        let bytes = try FileIO.read(Fixtures.path("keras/genesis_tiny.h5"))
        let cut = dir + "/truncated.h5"
        try FileIO.write(Array(bytes.prefix(bytes.count / 2)), to: cut)
        let r = try genesis("verify", cut)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("genesis: error: "), r.stderr)
        XCTAssertTrue(r.stderr.contains(cut), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }

    func testZeroedHeaderExitsTwo() throws {
        let dir = Fixtures.scratchDirectory()
        var bytes = try FileIO.read(Fixtures.path("keras/genesis_tiny.h5"))
        for i in 0..<2048 { bytes[i] = 0 }
        let p = dir + "/zeroed.h5"
        try FileIO.write(bytes, to: p)
        for command in ["verify", "inspect"] {
            let r = try genesis(command, p, "--json")
            XCTAssertEqual(r.status, 2, command)
            XCTAssertNotNil(r.json?["error"], command)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }

    /// Rewrites the tiny weights fixture through our reader and writer with one change.
    func damaged(_ change: (inout [KerasLayer]) -> Void) throws -> String {
        var layers = try KerasReader.read(Fixtures.path("keras/genesis_tiny_weights.h5")).layers
        change(&layers)
        let p = Fixtures.scratchDirectory() + "/damaged.h5"
        try KerasWriter.writeWeights(layers, to: p)
        return p
    }

    func replace(_ layers: inout [KerasLayer], layer: String, weight: Int, with t: Tensor) {
        let i = layers.firstIndex { $0.name == layer }!
        var w = layers[i].weights
        w[weight] = KerasWeight(name: w[weight].name, tensor: t)
        layers[i] = KerasLayer(name: layers[i].name, className: layers[i].className, weights: w)
    }

    func testWrongKernelShapeIsNamedWithExpectedAndFound() throws {
        // depth_3 is 2b -> 4b = 8 -> 16 at b = 4; write a kernel with 16 -> 16.
        let p = try damaged { replace(&$0, layer: "depth_3_conv", weight: 0, with: Tensor(shape: [3, 3, 3, 16, 16], floats: [Float](repeating: 0.1, count: 27 * 256))) }
        let r = try genesis("verify", p, "--json")
        XCTAssertEqual(r.status, 1, r.stderr)
        let problems = try XCTUnwrap(r.json?["problems"] as? [[String: Any]])
        XCTAssertEqual(problems.count, 1)
        XCTAssertEqual(problems[0]["tensor"] as? String, "depth_3_conv/kernel:0")
        XCTAssertEqual(problems[0]["kind"] as? String, "shape")
        XCTAssertEqual(problems[0]["expected"] as? String, "(3,3,3,8,16)")
        XCTAssertEqual(problems[0]["found"] as? String, "(3,3,3,16,16)")
        let text = try genesis("verify", p)
        XCTAssertTrue(text.stdout.contains("depth_3_conv/kernel:0: wrong shape: expected (3,3,3,8,16), found (3,3,3,16,16)"), text.stdout)
    }

    func testNaNInAWeightIsCounted() throws {
        let p = try damaged { layers in
            let bias = layers.first { $0.name == "depth_5_conv" }!.weights[1].tensor
            var v = bias.floats()
            v[1] = .nan
            v[2] = .infinity
            replace(&layers, layer: "depth_5_conv", weight: 1, with: Tensor(shape: bias.shape, floats: v))
        }
        let r = try genesis("verify", p, "--json")
        XCTAssertEqual(r.status, 1)
        let problems = try XCTUnwrap(r.json?["problems"] as? [[String: Any]])
        XCTAssertEqual(problems.map { $0["tensor"] as? String }, ["depth_5_conv/bias:0"])
        XCTAssertEqual(problems.first?["kind"] as? String, "non_finite")
        XCTAssertEqual(problems.first?["found"] as? String, "1 NaN, 1 Inf")
    }

    func testMissingLayerAndNegativeVariance() throws {
        let p = try damaged { layers in
            layers.removeAll { $0.name == "depth_7_bn" }
            let v = layers.first { $0.name == "depth_0_bn" }!.weights[3].tensor
            replace(&layers, layer: "depth_0_bn", weight: 3, with: Tensor(shape: v.shape, floats: [Float](repeating: -1, count: v.elementCount)))
        }
        let r = try genesis("verify", p, "--json")
        XCTAssertEqual(r.status, 1)
        let kinds = try XCTUnwrap(r.json?["problems"] as? [[String: Any]]).map { "\($0["kind"]!) \($0["tensor"]!)" }
        XCTAssertEqual(Set(kinds), ["bn_variance depth_0_bn/moving_variance:0", "missing depth_7_bn/gamma", "missing depth_7_bn/beta",
                                    "missing depth_7_bn/moving_mean", "missing depth_7_bn/moving_variance"])
    }

    func testBadUsageExitsTwo() throws {
        XCTAssertEqual(try genesis("verify").status, 2)
        XCTAssertEqual(try genesis("verify", Fixtures.path("keras/genesis_tiny.h5"), "--base-filters", "0").status, 2)
        XCTAssertEqual(try genesis("frobnicate").status, 2)
        XCTAssertEqual(try genesis("--help").status, 0)
    }
}
