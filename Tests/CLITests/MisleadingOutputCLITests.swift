import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// Output that used to mislead (issue 19, item 4): a lossy conversion said nothing, diff used
/// names the files do not hold and counted missing tensors two ways, the tissue rule was not
/// named, finetune's figures were unnamed, an offline fetch gave no way forward.
final class MisleadingOutputCLITests: XCTestCase {
    func genesis(_ args: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(Fixtures.genesisBinary, args, environment: environment)
    }

    func scan(_ path: String, _ shape: [Int], _ value: (Int) -> Float) throws {
        let v = Volume(shape: shape, voxels: (0..<shape.reduce(1, *)).map(value),
                       geometry: .fromLPS(spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]), format: "nifti1", storedType: "float32")
        try VolumeFile.writeNIfTI(v, to: path)
    }

    func testALossyConversionSaysItDoesNotReproduceTheSource() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["init", "--variant", "torch", "--base-filters", "2", "--input-shape", "1,16,16,8", "--out", dir + "/t.pt"]).status, 0)
        XCTAssertEqual(try genesis(["cubes", "--count", "2", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        // One step moves the up-convolutions off the identity.
        XCTAssertEqual(try genesis(["pretrain", "--init", dir + "/t.pt", "--data", dir + "/x.npy", "--batch", "2", "--steps", "1", "--lr", "0.5", "--out", dir + "/trained.pt"]).status, 0)
        let lossy = try genesis(["convert", dir + "/trained.pt", dir + "/k.h5", "--allow-lossy", "--json"])
        XCTAssertEqual(lossy.status, 0, lossy.stderr)
        let j = try XCTUnwrap(lossy.json)
        XCTAssertEqual(j["lossy"] as? Bool, true)
        XCTAssertEqual(j["reproduces_source"] as? Bool, false)
        let worst = try XCTUnwrap(j["max_abs_diff"] as? Double)
        XCTAssertGreaterThan(worst, 1e-4)
        let warning = try XCTUnwrap(j["warning"] as? String)
        XCTAssertTrue(warning.hasPrefix("warning: the written model does not reproduce the source (forward on the seeded cube: max |diff| "), warning)
        XCTAssertTrue(lossy.stderr.contains("genesis: " + warning), lossy.stderr)
        // An exact conversion: no warning.
        let exact = try genesis(["convert", dir + "/t.pt", dir + "/exact.h5", "--json"])
        XCTAssertEqual(exact.status, 0, exact.stderr)
        XCTAssertEqual(exact.json?["reproduces_source"] as? Bool, true)
        XCTAssertTrue(exact.json?["warning"] is NSNull)
        XCTAssertFalse(exact.stderr.contains("does not reproduce"), exact.stderr)
    }

    func testDiffNamesTensorsAsTheFilesDoAndCountsMissingOnce() throws {
        let dir = Fixtures.scratchDirectory()
        let (a, b, pt) = (dir + "/a.h5", dir + "/b.h5", dir + "/a.pt")
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--out", a]).status, 0)
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--seed", "1", "--out", b]).status, 0)
        XCTAssertEqual(try genesis(["convert", a, pt]).status, 0)
        let r = try genesis(["diff", a, b])
        XCTAssertEqual(r.status, 1)
        let listed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("  ") && $0.contains(": max abs") }
        XCTAssertFalse(listed.isEmpty, r.stdout)
        // Keras names (layer/weight:0), none of PyTorch's dotted state_dict keys.
        XCTAssertTrue(listed.allSatisfy { $0.contains(":0:") && !$0.contains(".weight") && !$0.contains("down_tr") }, r.stdout)
        XCTAssertTrue(listed.contains { $0.hasPrefix("  depth_0_conv/kernel:0: max abs") }, r.stdout)
        // Keras vs PyTorch: the tensors the Keras variant implies are listed apart; only_in_a
        // and only_in_b are exactly what "missing" counts.
        let j = try XCTUnwrap(try genesis(["diff", a, pt, "--json"]).json)
        let onlyA = j["only_in_a"] as? [String], onlyB = j["only_in_b"] as? [String]
        let missing = j["missing"] as? [String: Int]
        XCTAssertEqual(onlyA?.count, missing?["only_in_a"])
        XCTAssertEqual(onlyB?.count, missing?["only_in_b"])
        XCTAssertEqual(onlyA, [])
        XCTAssertEqual(onlyB, [])
        let implied = j["implied"] as? [String: [String]]
        XCTAssertEqual(implied?["only_in_b"]?.count, 20)
        XCTAssertTrue(implied?["only_in_b"]?.allSatisfy { $0.contains("up_tr") || $0.contains("num_batches") } == true, "\(implied ?? [:])")
    }

    /// A scan of solid tissue: every draw fails the tissue rule, and the message names it.
    func testRejectedDrawsNameTheTissueRule() throws {
        let dir = Fixtures.scratchDirectory()
        try scan(dir + "/solid.nii", [24, 24, 16]) { _ in 40 }
        let r = try genesis(["cubes", dir + "/solid.nii", "--size", "8,8,8", "--border", "0,0", "--per-volume", "4", "--out", dir + "/x.npy", "--json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("200 of 200 draws were rejected: a cube is kept only when its tissue score is at most --max-tissue (now 0.15) of its voxels"), r.stderr)
        XCTAssertEqual(r.json?["rejection_hint"] as? String, r.stderr.split(separator: "\n").last.map { String($0.dropFirst("genesis: ".count)) })
        XCTAssertFalse(FileIO.exists(dir + "/x.npy"))
        let kept = try genesis(["cubes", dir + "/solid.nii", "--size", "8,8,8", "--border", "0,0", "--per-volume", "4", "--max-tissue", "1", "--out", dir + "/x.npy"])
        XCTAssertEqual(kept.status, 0, kept.stderr)
        XCTAssertEqual(try NPY.read(dir + "/x.npy").shape, [4, 1, 8, 8, 8])
    }

    func testFinetuneNamesEveryFigure() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--input-shape", "1,16,16,8", "--out", dir + "/t.h5"]).status, 0)
        XCTAssertEqual(try genesis(["cubes", "--count", "8", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        try NPY.write(Tensor(shape: [8, 16, 16, 8], floats: (0..<(8 * 2048)).map { Float(($0 / 5) % 2) }), to: dir + "/m.npy")
        let r = try genesis(["finetune", "--init", dir + "/t.h5", "--task", "segmentation", "--images", dir + "/x.npy", "--labels", dir + "/m.npy",
                             "--validation-split", "0.5", "--batch", "2", "--steps", "2", "--out", dir + "/s.h5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("2 steps") }.map(String.init), r.stdout)
        let log = try String(contentsOfFile: dir + "/s.h5.log.jsonl", encoding: .utf8).split(separator: "\n")
        let epoch = try XCTUnwrap(log.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.last { $0["validation"] != nil })
        let validation = try XCTUnwrap(epoch["validation"] as? Double), dice = try XCTUnwrap(epoch["validation_dice"] as? Double)
        XCTAssertTrue(summary.contains(String(format: ", validation loss (dice) %.6g, validation dice %.6g", validation, dice)), summary)
        XCTAssertTrue(summary.contains("last training loss (dice) "), summary)
        XCTAssertEqual(validation, 1 - dice, accuracy: 0.5)   // two different figures, both named
    }

    /// An official entry with no network: the error says what to do instead.
    func testOfflineFetchSaysWhatToDo() throws {
        let home = Fixtures.scratchDirectory()
        let r = try genesis(["zoo", "fetch", "genesis-chest-ct-keras", "--mirror", "http://127.0.0.1:9"],
                            environment: ["GENESIS_HOME": home, "GENESIS_PROGRESS_INTERVAL": "0", "GENESIS_ZOO_TIMEOUT": "5"])
        XCTAssertEqual(r.status, 2, r.stdout)
        let line = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(line.hasPrefix("genesis: error: zoo fetch genesis-chest-ct-keras: cannot reach 127.0.0.1"), line)
        XCTAssertTrue(line.hasSuffix("with the file at hand, `genesis zoo import Genesis_Chest_CT.h5` checks it against the manifest and caches it; or fetch from another host with --mirror URL (or GENESIS_ZOO_MIRROR)"), line)
    }
}
