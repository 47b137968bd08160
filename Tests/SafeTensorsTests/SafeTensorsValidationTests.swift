import Foundation
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// Every way a crafted file can break the safetensors rules: each must throw the precise error,
/// whose message names the file and the problem.
final class SafeTensorsValidationTests: XCTestCase {
    let fileName = "crafted.safetensors"

    /// Reads `bytes` through a real file in scratch, so the error carries that path.
    func assertRejects(_ bytes: [UInt8], _ expected: (String) -> SafeTensorsError, mentions words: [String],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let path = Fixtures.scratchDirectory() + "/" + fileName
        try FileIO.write(bytes, to: path)
        XCTAssertThrowsError(try SafeTensors.read(path), file: file, line: line) { e in
            XCTAssertEqual(e as? SafeTensorsError, expected(path), file: file, line: line)
            let text = "\(e)"
            XCTAssertTrue(text.hasPrefix(path + ": "), "message does not name the file: \(text)", file: file, line: line)
            for w in words { XCTAssertTrue(text.contains(w), "message lacks \"\(w)\": \(text)", file: file, line: line) }
        }
        // The in-memory reader agrees.
        XCTAssertThrowsError(try SafeTensors.read(bytes: bytes, file: fileName), file: file, line: line) { e in
            XCTAssertEqual(e as? SafeTensorsError, expected(fileName), file: file, line: line)
        }
    }

    let one = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    let data8 = [UInt8](repeating: 0, count: 8)

    func testValidFileUsedBelowIsAccepted() throws {
        XCTAssertEqual(try SafeTensors.read(bytes: Crafted.file(header: one, data: data8)).tensors.names, ["a"])
    }

    func testShorterThanLengthField() throws {
        try assertRejects([1, 0, 0], { .truncated(file: $0, what: "the header length", expected: 8, found: 3) }, mentions: ["truncated", "8"])
    }

    func testHeaderLengthBeyondFile() throws {
        let bytes = Crafted.file(header: one, data: [], headerLength: 500)
        try assertRejects(bytes, { .truncated(file: $0, what: "the header", expected: 508, found: bytes.count) }, mentions: ["508"])
    }

    func testHeaderLengthOverCapIsRefusedBeforeAllocating() throws {
        let bytes = Crafted.file(header: one, data: data8, headerLength: 100_000_001)
        try assertRejects(bytes, { .headerTooLarge(file: $0, found: 100_000_001, cap: 100_000_000) }, mentions: ["100000001", "limit"])
        let huge = Crafted.file(header: one, data: data8, headerLength: UInt64.max)
        try assertRejects(huge, { .headerTooLarge(file: $0, found: UInt64.max, cap: 100_000_000) }, mentions: ["18446744073709551615"])
    }

    func testHeaderNotStartingWithBrace() throws {
        try assertRejects(Crafted.file(header: " " + one, data: data8), { .headerStart(file: $0, found: 0x20) }, mentions: ["'{'", "0x20"])
        try assertRejects(Crafted.file(header: "", data: []), { .headerStart(file: $0, found: nil) }, mentions: ["empty"])
    }

