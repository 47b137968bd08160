import Foundation
import Tensors
import TestSupport
import TorchFormat
import XCTest

/// nnU-Net Genesis to nnU-Net v2 and back through the real `genesis` binary: the v2 checkpoint
/// holds exactly `PlainConvUNet.state_dict()`'s keys and shapes (plainconvunet_keys.json, written
/// by dynamic_network_architectures), aliases equal and v2-only biases zero; v1 -> X -> v1 is bit
/// for bit for X in v2 .pth, v2 .safetensors, .safetensors and .genesis; a v2 file with a nonzero
/// v2-only bias goes to v1 only with --allow-lossy, and a differing alias is a problem.
/// (scripts/interop_nnunet.py loads the v2 output into the real PlainConvUNet.)
final class NNUNetV2CLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }
    var fixture: String { Fixtures.reference("nnunet/nnunet_tiny.model") }

    func reference() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.reference("nnunet/plainconvunet_keys.json")))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func convert(_ input: String, _ output: String, _ extra: [String] = [], status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let r = try genesis(["convert", input, output] + extra)
        XCTAssertEqual(r.status, status, r.stderr + r.stdout, file: file, line: line)
        return r
    }

    func testV2CheckpointHoldsExactlyPlainConvUNetsKeys() throws {
        let out = Fixtures.scratchDirectory() + "/v2.pth"
        _ = try convert(fixture, out, ["--naming", "nnunetv2"])
        let c = try TorchReader.read(out)
        XCTAssertEqual(c.stateDictKey, "network_weights")
        XCTAssertEqual(c.epoch, 1, "current_epoch: the v1 file's epoch")
        XCTAssertEqual(Set(c.otherKeys), ["_best_ema", "grad_scaler_state", "trainer_name", "inference_allowed_mirroring_axes", "genesis_writer"])
        let ref = try reference()
        let expected = try XCTUnwrap(ref["state_dict"] as? [[Any]]).map { ($0[0] as! String, ($0[1] as! [Int])) }
        XCTAssertEqual(c.stateDict.names, expected.map(\.0), "names and order of PlainConvUNet.state_dict()")
        for (name, shape) in expected { XCTAssertEqual(c.stateDict[name]?.shape, shape, name) }
        let v1 = try TorchReader.read(fixture).stateDict
        for (v1Name, v2Names) in try XCTUnwrap(ref["v1_to_v2"] as? [String: [String]]) {
            for n in v2Names { XCTAssertEqual(c.stateDict[n], v1[v1Name], "\(n) holds \(v1Name) bit for bit") }
        }
        for n in try XCTUnwrap(ref["v2_zero"] as? [String]) { XCTAssertTrue(c.stateDict[n]!.floats().allSatisfy { $0 == 0 }, n) }
    }

    func testRoundTripsBitForBit() throws {
        let dir = Fixtures.scratchDirectory()
        let v1 = try TorchReader.read(fixture)
        for (name, extra) in [("v2.pth", ["--naming", "nnunetv2"]), ("v2.safetensors", ["--naming", "nnunetv2"]), ("a.safetensors", []), ("a.genesis", [])] {
            let r = try convert(fixture, dir + "/" + name, extra + ["--json"])
            XCTAssertEqual(r.json?["reread_bit_identical"] as? Bool, true, name)
            XCTAssertEqual(r.json?["max_abs_diff"] as? Double, 0, name)
            let back = dir + "/back-" + name + ".model"
            _ = try convert(dir + "/" + name, back, ["--format", "pt"])
            let b = try TorchReader.read(back)
            XCTAssertEqual(b.stateDict.names, v1.stateDict.names, name)
            for n in v1.stateDict.names { XCTAssertEqual(b.stateDict[n], v1.stateDict[n], "\(name): \(n)") }
        }
        // The .genesis file keeps the epoch and the SGD state: back to v1 as the file was.
        let b = try TorchReader.read(dir + "/back-a.genesis.model")
        XCTAssertEqual(b.epoch, v1.epoch)
        // The momentum buffers bit for bit (param_groups: torch 1.3.1's entries, as every genesis writer).
        XCTAssertTrue(b.optimizer?.state == v1.optimizer?.state, "optimizer state differs")
    }

    /// The v2 checkpoint with `change` applied to its network_weights.
    func changedV2(_ name: String, _ change: (inout TensorStore) -> Void) throws -> String {
        let dir = Fixtures.scratchDirectory()
        _ = try convert(fixture, dir + "/v2.pth", ["--naming", "nnunetv2"])
        var c = try TorchReader.read(dir + "/v2.pth")
        change(&c.stateDict)
        let out = dir + "/" + name
        try TorchWriter.write(c, to: out, modulePrefix: false)
        return out
    }

    func testNonzeroV2BiasIsLossyAndAliasesMustAgree() throws {
        let biased = try changedV2("biased.pth") { sd in
            let t = sd["decoder.seg_layers.4.bias"]!
            sd["decoder.seg_layers.4.bias"] = Tensor(shape: t.shape, floats: [Float](repeating: 0.5, count: t.elementCount))
        }
        XCTAssertEqual(try genesis(["verify", biased]).status, 0, "a valid v2 network")
        let dir = Fixtures.scratchDirectory()
        let refused = try convert(biased, dir + "/v1.model", ["--format", "pt"], status: 1)
        XCTAssertTrue(refused.stderr.contains("decoder.seg_layers.4.bias") && refused.stderr.contains("--allow-lossy"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/v1.model"))
        let lossy = try convert(biased, dir + "/v1.model", ["--format", "pt", "--allow-lossy", "--json"])
        XCTAssertEqual(lossy.json?["lossy"] as? Bool, true)
        XCTAssertEqual(lossy.json?["dropped_nonzero_v2_biases"] as? [String], ["decoder.seg_layers.4.bias"])
        XCTAssertTrue(lossy.stderr.contains("warning:"), lossy.stderr)

        let alias = "decoder.encoder.stages.2.0.convs.1.all_modules.0.weight"
        let split = try changedV2("split.pth") { sd in
            let t = sd[alias]!
            sd[alias] = Tensor(shape: t.shape, floats: t.floats().map { $0 + 1 })
        }
        let v = try genesis(["verify", split, "--json"])
        XCTAssertEqual(v.status, 1, v.stderr)
        let problems = (v.json?["problems"] as? [[String: Any]]) ?? []
        XCTAssertEqual(problems.compactMap { $0["tensor"] as? String }, [alias], v.stdout)
        let c = try genesis(["convert", split, dir + "/x.model", "--format", "pt"])
        XCTAssertEqual(c.status, 2, "a damaged source: one line, as for Genesis files")
        XCTAssertTrue(c.stderr.contains(alias), c.stderr)
    }

    func testV2NamingIsRefusedWhereItCannotApply() throws {
        let dir = Fixtures.scratchDirectory()
        let r = try convert(fixture, dir + "/x.genesis", ["--naming", "nnunetv2"], status: 2)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertEqual(try genesis(["convert", fixture, dir + "/x.h5"]).status, 2)
    }
}
