import Foundation
import HDF5Sandbox
import Tensors
import TestSupport
import XCTest

/// The parent's handling of a reader that dies: by a signal, over its CPU, memory or wall-clock
/// limit, or trying to write. The child's test hook (`GENESIS_SANDBOX_TEST`) stands in for a
/// file that does it; a real crashing file is in Tests/CLITests/SandboxCLITests.swift.
final class SandboxLimitTests: XCTestCase {
    let file = Fixtures.path("keras/genesis_tiny.h5")

    func read(_ hook: String, limits: SandboxLimits? = nil) -> Error? {
        do {
            _ = try SandboxedKerasReader.read(file, archive: false, limits: limits, helper: .executable(Fixtures.genesisBinary), testHook: hook)
            return nil
        } catch { return error }
    }

    func assertUnsafe(_ hook: String, _ how: String, limits: SandboxLimits? = nil, line: UInt = #line) {
        let e = read(hook, limits: limits)
        guard case let .unsafe(f, found)? = e as? SandboxError else { return XCTFail("\(hook): \(String(describing: e))", line: line) }
        XCTAssertEqual(f, file, line: line)
        XCTAssertTrue(found.hasPrefix(how), "\(hook): \(found)", line: line)
        XCTAssertEqual("\(e!)", "libhdf5 could not read \(file) safely (\(found)): the file is damaged or hostile", line: line)
    }

    func testSignalDeathsBecomeOneLine() {
        assertUnsafe("segv", "killed by signal 11, SIGSEGV")
        assertUnsafe("abort", "killed by signal 6, SIGABRT")  // what glibc's "free(): invalid pointer" does
    }

    func testSpinningReaderIsStoppedByTheCPULimit() {
        assertUnsafe("hang", "killed by signal 24, SIGXCPU")
    }

    func testAllocatingReaderIsStoppedByTheAddressSpaceLimit() {
        // 64 MiB blocks until the 1 GiB + 4x cap refuses one: Swift's allocator then traps.
        let e = read("alloc")
        guard case let .unsafe(_, how)? = e as? SandboxError else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(how.hasPrefix("killed by signal"), how)
    }

    func testBlockedReaderIsStoppedByTheWallClock() {
        let start = Date()
        assertUnsafe("sleep", "stopped after its 1 s time limit", limits: SandboxLimits(addressSpaceBytes: 1 << 30, wallSeconds: 1))
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }

    func testReaderCannotWriteAFile() {
        assertUnsafe("write", "killed by signal 25, SIGXFSZ")
    }

    func testChildHasOnlyItsDescriptorsAndLimits() {
        let e = read("report")
        guard case let .rejected(_, message)? = e as? SandboxError else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(message.hasPrefix("sandbox test report: fds 0 1 2 3 4;"), message)
        let limits = SandboxLimits.forFile(size: try! FileIO.size(of: file), archive: false)
        let space = limits.addressSpaceBytes
        for limit in ["Max cpu time \(limits.cpuSeconds) \(limits.cpuSeconds + 1) seconds", "Max file size 0 0 bytes", "Max core file size 0 0 bytes", "Max open files 32 32 files",
                      "Max address space \(space) \(space) bytes"] {
            XCTAssertTrue(message.contains(limit), "\(limit) in \(message)")
        }
    }

    /// CPU: 2 s + 1 s per started 8 MiB (an archive: 4 MiB); wall clock 2 s more; the
    /// environment's override wins when it is a whole number of seconds in 1...86400.
    func testTheTimeLimitsGrowWithTheFile() {
        let none: [String: String] = [:]
        XCTAssertEqual(SandboxLimits.forFile(size: 60_000, archive: false, environment: none).cpuSeconds, 3)
        XCTAssertEqual(SandboxLimits.forFile(size: 60_000, archive: false, environment: none).wallSeconds, 5)
        XCTAssertEqual(SandboxLimits.forFile(size: 0, archive: false, environment: none).cpuSeconds, 2)
        XCTAssertEqual(SandboxLimits.forFile(size: 8 << 20, archive: false, environment: none).cpuSeconds, 3)
        XCTAssertEqual(SandboxLimits.forFile(size: (8 << 20) + 1, archive: false, environment: none).cpuSeconds, 4)
        XCTAssertEqual(SandboxLimits.forFile(size: 130_755_568, archive: false, environment: none).cpuSeconds, 18)   // the official .h5
        XCTAssertEqual(SandboxLimits.forFile(size: 130_755_568, archive: true, environment: none).cpuSeconds, 34)
        XCTAssertEqual(SandboxLimits.forFile(size: Int.max, archive: true, environment: none).cpuSeconds, 2 + Int.max / (4 << 20) + 1)
        let override = [SandboxLimits.cpuVariable: "60"]
        XCTAssertEqual(SandboxLimits.forFile(size: 60_000, archive: false, environment: override).cpuSeconds, 60)
        XCTAssertEqual(SandboxLimits.forFile(size: 60_000, archive: false, environment: override).wallSeconds, 62)
        for bad in ["0", "-5", "ten", "86401", ""] {
            XCTAssertEqual(SandboxLimits.forFile(size: 60_000, archive: false, environment: [SandboxLimits.cpuVariable: bad]).cpuSeconds, 3, bad)
        }
    }

    func testAHelperThatIsNotTheReaderIsReported() {
        do {
            _ = try SandboxedKerasReader.read(file, archive: false, helper: .executable("/bin/true"), testHook: nil)
            XCTFail("read through /bin/true")
        } catch let e as SandboxError {
            guard case .helper = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("/bin/true exited without answering as the reader"), "\(e)")
        } catch { XCTFail("\(error)") }
    }
}
