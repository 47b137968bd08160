import Foundation
import GenesisIO
import TestSupport
import Tensors
import Training
import XCTest

/// A rank that dies or hangs mid-run ends the whole job in bounded time with an error, and
/// the last checkpoint stays loadable and resumable, with another number of ranks.
final class MPIFailureTests: XCTestCase {
    let helper = MPIRun()

    /// A running mpirun job whose output goes to files.
    struct Job {
        let process: Process
        let stderrPath: String
        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

        /// The processes mpirun started (its ranks), by pid.
        var ranks: [Int32] {
            let dir = "/proc/\(process.processIdentifier)/task"
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            return tasks.flatMap { t -> [Int32] in
                let text = (try? String(contentsOfFile: "\(dir)/\(t)/children", encoding: .utf8)) ?? ""
                return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }.sorted()
        }

        /// Waits at most `seconds` for the end; true when it ended.
        func waitForExit(_ seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            return !process.isRunning
        }
    }

    func start(_ arguments: [String], cwd: String) throws -> Job {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        p.arguments = ["-np", "2", "--oversubscribe", "--allow-run-as-root", Fixtures.genesisBinary] + arguments
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        let errPath = cwd + "/mpirun.stderr"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        return Job(process: p, stderrPath: errPath)
    }

    /// Waits until `path` exists (the first checkpoint), at most `seconds`.
    func waitFor(_ path: String, _ seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !FileManager.default.fileExists(atPath: path), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        return FileManager.default.fileExists(atPath: path)
    }

    func longRun(out: String, timeout: Int) -> [String] {
        ["pretrain", "--init", "tiny.pt", "--data", "c.npy", "--batch", "4", "--steps", "500", "--transforms", "none", "--no-shuffle",
         "--optimizer", "sgd", "--lr", MPIRun.lr, "--threads", "1", "--sync-bn", "--checkpoint-every", "1",
         "--mpi-timeout", "\(timeout)", "--out", out]
    }

    func testAKilledRankEndsTheJobAndTheLastCheckpointResumesWithOneProcess() throws {
        let dir = try helper.inputs(name)
        let job = try start(longRun(out: "k.pt", timeout: 60), cwd: dir)
        defer { if job.process.isRunning { job.process.terminate() } }
        XCTAssertTrue(waitFor(dir + "/k.pt", 120), "no checkpoint: \(job.stderr)")
        let ranks = job.ranks
        XCTAssertEqual(ranks.count, 2, "mpirun's children: \(ranks)")
        let killed = Date()
        kill(ranks.last!, SIGKILL)
        // Open MPI ends the job when a rank dies (measured: 1.6 s); the bound is generous.
        XCTAssertTrue(job.waitForExit(30), "the job still runs 30 s after a rank was killed")
        print("job ended \(Date().timeIntervalSince(killed)) s after the kill")
        XCTAssertNotEqual(job.process.terminationStatus, 0)
        XCTAssertTrue(job.stderr.contains("signal 9"), job.stderr)

        // The last checkpoint loads, and a run written by 2 ranks resumes in 1 process: with
        // --sync-bn and file order it continues as one process would have run from the start.
        let r = try TrainingCheckpoint.resume(dir + "/k.pt")
        XCTAssertGreaterThanOrEqual(r.run.step, 1)
        XCTAssertEqual(r.run.ranks, 2)
        let total = r.run.step + 1
        let resumed = try runProcess(Fixtures.genesisBinary, ["pretrain", "--resume", "k.pt", "--data", "c.npy", "--steps", "\(total)",
                                                              "--threads", "1", "--json", "--out", "k.pt"], cwd: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let json = resumed.json ?? [:]
        XCTAssertEqual(json["first_step"] as? Int, r.run.step)
        XCTAssertEqual(json["ranks"] as? Int, 1)
        var plain = helper.pretrainArguments(out: "plain.pt", steps: total)
        plain.removeAll { $0 == "--json" }
        XCTAssertEqual(try runProcess(Fixtures.genesisBinary, plain, cwd: dir).status, 0)
        let w = helper.worst(try helper.store(dir + "/k.pt"), try helper.store(dir + "/plain.pt"))
        print("resumed 2 -> 1 rank against one process from the start, \(total) steps: worst \(w)")
        XCTAssertLessThanOrEqual(w.relative, MPIRun.tolerance, "worst tensor \(w.name)")
    }

    func testAStuckRankIsAbortedByTheTimeOut() throws {
        let dir = try helper.inputs(name)
        let job = try start(longRun(out: "s.pt", timeout: 3), cwd: dir)
        defer { if job.process.isRunning { job.process.terminate() } }
        XCTAssertTrue(waitFor(dir + "/s.pt", 120), "no checkpoint: \(job.stderr)")
        let ranks = job.ranks
        XCTAssertEqual(ranks.count, 2, "mpirun's children: \(ranks)")
        // Alive but never arriving: Open MPI alone would wait for ever.
        kill(ranks.last!, SIGSTOP)
        defer {
            // mpirun ends it; if it has not yet, it is still our stopped rank (checked by name).
            let cmd = (try? String(contentsOfFile: "/proc/\(ranks.last!)/cmdline", encoding: .utf8)) ?? ""
            if cmd.contains(Fixtures.genesisBinary) { kill(ranks.last!, SIGKILL) }
        }
        let stopped = Date()
        XCTAssertTrue(job.waitForExit(30), "the job still runs 30 s after a rank stopped")
        let seconds = Date().timeIntervalSince(stopped)
        print("job ended \(seconds) s after the stop (--mpi-timeout 3)")
        XCTAssertGreaterThanOrEqual(seconds, 2.5)
        XCTAssertEqual(job.process.terminationStatus, 2, job.stderr)
        XCTAssertTrue(job.stderr.contains("for the other ranks (--mpi-timeout 3): a peer is dead or stuck; aborting the job"), job.stderr)
        XCTAssertNoThrow(try TrainingCheckpoint.resume(dir + "/s.pt"))
    }
}
