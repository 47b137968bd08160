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

    /// README "Using it" lists `verify --json`'s fields: each is in the real output.
    func testReadmeNamesVerifysJSONFields() throws {
        let readme = try String(contentsOfFile: Fixtures.repoRoot + "/README.md", encoding: .utf8)
        let line = try XCTUnwrap(readme.split(separator: "\n").first { $0.hasPrefix("genesis verify") && $0.contains("--json") && $0.contains("{") })
        let inner = try XCTUnwrap(line.split(separator: "{").last?.split(separator: "}").first)
        let fields = inner.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "[]", with: "") }
        XCTAssertFalse(fields.isEmpty)
        let j = try XCTUnwrap(try genesis("verify", Fixtures.path("keras/genesis_chest_ct_shape.h5"), "--json").json)
        for f in fields { XCTAssertNotNil(j[f], "README names \(f), which verify --json does not print") }
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
        // Still a Genesis network at base 4: one block of 14 does not fit, one link does not chain.
        XCTAssertEqual(r.json?["base_filters"] as? Int, 4)
        XCTAssertEqual(r.json?["genesis"] as? Bool, true)
        let text = try genesis("verify", p)
        XCTAssertTrue(text.stdout.contains("depth_3_conv/kernel:0: wrong shape: expected (3,3,3,8,16), found (3,3,3,16,16)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("\nstructure: 13 of 14 blocks fit base 4 (not depth_3), 14 of 15 channel links chain; final conv 8 -> 1\n"), text.stdout)
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
        // Missing tensors named as the file names its others (`:0`, as TensorFlow writes them).
        XCTAssertEqual(Set(kinds), ["bn_variance depth_0_bn/moving_variance:0", "missing depth_7_bn/gamma:0", "missing depth_7_bn/beta:0",
                                    "missing depth_7_bn/moving_mean:0", "missing depth_7_bn/moving_variance:0"])
    }

    func testBadUsageExitsTwo() throws {
        XCTAssertEqual(try genesis("verify").status, 2)
        XCTAssertEqual(try genesis("verify", Fixtures.path("keras/genesis_tiny.h5"), "--base-filters", "0").status, 2)
        XCTAssertEqual(try genesis("frobnicate").status, 2)
        XCTAssertEqual(try genesis("--help").status, 0)
    }
}

/// Files that are not Genesis networks, forced architectures, and the names shown (the file's
/// own, else the official Keras 2.2.4 ones).
extension VerifyCLITests {
    static let wild = ["wild/keras216_voxelmorph_miccai2018_adam.h5", "wild/keras224_carnd_model_adam.h5",
                       "wild/keras224_voxelmorph_cvpr2018_vm2_cc.h5", "wild/tfkeras224_kotlindl_toyresnet_weights.h5"]

