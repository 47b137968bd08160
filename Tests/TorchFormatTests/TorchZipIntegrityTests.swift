import Tensors
import TestSupport
import XCTest
@testable import TorchFormat

/// A flipped byte inside a stored tensor is caught by the zip CRC-32 (checked with zlib).
final class TorchZipIntegrityTests: XCTestCase {
    func testCorruptedStorageFailsTheCRCCheck() throws {
        let original = try FileIO.read(Fixtures.path("formats/sd.pt"))
        let clean = try TorchReader.read(Fixtures.path("formats/sd.pt"))
        // Locate the first storage's bytes in the file (stored, uncompressed) and flip one bit.
        let first = try XCTUnwrap(clean.stateDict.entries.first { $0.tensor.bytes.count >= 16 }?.tensor.bytes)
        let needle = Array(first.prefix(16))
        let at = try XCTUnwrap((0...(original.count - 16)).first { Array(original[$0..<($0 + 16)]) == needle })
        var bad = original
        bad[at + 3] ^= 0x10
        let path = Fixtures.scratchDirectory() + "/flipped.pt"
        try FileIO.write(bad, to: path)
        XCTAssertThrowsError(try TorchReader.read(path)) { e in
            XCTAssertTrue("\(e)".contains("CRC-32"), "\(e)")
            XCTAssertTrue("\(e)".contains(path), "\(e)")
        }
    }
}
