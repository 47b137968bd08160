import Foundation
import Tensors
import TestSupport
import XCTest

/// `genesis convert MODEL DIR --format monai-bundle`: the bundle's files as the MONAI bundle
/// specification names them, the network module and state dict MONAI loads strictly (checked
/// in MONAI itself by scripts/interop_monai.py), the licence from the zoo or --license and never
/// guessed, and the bundle read back by inspect/verify/convert.
final class MonaiBundleCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(FileIO.read(path))) as? [String: Any])
    }

    func bundle(_ model: String, license: String? = nil, extra: [String] = [], name: String = #function) throws -> (dir: String, result: ProcessResult) {
        let scratch = Fixtures.scratchDirectory(name)
        let dir = scratch + "/bundle"
        var args = ["convert", model, dir, "--format", "monai-bundle", "--json"] + extra
        if let license {
            try license.write(toFile: scratch + "/LICENSE.txt", atomically: true, encoding: .utf8)
            args += ["--license", scratch + "/LICENSE.txt"]
        }
        return (dir, try genesis(args))
    }

    func testTorchFixtureBundle() throws {
        let model = Fixtures.path("torch/genesis_tiny.pt")
        let (dir, r) = try bundle(model, license: "Seeded test weights.\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json?["target_format"] as? String, "monai-bundle")
        XCTAssertEqual(r.json?["reproduces_source"] as? Bool, true)
        XCTAssertEqual(r.json?["max_abs_diff"] as? Double, 0, "the state dict read back runs as the source")
        var files: [String] = []
        let e = FileManager.default.enumerator(atPath: dir)!
        while let f = e.nextObject() as? String { if !f.hasSuffix("/") { var isDir: ObjCBool = false; FileManager.default.fileExists(atPath: dir + "/" + f, isDirectory: &isDir); if !isDir.boolValue { files.append(f) } } }
        XCTAssertEqual(files.sorted(), ["LICENSE", "configs/inference.json", "configs/metadata.json", "docs/README.md", "models/model.pt",
                                        "scripts/__init__.py", "scripts/genesis_unet.py"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/LICENSE", encoding: .utf8), "Seeded test weights.\n")

        let meta = try json(dir + "/configs/metadata.json")
        for key in ["schema", "version", "changelog", "monai_version", "pytorch_version", "numpy_version", "task", "description", "authors", "copyright",
                    "network_data_format"] {
            XCTAssertNotNil(meta[key], key)
        }
        let image = try XCTUnwrap(((meta["network_data_format"] as? [String: Any])?["inputs"] as? [String: Any])?["image"] as? [String: Any])
        XCTAssertEqual(image["type"] as? String, "image")
        XCTAssertEqual(image["modality"] as? String, "CT")
        XCTAssertEqual(image["num_channels"] as? Int, 1)
        XCTAssertEqual(image["dtype"] as? String, "float32")
        XCTAssertEqual(image["value_range"] as? [Int], [0, 1])
        XCTAssertEqual(image["is_patch_data"] as? Bool, true)
        XCTAssertEqual(image["spatial_shape"] as? [String], ["16*n", "16*n", "16*n"], "batch statistics: at least 2 voxels per side at the bottleneck")
        let g = try XCTUnwrap(meta["genesis"] as? [String: Any])
        XCTAssertEqual(g["bn_mode"] as? String, "batch", "trained in PyTorch: ContBatchNorm3d's batch statistics")
        XCTAssertEqual(g["bn_epsilon"] as? Double, 1e-5)
        XCTAssertEqual(g["source_sha256"] as? String, Checksum.sha256Hex(try FileIO.read(model)))
        XCTAssertEqual(g["base_filters"] as? Int, 4)

        let inference = try json(dir + "/configs/inference.json")
        let def = try XCTUnwrap(inference["network_def"] as? [String: Any])
        XCTAssertEqual(def["_target_"] as? String, "scripts.genesis_unet.GenesisUNet3D")
        XCTAssertEqual(def["base"] as? Int, 4)
        XCTAssertEqual(def["n_class"] as? Int, 1)
        XCTAssertEqual(def["batch_statistics"] as? Bool, true)
        XCTAssertEqual(((inference["inferer"] as? [String: Any])?["sw_batch_size"]) as? Int, 1, "batch statistics: one window at a time")
        let handlers = try XCTUnwrap(inference["handlers"] as? [[String: Any]])
        XCTAssertEqual(handlers.first?["_target_"] as? String, "CheckpointLoader")
        XCTAssertEqual(handlers.first?["strict"] as? Bool, true)
        let module = try String(contentsOfFile: dir + "/scripts/genesis_unet.py", encoding: .utf8)
        XCTAssertTrue(module.contains("class GenesisUNet3D(nn.Module)"))
        XCTAssertTrue(module.contains("nn.ReLU()") && !module.contains("nn.ReLU(c"), "TorchScript refuses nn.ReLU(channels)")

        // Read back: the bundle is a model genesis knows, identified by models/model.pt.
        let v = try genesis(["verify", dir, "--json"])
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertEqual(v.json?["format"] as? String, "monai-bundle")
        XCTAssertEqual(v.json?["sha256"] as? String, Checksum.sha256Hex(try FileIO.read(dir + "/models/model.pt")))
        let back = Fixtures.scratchDirectory() + "/back.pt"
        let c = try genesis(["convert", dir, back, "--json"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(c.json?["max_abs_diff"] as? Double, 0)
    }

    /// Weights trained in Keras keep Keras's BatchNorm: running statistics, epsilon 1e-3.
    func testKerasFixtureBundleKeepsKerasBatchNorm() throws {
        let (dir, r) = try bundle(Fixtures.path("keras/genesis_tiny.h5"), license: "Seeded test weights.\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let g = try XCTUnwrap(try json(dir + "/configs/metadata.json")["genesis"] as? [String: Any])
        XCTAssertEqual(g["bn_mode"] as? String, "inference")
        XCTAssertEqual(g["bn_epsilon"] as? Double, 1e-3)
        XCTAssertEqual(g["trained_in"] as? String, "keras-h5")
        let def = try XCTUnwrap(try json(dir + "/configs/inference.json")["network_def"] as? [String: Any])
        XCTAssertEqual(def["eps"] as? Double, 1e-3)
        XCTAssertEqual(def["batch_statistics"] as? Bool, false)
        // --bn overrides.
        let (dir2, r2) = try bundle(Fixtures.path("keras/genesis_tiny.h5"), license: "x", extra: ["--bn", "batch"], name: "keras-bn-batch")
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertEqual((try json(dir2 + "/configs/inference.json")["network_def"] as? [String: Any])?["batch_statistics"] as? Bool, true)
    }

    /// The licence comes from the zoo manifest the source matches (the shipped default model).
    func testLicenceFromTheZooManifest() throws {
        let (dir, r) = try bundle(Fixtures.repoRoot + "/zoo/models/genesis_default_b8.genesis")
        XCTAssertEqual(r.status, 0, r.stderr)
        let licence = try String(contentsOfFile: dir + "/LICENSE", encoding: .utf8)
        XCTAssertTrue(licence.contains("the zoo model genesis-default-b8"), licence)
        XCTAssertTrue(licence.contains("What the code repository's licence says:"), licence)
    }

    func testRefusals() throws {
        // No zoo match, no --license: no bundle, nothing left behind.
        let (dir, r) = try bundle(Fixtures.path("torch/genesis_tiny.pt"))
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("give --license FILE"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
        let parent = (dir as NSString).deletingLastPathComponent
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.contains(".tmp-") }, [])
        // An existing directory is never replaced.
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "mine".write(toFile: dir + "/keep.txt", atomically: true, encoding: .utf8)
        let again = try genesis(["convert", Fixtures.path("torch/genesis_tiny.pt"), dir, "--format", "monai-bundle", "--license", "/dev/null", "--force"])
        XCTAssertEqual(again.status, 2, "even with --force")
        XCTAssertTrue(again.stderr.contains("directory"), again.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/keep.txt", encoding: .utf8), "mine")
        // nnU-Net Genesis is not the network a bundle holds; --license only for bundles.
        let n = try bundle(Fixtures.reference("nnunet/nnunet_tiny.model"), license: "x", name: "nnunet")
        XCTAssertEqual(n.result.status, 2)
        XCTAssertTrue(n.result.stderr.contains("a MONAI bundle holds the Models Genesis U-Net"), n.result.stderr)
        let l = try genesis(["convert", Fixtures.path("torch/genesis_tiny.pt"), Fixtures.scratchDirectory() + "/x.pt", "--license", "/dev/null"])
        XCTAssertEqual(l.status, 2)
        XCTAssertTrue(l.stderr.contains("--license applies to MONAI bundle output"), l.stderr)
        // A directory that is not a bundle is not a model.
        let notBundle = try genesis(["verify", Fixtures.scratchDirectory()])
        XCTAssertEqual(notBundle.status, 2)
        XCTAssertTrue(notBundle.stderr.contains("a directory that is not a MONAI bundle"), notBundle.stderr)
    }
}
