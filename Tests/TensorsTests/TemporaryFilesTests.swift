import Foundation
import Tensors
import XCTest

/// The registry of temporaries a signal removes (the signal itself: OutputGuardCLITests).
final class TemporaryFilesTests: XCTestCase {
    func testTemporaryPathsAreRegisteredUntilRenamedOrRemoved() throws {
        let dir = NSTemporaryDirectory()
        let a = FileIO.temporaryPath(beside: dir + "out.npy")
        let b = FileIO.temporaryPath(beside: dir + "out.nii.gz", suffix: ".nii.gz")
        XCTAssertTrue(a.hasPrefix(dir + ".out.npy.tmp-\(getpid())-"), a)
        XCTAssertTrue(b.hasSuffix(".nii.gz") && b.hasPrefix(dir + ".out.nii.gz.tmp-"), b)
        XCTAssertTrue(TemporaryFiles.registered.contains(a))
        XCTAssertTrue(TemporaryFiles.registered.contains(b))
        FileIO.renamedTemporary(a)
        XCTAssertFalse(TemporaryFiles.registered.contains(a))
        XCTAssertTrue(FileManager.default.createFile(atPath: b, contents: Data([1])))
        FileIO.removeTemporary(b)
        XCTAssertFalse(TemporaryFiles.registered.contains(b))
        XCTAssertFalse(FileIO.exists(b))
    }

    func testAtomicWritesLeaveNothingRegistered() throws {
        let path = NSTemporaryDirectory() + "tf-\(UUID().uuidString.prefix(8)).bin"
        defer { unlink(path) }
        let before = TemporaryFiles.registered.filter { $0.contains(".tf-") }
        try FileIO.write([1, 2, 3], to: path)
        XCTAssertEqual(try FileIO.read(path), [1, 2, 3])
        XCTAssertThrowsError(try FileIO.atomicWrite(to: path) { _ in throw FileError.cannotWrite(path: path, reason: "test") })
        XCTAssertEqual(TemporaryFiles.registered.filter { $0.contains(".tf-") }, before)
    }

    /// More temporaries than slots: slots whose file is gone are taken again.
    func testSlotsOfGoneFilesAreReused() {
        let dir = NSTemporaryDirectory()
        let paths = (0..<(TemporaryFiles.slotCount + 10)).map { _ in FileIO.temporaryPath(beside: dir + "many.npy") }   // never created
        XCTAssertTrue(TemporaryFiles.registered.contains(paths.last!))
        XCTAssertEqual(TemporaryFiles.registered.count, TemporaryFiles.slotCount)
        for p in paths { FileIO.renamedTemporary(p) }
        XCTAssertFalse(TemporaryFiles.registered.contains { $0.contains(".many.npy.tmp-") })
    }
}
