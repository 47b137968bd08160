import Foundation
import Tensors
import TestSupport
import XCTest

/// Issue 11 part 7: `genesis pretrain --checkpoint-every 1` killed with SIGKILL at random
/// moments, many times, in every checkpoint format. After each kill the latest checkpoint must
/// load and verify (`genesis verify`, exit 0), it must be at most one interval (one step) behind
/// the last step the run logged, and `--resume` must continue from it to the end.
///
/// `make test` kills 21 runs (7 per format, a fixed seed); `scripts/kill_test.sh N` sets
/// GENESIS_KILL_TRIALS=N and writes the figures of RELIABILITY.md to GENESIS_KILL_REPORT.
final class KillTestCLITests: XCTestCase {
    static let steps = 4

    struct Trial {
        let format: String
        let delay: Double
        /// Steps the killed run had logged, and the step its checkpoint holds (nil: none yet).
        let logged: Int
        let checkpointStep: Int?
        let problems: [String]
        /// Temporary files a kill mid-write left beside the checkpoint.
        let strayTemporaries: Int
    }

    func testSIGKILLedPretrainingAlwaysLeavesALoadableCheckpointThatResumes() throws {
        let trials = Int(ProcessInfo.processInfo.environment["GENESIS_KILL_TRIALS"] ?? "") ?? 21
        let dir = Fixtures.scratchDirectory()
        let g = Fixtures.genesisBinary
        for args in [["init", "--base-filters", "2", "--out", dir + "/k.h5"], ["init", "--base-filters", "2", "--variant", "torch", "--out", dir + "/t.pt"],
                     ["cubes", "--count", "4", "--shape", "16,16,8", "--seed", "3", "--out", dir + "/x.npy"]] {
            let r = try runProcess(g, args)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        // Each checkpoint format with a model of a framework it can hold.
        let formats = [("genesis", dir + "/k.h5"), ("pt", dir + "/t.pt"), ("h5", dir + "/k.h5")]
        // One whole run per format sets the range of the kill delays (machines differ in speed).
        var full: [String: Double] = [:]
        for (ext, model) in formats {
            let out = dir + "/whole.\(ext)"
            let r = try ChildProcess.run(g, Self.pretrain(model: model, data: dir + "/x.npy", out: out), timeout: 600, scratch: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
            full[ext] = r.seconds
        }
        var rng = SeededGenerator(seed: 7)
        let lanes = max(1, min(2, ProcessInfo.processInfo.activeProcessorCount))
        let plan = (0..<trials).map { i -> (Int, String, String, Double) in
            let (ext, model) = formats[i % formats.count]
            return (i, ext, model, Double.random(in: 0.05...1.0, using: &rng) * full[ext]!)
        }
        let results = Array(0..<lanes).concurrentMap { lane in
            plan.filter { $0.0 % lanes == lane }.map { Self.trial($0.0, ext: $0.1, model: $0.2, delay: $0.3, dir: dir) }
        }.flatMap { $0 }
        let report = Self.report(results)
        print(report)
        if let path = ProcessInfo.processInfo.environment["GENESIS_KILL_REPORT"] { try FileIO.write(Array(report.utf8), to: path) }
        XCTAssertEqual(results.count, trials)
        for t in results where !t.problems.isEmpty { XCTFail("\(t.format) killed after \(String(format: "%.2f", t.delay)) s: \(t.problems.joined(separator: "; "))") }
        // The kills must have landed at different moments (before, between or after checkpoints).
        XCTAssertGreaterThan(Set(results.map { $0.checkpointStep ?? -1 }).count, 1, "every kill landed at the same step")
    }

    static func pretrain(model: String?, resume: String? = nil, data: String, out: String) -> [String] {
        var args = ["pretrain"]
        if let model { args += ["--init", model] }
        if let resume { args += ["--resume", resume] }
        return args + ["--data", data, "--steps", "\(steps)", "--batch", "2", "--checkpoint-every", "1", "--seed", "5", "--threads", "1", "--out", out, "--json"]
    }

    static func trial(_ i: Int, ext: String, model: String, delay: Double, dir: String) -> Trial {
        let g = Fixtures.genesisBinary
        let runDir = dir + "/trial\(i)"
        try? FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        let out = runDir + "/run.\(ext)", data = dir + "/x.npy"
        var problems: [String] = []
        // Kill it `delay` seconds after it starts, from another thread.
        _ = try? ChildProcess.run(g, pretrain(model: model, data: data, out: out), timeout: 600, scratch: dir) { pid in
            DispatchQueue.global().asyncAfter(deadline: .now() + delay) { kill(pid, SIGKILL) }
        }
        let logged = loggedSteps(out + ".log.jsonl")
        let strays = ((try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []).filter { $0.hasPrefix(".run.") }.count
        var checkpointStep: Int?
        func genesis(_ args: [String]) -> (status: Int32, json: [String: Any]?, stderr: String) {
            guard let r = try? ChildProcess.run(g, args, timeout: 600, scratch: dir) else { return (-1, nil, "could not run") }
            return (r.status ?? -(r.signal ?? 1), (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any], r.stderr)
        }
        if FileManager.default.fileExists(atPath: out) {
            let v = genesis(["verify", out])
            if v.status != 0 { problems.append("verify exit \(v.status): \(v.stderr.prefix(200))") }
            let r = genesis(pretrain(model: nil, resume: out, data: data, out: out))
            if r.status != 0 { problems.append("--resume exit \(r.status): \(r.stderr.prefix(200))") }
            checkpointStep = r.json?["first_step"] as? Int
            if checkpointStep == nil, r.status == 0 { problems.append("--resume did not say where it started") }
            if let c = checkpointStep, c < logged - 1 { problems.append("checkpoint at step \(c), the run had logged \(logged): more than one interval lost") }
            if r.status == 0, (r.json?["losses"] as? [Any])?.count != steps - (checkpointStep ?? 0) {
                problems.append("--resume ran \((r.json?["losses"] as? [Any])?.count ?? -1) steps, expected \(steps - (checkpointStep ?? 0))")
            }
        } else {
            if logged > 1 { problems.append("no checkpoint after \(logged) logged steps") }
            let r = genesis(pretrain(model: model, data: data, out: out))
            if r.status != 0 { problems.append("a fresh run after the kill: exit \(r.status): \(r.stderr.prefix(200))") }
        }
        let v = genesis(["verify", out])
        if v.status != 0 { problems.append("the finished checkpoint: verify exit \(v.status)") }
        return Trial(format: ext, delay: delay, logged: logged, checkpointStep: checkpointStep, problems: problems, strayTemporaries: strays)
    }

    /// The highest training step in a JSON-lines log (complete lines only).
    static func loggedSteps(_ path: String) -> Int {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        var last = 0
        for line in text.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["loss"] != nil, let s = o["step"] as? Int else { continue }
            last = max(last, s)
        }
        return last
    }

    static func report(_ trials: [Trial]) -> String {
        var lines = ["kill trials: \(trials.count) (pretrain --steps \(steps) --checkpoint-every 1, SIGKILL after a random delay)",
                     "| format | kills | before the first checkpoint | mid-run | after the last step | checkpoint 1 step behind the log | corrupt | resume failed | stray temp files |",
                     "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for f in ["genesis", "pt", "h5"] {
            let mine = trials.filter { $0.format == f }
            guard !mine.isEmpty else { continue }
            let count = { (p: (Trial) -> Bool) in mine.filter(p).count }
            let none = count { $0.checkpointStep == nil }
            let mid = count { ($0.checkpointStep ?? steps) < steps }
            let end = count { $0.checkpointStep == steps }
            let behind = count { $0.checkpointStep != nil && $0.checkpointStep! == $0.logged - 1 }
            let corrupt = count { $0.problems.contains { $0.hasPrefix("verify") } }
            let resume = count { $0.problems.contains { $0.hasPrefix("--resume") || $0.hasPrefix("a fresh") } }
            lines.append("| .\(f) | \(mine.count) | \(none) | \(mid) | \(end) | \(behind) | \(corrupt) | \(resume) | \(mine.map(\.strayTemporaries).reduce(0, +)) |")
        }
        return lines.joined(separator: "\n")
    }
}
