import Foundation
import XCTest
@testable import Tensors

/// A writer killed between creating its temporary file and renaming it leaves `.NAME.tmp-PID-N`
/// beside the target (seen in the kill tests: 2 in 66 kills). The next write of NAME removes
/// such files when their process is gone and they are older than a minute, and nothing else.
final class StaleTemporaryTests: XCTestCase {
    /// A fresh directory (the caller removes it).
    func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "stale-tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))/"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The PID of a process that has exited (a killed writer's, for these tests).
    func exitedProcess() throws -> Int32 {
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        return exited.processIdentifier
    }

    func testNextWriteRemovesOnlyTheDeadWritersOldTemporaries() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let deadPID = try exitedProcess()

        let stale = dir + ".run.h5.tmp-\(deadPID)-17"
        let fresh = dir + ".run.h5.tmp-\(deadPID)-18"          // dead writer, but touched just now
        let live = dir + ".run.h5.tmp-\(getpid())-19"          // a live writer (this process)
        let other = dir + ".other.h5.tmp-\(deadPID)-20"        // another target's temporary
        for p in [stale, fresh, live, other] { XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data([1]))) }
        var old = [timeval(tv_sec: time(nil) - 3600, tv_usec: 0), timeval(tv_sec: time(nil) - 3600, tv_usec: 0)]
        for p in [stale, live, other] { XCTAssertEqual(utimes(p, &old), 0) }

        try FileIO.write([1, 2, 3], to: dir + "run.h5")

        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertTrue(FileManager.default.fileExists(atPath: fresh))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
        XCTAssertTrue(FileManager.default.fileExists(atPath: other))
        XCTAssertEqual(try FileIO.read(dir + "run.h5"), [1, 2, 3])
    }

    /// `genesis run`'s NIfTI writer names its temporary with the extension libnifti needs
    /// (`.out.nii.gz.tmp-PID-N.nii.gz`): a killed run's is removed too, by the same rule.
    func testTemporariesWithAnExtensionAreRemovedByTheSameRule() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dead = try exitedProcess()
        let stale = dir + ".out.nii.gz.tmp-\(dead)-7.nii.gz"
        let notOurs = dir + ".out.nii.gz.tmp-\(dead)-x7.nii.gz"   // not a number: not a temporary of ours
        for p in [stale, notOurs] { XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data([1]))) }
        var old = [timeval(tv_sec: time(nil) - 3600, tv_usec: 0), timeval(tv_sec: time(nil) - 3600, tv_usec: 0)]
        for p in [stale, notOurs] { XCTAssertEqual(utimes(p, &old), 0) }
        FileIO.removeStaleTemporaries(beside: dir + "out.nii.gz")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertTrue(FileManager.default.fileExists(atPath: notOurs))
    }
}
