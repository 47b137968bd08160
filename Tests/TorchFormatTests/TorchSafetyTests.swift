import Foundation
import Tensors
import TestSupport
@testable import TorchFormat
import XCTest

/// Hostile and damaged files: refused with an error that names the global or the problem,
/// and never a side effect.
final class TorchSafetyTests: XCTestCase {
    /// Each code-execution pickle would create `marker` if anything ran it.
    func testCodeExecutionGlobalsAreRefusedByName() throws {
        let dir = Fixtures.scratchDirectory()
        let marker = dir + "/pwned"
        let cases: [(String, String, [UInt8])] = [
            ("os", "system", Craft.call("os", "system", "touch \(marker)")),
            ("posix", "system", Craft.call("posix", "system", "touch \(marker)")),
            ("builtins", "eval", Craft.call("builtins", "eval", "open('\(marker)', 'w')")),
            ("builtins", "exec", Craft.call("builtins", "exec", "open('\(marker)', 'w')")),
            ("subprocess", "call", Craft.call("subprocess", "call", "touch")),
            // STACK_GLOBAL (protocol 4) spells the same thing from two strings.
            ("os", "system", Craft.pickle(Craft.unicode("os") + Craft.unicode("system") + [Op.stackGlobal]
                                          + Craft.unicode("touch \(marker)") + [Op.tuple1, Op.reduce])),
        ]
        for (i, (module, name, pickle)) in cases.enumerated() {
            // As data.pkl of a zip, and as the main pickle of a legacy file.
            let zipped = try Craft.zip(pickle, in: dir, name: "evil\(i).pt")
            let legacyPath = dir + "/evil\(i)_legacy.pt"
            try Craft.write(Craft.legacy(main: pickle, keys: [], payload: []), to: legacyPath)
            for path in [zipped, legacyPath] {
                let e = assertTorchError(try TorchReader.read(path), path)
                XCTAssertEqual(e, .refusedGlobal(file: path, name: "\(module).\(name)"))
                XCTAssertTrue(e?.description.contains("refused global \(module).\(name)") ?? false, "\(String(describing: e))")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a refused pickle had a side effect")
    }

    func testReduceOnlyOnAllowedCallables() throws {
        let dir = Fixtures.scratchDirectory()
        // An allowed global that is not a callable: a storage class.
        let storageCall = Craft.pickle(Craft.global("torch", "FloatStorage") + [Op.emptyTuple, Op.reduce])
        let p1 = try Craft.zip(storageCall, in: dir, name: "a.pt")
        XCTAssertEqual(assertTorchError(try TorchReader.read(p1)), .refusedCall(file: p1, callable: "torch.FloatStorage", offset: 23))
        // A string where the callable should be.
        let stringCall = Craft.pickle(Craft.unicode("os.system") + [Op.emptyTuple, Op.reduce])
        let p2 = try Craft.zip(stringCall, in: dir, name: "b.pt")
        let e2 = assertTorchError(try TorchReader.read(p2))
        XCTAssertTrue(e2?.description.contains("refused call of str 'os.system'") ?? false, "\(String(describing: e2))")
        // NEWOBJ is never a way in, even on an allowed class.
        let newobj = Craft.pickle(Craft.global("collections", "OrderedDict") + [Op.emptyTuple, Op.newobj])
        let p3 = try Craft.zip(newobj, in: dir, name: "c.pt")
        XCTAssertEqual(assertTorchError(try TorchReader.read(p3)), .refusedCall(file: p3, callable: "collections.OrderedDict", offset: 28))
        // BUILD (setstate) on a tensor is refused.
        let opcodes = [UInt8](Craft.tensorPickle(name: "x", key: "0", numel: 1, offset: 0, shape: [1], stride: [1], legacy: false).dropLast(2))
        let build = opcodes + [Op.emptyDict, Op.build, Op.setitems, Op.stop]
        let p4 = try Craft.zip(build, storages: [("0", Craft.floats([1]))], in: dir, name: "d.pt")
        XCTAssertTrue(assertTorchError(try TorchReader.read(p4))?.description.contains("BUILD on tensor") ?? false)
        // A torch storage class we have no DType for is reported as such (still never imported).
        let complex = Craft.pickle(Craft.global("torch", "ComplexFloatStorage"))
        let p5 = try Craft.zip(complex, in: dir, name: "complex.pt")
        XCTAssertTrue(assertTorchError(try TorchReader.read(p5))?.description.contains("unsupported storage class torch.ComplexFloatStorage") ?? false)
        // Opcodes outside the subset (INST, OBJ, EXT1) are refused by value.
        for (op, name) in [(UInt8(0x69), "inst.pt"), (0x6F, "obj.pt"), (0x82, "ext.pt")] {
            let p = try Craft.zip(Craft.pickle([Op.mark, op]), in: dir, name: name)
            XCTAssertEqual(assertTorchError(try TorchReader.read(p)), .unsupportedOpcode(file: p, opcode: op, offset: 3))
        }
    }

    func testHugeLengthsIndicesAndDepthAreCappedBeforeAllocation() throws {
        let dir = Fixtures.scratchDirectory()
        let hugeMemo = Craft.pickle([Op.none, Op.longBinput, 0xFF, 0xFF, 0xFF, 0xFF])
        let p1 = try Craft.zip(hugeMemo, in: dir, name: "memo.pt")
        XCTAssertEqual(assertTorchError(try TorchReader.read(p1)),
                       .limitExceeded(file: p1, what: "memo index", limit: PickleLimits.maxMemoIndex, found: 0xFFFF_FFFF))
        let undefined = Craft.pickle([Op.longBinget, 0x00, 0x00, 0x10, 0x00])
        let p2 = try Craft.zip(undefined, in: dir, name: "get.pt")
        XCTAssertTrue(assertTorchError(try TorchReader.read(p2))?.description.contains("undefined index 1048576") ?? false)
        let hugeString = Craft.pickle([Op.binunicode, 0xF0, 0xFF, 0xFF, 0xFF, 0x41])
        let p3 = try Craft.zip(hugeString, in: dir, name: "str.pt")
        XCTAssertEqual(assertTorchError(try TorchReader.read(p3)),
                       .limitExceeded(file: p3, what: "BINUNICODE length", limit: PickleLimits.maxStringBytes, found: 0xFFFF_FFF0))
        let shortString = Craft.pickle([Op.binunicode, 0x00, 0x10, 0x00, 0x00, 0x41])
        let p4 = try Craft.zip(shortString, in: dir, name: "short.pt")
        XCTAssertEqual(assertTorchError(try TorchReader.read(p4)),
                       .truncated(file: p4, location: "pickle BINUNICODE at offset 7", needed: 4096, available: 2))
        let deep = Craft.pickle([Op.none] + [UInt8](repeating: Op.tuple1, count: 5000))
        let p5 = try Craft.zip(deep, in: dir, name: "deep.pt")
        XCTAssertEqual(assertTorchError(try TorchReader.read(p5)),
                       .limitExceeded(file: p5, what: "nesting depth", limit: PickleLimits.maxDepth, found: PickleLimits.maxDepth + 1))
        let marks = Craft.pickle([UInt8](repeating: Op.mark, count: PickleLimits.maxMarks + 1))
        let p6 = try Craft.zip(marks, in: dir, name: "marks.pt")
        XCTAssertTrue(assertTorchError(try TorchReader.read(p6))?.description.contains("open marks") ?? false)
        // A list appended to itself (a cycle) is refused.
        let cycle = Craft.pickle([Op.emptyList, Op.binput, 0, Op.binget, 0, Op.append])
        let p7 = try Craft.zip(cycle, in: dir, name: "cycle.pt")
        XCTAssertTrue(assertTorchError(try TorchReader.read(p7))?.description.contains("appended to itself") ?? false)
    }

    func testTruncatedFilesFailCleanly() throws {
        let dir = Fixtures.scratchDirectory()
        for fixture in ["torch/genesis_tiny.pt", "torch/genesis_tiny_legacy.pt", "formats/sd_legacy.pt", "formats/sd.pt"] {
            let bytes = try FileIO.read(Fixtures.path(fixture))
            for cut in [0, 3, 15, 40, 200, 1000, bytes.count / 2, bytes.count - 100, bytes.count - 1] where cut < bytes.count {
                let path = dir + "/cut.pt"
                try Craft.write(Array(bytes[..<cut]), to: path)
                XCTAssertNotNil(assertTorchError(try TorchReader.read(path), "\(fixture) cut at \(cut)"))
            }
        }
    }

    func testLegacyCountsAndOffsetsAreChecked() throws {
        let dir = Fixtures.scratchDirectory()
        // A storage that claims 2^28 floats (1 GiB) in a file of a few hundred bytes.
        let big = 1 << 28
        let main = Craft.tensorPickle(name: "w", key: "1", numel: big, offset: 0, shape: [big], stride: [1], legacy: true)
        let path = dir + "/big.pt"
        try Craft.write(Craft.legacy(main: main, keys: ["1"], payload: [(Int64(big), Craft.floats([1, 2]))]), to: path)
        let e = assertTorchError(try TorchReader.read(path))
        guard case let .truncated(_, location, needed, available) = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(location.hasPrefix("storage 1"), true)
        XCTAssertEqual(needed, big * 4)
        XCTAssertEqual(available, 8)

        // The fixture with its first element count rewritten to a huge value.
        var bytes = try FileIO.read(Fixtures.path("formats/sd_legacy.pt"))
        for i in 0..<8 { bytes[1341 + i] = i == 6 ? 0x7F : 0 }
        let p2 = dir + "/count.pt"
        try Craft.write(bytes, to: p2)
        let e2 = assertTorchError(try TorchReader.read(p2))
        XCTAssertTrue(e2?.description.contains("expected 2 elements (persistent id), found 35747322042253312 elements") ?? false, "\(String(describing: e2))")

        // Trailing bytes after the last storage.
        let good = try FileIO.read(Fixtures.path("formats/sd_legacy.pt"))
        let p3 = dir + "/trailing.pt"
        try Craft.write(good + [0, 0, 0], to: p3)
        XCTAssertTrue(assertTorchError(try TorchReader.read(p3))?.description.contains("3 trailing bytes") ?? false)
    }

    func testStorageRecordsAndLayoutsAreChecked() throws {
        let dir = Fixtures.scratchDirectory()
        func zip(_ shape: [Int], _ stride: [Int], offset: Int, numel: Int, bytes: [UInt8]?) throws -> String {
            let p = Craft.tensorPickle(name: "t", key: "0", numel: numel, offset: offset, shape: shape, stride: stride, legacy: false)
            return try Craft.zip(p, storages: bytes.map { [("0", $0)] } ?? [], in: dir, name: "t\(UUID().uuidString.prefix(6)).pt")
        }
        let six = Craft.floats([0, 1, 2, 3, 4, 5])
        // Missing record, and a record of the wrong size.
        XCTAssertTrue(assertTorchError(try TorchReader.read(try zip([6], [1], offset: 0, numel: 6, bytes: nil)))?
            .description.contains("storage 0: expected a record archive/data/0") ?? false)
        XCTAssertTrue(assertTorchError(try TorchReader.read(try zip([6], [1], offset: 0, numel: 7, bytes: six)))?
            .description.contains("expected 28 bytes, found 24 bytes") ?? false)
        // A view reaching past the storage.
        XCTAssertTrue(assertTorchError(try TorchReader.read(try zip([4], [1], offset: 3, numel: 6, bytes: six)))?
            .description.contains("reach element 6, the storage '0' has 6") ?? false)
        // Two records of one name: refused (readers disagree on which one counts).
        let twice = try Craft.zip(Craft.tensorPickle(name: "t", key: "0", numel: 6, offset: 0, shape: [6], stride: [1], legacy: false),
                                  storages: [("0", [UInt8](repeating: 0xFF, count: 24)), ("0", six)], in: dir, name: "twice.pt")
        XCTAssertEqual(assertTorchError(try TorchReader.read(twice)),
                       .malformed(file: twice, key: "archive/data/0", expected: "one zip entry per name", found: "the name twice"))
        // A contiguous view with an offset copies the right bytes.
        let view = try TorchReader.read(try zip([2, 2], [2, 1], offset: 2, numel: 6, bytes: six))
        XCTAssertEqual(view.stateDict["t"]?.floats(), [2, 3, 4, 5])
        // A transposed view (stride (1, 2)) is gathered element by element.
        let transposed = try TorchReader.read(try zip([2, 3], [1, 2], offset: 0, numel: 6, bytes: six))
        XCTAssertEqual(transposed.stateDict["t"]?.floats(), [0, 2, 4, 1, 3, 5])
        XCTAssertEqual(transposed.stateDict["t"]?.shape, [2, 3])
    }

    func testNotTorchFiles() throws {
        let dir = Fixtures.scratchDirectory()
        let path = dir + "/x.pt"
        try Craft.write(Array("hello world, not a checkpoint".utf8), to: path)
        guard case .notTorch = assertTorchError(try TorchReader.read(path)) else { return XCTFail("expected notTorch") }
        XCTAssertNil(TorchReader.sniff(path))
        guard case .io = assertTorchError(try TorchReader.read(dir + "/absent.pt")) else { return XCTFail("expected io") }
        // A zip without the torch records.
        let p2 = try Craft.zip(Craft.pickle([Op.none]), in: dir, name: "none.pt")
        XCTAssertEqual(assertTorchError(try TorchReader.read(p2)),
                       .malformed(file: p2, key: "top level", expected: "a dict or OrderedDict", found: "None"))
    }
}
