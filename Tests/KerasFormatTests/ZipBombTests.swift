import Foundation
import Tensors
import TestSupport
import XCTest
import ZIPFoundation
@testable import KerasFormat

/// A `.keras` member whose zip header declares a small size but whose deflate stream inflates
/// far beyond it (issue 11: such a member of 3 GiB cost 3.14 GB before "larger than declared").
/// Extraction now stops at the declared size: the bomb costs one 1 MiB chunk, not its size.
final class ZipBombTests: XCTestCase {
    /// config.json and metadata.json of the real Keras 3 fixture, and a weights member given.
    static func archive(weights: HostileFiles.ZipMember) throws -> [UInt8] {
        let real = try Archive(url: URL(fileURLWithPath: Fixtures.path("keras3/genesis_tiny.keras")), accessMode: .read)
        func bytes(_ name: String) throws -> [UInt8] {
            var out: [UInt8] = []
            _ = try real.extract(try XCTUnwrap(real[name])) { out += $0 }
            return out
        }
        return HostileFiles.zip([.stored("metadata.json", try bytes("metadata.json")), .stored("config.json", try bytes("config.json")), weights])
    }

    func testAMemberInflatingPastItsDeclaredSizeStopsThere() throws {
        // 256 MiB of zeros in a 1.7 MB deflate stream, declared as 4096 bytes.
        let bomb = HostileFiles.zeroBomb(inflatingTo: 256 << 20)
        XCTAssertLessThan(bomb.count, 2 << 20)
        let path = Fixtures.scratchDirectory() + "/bomb.keras"
        try FileIO.write(try Self.archive(weights: .deflated("model.weights.h5", stream: bomb, declaredSize: 4096)), to: path)
        let before = Self.peakResidentBytes()
        XCTAssertThrowsError(try Keras3Reader.readArchive(path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("model.weights.h5: inflates past the 4096 bytes its zip header declares"), text)
        }
        // The process's peak may already be higher than anything this read adds; when it is
        // not, the read must have added far less than the bomb's 256 MiB.
        XCTAssertLessThan(Self.peakResidentBytes() - before, 64 << 20, "the bomb was inflated into memory")
    }

    func testAMemberShorterThanDeclaredAndOneOverTheCapAreRefused() throws {
        let dir = Fixtures.scratchDirectory()
        // Declares 10,000 bytes, inflates to 5,000.
        let short = dir + "/short.keras"
        try FileIO.write(try Self.archive(weights: .deflated("model.weights.h5", stream: HostileFiles.zeroBomb(inflatingTo: 5000), declaredSize: 10_000)), to: short)
        XCTAssertThrowsError(try Keras3Reader.readArchive(short)) { error in
            XCTAssertTrue("\(error)".contains("inflates to 5000 bytes, its zip header declares 10000"), "\(error)")
        }
        // Declares 4 GiB - 1 in an archive of a few kilobytes: over the cap of 64 MiB + 16x the
        // archive, refused before a byte is inflated.
        let huge = dir + "/huge.keras"
        try FileIO.write(try Self.archive(weights: .deflated("model.weights.h5", stream: HostileFiles.zeroBomb(inflatingTo: 5000), declaredSize: .max)), to: huge)
        XCTAssertThrowsError(try Keras3Reader.readArchive(huge)) { error in
            XCTAssertTrue("\(error)".contains("declares 4294967295 bytes, more than the cap of"), "\(error)")
        }
    }

    func testTheZeroBombInflatesToExactlyWhatItSays() throws {
        // The generator itself, checked with ZIPFoundation's (zlib's) inflater and a true size.
        for count in [1, 257, 258, 259, 100_000] {
            let path = Fixtures.scratchDirectory() + "/z\(count).zip"
            var m = HostileFiles.ZipMember.deflated("z", stream: HostileFiles.zeroBomb(inflatingTo: count), declaredSize: UInt32(count))
            m.crc = HostileFiles.crc32([UInt8](repeating: 0, count: count))
            try FileIO.write(HostileFiles.zip([m]), to: path)
            let a = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
            var out: [UInt8] = []
            _ = try a.extract(try XCTUnwrap(a["z"])) { out += $0 }
            XCTAssertEqual(out, [UInt8](repeating: 0, count: count))
        }
    }

    static func peakResidentBytes() -> Int {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return u.ru_maxrss * 1024
    }
}