    func testHeaderNotUTF8() throws {
        var bytes = Crafted.file(header: #"{"a\#u{e9}":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: data8)
        bytes[11] = 0xFF
        try assertRejects(bytes, { .headerNotUTF8(file: $0) }, mentions: ["UTF-8"])
    }

    func testInvalidJSON() throws {
        let bad = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},}"#
        try assertRejects(Crafted.file(header: bad, data: data8), { .invalidJSON(file: $0, offset: 54, reason: "expected a string key") }, mentions: ["JSON", "54"])
        try assertRejects(Crafted.file(header: one + "x", data: data8),
                          { .invalidJSON(file: $0, offset: 54, reason: "unexpected characters after the JSON value") }, mentions: ["after"])
    }

    func testTrailingSpacePaddingIsAccepted() throws {
        XCTAssertEqual(try SafeTensors.read(bytes: Crafted.file(header: one + "   ", data: data8)).headerLength, one.utf8.count + 3)
    }

    func testGap() throws {
        let h = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        try assertRejects(Crafted.file(header: h, data: [UInt8](repeating: 0, count: 12)),
                          { .misplaced(file: $0, tensor: "b", expectedBegin: 4, foundBegin: 8) }, mentions: ["\"b\"", "gap of 4 bytes"])
    }

    func testFirstTensorNotAtZero() throws {
        let h = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        try assertRejects(Crafted.file(header: h, data: data8), { .misplaced(file: $0, tensor: "a", expectedBegin: 0, foundBegin: 4) }, mentions: ["gap"])
    }

    func testOverlap() throws {
        let h = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        try assertRejects(Crafted.file(header: h, data: data8),
                          { .misplaced(file: $0, tensor: "b", expectedBegin: 8, foundBegin: 4) }, mentions: ["\"b\"", "overlap of 4 bytes"])
    }

    func testOverlapOfSameStart() throws {
        // Sorted by (begin, end): b [0,4] then a [0,8] -> a starts at 0 where 4 was expected.
        let h = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        try assertRejects(Crafted.file(header: h, data: data8),
                          { .misplaced(file: $0, tensor: "a", expectedBegin: 4, foundBegin: 0) }, mentions: ["\"a\"", "overlap of 4 bytes"])
    }

    func testInvertedOffsets() throws {
        let h = #"{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"y":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#
        try assertRejects(Crafted.file(header: h, data: [0, 0, 0, 0]), { .invertedOffsets(file: $0, tensor: "y", begin: 4, end: 0) }, mentions: ["\"y\"", "[4, 0]"])
    }

    func testWrongByteCount() throws {
        let h = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        try assertRejects(Crafted.file(header: h, data: data8), { .byteCountMismatch(file: $0, tensor: "a", expected: 12, found: 8) }, mentions: ["\"a\"", "12", "8"])
    }

    func testShapeOverflow() throws {
        let h = #"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#
        try assertRejects(Crafted.file(header: h, data: data8), { .sizeOverflow(file: $0, tensor: "a", shape: [4294967296, 4294967296], dtype: "F64") }, mentions: ["overflows"])
        let sub = #"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#  // 12 bits: not whole bytes
        try assertRejects(Crafted.file(header: sub, data: [0, 0]), { .sizeOverflow(file: $0, tensor: "a", shape: [3], dtype: "F4") }, mentions: ["whole number of bytes"])
    }

    func testTrailingByte() throws {
        try assertRejects(Crafted.file(header: one, data: data8 + [0]), { .fileLengthMismatch(file: $0, expected: 8 + 54 + 8, found: 8 + 54 + 9) },
                          mentions: ["1 trailing bytes"])
    }

    func testTruncatedData() throws {
        try assertRejects(Crafted.file(header: one, data: [0, 0, 0]), { .fileLengthMismatch(file: $0, expected: 70, found: 65) }, mentions: ["5 bytes missing"])
    }

    func testDuplicateTensorName() throws {
        let h = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#
        try assertRejects(Crafted.file(header: h, data: [1, 2]), { .duplicateKey(file: $0, key: "a", context: "the header's the top-level object") }, mentions: ["duplicate key \"a\""])
    }

    func testDuplicateMetadataKeyAndDuplicateField() throws {
        let h = #"{"__metadata__":{"k":"1","k":"2"}}"#
        try assertRejects(Crafted.file(header: h, data: []), { .duplicateKey(file: $0, key: "k", context: "the header's object \"__metadata__\"") }, mentions: ["\"k\"", "__metadata__"])
        let h2 = #"{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
        try assertRejects(Crafted.file(header: h2, data: [1]), { .duplicateKey(file: $0, key: "dtype", context: "the header's object \"a\"") }, mentions: ["\"dtype\""])
    }

    func testNamesEqualOnlyUnderNormalisation() throws {
        // "é" precomposed and decomposed: distinct bytes (valid for Rust), one key for Swift.
        let h = "{\"\u{e9}\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"e\u{301}\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}"
        try assertRejects(Crafted.file(header: h, data: [1, 2]), { .indistinguishableNames(file: $0, first: "\u{e9}", second: "e\u{301}") }, mentions: ["normalisation"])
    }

    func testNonStringMetadata() throws {
        let h = #"{"__metadata__":{"epoch":3}}"#
        try assertRejects(Crafted.file(header: h, data: []), { .badMetadata(file: $0, key: "epoch", found: "the number 3") }, mentions: ["\"epoch\"", "must be a string"])
        let h2 = #"{"__metadata__":["x"]}"#
        try assertRejects(Crafted.file(header: h2, data: []), { .badMetadata(file: $0, key: nil, found: "an array") }, mentions: ["object of strings"])
        let h3 = #"{"__metadata__":{"nested":{"a":"b"}}}"#
        try assertRejects(Crafted.file(header: h3, data: []), { .badMetadata(file: $0, key: "nested", found: "an object") }, mentions: [])
    }

    func testUnknownDType() throws {
        let h = #"{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#
        try assertRejects(Crafted.file(header: h, data: [UInt8](repeating: 0, count: 16)), { .unknownDType(file: $0, tensor: "w", found: "F128") }, mentions: ["\"w\"", "F128"])
    }

    func testUnsupportedButValidDType() throws {
        let h = #"{"w":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}}"#
        try assertRejects(Crafted.file(header: h, data: [0, 0, 0, 0]), { .unsupportedDType(file: $0, tensor: "w", dtype: "U16") }, mentions: ["U16", "cannot hold"])
    }

    func testMalformedEntries() throws {
        let cases: [(String, String)] = [
            (#"{"w":[1]}"#, "entry must be an object, found an array"),
            (#"{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}"#, "shape must hold non-negative integers, found the number -1"),
            (#"{"w":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}"#, "shape must hold non-negative integers, found the number 1.0"),
            (#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}"#, "data_offsets must be an array of two integers, found an array"),
            (#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1e0]}}"#, "data_offsets must hold non-negative integers, found the number 1e0"),
            (#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,99999999999999999999]}}"#, "data_offsets must hold non-negative integers, found the number 99999999999999999999"),
            (#"{"w":{"dtype":8,"shape":[1],"data_offsets":[0,1]}}"#, "dtype must be a string, found the number 8"),
            (#"{"w":{"shape":[1],"data_offsets":[0,1]}}"#, "missing field \"dtype\""),
            (#"{"w":{"dtype":"U8","data_offsets":[0,1]}}"#, "missing field \"shape\""),
            (#"{"w":{"dtype":"U8","shape":[1]}}"#, "missing field \"data_offsets\""),
            (#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"strides":[1]}}"#, "unknown field \"strides\" (expected dtype, shape, data_offsets)"),
        ]
        for (h, reason) in cases {
            try assertRejects(Crafted.file(header: h, data: [0]), { .badEntry(file: $0, tensor: "w", reason: reason) }, mentions: ["\"w\""])
        }
        let deep = #"{"w":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}}"#
        try assertRejects(Crafted.file(header: deep, data: [0]), { .rankTooLarge(file: $0, tensor: "w", rank: 17, cap: 16) }, mentions: ["rank 17"])
    }

    func testWriterRefusesReservedName() throws {
        var s = TensorStore()
        s["__metadata__"] = Tensor(scalarInt64: 1)
        XCTAssertThrowsError(try SafeTensors.write(s, to: Fixtures.scratchDirectory() + "/x.safetensors")) { e in
            guard case .invalidInput(_, "__metadata__", _)? = e as? SafeTensorsError else { return XCTFail("\(e)") }
        }
    }

    func testMissingFileNamesIt() throws {
        let path = Fixtures.scratchDirectory() + "/absent.safetensors"
        XCTAssertThrowsError(try SafeTensors.read(path)) { e in
            XCTAssertTrue("\(e)".hasPrefix(path + ": cannot open"), "\(e)")
        }
    }
}
