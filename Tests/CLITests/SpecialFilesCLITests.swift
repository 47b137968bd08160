import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Inputs and outputs that are not what they claim (issue 11 item 3): a FIFO given as input is
/// refused before anything blocks on it; an output path that is a FIFO or a directory is refused
/// and left as it was; a symlink as output is written through to its target (as `cp` does); and
/// control characters from names reach the terminal escaped.
final class SpecialFilesCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    func testAFIFOInputIsRefusedAtOnce() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(mkfifo(dir + "/in.h5", 0o644), 0)
        let start = Date()
        for command in [["inspect", dir + "/in.h5"], ["verify", dir + "/in.h5"], ["convert", dir + "/in.h5", dir + "/o.pt"]] {
            let r = try genesis(command)
            XCTAssertEqual(r.status, 2, command.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains("is a FIFO, not a regular file"), r.stderr)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "nothing blocked on the FIFO")
    }

    func testSpecialOutputsAreRefusedAndSymlinksWrittenThrough() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(mkfifo(dir + "/out.npy", 0o644), 0)
        let fifo = try genesis(["cubes", "--count", "1", "--shape", "8,8,8", "--out", dir + "/out.npy"])
        XCTAssertEqual(fifo.status, 2)
        XCTAssertTrue(fifo.stderr.contains("is a FIFO, not a regular file"), fifo.stderr)
        var st = stat()
        XCTAssertEqual(lstat(dir + "/out.npy", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO, "the FIFO is still a FIFO")
        try FileManager.default.createDirectory(atPath: dir + "/d.pt", withIntermediateDirectories: false)
        let d = try genesis(["convert", Fixtures.path("keras/genesis_tiny.h5"), dir + "/d.pt"])
        XCTAssertEqual(d.status, 2)
        XCTAssertTrue(d.stderr.contains("is a directory"), d.stderr)

        // A symlink: the target gets the bytes, the link stays a link.
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.npy", withDestinationPath: "real.npy")
        let l = try genesis(["cubes", "--count", "1", "--shape", "8,8,8", "--out", dir + "/link.npy"])
        XCTAssertEqual(l.status, 0, l.stderr)
        XCTAssertEqual(lstat(dir + "/link.npy", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK)
        XCTAssertGreaterThan((try? FileManager.default.attributesOfItem(atPath: dir + "/real.npy")[.size] as? Int) ?? 0, 2048)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }

    func testControlCharactersInNamesAreEscaped() throws {
        let dir = Fixtures.scratchDirectory()
        let name = dir + "/bad\rname\u{1b}[31m.h5"
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: name))
        let r = try genesis(["inspect", name])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("bad\\rname\\x1b[31m.h5"), r.stderr)
        XCTAssertFalse(r.stderr.contains("\r") || r.stderr.contains("\u{1b}"), "no raw control character reaches the terminal")
    }
}
