import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// Every option whose `--help` documents a default reports that default in `--json` when the
/// option is left out. The options are read from the help text itself, so an option that
/// documents a default without a check here fails `testEveryDocumentedDefaultIsChecked`.
final class HelpDefaultsCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    /// Options of `command` whose help says what happens by default, with their help text.
    func documentedDefaults(_ command: [String]) throws -> [String: String] {
        let r = try genesis(command + ["--help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var blocks: [(String, String)] = []
        var inOptions = false
        for line in r.stdout.components(separatedBy: "\n") {
            if line.hasPrefix("OPTIONS:") { inOptions = true; continue }
            guard inOptions else { continue }
            if line.hasPrefix("  -"), let name = line.split(separator: " ").first(where: { $0.hasPrefix("--") }) {
                blocks.append((String(name), line))
            } else if line.hasPrefix("      "), !blocks.isEmpty {
                blocks[blocks.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        let pattern = try NSRegularExpression(pattern: #"\(default|default:|; default|Default:"#)
        var out: [String: String] = [:]
        for (name, text) in blocks where name != "--help" && name != "--version" {
            let t = text.split(separator: " ").joined(separator: " ")
            if pattern.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) != nil { out[name] = t }
        }
        return out
    }

    typealias Checks = [String: (json: [String: Any], ok: Bool)]

    /// Asserts that `checks` covers exactly the documented defaults and that each holds.
    func assertDefaults(_ command: [String], _ checks: Checks, file: StaticString = #filePath, line: UInt = #line) throws {
        let documented = try documentedDefaults(command)
        XCTAssertEqual(Set(documented.keys), Set(checks.keys), "\(command): documented defaults vs checked ones", file: file, line: line)
        for (option, check) in checks where !check.ok {
            XCTFail("\(command.joined(separator: " ")) \(option): help says \"\(documented[option] ?? "?")\", --json has \(check.json)", file: file, line: line)
        }
    }

    func json(_ args: [String]) throws -> [String: Any] {
        let r = try genesis(args + ["--json"])
        XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
        return try XCTUnwrap(r.json, r.stdout)
    }

    /// A float32 NIfTI of shape `shape` with voxels `value(index)`.
    func scan(_ path: String, _ shape: [Int], _ value: (Int) -> Float) throws {
        let v = Volume(shape: shape, voxels: (0..<shape.reduce(1, *)).map(value), geometry: .fromLPS(spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]),
                       format: "nifti1", storedType: "float32")
        try VolumeFile.writeNIfTI(v, to: path)
    }

    static let cores = ProcessInfo.processInfo.activeProcessorCount

    func testEveryDocumentedDefaultIsChecked() throws {
        let dir = Fixtures.scratchDirectory()
        // cubes: synthetic, and cut from a scan with a mask (--foreground).
        let c = try json(["cubes", "--out", dir + "/c.npy"])
        try scan(dir + "/s.nii", [16, 16, 16]) { Float(($0 % 7) * 100 - 1000) }
        try scan(dir + "/m.nii", [16, 16, 16]) { $0 % 3 == 0 ? 1 : 0 }
        let cut = try json(["cubes", dir + "/s.nii", "--labels", dir + "/m.nii", "--labels-out", dir + "/y.npy", "--out", dir + "/x.npy",
                            "--size", "8,8,8", "--border", "0,0", "--per-volume", "2", "--max-tissue", "1", "--positions-from-labels"])
        try assertDefaults(["cubes"], [
            "--count": (c, c["cubes"] as? Int == 1),
            "--shape": (c, c["shape"] as? [Int] == [1, 1, 64, 64, 32]),
            "--seed": (c, c["seed"] as? Int == 0),
            "--foreground": (cut, cut["foreground"] as? Double == 0.5),
        ])

        // init and architecture.
        let i = try json(["init", "--out", dir + "/b32.h5"])
        try assertDefaults(["init"], [
            "--base-filters": (i, i["base_filters"] as? Int == 32), "--labels": (i, i["labels"] as? Int == 1),
            "--variant": (i, i["variant"] as? String == "keras"), "--seed": (i, i["seed"] as? Int == 0),
            "--input-shape": (i, i["input_shape"] as? [Int] == [1, 64, 64, 32]),
        ])
        let a = try json(["architecture"])
        try assertDefaults(["architecture"], [
            "--variant": (a, a["variant"] as? String == "keras"), "--base-filters": (a, a["base_filters"] as? Int == 32),
            "--labels": (a, a["labels"] as? Int == 1),
        ])

        // diff.
        let tiny = dir + "/tiny.h5"
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--input-shape", "1,16,16,8", "--out", tiny]).status, 0)
        let d = try json(["diff", tiny, tiny])
        try assertDefaults(["diff"], ["--tolerance": (d, d["tolerance"] as? Double == 0)])

        // run: cubes (.npy), and a scan for the scan-only options.
        let x = dir + "/x6.npy"
        XCTAssertEqual(try genesis(["cubes", "--count", "6", "--shape", "16,16,8", "--out", x]).status, 0)
        let r = try json(["run", tiny, "--input", x, "--output", dir + "/y.npy"])
        try scan(dir + "/ct.nii", [16, 16, 8]) { Float($0 % 2000 - 1000) }
        let v = try json(["run", tiny, "--input", dir + "/ct.nii", "--output", dir + "/ct_y.nii"])
        let window = v["window"] as? [String: Any]
        let ram = Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8)
        try assertDefaults(["run"], [
            "--bn": (r, r["bn"] as? String == "inference" && v["bn"] as? String == "inference"),
            "--bn-epsilon": (r, (r["bn_epsilon"] as? Double).map { abs($0 - 1e-3) < 1e-9 } == true),
            "--window": (v, window?["low"] as? Double == -1000 && window?["high"] as? Double == 1000 && r["window"] is NSNull),
            "--patch": (v, v["patch"] as? [Int] == [16, 16, 8] && v["patch_origin"] as? String == "the model's recorded input size"),
            "--overlap": (v, v["overlap"] as? Double == 0.5),
            "--max-memory": (r, r["max_memory_bytes"] as? Int == ram),
            "--cubes-per-slice": (r, r["cubes_per_slice"] as? Int == 6),
            "--threads": (r, r["threads"] as? Int == Self.cores && v["threads"] as? Int == Self.cores),
        ])

        // finetune and pretrain: six 0/1 masks, the default batch of 6, one epoch.
        try NPY.write(Tensor(shape: [6, 16, 16, 8], floats: (0..<(6 * 2048)).map { Float(($0 / 7) % 2) }), to: dir + "/m6.npy")
        let f = try json(["finetune", "--init", tiny, "--task", "segmentation", "--images", x, "--labels", dir + "/m6.npy", "--out", dir + "/ft.h5"])
        try assertTrainingDefaults(["finetune"], f, out: dir + "/ft.h5", extra: [
            "--classes": (f, f["classes"] as? Int == 1),
            "--loss": (f, (f["settings"] as? [String: Any])?["loss"] as? String == "dice"),
            "--validation-split": (f, f["validation_split"] as? Double == 0),
        ])
        let p = try json(["pretrain", "--init", tiny, "--data", x, "--out", dir + "/pt.h5"])
        try assertTrainingDefaults(["pretrain"], p, out: dir + "/pt.h5", extra: [
            "--transforms": (p, (p["settings"] as? [String: Any])?["transforms"] as? String == "genesis"),
        ])

        // preview: cubes with a model, and the finetune log.
        let pv = try json(["preview", "--data", x, "--model", tiny, "--out", dir + "/p.png"])
        let pl = try json(["preview", "--log", dir + "/ft.h5.log.jsonl", "--out", dir + "/l.png"])
        try assertDefaults(["preview"], [
            "--seed": (pv, pv["seed"] as? Int == 0), "--count": (pv, pv["cubes"] as? Int == 4),
            "--bn": (pv, pv["bn"] as? String == "inference"), "--scale": (pv, pv["scale"] as? Int == 4),
            "--smoothing": (pl, pl["smoothing"] as? Double == 0.9), "--threads": (pv, pv["threads"] as? Int == Self.cores),
        ])
    }

    /// The options finetune and pretrain share (TrainingOptions), then each command's own.
    func assertTrainingDefaults(_ command: [String], _ j: [String: Any], out: String, extra: Checks) throws {
        let s = j["settings"] as? [String: Any] ?? [:]
        var checks: Checks = [
            "--epochs": (j, (j["epochs"] as? [Any])?.count == 1 && j["total_steps"] as? Int == 1),
            "--batch": (s, s["batch"] as? Int == 6),
            "--optimizer": (s, s["optimizer"] as? String == "sgd"),
            "--lr": (s, s["lr"] as? Double == 0.1),
            "--momentum": (s, s["momentum"] as? Double == 0.9),
            "--weight-decay": (s, s["weight_decay"] as? Double == 0),
            "--schedule": (s, s["schedule"] as? String == "none"),
            "--seed": (s, s["seed"] as? Int == 0),
            "--checkpoint-every": (s, s["checkpoint_every"] as? Int == 0),
            "--log": (j, j["log"] as? String == out + ".log.jsonl" && FileIO.exists(out + ".log.jsonl")),
            "--threads": (s, s["threads"] as? Int == Self.cores),
            "--sync-bn": (s, s["sync_bn"] as? Bool == false),
            "--mpi-timeout": (s, s["mpi_timeout"] as? Double == 300),
        ]
        checks.merge(extra) { $1 }
        try assertDefaults(command, checks)
    }
}
