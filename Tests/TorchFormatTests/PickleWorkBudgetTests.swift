import Foundation
import Tensors
import TestSupport
@testable import TorchFormat
import ZIPFoundation
import XCTest

/// Issue 11: one 8 MiB key stored 200,000 times (SETITEM) took 528 s, then printed the whole
/// key in its error line. Pickle work (bytes copied, hashed and compared) now has a budget of
/// `PickleLimits.maxWorkBytes`, and values quoted in errors are cut to ~200 characters.
final class PickleWorkBudgetTests: XCTestCase {
    /// EMPTY_DICT; the key, memoized; then `times` x (BINGET key, NONE, SETITEM).
    static func repeatedKey(bytes: Int, times: Int) -> [UInt8] {
        var body: [UInt8] = [Op.emptyDict]
        body += Craft.unicode(String(repeating: "k", count: bytes)) + [Op.binput, 0, Op.none, Op.setitem]
        for _ in 1..<times { body += [Op.binget, 0, Op.none, Op.setitem] }
        return Craft.pickle(body)
    }

    func testOneBigKeySetManyTimesTripsTheWorkBudget() throws {
        // A 1 MiB key set 3,000 times: 6 GiB of hashing and comparing, from a 1 MiB file.
        let path = try Craft.zip(Self.repeatedKey(bytes: 1 << 20, times: 3000), in: Fixtures.scratchDirectory())
        XCTAssertThrowsError(try TorchReader.read(path)) { error in
            guard case let .limitExceeded(_, what, limit, found) = error as? TorchError else { return XCTFail("\(error)") }
            XCTAssertTrue(what.hasPrefix("pickle work (bytes copied, hashed and compared"), what)
            XCTAssertEqual(limit, PickleLimits.maxWorkBytes)
            XCTAssertGreaterThan(found, limit)
            XCTAssertLessThan("\(error)".count, 400, "one short line")
        }
    }

    func testTheBudgetCountsWorkNotFileBytes() throws {
        // The same pickle under a 64 MiB budget trips within 32 SETITEMs of a 1 MiB key
        // (2 MiB each: hashed, then compared with the equal key already there) ...
        let pickle = Self.repeatedKey(bytes: 1 << 20, times: 40)
        var vm = PickleVM(file: "p", data: pickle, work: PickleWork(cap: 64 << 20))
        XCTAssertThrowsError(try vm.run()) { error in
            guard case .limitExceeded = error as? TorchError else { return XCTFail("\(error)") }
        }
        // ... while the same key set 30 times fits: 1 MiB copied + 30 x 2 MiB < 64 MiB.
        var ok = PickleVM(file: "p", data: Self.repeatedKey(bytes: 1 << 20, times: 30), work: PickleWork(cap: 64 << 20))
        XCTAssertEqual(try ok.run().asDict?.entries.count, 1)
    }

    func testTheRealCheckpointsUseLittleOfTheBudget() throws {
        for fixture in ["torch/genesis_tiny.pt", "torch/genesis_tiny_legacy.pt"] {
            XCTAssertNoThrow(try TorchReader.read(Fixtures.path(fixture)), fixture)
        }
        // The zip fixture's pickle on its own, with the work it costs measured.
        let (_, data) = try Self.pickleRecord(Fixtures.path("torch/genesis_tiny.pt"))
        let work = PickleWork()
        var vm = PickleVM(file: "p", data: data, work: work)
        vm.persistentLoad = StorageRegistry(file: "p", legacy: false).load
        _ = try vm.run()
        XCTAssertLessThan(work.done, 16 * data.count + (1 << 20), "work \(work.done) for a pickle of \(data.count) bytes")
    }

    func testAnEightMebibyteKeyIsCutInTheErrorLine() throws {
        // One SETITEM of an 8 MiB key to None: the state dict's "expected a tensor" names the key.
        let path = try Craft.zip(Self.repeatedKey(bytes: 8 << 20, times: 1), in: Fixtures.scratchDirectory())
        XCTAssertThrowsError(try TorchReader.read(path)) { error in
            let line = "\(error)"
            XCTAssertLessThan(line.count, 600, String(line.prefix(600)))
            XCTAssertTrue(line.contains("(8388608 bytes, cut to 200 characters)"), String(line.prefix(600)))
        }
    }

    static func pickleRecord(_ path: String) throws -> (String, [UInt8]) {
        let pkl = try XCTUnwrap(try ZipCentral.names(path).first { $0.hasSuffix("/data.pkl") })
        return (pkl, try ZipCentral.bytes(path, member: pkl))
    }
}

/// Reads one member of a torch zip through TorchZip's own checked extraction.
enum ZipCentral {
    static func names(_ path: String) throws -> [String] {
        let a = try archive(path)
        return a.map(\.path)
    }

    static func bytes(_ path: String, member: String) throws -> [UInt8] {
        let a = try archive(path)
        let e = try XCTUnwrap(a[member])
        return try TorchZip.member(a, e, cap: TorchZip.maxPickleBytes, file: path)
    }

    static func archive(_ path: String) throws -> Archive {
        try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    }
}
