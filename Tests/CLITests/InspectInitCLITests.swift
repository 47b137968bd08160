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

    /// The columns of the first text row whose first columns are `prefix`.
    func row(_ stdout: String, _ prefix: [String]) -> [String]? {
        stdout.components(separatedBy: "\n").map { $0.split(separator: " ").map(String.init) }.first { Array($0.prefix(prefix.count)) == prefix }
    }

    func testInspectTextOfTheTinyKerasNetwork() throws {
        // Architecture(keras, base 4): 255,873 trainable + 584 BN statistics = 256,457 values in
        // 86 tensors (15 convs x 2 + 14 BN x 4); 54 layers, 29 with weights (KerasLayerPlan).
        let r = try genesis(["inspect", Fixtures.path("keras/genesis_tiny.h5")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.components(separatedBy: "\n")
        XCTAssertEqual(lines[0], Fixtures.path("keras/genesis_tiny.h5") + ": Keras 2 HDF5 model save (keras 2.21.0, tensorflow), 2.3 MB")
        XCTAssertEqual(lines[1], "looks like: Genesis keras variant, base 4, 1 label: 14 of 14 blocks fit base 4, 15 of 15 channel links chain; "
                       + "final conv 8 -> 1 (run `genesis verify` to check every tensor)")
        // depth_3 is 2b -> 4b = 8 -> 16: 27 x 8 x 16 = 3,456 values.
        XCTAssertEqual(row(r.stdout, ["depth_3_conv"]), ["depth_3_conv", "Conv3D", "depth_3_conv/kernel:0", "(3,3,3,8,16)", "float32", "3,456"])
        XCTAssertEqual(row(r.stdout, ["conv3d_1"]), ["conv3d_1", "Conv3D", "conv3d_1/kernel:0", "(1,1,1,8,1)", "float32", "8"])
        XCTAssertEqual(row(r.stdout, ["depth_0_relu"]), ["depth_0_relu", "Activation", "-"])
        XCTAssertTrue(lines.contains("totals: 54 layers (29 with weights), 86 tensors, 256,457 values, 1.0 MB"), r.stdout)
        // fixtures/README: SGD, lr 0.1, momentum 0.9, two steps; one slot per trainable tensor.
        let opt = try XCTUnwrap(lines.first { $0.hasPrefix("optimizer: ") })
        XCTAssertTrue(opt.contains("momentum 0.9") && opt.hasSuffix("iterations 2, 58 slots, 255,873 values"), opt)
    }

    func testInspectJSONOfGenesisFiles() throws {
        // (file, variant, base, tensors, values): keras 86 tensors, torch 106 (64 parameters,
        // 14 x 4 BN buffers and 14 num_batches_tracked); values from the architecture counts:
        // keras b=32 16,320,257 + 4,672; torch b=4 298,993 + 584 + 14.
        for (file, variant, base, tensors, values) in [("keras/genesis_chest_ct_shape.h5", "keras", 32, 86, 16_324_929),
                                                       ("keras3/genesis_tiny.keras", "keras", 4, 86, 256_457),
                                                       ("torch/genesis_tiny.pt", "torch", 4, 106, 299_591)] {
            let r = try genesis(["inspect", Fixtures.path(file), "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let j = try XCTUnwrap(r.json, file)
            let g = try XCTUnwrap(j["genesis"] as? [String: Any], file)
            XCTAssertEqual(g["variant"] as? String, variant, file)
            XCTAssertEqual(g["base_filters"] as? Int, base, file)
            XCTAssertEqual(g["labels"] as? Int, 1, file)
            XCTAssertEqual((g["evidence"] as? String)?.hasPrefix("14 of 14 blocks fit base \(base), "), true, file)
            let totals = try XCTUnwrap(j["totals"] as? [String: Any], file)
            XCTAssertEqual(totals["tensors"] as? Int, tensors, file)
            XCTAssertEqual(totals["values"] as? Int, values, file)
            XCTAssertEqual(totals["bytes"] as? Int, values * 4 + (variant == "torch" ? 14 * 4 : 0), file)  // int64 counters: 8 bytes
        }
        let t = try XCTUnwrap(try genesis(["inspect", Fixtures.path("torch/genesis_tiny.pt"), "--json"]).json)
        let entries = try XCTUnwrap(t["layers"] as? [[String: Any]]).flatMap { $0["weights"] as? [[String: Any]] ?? [] }
        let up = try XCTUnwrap(entries.first { $0["name"] as? String == "module.up_tr256.up_conv.weight" })
        XCTAssertEqual(up["shape"] as? [Int], [64, 64, 2, 2, 2])  // 16b at b = 4
        XCTAssertEqual(up["dtype"] as? String, "float32")
        let count = try XCTUnwrap(entries.first { $0["name"] as? String == "module.down_tr64.ops.0.bn1.num_batches_tracked" })
        XCTAssertEqual(count["dtype"] as? String, "int64")
        XCTAssertEqual(count["shape"] as? [Int], [])
    }

    func testInspectWildFilesAgainstH5py() throws {
        // wild/EXPECTED.json is what h5py sees: every layer in saved order, each weight's name,
        // shape and dtype. None is a Genesis network.
        let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("wild/EXPECTED.json")))) as? [String: Any])
        let dtypes = ["<f4": "float32", "<i8": "int64", "<f8": "float64"]
        for (file, entry) in expected {
            let want = try XCTUnwrap((entry as? [String: Any])?["layers"] as? [[String: Any]], file)
            let r = try genesis(["inspect", Fixtures.path("wild/" + file), "--json"])
            XCTAssertEqual(r.status, 0, "\(file): \(r.stderr)")
            let j = try XCTUnwrap(r.json, file)
            XCTAssertTrue(j["genesis"] is NSNull, file)
            let got = try XCTUnwrap(j["layers"] as? [[String: Any]], file)
            XCTAssertEqual(got.map { $0["name"] as? String }, want.map { $0["name"] as? String }, file)
            func weights(_ layers: [[String: Any]], dtype: (String) -> String?) -> [String] {
                layers.flatMap { ($0["weights"] as? [[String: Any]] ?? []).map { w in
                    "\(w["name"]!) \(w["shape"] as! [Int]) \(dtype(w["dtype"] as! String) ?? "?")" } }
            }
            XCTAssertEqual(weights(got) { $0 }, weights(want) { dtypes[$0] }, file)
            let values = want.flatMap { $0["weights"] as? [[String: Any]] ?? [] }.reduce(0) { $0 + ($1["shape"] as! [Int]).reduce(1, *) }
            XCTAssertEqual((j["totals"] as? [String: Any])?["values"] as? Int, values, file)
            let text = try genesis(["inspect", Fixtures.path("wild/" + file)])
            XCTAssertEqual(text.stdout.components(separatedBy: "\n")[1].hasPrefix("looks like: not a Models Genesis network: "), true, "\(file): \(text.stdout)")
        }
        let vm = try genesis(["inspect", Fixtures.path("wild/keras216_voxelmorph_miccai2018_adam.h5")])
        XCTAssertEqual(vm.stdout.components(separatedBy: "\n")[1], "looks like: not a Models Genesis network: 2 of 14 blocks fit base 16 (10 needed): "
                       + "depth_1, depth_2; the first that does not: depth_0 (conv3d_1/kernel:0) is (3,3,3,2,16), the network has (3,3,3,1,16)")
        XCTAssertTrue(vm.stdout.contains("\ntotals: 35 layers (11 with weights), 22 tensors, 266,374 values, 1.1 MB\n"), vm.stdout)
    }

    func testInspectSaysTheFormatSamplesAreNotGenesis() throws {
        // formats/README: small networks with Genesis-like layer names, not the Genesis network:
        // depth_0..depth_2 fit base 4 (1->4, 4->8, 8->8), then the place of depth_3 holds 24->4.
        for f in ["formats/k3_sgd.keras", "formats/k3_adam.weights.h5", "formats/tfk_sgd_model.h5"] {
            let r = try genesis(["inspect", Fixtures.path(f)])
            XCTAssertEqual(r.status, 0, "\(f): \(r.stderr)")
            let looks = r.stdout.components(separatedBy: "\n")[1]
            XCTAssertTrue(looks.hasPrefix("looks like: not a Models Genesis network: 3 of 14 blocks fit base 4 (10 needed): depth_0, depth_1, depth_2; "
                                          + "the first that does not: depth_3 "), "\(f): \(looks)")
            XCTAssertTrue(looks.hasSuffix(" is (3,3,3,24,4), the network has (3,3,3,8,16)"), "\(f): \(looks)")
            XCTAssertTrue(try XCTUnwrap(try genesis(["inspect", Fixtures.path(f), "--json"]).json)["genesis"] is NSNull, f)
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
