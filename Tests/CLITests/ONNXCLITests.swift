import Foundation
import Tensors
import TestSupport
import XCTest

/// `genesis convert MODEL OUT.onnx [--bn inference|batch] [--opset N]` and the ONNX file read
/// back by `inspect`, `verify`, `run` and `convert`; damaged ONNX files: one line, exit 2.
final class ONNXCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    func testConvertToONNXReportsTheGraphsProofAndReadsBack() throws {
        let dir = Fixtures.scratchDirectory()
        let r = try genesis(["convert", Fixtures.path("torch/genesis_tiny.pt"), dir + "/t.onnx", "--bn", "inference", "--opset", "18", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let onnx = try XCTUnwrap(r.json?["onnx"] as? [String: Any], r.stdout)
        XCTAssertEqual(onnx["bn"] as? String, "inference")
        XCTAssertEqual(onnx["opset"] as? Int, 18)
        XCTAssertEqual(onnx["batch"] as? [Int], [2, 1, 16, 16, 16])
        XCTAssertLessThanOrEqual(onnx["interpreter_max_abs_diff"] as? Double ?? 1, 1e-5)
        XCTAssertEqual(r.json?["target_format"] as? String, "onnx")
        XCTAssertEqual(r.json?["reproduces_source"] as? Bool, true)

        let text = try genesis(["convert", Fixtures.path("keras/genesis_tiny.h5"), dir + "/k.onnx"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("BatchNorm inference, batch and spatial axes dynamic"), text.stdout)
        XCTAssertTrue(text.stdout.contains("graph run by the ONNX interpreter"), text.stdout)

        let inspect = try genesis(["inspect", dir + "/k.onnx"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("onnx metadata genesis_bn_mode: inference"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("onnx metadata genesis_input_window: ct"), inspect.stdout)
        let verify = try genesis(["verify", dir + "/t.onnx"])
        XCTAssertEqual(verify.status, 0, verify.stderr + verify.stdout)
        XCTAssertTrue(verify.stdout.contains("Genesis torch variant, base 4, 1 label"), verify.stdout)
        // run on the .onnx: the BatchNorm mode its graph computes, unless --bn says otherwise.
        XCTAssertEqual(try genesis(["cubes", "--count", "2", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        let run = try genesis(["run", dir + "/t.onnx", "--input", dir + "/x.npy", "--output", dir + "/y.npy", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.json?["bn"] as? String, "inference", "t.onnx was written with --bn inference (the torch variant's official mode is batch)")
        // Round trip: ONNX -> .pt gives the source's tensors (diff: identical).
        XCTAssertEqual(try genesis(["convert", dir + "/t.onnx", dir + "/back.pt"]).status, 0)
        let diff = try genesis(["diff", Fixtures.path("torch/genesis_tiny.pt"), dir + "/back.pt", "--json"])
        XCTAssertEqual(diff.status, 0, diff.stdout + diff.stderr)
    }

    func testONNXOptionsAreChecked() throws {
        let dir = Fixtures.scratchDirectory()
        let src = Fixtures.path("keras/genesis_tiny.h5")
        let opset = try genesis(["convert", src, dir + "/k.onnx", "--opset", "12"])
        XCTAssertEqual(opset.status, 2, opset.stderr)
        XCTAssertTrue(opset.stderr.contains("--opset 12: genesis writes opsets 13 to 22"), opset.stderr)
        let bn = try genesis(["convert", src, dir + "/k.pt", "--bn", "batch"])
        XCTAssertEqual(bn.status, 2, bn.stderr)
        XCTAssertTrue(bn.stderr.contains("--bn applies to ONNX output (.onnx) and MONAI bundles only"), bn.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/k.onnx"))
    }

    func testDamagedONNXIsOneLineExitTwo() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["convert", Fixtures.path("keras/genesis_tiny.h5"), dir + "/k.onnx"]).status, 0)
        let bytes = try FileIO.read(dir + "/k.onnx")
        try FileIO.write(Array(bytes.prefix(5000)), to: dir + "/cut.onnx")
        for command in ["inspect", "verify"] {
            let r = try genesis([command, dir + "/cut.onnx"])
            XCTAssertEqual(r.status, 2, r.stdout)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("cut.onnx: not an ONNX model"), r.stderr)
        }
    }

    /// A sibling's file: the head cannot ride in the graph (--trunk-only exports the trunk); a
    /// trunk without an output layer (SuPreM) has no graph to export. One line, exit 2.
    func testSiblingsExportTheirTrunk() throws {
        let dir = Fixtures.scratchDirectory()
        let transvw = Fixtures.reference("siblings/TransVW_chest_ct.tiny.pt")
        let refused = try genesis(["convert", transvw, dir + "/tv.onnx"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("add --trunk-only"), refused.stderr)
        let trunk = try genesis(["convert", transvw, dir + "/tv.onnx", "--trunk-only", "--json"])
        XCTAssertEqual(trunk.status, 0, trunk.stderr)
        XCTAssertLessThanOrEqual((trunk.json?["onnx"] as? [String: Any])?["interpreter_max_abs_diff"] as? Double ?? 1, 1e-5)
        let suprem = try genesis(["convert", Fixtures.reference("siblings/supervised_suprem_unet.tiny.pth"), dir + "/sp.onnx", "--trunk-only"])
        XCTAssertEqual(suprem.status, 2)
        XCTAssertEqual(suprem.stderr.split(separator: "\n").count, 1, suprem.stderr)
        XCTAssertTrue(suprem.stderr.contains(dir + "/sp.onnx: cannot write:") && suprem.stderr.contains("no output layer"), suprem.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/sp.onnx"))
    }
}
