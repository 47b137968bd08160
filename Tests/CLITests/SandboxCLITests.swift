import Foundation
import Tensors
import TestSupport
import XCTest

/// The HDF5 sandbox from the command line: a damaged file that kills libhdf5 1.10.8 in process
/// becomes one line and exit 2; the hidden subcommand stays out of `--help`.
final class SandboxCLITests: XCTestCase {
    /// Found by `scripts/find_hdf5_crashes.py` (seed 16 on genesis_tiny.h5, minimised): three
    /// bytes of a symbol-table entry in the group node (`SNOD`) at 77320 overwritten. Debian's
    /// libhdf5 1.10.8 dies of SIGSEGV inside libhdf5 opening it; h5py's HDF5 1.14.6 opens it.
    static let crashingEdit: (offset: Int, bytes: [UInt8]) = (77812, [0xd5, 0x74, 0xe4])

    func crashingFile(_ dir: String) throws -> String {
        let source = Fixtures.path("keras/genesis_tiny.h5")
        XCTAssertEqual(try Checksum.sha256Hex(fileAt: source), "83a778dbed1f725b2287868f31e818f9be3fc1c3d4f5213982e528bb08e5f625",
                       "the recipe is for this exact fixture")
        var bytes = try FileIO.read(source)
        bytes.replaceSubrange(Self.crashingEdit.offset..<(Self.crashingEdit.offset + 3), with: Self.crashingEdit.bytes)
        let path = dir + "/damaged.h5"
        try FileIO.write(bytes, to: path)
        return path
    }

    /// A real spin: libhdf5 1.10.8 deserializes a global heap collection (`GCOL`) object by
    /// object, and an object with index 0 and size 0 moves it by 0 bytes: its loop never ends.
    /// Two fields of the first object of genesis_tiny_weights.h5's first collection set so (a
    /// 1.1 MB file: CPU cap 3 s) are refused in one line, exit 2, in under 5 s; in process it
    /// would hang forever.
    func spinningFile(_ dir: String) throws -> String {
        var bytes = try FileIO.read(Fixtures.path("keras/genesis_tiny_weights.h5"))
        let signature = Array("GCOL".utf8)
        let at = try XCTUnwrap((0..<(bytes.count - 32)).first { Array(bytes[$0..<($0 + 4)]) == signature }, "a global heap collection")
        bytes.replaceSubrange((at + 16)..<(at + 18), with: [0, 0])          // heap object index 0
        bytes.replaceSubrange((at + 24)..<(at + 32), with: [UInt8](repeating: 0, count: 8))   // object size 0
        let path = dir + "/spinning.h5"
        try FileIO.write(bytes, to: path)
        return path
    }

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

    func testHiddenSubcommandIsNotInHelp() throws {
        let r = try runProcess(Fixtures.genesisBinary, ["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("inspect"))
        XCTAssertFalse(r.stdout.contains("__read-hdf5"))
    }
}
