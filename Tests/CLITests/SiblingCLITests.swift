import Foundation
import HDF5
import Tensors
import TestSupport
import TorchFormat
import VolumeIO
import XCTest

/// The Models Genesis siblings through the real `genesis` binary (Tests/References/siblings,
/// written by scripts/make_sibling_fixtures.py from the official architectures): Semantic
/// Genesis (Keras `ynet_model_3d`), TransVW (PyTorch `YNet3D`) and SuPreM (`Universal_model`
/// with the `unet` backbone). Each is detected, its trunk verified as a Genesis network, its head
/// reported, converted (head kept or `--trunk-only`), run (the trunk's segmentation against the
/// framework's) and fine-tuned.
final class SiblingCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    struct Case {
        let file: String
        let variant: String
        let labels: Int?
        let sibling: String
        let layout: String
        let headTensors: Int
    }

    static let semanticGenesis = Case(file: "semantic_genesis_chest_ct.tiny.h5", variant: "keras", labels: 1, sibling: "semantic-genesis",
                                      layout: "ynet3d-keras", headTensors: 10)
    static let transVW = Case(file: "TransVW_chest_ct.tiny.pt", variant: "torch", labels: 1, sibling: "transvw", layout: "ynet3d-torch", headTensors: 9)
    static let suprem = Case(file: "supervised_suprem_unet.tiny.pth", variant: "torch", labels: nil, sibling: "suprem", layout: "suprem-unet", headTensors: 13)
    static let all = [semanticGenesis, transVW, suprem]

    func path(_ c: Case) -> String { Fixtures.reference("siblings/" + c.file) }
    func reference(_ c: Case) throws -> H5File {
        try H5File.open(Fixtures.reference("siblings/" + c.file.components(separatedBy: ".tiny.")[0] + ".tiny.reference.h5"))
    }

    /// The reference's input as a .npy in a scratch directory.
    func input(_ c: Case, _ dir: String) throws -> String {
        let x = try reference(c).root().readFloat32("input")
        try NPY.write(x, to: dir + "/x.npy")
        return dir + "/x.npy"
    }

    func testVerifyGivesTheTrunkAndReportsTheHead() throws {
        for c in Self.all {
            let r = try genesis(["verify", path(c), "--json"])
            XCTAssertEqual(r.status, 0, "\(c.file): \(r.stdout) \(r.stderr)")
            let j = try XCTUnwrap(r.json, c.file)
            XCTAssertEqual(j["valid"] as? Bool, true, c.file)
            XCTAssertEqual(j["family"] as? String, "models-genesis-unet3d", c.file)
            XCTAssertEqual(j["variant"] as? String, c.variant, c.file)
            XCTAssertEqual(j["base_filters"] as? Int, 2, c.file)
            XCTAssertEqual(j["labels"] as? Int, c.labels, c.file)
            if c.labels == nil { XCTAssertTrue(j["labels"] is NSNull, c.file) }
            XCTAssertEqual(j["output_layer"] as? Bool, c.labels != nil, c.file)
            XCTAssertEqual((j["problems"] as? [Any])?.count, 0, c.file)
            let head = try XCTUnwrap(j["head"] as? [String: Any], c.file)
            XCTAssertEqual(head["sibling"] as? String, c.sibling, c.file)
            XCTAssertEqual(head["layout"] as? String, c.layout, c.file)
            XCTAssertEqual(head["valid"] as? Bool, true, c.file)
            XCTAssertEqual((head["tensors"] as? [Any])?.count, c.headTensors, c.file)
            XCTAssertEqual(head["classes"] as? Int, c.layout == "suprem-unet" ? 25 : 44, c.file)
        }
        // The head's tensors, named and shaped as the file holds them (Keras layout for Keras).
        let j = try XCTUnwrap(try genesis(["verify", path(Self.semanticGenesis), "--json"]).json)
        let tensors = try XCTUnwrap((j["head"] as? [String: Any])?["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors.first?["name"] as? String, "depth_14_conv/kernel")
        XCTAssertEqual(tensors.first?["shape"] as? [Int], [3, 3, 3, 32, 32])
        XCTAssertEqual(tensors.last?["name"] as? String, "cls_output/bias")
        XCTAssertEqual((j["head"] as? [String: Any])?["widths"] as? [String: Int], ["F": 32, "H": 64, "K": 44])
        let t = try XCTUnwrap(try genesis(["verify", path(Self.transVW), "--json"]).json)
        let torchTensors = try XCTUnwrap((t["head"] as? [String: Any])?["tensors"] as? [[String: Any]])
        XCTAssertEqual(torchTensors.first?["file_name"] as? String, "module.clc_out.conv1.weight")
        XCTAssertEqual(torchTensors.first?["shape"] as? [Int], [64, 32, 3, 3, 3])
        // Text: the trunk line, then the sibling and its head.
        let text = try genesis(["verify", path(Self.suprem)])
        XCTAssertEqual(text.status, 0, text.stdout)
        XCTAssertTrue(text.stdout.contains("Genesis torch variant, base 2, 1 label without its output layer (out_tr) (detected)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("sibling: SuPreM (by its head)"), text.stdout)
        let inspect = try genesis(["inspect", path(Self.transVW)])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("sibling: TransVW (by the file name)"), inspect.stdout)
        let inspectJSON = try XCTUnwrap(try genesis(["inspect", path(Self.semanticGenesis), "--json"]).json)
        XCTAssertEqual((inspectJSON["head"] as? [String: Any])?["layout"] as? String, "ynet3d-keras")
    }

    /// Semantic Genesis and TransVW share both layouts: the file name says which, else both are named.
    func testTheFileNameTellsSemanticGenesisFromTransVW() throws {
        let dir = Fixtures.scratchDirectory()
        for (name, expected) in [("semantic_genesis_chest_ct.pt", "semantic-genesis"), ("model.pt", nil as String?)] {
            try FileManager.default.copyItem(atPath: path(Self.transVW), toPath: dir + "/" + name)
            let j = try XCTUnwrap(try genesis(["verify", dir + "/" + name, "--json"]).json)
            let head = try XCTUnwrap(j["head"] as? [String: Any])
            XCTAssertEqual(head["sibling"] as? String, expected, name)
            XCTAssertEqual(head["networks"] as? [String], ["semantic-genesis", "transvw"], name)
        }
        let text = try genesis(["verify", dir + "/model.pt"])
        XCTAssertTrue(text.stdout.contains("sibling: Semantic Genesis or TransVW (the tensors cannot tell which)"), text.stdout)
    }

    /// A damaged head is a problem (exit 1), named; the trunk stays what it is.
    func testADamagedHeadIsAProblem() throws {
        var c = try TorchReader.read(path(Self.transVW))
        c.stateDict["module.clc_out.fc1.weight"] = Tensor(shape: [44, 63], floats: [Float](repeating: 0, count: 44 * 63))
        c.stateDict["module.clc_out.bn1.running_var"] = nil
        let p = Fixtures.scratchDirectory() + "/TransVW_damaged.pt"
        try TorchWriter.write(c, to: p, modulePrefix: false)
        let r = try genesis(["verify", p, "--json"])
        XCTAssertEqual(r.status, 1, r.stdout)
        let j = try XCTUnwrap(r.json)
        XCTAssertEqual(j["variant"] as? String, "torch")
        let head = try XCTUnwrap(j["head"] as? [String: Any])
        XCTAssertEqual(head["valid"] as? Bool, false)
        let problems = (j["problems"] as? [[String: Any]] ?? []).map { "\($0["kind"]!) \($0["tensor"]!)" }
        XCTAssertEqual(Set(problems), ["shape clc_out.fc1.weight", "missing clc_out.bn1.running_var"])
    }

    func testConvertKeepsTheHeadOrDropsItWithTrunkOnly() throws {
        let dir = Fixtures.scratchDirectory()
        for c in Self.all {
            let kept = dir + "/\(c.sibling)_kept.pt", trunk = dir + "/\(c.sibling)_trunk.pt"
            let r = try genesis(["convert", path(c), kept, "--json"])
            XCTAssertEqual(r.status, 0, "\(c.file): \(r.stderr)")
            let j = try XCTUnwrap(r.json, c.file)
            XCTAssertEqual(j["reread_bit_identical"] as? Bool, true, c.file)
            XCTAssertEqual(j["max_abs_diff"] as? Double, 0, c.file)
            XCTAssertEqual((j["sibling"] as? [String: Any])?["head_kept"] as? Bool, true, c.file)
            let back = try XCTUnwrap(try genesis(["verify", kept, "--json"]).json, c.file)
            XCTAssertEqual(back["valid"] as? Bool, true, c.file)
            XCTAssertEqual((back["head"] as? [String: Any])?["layout"] as? String, c.layout, c.file)
            XCTAssertEqual(((back["head"] as? [String: Any])?["tensors"] as? [Any])?.count, c.headTensors, c.file)

            let t = try genesis(["convert", path(c), trunk, "--trunk-only", "--json"])
            XCTAssertEqual(t.status, 0, "\(c.file): \(t.stderr)")
            XCTAssertTrue(((t.json?["notes"] as? [String]) ?? []).contains { $0.hasPrefix("dropped the ") && $0.contains("--trunk-only") }, c.file)
            let sd = try TorchReader.read(trunk).stateDict
            XCTAssertEqual(sd.count, c.labels == nil ? 104 : 106, c.file)
            XCTAssertFalse(sd.names.contains { $0.hasPrefix("clc_out") || $0.hasPrefix("precls_conv") || $0.contains("/") }, c.file)
            let tv = try XCTUnwrap(try genesis(["verify", trunk, "--json"]).json, c.file)
            XCTAssertTrue(tv["head"] is NSNull || tv["head"] == nil, c.file)
            // diff compares the heads too: equal with the head kept, missing from the trunk alone.
            XCTAssertEqual(try genesis(["diff", path(c), kept]).status, 0, c.file)
            let d = try genesis(["diff", path(c), trunk, "--json"])
            XCTAssertEqual(d.status, 1, c.file)
            XCTAssertTrue(d.stdout.contains(c.layout == "ynet3d-keras" ? "cls_output" : c.layout == "ynet3d-torch" ? "clc_out.fc1.bias" : "controller.weight"), d.stdout)
        }
        // Keras output cannot hold a head: one line, exit 2; --trunk-only writes it.
        let refused = try genesis(["convert", path(Self.semanticGenesis), dir + "/sg.h5"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertEqual(refused.stderr.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "\n").count, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("cannot hold the Semantic Genesis head") && refused.stderr.contains("--trunk-only"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/sg.h5"))
        XCTAssertEqual(try genesis(["convert", path(Self.semanticGenesis), dir + "/sg.h5", "--trunk-only"]).status, 0)
        // .genesis names hold no '/': the Keras head goes to .pt or .safetensors.
        XCTAssertEqual(try genesis(["convert", path(Self.semanticGenesis), dir + "/sg.genesis"]).status, 2)
        XCTAssertEqual(try genesis(["convert", path(Self.semanticGenesis), dir + "/sg.safetensors"]).status, 0)
        // SuPreM's trunk has no output layer: no Keras file, even trunk-only.
        let noOutput = try genesis(["convert", path(Self.suprem), dir + "/suprem.h5", "--trunk-only"])
        XCTAssertEqual(noOutput.status, 2)
        XCTAssertTrue(noOutput.stderr.contains("no output layer"), noOutput.stderr)
        for ext in ["genesis", "safetensors"] {
            XCTAssertEqual(try genesis(["convert", path(Self.transVW), dir + "/tv.\(ext)"]).status, 0, ext)
            let j = try XCTUnwrap(try genesis(["verify", dir + "/tv.\(ext)", "--json"]).json)
            XCTAssertEqual(((j["head"] as? [String: Any])?["tensors"] as? [Any])?.count, 9, ext)
        }
    }

    /// `run` gives the trunk's segmentation: Keras predict's (moving statistics) and PyTorch's
    /// (ContBatchNorm3d: batch statistics) `seg_output`, to <= 2e-5 (schemas/numerics.md).
    func testRunGivesTheTrunksSegmentation() throws {
        for c in [Self.semanticGenesis, Self.transVW] {
            let dir = Fixtures.scratchDirectory() + "/" + c.sibling
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let r = try genesis(["run", path(c), "--input", try input(c, dir), "--output", dir + "/y.npy", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual((r.json?["sibling"] as? [String: Any])?["layout"] as? String, c.layout)
            let ours = try NPY.read(dir + "/y.npy")
            let expected = try reference(c).root().readFloat32("seg_output")
            XCTAssertEqual(ours.shape, expected.shape)
            let deviation = zip(ours.floats(), expected.floats()).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            print("genesis run on \(c.file): max abs deviation from the framework's seg_output \(deviation)")
            XCTAssertLessThanOrEqual(deviation, 2e-5, c.file)
        }
        let dir = Fixtures.scratchDirectory()
        let text = try genesis(["run", path(Self.transVW), "--input", try input(Self.transVW, dir), "--output", dir + "/y.npy"])
        XCTAssertTrue(text.stderr.contains("note: a TransVW file: the output is its Genesis trunk's segmentation"), text.stderr)
        // SuPreM's trunk has no output layer: refused in one line, exit 2.
        let s = try genesis(["run", path(Self.suprem), "--input", try input(Self.suprem, dir), "--output", dir + "/s.npy"])
        XCTAssertEqual(s.status, 2)
        XCTAssertEqual(s.stderr.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "\n").count, 1, s.stderr)
        XCTAssertTrue(s.stderr.contains("has no output layer (out_tr)"), s.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/s.npy"))
    }

    /// A SuPreM trunk with the out_tr a target application adds (the reference's seeded one)
    /// gives that UNet3D's logits: the trunk's forward against PyTorch's.
    func testSuPreMTrunkWithAnOutputLayerGivesPyTorchsLogits() throws {
        let dir = Fixtures.scratchDirectory()
        let ref = try reference(Self.suprem).root()
        var c = try TorchReader.read(path(Self.suprem))
        var store = TensorStore()
        for (name, t) in c.stateDict.entries where name.hasPrefix("module.backbone.") { store[String(name.dropFirst("module.backbone.".count))] = t }
        store["out_tr.final_conv.weight"] = try ref.readFloat32("out_tr/weight")
        store["out_tr.final_conv.bias"] = try ref.readFloat32("out_tr/bias")
        c = TorchCheckpoint(stateDict: store, stateDictKey: nil)
        try TorchWriter.write(c, to: dir + "/target.pt", modulePrefix: false)
        let r = try genesis(["run", dir + "/target.pt", "--input", try input(Self.suprem, dir), "--output", dir + "/y.npy", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json?["labels"] as? Int, 3)
        let ours = try NPY.read(dir + "/y.npy")
        let expected = try ref.readFloat32("seg_output")
        // The reference is logits; genesis applies softmax over 3 labels: compare softmax(expected).
        XCTAssertEqual(ours.shape, expected.shape)
        let e = expected.floats(), o = ours.floats()
        let voxels = e.count / 6
        var worst: Float = 0
        for n in 0..<2 {
            for v in 0..<voxels {
                let logits = (0..<3).map { e[(n * 3 + $0) * voxels + v] }
                let m = logits.max()!
                let ex = logits.map { Foundation.exp($0 - m) }
                let s = ex.reduce(0, +)
                for k in 0..<3 { worst = max(worst, abs(o[(n * 3 + k) * voxels + v] - ex[k] / s)) }
            }
        }
        print("genesis run on the SuPreM trunk with a target out_tr: max abs deviation from softmax(PyTorch's logits) \(worst)")
        XCTAssertLessThanOrEqual(worst, 2e-5)
    }

    func testFinetuneStartsFromEachTrunk() throws {
        let dir = Fixtures.scratchDirectory()
        var g = SeededGenerator(seed: 7)
        let n = 4 * 16 * 16 * 8
        let images = Tensor(shape: [4, 16, 16, 8], floats: (0..<n).map { _ in Float(g.next() % 1000) / 1000 })
        try NPY.write(images, to: dir + "/img.npy")
        try NPY.write(Tensor(shape: [4, 16, 16, 8], floats: images.floats().map { $0 > 0.5 ? 1 : 0 }), to: dir + "/lab.npy")
        for c in Self.all {
            let out = dir + "/\(c.sibling)." + (c.variant == "keras" ? "h5" : "pt")
            let r = try genesis(["finetune", "--init", path(c), "--task", "segmentation", "--images", dir + "/img.npy", "--labels", dir + "/lab.npy",
                                 "--steps", "2", "--batch", "2", "--threads", "2", "--out", out, "--json"])
            XCTAssertEqual(r.status, 0, "\(c.file): \(r.stderr)")
            let loading = try XCTUnwrap(r.json?["loading"] as? [String: Any], c.file)
            let skipped = (loading["skipped"] as? [[String: Any]] ?? []).filter { ($0["why"] as? String ?? "").contains("head (\(c.layout))") }
            XCTAssertEqual(skipped.count, c.headTensors, c.file)
            let new = (loading["new"] as? [[String: Any]] ?? []).compactMap { $0["tensor"] as? String }
            XCTAssertEqual(new, c.labels == nil ? ["out_tr.final_conv.weight", "out_tr.final_conv.bias"] : [], c.file)
            XCTAssertEqual((loading["loaded"] as? [Any])?.count, c.variant == "keras" ? 86 : c.labels == nil ? 104 : 106, c.file)
            let v = try XCTUnwrap(try genesis(["verify", out, "--json"]).json, c.file)
            XCTAssertEqual(v["valid"] as? Bool, true, c.file)
            XCTAssertEqual(v["variant"] as? String, c.variant, c.file)
            XCTAssertEqual(v["labels"] as? Int, 1, c.file)
        }
        // pretrain continues the trunk, the head said to be left out; SuPreM's trunk has no
        // output layer for the restoration pretext: refused in one line.
        let p = try genesis(["pretrain", "--init", path(Self.transVW), "--data", dir + "/img.npy", "--batch", "2", "--steps", "1",
                             "--threads", "2", "--out", dir + "/pre.pt"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stderr.contains("the TransVW head (ynet3d-torch, 9 tensors) is neither trained nor written"), p.stderr)
        let s = try genesis(["pretrain", "--init", path(Self.suprem), "--data", dir + "/img.npy", "--batch", "2", "--steps", "1", "--out", dir + "/pre2.pt"])
        XCTAssertEqual(s.status, 2)
        XCTAssertEqual(s.stderr.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "\n").count, 1, s.stderr)
        XCTAssertTrue(s.stderr.contains("has no output layer"), s.stderr)
    }
}
