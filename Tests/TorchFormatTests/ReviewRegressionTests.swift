import Foundation
import Tensors
import TestSupport
import XCTest
@testable import TorchFormat

/// Files crafted by a review of the unpickler: each once crashed or hung the reader; each must
/// now be refused with an error that names the file.
final class ReviewRegressionTests: XCTestCase {
    func refused(_ pickle: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try Craft.zip(pickle, in: Fixtures.scratchDirectory())
        let start = Date()
        XCTAssertThrowsError(try TorchReader.read(path), file: file, line: line) { e in
            XCTAssertTrue("\(e)".contains(path), "\(e)", file: file, line: line)
            XCTAssertTrue("\(e)".contains(expected), "\(e)", file: file, line: line)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "took too long", file: file, line: line)
    }

    func testTupleOpsDoNotPopBelowTheMark() throws {
        // PROTO 2, NONE, NONE, MARK, TUPLE2, TUPLE, STOP: TUPLE2 may not take values under the MARK.
        try refused([0x80, 0x02, Op.none, Op.none, Op.mark, Op.tuple2, Op.tuple, Op.stop], "above the mark")
    }

    func testSharedTupleKeyIsRefusedNotWalkedExponentially() throws {
        // A tuple holding the previous one twice, 44 levels deep (2^44 leaves), used as a dict key.
        var body: [UInt8] = [Op.emptyDict, Op.emptyTuple, Op.binput, 0]
        for _ in 0..<44 { body += [Op.pop, Op.binget, 0, Op.binget, 0, Op.tuple2, Op.binput, 0] }
        body += [Op.none, Op.setitem]
        try refused(Craft.pickle(body), "hashable")
    }

    func testMinimumInt64InASizeTupleIsRefused() throws {
        // LONG1 of 8 bytes 00..00 80 = Int64.min as the only size of a tensor.
        var w = PickleWriter()
        w.orderedDict()
        w.beginItems(1)
        w.string("w")
        w.global("torch._utils", "_rebuild_tensor_v2")
        w.beginTuple(6)
        w.beginTuple(5)
        w.string("storage"); w.global("torch", "FloatStorage"); w.string("0"); w.string("cpu"); w.int(1)
        w.endTuple(5)
        w.op(Op.binpersid)
        w.int(0)
        for b: UInt8 in [Op.long1, 8, 0, 0, 0, 0, 0, 0, 0, 0x80, Op.tuple1] { w.op(b) }
        w.intTuple([1])
        w.bool(false)
        w.orderedDict()
        w.endTuple(6)
        w.op(Op.reduce)
        w.endItems(1)
        w.stop()
        let path = try Craft.zip(w.bytes, storages: [("0", Craft.floats([1]))], in: Fixtures.scratchDirectory())
        XCTAssertThrowsError(try TorchReader.read(path)) { e in XCTAssertTrue("\(e)".contains("2^40"), "\(e)") }
    }

    func testStrideZeroExpansionIsRefused() throws {
        // One stored float claimed as 2^26 values through stride 0.
        let p = Craft.tensorPickle(name: "w", key: "0", numel: 1, offset: 0, shape: [1 << 26], stride: [0], legacy: false)
        let path = try Craft.zip(p, storages: [("0", Craft.floats([1]))], in: Fixtures.scratchDirectory())
        XCTAssertThrowsError(try TorchReader.read(path)) { e in XCTAssertTrue("\(e)".contains("stride 0"), "\(e)") }
    }
}
