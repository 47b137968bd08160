import Foundation
import Tensors
import TestSupport
import XCTest

/// The HDF5 sandbox from the command line: a damaged file that kills libhdf5 1.10.8 in process
/// becomes one line and exit 2; the hidden subcommand stays out of `--help`.
final class SandboxCLITests: XCTestCase {
    /// A file that kills libhdf5 1.10.8 in process (SIGSEGV) and one that makes it spin
    /// forever: `HostileHDF5Files` (Tests/TestSupport) says how each is made.
    func crashingFile(_ dir: String) throws -> String { try HostileHDF5Files.crashing(in: dir) }
    func spinningFile(_ dir: String) throws -> String { try HostileHDF5Files.spinning(in: dir) }

    func testAFileThatSpinsLibhdf5IsRefusedWithinSeconds() throws {
        let path = try spinningFile(Fixtures.scratchDirectory())
        for command in [["inspect", path], ["verify", "--json", path]] {
            let start = Date()
            let r = try runProcess(Fixtures.genesisBinary, command)
            let seconds = Date().timeIntervalSince(start)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertLessThan(seconds, 5, "\(command[0]) took \(seconds) s")
            let message = command[0] == "inspect" ? r.stderr : "genesis: error: " + (r.json?["error"] as? String ?? r.stdout) + "\n"
            XCTAssertEqual(message, "genesis: error: libhdf5 could not read \(path) safely (killed by signal 24, SIGXCPU: over its 3 s CPU limit): the file is damaged or hostile\n")
        }
        // The override: a smaller cap stops it sooner, and says so.
        let r = try runProcess(Fixtures.genesisBinary, ["inspect", path], environment: ["GENESIS_HDF5_CPU_SECONDS": "1"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("over its 1 s CPU limit"), r.stderr)
    }

    func testDamagedFileThatKillsLibhdf5InProcessIsOneLineAndExit2() throws {
        let path = try crashingFile(Fixtures.scratchDirectory())
        // In process (forced), the tool itself dies: the reason for the sandbox.
        let inProcess = try runProcess(Fixtures.genesisBinary, ["inspect", path], environment: ["GENESIS_HDF5_IN_PROCESS": "1", "SWIFT_BACKTRACE": "enable=no"])
        XCTAssertEqual(inProcess.status, SIGSEGV, inProcess.stderr)
        for command in [["inspect", path], ["verify", path], ["convert", path, path + ".pt"]] {
            let r = try runProcess(Fixtures.genesisBinary, command)
            XCTAssertEqual(r.status, 2, "\(command): \(r.stderr)")
            XCTAssertEqual(r.stderr, "genesis: error: libhdf5 could not read \(path) safely (killed by signal 11, SIGSEGV): the file is damaged or hostile\n")
            XCTAssertEqual(r.stdout, "")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".pt"))
        let json = try runProcess(Fixtures.genesisBinary, ["inspect", "--json", path])
        XCTAssertEqual(json.status, 2)
        XCTAssertEqual(json.json?["exit_code"] as? Int, 2)
        XCTAssertEqual(json.json?["error"] as? String, "libhdf5 could not read \(path) safely (killed by signal 11, SIGSEGV): the file is damaged or hostile")
    }

    func testChildDeathsFromTheTestHookAreOneLine() throws {
        let path = Fixtures.path("keras3/genesis_tiny.keras")
        for (hook, how) in [("segv", "killed by signal 11, SIGSEGV"), ("hang", "killed by signal 24, SIGXCPU: over its 3 s CPU limit")] {
            let r = try runProcess(Fixtures.genesisBinary, ["inspect", path], environment: ["GENESIS_SANDBOX_TEST": hook])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertEqual(r.stderr, "genesis: error: libhdf5 could not read \(path) safely (\(how)): the file is damaged or hostile\n")
        }
    }

    func testInspectReadsTheSameThroughTheSandboxAndInProcess() throws {
        for fixture in ["keras/genesis_tiny.h5", "keras3/genesis_tiny.keras", "formats/tfk_adam_model.h5"] {
            let path = Fixtures.path(fixture)
            let boxed = try runProcess(Fixtures.genesisBinary, ["inspect", "--json", path])
            let direct = try runProcess(Fixtures.genesisBinary, ["inspect", "--json", path], environment: ["GENESIS_HDF5_IN_PROCESS": "1"])
            XCTAssertEqual(boxed.status, 0, boxed.stderr)
            XCTAssertEqual(boxed.stdout, direct.stdout, fixture)
        }
    }

    /// A copy of `genesis` alone in a directory (no `genesis-hdf5-helper` beside it) reads `.h5`
    /// files through the sandbox in a fork of itself; `GENESIS_HDF5_HELPER` names the helper or
    /// the tool itself (the hidden subcommand), and one that cannot start is one line.
    func testALoneToolReadsInAForkAndTheEnvironmentNamesAnotherReader() throws {
        let alone = Fixtures.scratchDirectory() + "/genesis"
        try FileManager.default.copyItem(atPath: Fixtures.genesisBinary, toPath: alone)
        let path = Fixtures.path("keras/genesis_tiny.h5")
        let direct = try runProcess(Fixtures.genesisBinary, ["inspect", "--json", path], environment: ["GENESIS_HDF5_IN_PROCESS": "1"])
        XCTAssertEqual(direct.status, 0, direct.stderr)
        let helper = URL(fileURLWithPath: Fixtures.genesisBinary).deletingLastPathComponent().appendingPathComponent("genesis-hdf5-helper").path
        for env in [["GENESIS_HDF5_HELPER": ""], ["GENESIS_HDF5_HELPER": helper], ["GENESIS_HDF5_HELPER": Fixtures.genesisBinary]] {
            let r = try runProcess(alone, ["inspect", "--json", path], environment: env)
            XCTAssertEqual(r.status, 0, "\(env): \(r.stderr)")
            XCTAssertEqual(r.stdout, direct.stdout, "\(env)")
        }
        let r = try runProcess(alone, ["inspect", path], environment: ["GENESIS_HDF5_HELPER": "/nonexistent/genesis-hdf5-helper"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr, "genesis: error: \(path): cannot start the sandboxed HDF5 reader: cannot start /nonexistent/genesis-hdf5-helper: No such file or directory\n")
    }

    func testHiddenSubcommandIsNotInHelp() throws {
        let r = try runProcess(Fixtures.genesisBinary, ["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("inspect"))
        XCTAssertFalse(r.stdout.contains("__read-hdf5"))
    }
}
