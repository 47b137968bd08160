import Foundation
import GenesisIO
import HDF5Sandbox
import KerasFormat
import Tensors
import TestSupport
import XCTest

/// The ways the sandbox starts its reader (`SandboxHelper`): the package's `genesis-hdf5-helper`,
/// the `genesis` tool, a fork of this process, and the automatic choice among them. Each reads
/// the fixtures to the same bytes as an in-process read, refuses the files that crash or spin
/// libhdf5 in one line while this process goes on, and applies the same limits.
final class SandboxHelperTests: XCTestCase {
    /// The `genesis-hdf5-helper` built beside the test bundle (and beside `genesis`).
    static var helperBinary: String {
        URL(fileURLWithPath: Fixtures.genesisBinary).deletingLastPathComponent().appendingPathComponent(SandboxHelper.executableName).path
    }

    var explicitHelpers: [SandboxHelper] { [.executable(Self.helperBinary), .fork] }

    func read(_ path: String, _ helper: SandboxHelper, hook: String? = nil, limits: SandboxLimits? = nil) -> Result<KerasModelFile, Error> {
        Result { try SandboxedKerasReader.read(path, archive: path.hasSuffix(".keras"), limits: limits, helper: helper, testHook: hook) }
    }

    /// Every Keras fixture of `SandboxFixtureTests` through the helper binary and through a fork:
    /// the same records and the same bytes in every tensor as `KerasReader` in this process, or
    /// the same refusal.
    func testEveryFixtureReadsBitEqualThroughTheHelperAndAFork() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.helperBinary), "\(Self.helperBinary) is built by swift build")
        var compared: [String: Int] = [:]
        for fixture in SandboxFixtureTests.fixtures {
            let path = Fixtures.path(fixture)
            let direct = Result { try KerasReader.read(path, asArchive: path.hasSuffix(".keras")) }
            for helper in explicitHelpers {
                switch (direct, read(path, helper)) {
                case let (.success(a), .success(b)):
                    XCTAssertEqual(SandboxFixtureTests.describe(a), SandboxFixtureTests.describe(b), "\(fixture) via \(helper)")
                    let (ta, tb) = (SandboxFixtureTests.allTensors(a), SandboxFixtureTests.allTensors(b))
                    XCTAssertEqual(ta.count, tb.count)
                    for (x, y) in zip(ta, tb) where x.bytes != y.bytes || x.shape != y.shape || x.dtype != y.dtype {
                        XCTFail("\(fixture) via \(helper): a tensor differs from the in-process read")
                    }
                    compared["\(helper)", default: 0] += ta.count
                case let (.failure(a), .failure(b)):
                    XCTAssertEqual("\(a)", "\(b)", "\(fixture) via \(helper)")
                case let (a, b):
                    XCTFail("\(fixture): in process \(a), via \(helper) \(b)")
                }
            }
        }
        for helper in explicitHelpers { XCTAssertGreaterThan(compared["\(helper)"] ?? 0, 500, "\(helper)") }
    }

    /// The defaults a library user meets: `HDF5Isolation.standard` is the sandbox with
    /// `.automatic` (which, here, finds the helper beside the test bundle), and `ModelLoader`
    /// loads through each helper the same tensors as in process.
    func testTheDefaultsAndModelLoaderReadTheSameTensors() throws {
        if ProcessInfo.processInfo.environment[HDF5Isolation.inProcessVariable] != "1" {
            XCTAssertEqual(HDF5Isolation.standard, .sandboxed(.automatic))
        }
        let expected: SandboxHelper = ProcessInfo.processInfo.environment[SandboxHelper.variable].flatMap { $0.isEmpty ? nil : .executable($0) }
            ?? .executable(Self.helperBinary)
        XCTAssertEqual(SandboxHelper.automatic.resolved(), expected)

        for fixture in ["keras/genesis_tiny.h5", "keras3/genesis_tiny.keras"] {
            let path = Fixtures.path(fixture)
            let direct = try ModelLoader.load(path, hdf5: .inProcess(.forcedByEnvironment))
            for helper: SandboxHelper in [.automatic, .fork, .executable(Self.helperBinary), .executable(Fixtures.genesisBinary)] {
                let boxed = try ModelLoader.load(path, hdf5: .sandboxed(helper))
                XCTAssertEqual(boxed.mapped.store.names, direct.mapped.store.names, "\(fixture) via \(helper)")
                for name in direct.mapped.store.names {
                    XCTAssertEqual(boxed.mapped.store[name]?.bytes, direct.mapped.store[name]?.bytes, "\(fixture) \(name) via \(helper)")
                }
            }
        }
    }

    /// libhdf5 spinning (a global heap object of size 0) is stopped by the CPU limit, on every
    /// path, in one line naming the file; this process then reads the next file as before.
    func testASpinningFileIsRefusedInOneLineByEveryHelper() throws {
        let path = try HostileHDF5Files.spinning(in: Fixtures.scratchDirectory())
        for helper in explicitHelpers {
            let start = Date()
            guard case let .failure(e) = read(path, helper), case let .unsafe(file, how)? = e as? SandboxError else {
                return XCTFail("\(helper): \(read(path, helper))")
            }
            let seconds = Date().timeIntervalSince(start)
            XCTAssertEqual(file, path)
            // The CPU limit (3 s for this 1.1 MB file) stops it; on a machine too busy to give the
            // child 3 s of CPU in 5 s, the wall clock does.
            XCTAssertTrue(how == "killed by signal 24, SIGXCPU: over its 3 s CPU limit" || how == "stopped after its 5 s time limit", "\(helper): \(how)")
            XCTAssertEqual("\(e)", "libhdf5 could not read \(path) safely (\(how)): the file is damaged or hostile")
            XCTAssertLessThan(seconds, 10, "\(helper)")
            assertStillReads(helper)
        }
    }

    /// A file that kills libhdf5 1.10.8 (SIGSEGV) kills only the child, on every path.
    func testACrashingFileIsRefusedInOneLineByEveryHelper() throws {
        let path = try HostileHDF5Files.crashing(in: Fixtures.scratchDirectory())
        for helper in explicitHelpers {
            guard case let .failure(e) = read(path, helper) else { return XCTFail("\(helper) read the crashing file") }
            XCTAssertEqual("\(e)", "libhdf5 could not read \(path) safely (killed by signal 11, SIGSEGV): the file is damaged or hostile", "\(helper)")
            assertStillReads(helper)
        }
    }

    func assertStillReads(_ helper: SandboxHelper, line: UInt = #line) {
        let path = Fixtures.path("keras/genesis_tiny.h5")
        guard case let .success(m) = read(path, helper) else { return XCTFail("\(helper): \(read(path, helper))", line: line) }
        XCTAssertGreaterThan(m.layers.count, 10, line: line)
    }

    /// The forked child meets every limit the spawned helper meets (the test hooks of
    /// `SandboxLimitTests`, there through `genesis`).
    func testTheForkedReaderHasTheSameLimits() {
        let file = Fixtures.path("keras/genesis_tiny.h5")
        func unsafe(_ hook: String, limits: SandboxLimits? = nil) -> String {
            guard case let .failure(e) = read(file, .fork, hook: hook, limits: limits), case let .unsafe(f, how)? = e as? SandboxError else {
                XCTFail("\(hook): \(read(file, .fork, hook: hook, limits: limits))")
                return ""
            }
            XCTAssertEqual(f, file)
            XCTAssertEqual("\(e)", "libhdf5 could not read \(file) safely (\(how)): the file is damaged or hostile")
            return how
        }
        XCTAssertEqual(unsafe("segv"), "killed by signal 11, SIGSEGV")
        XCTAssertEqual(unsafe("abort"), "killed by signal 6, SIGABRT")
        // A spin meets the CPU limit, or on a busy machine (less CPU than wall time) the wall clock first.
        let hang = unsafe("hang")
        XCTAssertTrue(hang.hasPrefix("killed by signal 24, SIGXCPU") || hang.hasPrefix("stopped after its"), hang)
        XCTAssertTrue(unsafe("alloc").hasPrefix("killed by signal"))
        XCTAssertEqual(unsafe("write"), "killed by signal 25, SIGXFSZ: it tried to write a file")
        XCTAssertEqual(unsafe("sleep", limits: SandboxLimits(addressSpaceBytes: 1 << 30, wallSeconds: 1)), "stopped after its 1 s time limit")

        // Descriptors 0-4 only (this process has many more open), and the limits; the address
        // space counts on top of what this process had mapped.
        guard case let .failure(e) = read(file, .fork, hook: "report"), case let .rejected(_, message)? = e as? SandboxError else {
            return XCTFail("\(read(file, .fork, hook: "report"))")
        }
        XCTAssertTrue(message.hasPrefix("sandbox test report: fds 0 1 2 3 4;"), message)
        let limits = SandboxLimits.forFile(size: try! FileIO.size(of: file), archive: false)
        for limit in ["Max cpu time \(limits.cpuSeconds) \(limits.cpuSeconds + 1) seconds", "Max file size 0 0 bytes", "Max core file size 0 0 bytes",
                      "Max open files 32 32 files"] {
            XCTAssertTrue(message.contains(limit), "\(limit) in \(message)")
        }
        let space = message.split(separator: ";").first { $0.contains("Max address space") }?.split(separator: " ").compactMap { Int($0) }
        XCTAssertEqual(space?.count, 2, message)
        XCTAssertGreaterThan(space?.first ?? 0, limits.addressSpaceBytes, message)
        XCTAssertEqual(space?.first, space?.last)
    }

    /// `.automatic`: `GENESIS_HDF5_HELPER` first (a set, non-empty value, used as it is), then
    /// `genesis-hdf5-helper` in the caller's directories in order (a regular executable file
    /// only), then a fork.
    func testAutomaticLooksInTheEnvironmentThenBesideTheCallerThenForks() throws {
        let scratch = Fixtures.scratchDirectory()
        let empty = scratch + "/empty", withHelper = scratch + "/with-helper", notExecutable = scratch + "/not-executable", directory = scratch + "/directory"
        let fm = FileManager.default
        for dir in [empty, withHelper, notExecutable, directory] { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let helper = withHelper + "/" + SandboxHelper.executableName
        try fm.copyItem(atPath: Self.helperBinary, toPath: helper)
        XCTAssertTrue(fm.createFile(atPath: notExecutable + "/" + SandboxHelper.executableName, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o644]))
        try fm.createDirectory(atPath: directory + "/" + SandboxHelper.executableName, withIntermediateDirectories: false)

        let auto = SandboxHelper.automatic
        XCTAssertEqual(auto.resolved(environment: [SandboxHelper.variable: "/some/genesis"], callerDirectories: [withHelper]), .executable("/some/genesis"))
        XCTAssertEqual(auto.resolved(environment: [SandboxHelper.variable: ""], callerDirectories: [withHelper]), .executable(helper))
        XCTAssertEqual(auto.resolved(environment: [:], callerDirectories: [empty, notExecutable, directory, withHelper]), .executable(helper))
        XCTAssertEqual(auto.resolved(environment: [:], callerDirectories: [empty, notExecutable, directory]), .fork)
        XCTAssertEqual(auto.resolved(environment: [:], callerDirectories: []), .fork)
        // A named helper is never replaced.
        XCTAssertEqual(SandboxHelper.fork.resolved(environment: [SandboxHelper.variable: "/some/genesis"], callerDirectories: [withHelper]), .fork)
        XCTAssertEqual(SandboxHelper.executable("/x").resolved(environment: [:], callerDirectories: [withHelper]), .executable("/x"))

        // The copied helper serves reads from its own directory.
        XCTAssertNoThrow(try read(Fixtures.path("keras/genesis_tiny.h5"), .executable(helper)).get())
        // This process: its own directory first (the test bundle's, where swift build put the helper).
        XCTAssertEqual(SandboxHelper.callerDirectories().first, URL(fileURLWithPath: Self.helperBinary).deletingLastPathComponent().path)
    }

    /// A helper that cannot start, or is not the reader, is one line naming the file and the helper.
    func testAHelperThatCannotServeIsOneLine() throws {
        let file = Fixtures.path("keras/genesis_tiny.h5")
        guard case let .failure(e) = read(file, .executable("/nonexistent/genesis-hdf5-helper")) else { return XCTFail("read through nothing") }
        XCTAssertEqual("\(e)", "\(file): cannot start the sandboxed HDF5 reader: cannot start /nonexistent/genesis-hdf5-helper: No such file or directory")
        // Run by hand, the helper says what it is and exits 2.
        let r = try runProcess(Self.helperBinary, [])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("genesis-hdf5-helper: the sandboxed HDF5 reader of the genesis library"), r.stderr)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr)
    }
}
