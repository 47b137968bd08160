import Foundation
import Tensors
import TestSupport
import TorchFormat
import VolumeIO
import XCTest

/// `pretrain` and `finetune` on the nnU-Net Genesis fixture through the real `genesis` binary:
/// each trains as the family's recipe says and says so in its notes and `--json` settings; the
/// checkpoint is the file's own torch layout and reads back as the same network.
final class NNUNetTrainingCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }
    var fixture: String { Fixtures.reference("nnunet/nnunet_tiny.model") }

    func data() throws -> (dir: String, cubes: String, masks: String) {
        let dir = Fixtures.scratchDirectory()
        var rng = SeededGenerator(seed: 4)
        let n = 4 * 32 * 32 * 32
        try NPY.write(Tensor(shape: [4, 1, 32, 32, 32], floats: (0..<n).map { _ in rng.nextUnitFloat() }), to: dir + "/cubes.npy")
        try NPY.write(Tensor(shape: [4, 32, 32, 32], floats: (0..<n).map { _ in rng.nextUnitFloat() > 0.7 ? 1 : 0 }), to: dir + "/masks.npy")
        return (dir, dir + "/cubes.npy", dir + "/masks.npy")
    }

    func testPretrainContinuesTheFilesRecipe() throws {
        let d = try data()
        let r = try genesis(["pretrain", "--init", fixture, "--data", d.cubes, "--batch", "2", "--steps", "1", "--threads", "2",
                             "--out", d.dir + "/run.pt", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json, r.stdout)
        let notes = (j["notes"] as? [String] ?? []).joined(separator: "\n")
        XCTAssertTrue(notes.contains("sigmoid on the logits"), notes)
        XCTAssertTrue(notes.contains("nnunet-cubes"), notes)
        XCTAssertTrue(notes.contains("continuing the model's sgd state (torch convention"), notes)
        let s = try XCTUnwrap(j["settings"] as? [String: Any])
        XCTAssertEqual(s["loss"] as? String, "mse")
        XCTAssertEqual(s["momentum"] as? Double, 0.9)
        XCTAssertEqual(s["nesterov"] as? Bool, false)
        let c = try TorchReader.read(d.dir + "/run.pt")
        XCTAssertEqual(c.stateDict.names, try TorchReader.read(fixture).stateDict.names)
        XCTAssertEqual(c.optimizer.map { o in (0..<98).filter { o.state[$0] == nil } }, [93, 94, 95, 96])
        let v = try genesis(["verify", d.dir + "/run.pt", "--json"])
        XCTAssertEqual(v.status, 0, v.stdout)
        XCTAssertEqual(v.json?["variant"] as? String, "nnunet")
        // Another family's checkpoint is written in PyTorch's format only.
        let wrong = try genesis(["pretrain", "--init", fixture, "--data", d.cubes, "--batch", "2", "--steps", "1", "--out", d.dir + "/run.genesis"])
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains(".pt or .pth or .ckpt"), wrong.stderr)
    }

    func testFinetuneUsesNNUNetsConventions() throws {
        let d = try data()
        let r = try genesis(["finetune", "--init", fixture, "--task", "segmentation", "--images", d.cubes, "--labels", d.masks, "--batch", "2",
                             "--epochs", "2", "--threads", "2", "--out", d.dir + "/seg.pt", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json, r.stdout)
        let s = try XCTUnwrap(j["settings"] as? [String: Any])
        XCTAssertEqual(s["loss"] as? String, "dc_and_ce")
        XCTAssertEqual(s["schedule"] as? String, "poly")
        XCTAssertEqual(s["lr"] as? Double, 0.01)
        XCTAssertEqual(s["momentum"] as? Double, 0.99)
        XCTAssertEqual(s["nesterov"] as? Bool, true)
        XCTAssertEqual(s["weight_decay"] as? Double, 3e-5)
        XCTAssertEqual(j["classes"] as? Int, 2)
        // Poly over 2 epochs: 1e-2 (1 - 1/2)^0.9 after the first, 0 after the last.
        let epochs = try XCTUnwrap(j["epochs"] as? [[String: Any]])
        XCTAssertEqual(epochs.first?["lr"] as? Double ?? 0, 1e-2 * pow(0.5, 0.9), accuracy: 1e-12)
        XCTAssertEqual(epochs.last?["lr"] as? Double, 0)
        XCTAssertTrue((j["notes"] as? [String] ?? []).joined().contains("(the family's)"))
        let whole = try TorchReader.read(d.dir + "/seg.pt")
        XCTAssertEqual(whole.stateDictKey, "state_dict")
        // One step, then a resume to the end: the same bits as the run in one go.
        let cut = ["finetune", "--task", "segmentation", "--images", d.cubes, "--labels", d.masks, "--batch", "2", "--threads", "2",
                   "--out", d.dir + "/cut.pt", "--json"]
        XCTAssertEqual(try genesis(cut + ["--init", fixture, "--steps", "1"]).status, 0)
        let resumed = try genesis(["finetune", "--resume", d.dir + "/cut.pt", "--images", d.cubes, "--labels", d.masks, "--steps", "4",
                                   "--threads", "2", "--out", d.dir + "/cut.pt", "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(resumed.json?["losses"] as? [Double], Array((j["losses"] as? [Double] ?? []).dropFirst()))
        let back = try TorchReader.read(d.dir + "/cut.pt")
        for name in whole.stateDict.names { XCTAssertEqual(back.stateDict[name]?.bytes, whole.stateDict[name]?.bytes, name) }
        // A flag overrides the family's default.
        let step = try genesis(["finetune", "--init", fixture, "--task", "segmentation", "--images", d.cubes, "--labels", d.masks, "--batch", "2",
                                "--steps", "1", "--schedule", "none", "--lr", "0.001", "--threads", "2", "--out", d.dir + "/seg2.pt", "--json"])
        XCTAssertEqual(step.status, 0, step.stderr)
        let s2 = try XCTUnwrap(step.json?["settings"] as? [String: Any])
        XCTAssertEqual(s2["schedule"] as? String, "none")
        XCTAssertEqual(s2["lr"] as? Double, 0.001)
    }
}