    func testWildFilesAreNotGenesisNetworks() throws {
        for f in Self.wild {
            let text = try genesis("verify", Fixtures.path(f))
            XCTAssertEqual(text.status, 1, f)
            XCTAssertTrue(text.stdout.hasPrefix("not a Models Genesis network: "), "\(f): \(text.stdout)")
            XCTAssertFalse(text.stdout.contains("invalid:"), f)  // no list of 81 "problems" against a guessed network
            let r = try genesis("verify", Fixtures.path(f), "--json")
            XCTAssertEqual(r.status, 1, f)
            let j = try XCTUnwrap(r.json, f)
            XCTAssertEqual(j["valid"] as? Bool, false, f)
            XCTAssertEqual(j["genesis"] as? Bool, false, f)
            XCTAssertTrue(j["variant"] is NSNull, f)
            XCTAssertEqual((j["structure"] as? [String: Any])?["genesis"] as? Bool, false, f)
            let problems = try XCTUnwrap(j["problems"] as? [[String: Any]], f)
            XCTAssertEqual(problems.map { $0["kind"] as? String }, ["architecture"], f)
            XCTAssertEqual(problems.first?["message"] as? String, text.stdout.components(separatedBy: "\n").first, f)
        }
        // Hand-worked from wild/EXPECTED.json: kernels 2->16, 16->32, 32->32, 32->32, ...; at
        // base 16 depth_1 (b -> 2b) and depth_2 (2b -> 2b) fit, depth_0 takes 2 channels, not 1.
        let r = try genesis("verify", Fixtures.path("wild/keras224_voxelmorph_cvpr2018_vm2_cc.h5"))
        let lines = r.stdout.components(separatedBy: "\n")
        XCTAssertEqual(lines[0], "not a Models Genesis network: 2 of 14 blocks fit base 16 (10 needed): depth_1, depth_2; "
                       + "the first that does not: depth_0 (conv3d_245/kernel:0) is (3,3,3,2,16), the network has (3,3,3,1,16)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("  depth_2 ") && $0.contains("conv3d_247/kernel:0") && $0.hasSuffix(" fits") }, r.stdout)
        let carnd = try genesis("verify", Fixtures.path("wild/keras224_carnd_model_adam.h5"))
        XCTAssertEqual(carnd.stdout.components(separatedBy: "\n").first,
                       "not a Models Genesis network: none of its tensors is a convolution or BatchNorm weight of the Genesis 3D U-Net")
    }

    func testForcedArchitectureStillChecksEveryTensor() throws {
        let r = try genesis("verify", Fixtures.path("wild/keras224_voxelmorph_cvpr2018_vm2_cc.h5"), "--variant", "keras", "--base-filters", "16", "--json")
        XCTAssertEqual(r.status, 1)
        let j = try XCTUnwrap(r.json)
        XCTAssertEqual(j["variant"] as? String, "keras")
        XCTAssertEqual(j["base_filters"] as? Int, 16)
        XCTAssertEqual(j["genesis"] as? Bool, false)
        let problems = try XCTUnwrap(j["problems"] as? [[String: Any]])
        XCTAssertEqual(problems.first.map { "\($0["kind"]!) \($0["tensor"]!) \($0["expected"]!) \($0["found"]!)" },
                       "shape conv3d_245/kernel:0 (3,3,3,1,16) (3,3,3,2,16)")
        // The keras file checked as the torch variant: the up-convolutions it lacks, under the
        // names the official Keras builder (deconvolution=True) gives them in Keras 2.2.4.
        let t = try genesis("verify", Fixtures.path("keras/genesis_tiny.h5"), "--variant", "torch", "--json")
        XCTAssertEqual(t.status, 1)
        let missing = try XCTUnwrap(t.json?["problems"] as? [[String: Any]])
        XCTAssertEqual(missing.map { $0["tensor"] as? String }, ["conv3d_transpose_1/kernel:0", "conv3d_transpose_1/bias:0", "conv3d_transpose_2/kernel:0",
                                                               "conv3d_transpose_2/bias:0", "conv3d_transpose_3/kernel:0", "conv3d_transpose_3/bias:0"])
        XCTAssertEqual(missing.first?["message"] as? String, "conv3d_transpose_1/kernel:0: missing (expected float32 (2,2,2,64,64)) (the final conv and "
                       + "the up-convolutions are auto-named layers: conv3d_1 and conv3d_transpose_N in Keras 2.2.4, other names in other Keras versions)")
    }

    func testMissingFinalConvIsNamedAsKeras224NamesIt() throws {
        var layers = try KerasReader.read(Fixtures.path("keras/genesis_tiny_weights.h5")).layers
        layers.removeAll { $0.name == "conv3d_1" }
        let p = Fixtures.scratchDirectory() + "/no_final.h5"
        try KerasWriter.writeWeights(layers, to: p)
        let r = try genesis("verify", p)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("\nstructure: 14 of 14 blocks fit base 4, 14 of 15 channel links chain; no final conv\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\n  missing: conv3d_1/kernel:0: missing (expected float32 (1,1,1,8,1))"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\n  missing: conv3d_1/bias:0: missing (expected float32 (1))"), r.stdout)
        XCTAssertFalse(r.stdout.contains("final conv/"), r.stdout)
    }

    func testArchitectureShowsTheOfficialKerasNames() throws {
        let r = try genesis("architecture", "--base-filters", "4", "--json")
        XCTAssertEqual(r.status, 0)
        let rows = try XCTUnwrap(r.json?["tensors"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as! String, $0) })
        // keras/genesis_chest_ct_shape.h5 (the released file's names): conv3d_1 is the final conv.
        XCTAssertEqual(byName["out_tr.final_conv.weight"]?["keras_name"] as? String, "conv3d_1/kernel:0")
        XCTAssertEqual(byName["out_tr.final_conv.weight"]?["keras_auto_named"] as? Bool, true)
        XCTAssertEqual(byName["down_tr128.ops.1.conv1.weight"]?["keras_name"] as? String, "depth_3_conv/kernel:0")
        XCTAssertEqual(byName["down_tr128.ops.1.conv1.weight"]?["keras_auto_named"] as? Bool, false)
        let text = try genesis("architecture", "--base-filters", "4")
        let final = try XCTUnwrap(text.stdout.components(separatedBy: "\n").first { $0.hasPrefix("out_tr.final_conv.weight ") })
        XCTAssertEqual(final.split(separator: " ", omittingEmptySubsequences: true), ["out_tr.final_conv.weight", "(1,8,1,1,1)", "conv3d_1/kernel:0", "(1,1,1,8,1)"])
        XCTAssertTrue(text.stdout.contains("other names in other Keras versions"), text.stdout)
        XCTAssertFalse(text.stdout.contains("final conv/"), text.stdout)
    }
}
