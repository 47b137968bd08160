import Foundation
import SafeTensors
import Tensors
import TestSupport
import XCTest

final class SafeTensorsReadWriteTests: XCTestCase {
    /// The reference fixture written by Python safetensors 0.8 from torch tensors.
    /// Expected SHA-256s of each tensor's bytes were computed once with
    ///   /opt/peers/bin/python: safe_open(path, "np") -> hashlib.sha256(np.ascontiguousarray(t).tobytes())
    /// (safetensors 0.8.0, numpy); values with safetensors.numpy.load_file.
    func testReadsReferenceFixture() throws {
        let path = Fixtures.path("formats/t.safetensors")
        let f = try SafeTensors.read(path)
        XCTAssertEqual(f.metadata, ["format": "pt", "epoch": "3"])
        XCTAssertEqual(f.tensors.metadata, f.metadata)
        XCTAssertEqual(f.headerLength, 288)
        // File (offset) order.
        XCTAssertEqual(f.tensors.names, ["c.steps", "a.weight", "b.bias", "d.mask"])
        let expected: [(String, DType, [Int], String)] = [
            ("a.weight", .float64, [2, 2], "c914e8188e43fff1c96e25283e15b252af0d9f39b469f2d1518915802c756d18"),
            ("b.bias", .float32, [3], "15ec7bf0b50732b49f8228e07d24365338f9e3ab994b00af08e5a3bffe55fd8b"),
            ("c.steps", .int64, [], "aae89fc0f03e2959ae4d701a80cc3915918c950b159f6abb6c92c1433b1a8534"),
            ("d.mask", .uint8, [2], "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        ]
        for (name, dtype, shape, sha) in expected {
            let t = try XCTUnwrap(f.tensors[name], name)
            XCTAssertEqual(t.dtype, dtype, name)
            XCTAssertEqual(t.shape, shape, name)
            XCTAssertEqual(t.sha256, sha, name)
        }
        XCTAssertEqual(f.tensors["c.steps"]!.int64s(), [7])
        XCTAssertEqual(f.tensors["a.weight"]!.floats(), [1, 1, 1, 1])
        XCTAssertEqual(f.tensors["b.bias"]!.floats(), [0, 0, 0])
        XCTAssertEqual(f.tensors["d.mask"]!.int64s(), [0, 0])
    }

    /// Our writer lays the fixture's tensors out exactly as Python did: same order, same data
    /// buffer, header padded to a multiple of 8.
    func testRewritingFixtureKeepsLayout() throws {
        let path = Fixtures.path("formats/t.safetensors")
        let original = try FileIO.read(path)
        let f = try SafeTensors.read(path)
        let bytes = try SafeTensors.serialize(f.tensors, metadata: f.metadata)
        let again = try SafeTensors.read(bytes: bytes)
        XCTAssertEqual(again.tensors.names, f.tensors.names)
        XCTAssertEqual(again.headerLength % 8, 0)
        XCTAssertEqual(Array(bytes[(8 + again.headerLength)...]), Array(original[(8 + f.headerLength)...]))
        XCTAssertEqual(SafeTensors.layoutOrder(f.tensors), ["c.steps", "a.weight", "b.bias", "d.mask"])
    }

    func testRoundTripAllDTypesScalarsAndZeroSize() throws {
        let store = Self.sampleStore()
        let dir = Fixtures.scratchDirectory()
        let path = dir + "/all.safetensors"
        let meta = ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t ünïcödé \u{01}"]
        try SafeTensors.write(store, metadata: meta, to: path)
        let f = try SafeTensors.read(path)
        XCTAssertEqual(f.metadata, meta)
        XCTAssertEqual(Set(f.tensors.names), Set(store.names))
        for (name, t) in store.entries {
            let u = try XCTUnwrap(f.tensors[name], name)
            XCTAssertEqual(u.dtype, t.dtype, name)
            XCTAssertEqual(u.shape, t.shape, name)
            XCTAssertEqual(u.bytes, t.bytes, name)
        }
        // Bit-identical: writing what we read gives the same file.
        let first = try FileIO.read(path)
        XCTAssertEqual(try SafeTensors.serialize(f.tensors, metadata: f.metadata), first)
        // Header: multiple of 8, starts with {"__metadata__", data 8-aligned.
        XCTAssertEqual(f.headerLength % 8, 0)
        XCTAssertEqual(String(decoding: first[8..<24], as: UTF8.self), "{\"__metadata__\":")
        // Layout: alignment descending, then name.
        let order = f.tensors.names.map { SafeTensorsDType(f.tensors[$0]!.dtype).alignmentRank }
        XCTAssertEqual(order, order.sorted(by: >))
    }

    func testEmptyStoreAndNoMetadata() throws {
        let bytes = try SafeTensors.serialize(TensorStore(), metadata: [:])
        XCTAssertEqual(bytes, [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        let f = try SafeTensors.read(bytes: bytes)
        XCTAssertTrue(f.tensors.isEmpty)
        XCTAssertEqual(f.metadata, [:])
    }

    func testAcceptsAnyKeyOrderAndNullMetadata() throws {
        // Tensors listed out of offset order, metadata last and null, whitespace inside: all valid.
        let header = #"{ "b" : {"shape":[1],"data_offsets":[4,8],"dtype":"F32"}, "a":{"dtype":"I32","shape":[],"data_offsets":[0,4]}, "__metadata__": null }"#
        let f = try SafeTensors.read(bytes: Crafted.file(header: header, data: [UInt8](repeating: 1, count: 8)))
        XCTAssertEqual(f.tensors.names, ["a", "b"])
        XCTAssertEqual(f.metadata, [:])
        XCTAssertEqual(f.tensors["a"]!.dtype, .int32)
    }

    func testEveryDTypeOfTheSpecIsParsed() throws {
        // Dtypes genesis holds load; the others are recognised and refused by name.
        for d in SafeTensorsDType.allCases {
            let bytes = d.byteCount(elements: 8)!
            let header = #"{"x":{"dtype":"\#(d.rawValue)","shape":[8],"data_offsets":[0,\#(bytes)]}}"#
            let file = Crafted.file(header: header, data: [UInt8](repeating: 0, count: bytes))
            if let dt = d.dtype {
                XCTAssertEqual(try SafeTensors.read(bytes: file).tensors["x"]?.dtype, dt, d.rawValue)
            } else {
                XCTAssertThrowsError(try SafeTensors.read(bytes: file, file: "x.safetensors")) { e in
                    XCTAssertEqual(e as? SafeTensorsError, .unsupportedDType(file: "x.safetensors", tensor: "x", dtype: d.rawValue))
                    XCTAssertTrue("\(e)".contains(d.rawValue), "\(e)")
                }
            }
        }
    }

    func testStrictJSONRejectsDuplicatesAtAnyDepthAndAcceptsEscapes() throws {
        XCTAssertThrowsError(try StrictJSON.parse(Array(#"{"a":{"b":1,"b":2}}"#.utf8))) { e in
            XCTAssertEqual((e as? StrictJSONError)?.duplicateKey, "b")
        }
        let v = try StrictJSON.parse(Array(#"{"k":"\u00e9\ud83d\ude00\/","n":[0,-1.5e3,12]}"#.utf8))
        XCTAssertEqual(v, .object([JSONMember(key: "k", value: .string("é😀/")),
                                   JSONMember(key: "n", value: .array([.number("0"), .number("-1.5e3"), .number("12")]))]))
        XCTAssertThrowsError(try StrictJSON.parse(Array(#"{"k":"\ud83d"}"#.utf8)))
        XCTAssertThrowsError(try StrictJSON.parse(Array("[01]".utf8)))
        XCTAssertThrowsError(try StrictJSON.parse(Array(String(repeating: "[", count: 100).utf8)))
    }

    /// Writes the interop sample for scripts/interop_safetensors.py to $GENESIS_INTEROP_OUT
    /// (or scratch), and checks it reads back.
    func testWritesInteropSample() throws {
        let dir = ProcessInfo.processInfo.environment["GENESIS_INTEROP_OUT"] ?? Fixtures.scratchDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/interop.safetensors"
        try SafeTensors.write(Self.sampleStore(), metadata: ["format": "pt", "writer": "genesis"], to: path)
        XCTAssertEqual(try SafeTensors.read(path).tensors.count, Self.sampleStore().count)
    }

    /// One tensor of every DType plus scalars and zero-size tensors, with values the interop
    /// script recomputes: element i of a tensor is `i` converted (bool: i odd).
    static func sampleStore() -> TensorStore {
        func le<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        var s = TensorStore()
        s["f32.weight"] = try! Tensor(dtype: .float32, shape: [2, 3, 4], bytes: le((0..<24).map { Float($0) * 0.5 }))
        s["f64.values"] = try! Tensor(dtype: .float64, shape: [2, 2], bytes: le([1.5, -2.25, 1e-300, 3.0]))
        s["f16.half"] = try! Tensor(dtype: .float16, shape: [3], bytes: le([Float16(1), 0.5, -2]))
        s["bf16.brain"] = try! Tensor(dtype: .bfloat16, shape: [2], bytes: le([UInt16(0x3F80), 0xC000]))  // 1, -2
        s["i8.small"] = try! Tensor(dtype: .int8, shape: [4], bytes: le([Int8(-3), -1, 0, 2]))
        s["u8.bytes"] = try! Tensor(dtype: .uint8, shape: [5], bytes: [0, 1, 2, 254, 255])
        s["i16.short"] = try! Tensor(dtype: .int16, shape: [2], bytes: le([Int16(-300), 300]))
        s["i32.int"] = try! Tensor(dtype: .int32, shape: [1, 2], bytes: le([Int32(-70000), 70000]))
        s["i64.steps"] = Tensor(scalarInt64: 42)
        s["bool.mask"] = try! Tensor(dtype: .bool, shape: [3], bytes: [1, 0, 1])
        s["f32.scalar"] = try! Tensor(dtype: .float32, shape: [], bytes: le([Float(-0.25)]))
        s["f32.empty"] = try! Tensor(dtype: .float32, shape: [0, 3], bytes: [])
        s["i64.empty"] = try! Tensor(dtype: .int64, shape: [2, 0], bytes: [])
        s["naïve \"quoted\" name"] = try! Tensor(dtype: .uint8, shape: [1], bytes: [7])
        return s
    }
}

/// Builds safetensors bytes by hand for the validation tests.
enum Crafted {
    static func file(header: String, data: [UInt8], headerLength: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        let n = headerLength ?? UInt64(h.count)
        return withUnsafeBytes(of: n.littleEndian) { Array($0) } + h + data
    }
}
