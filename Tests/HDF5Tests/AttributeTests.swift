import HDF5
import Tensors
import TestSupport
import XCTest

/// String attributes in every form, written by us and read back, and checked against files the
/// real libraries wrote (fixtures: tf_keras 2.21 vlen strings, Keras 2.2.4-era fixed strings).
final class AttributeTests: XCTestCase {
    func scratchFile() throws -> (H5File, H5Group) {
        let f = try H5File.create(Fixtures.scratchDirectory() + "/a.h5")
        return (f, try f.root())
    }

    func testFixedLengthNamesThatFillTheirSlotKeepTheLastCharacter() throws {
        let (_, g) = try scratchFile()
        try g.setStringListAttribute("layer_names", ["depth_0_conv", "a"])  // S12: the first has no NUL
        XCTAssertEqual(try g.stringListAttribute("layer_names"), ["depth_0_conv", "a"])
    }

    func testVariableLengthUTF8AndASCII() throws {
        let (_, g) = try scratchFile()
        try g.setVariableStringAttribute("keras_version", "2.21.0", utf8: true)
        try g.setVariableStringAttribute("model_config", "{\"name\": \"Genesis ü\"}", utf8: true)
        try g.setVariableStringAttribute("backend", "tensorflow")
        XCTAssertEqual(try g.stringAttribute("keras_version"), "2.21.0")
        XCTAssertEqual(try g.stringAttribute("model_config"), "{\"name\": \"Genesis ü\"}")
        XCTAssertEqual(try g.stringAttribute("backend"), "tensorflow")
    }

    func testEmptyListIsTheFloat64EmptyArray() throws {
        let (_, g) = try scratchFile()
        try g.setStringListAttribute("weight_names", [])
        XCTAssertEqual(try g.stringListAttribute("weight_names"), [])
        XCTAssertTrue(g.hasAttribute("weight_names"))
    }

    func testLongListsAreSplitLikeKeras() throws {
        // chunked.h5 (tf_keras's own writer): 700 names of 212 bytes -> pieces of 234, 233, 233.
        let theirs = try H5File.open(Fixtures.path("formats/chunked.h5")).root()
        let names = try theirs.stringListAttribute("layer_names")
        let (_, g) = try scratchFile()
        try g.setStringListAttribute("layer_names", names)
        XCTAssertFalse(g.hasAttribute("layer_names"))
        XCTAssertEqual(try (0..<3).map { try g.readStrings("layer_names\($0)").count }, [234, 233, 233])
        XCTAssertEqual(try (0..<3).map { try theirs.readStrings("layer_names\($0)").count }, [234, 233, 233])
        XCTAssertFalse(g.hasAttribute("layer_names3"))
        XCTAssertEqual(try g.stringListAttribute("layer_names"), names)
    }

    func testDatasetsRoundTripEveryDtypeAndScalars() throws {
        let (_, g) = try scratchFile()
        let f32 = Tensor(shape: [2, 3], floats: [1, -2, 3.5, .infinity, 0, -0])
        let i64 = Tensor(scalarInt64: 1 << 40)
        let f16 = try Tensor(dtype: .float16, shape: [2], bytes: [0x00, 0x3C, 0x00, 0xC0])
        let f64 = try Tensor(dtype: .float64, shape: [1], bytes: withUnsafeBytes(of: 0.1) { Array($0) })
        for (n, t) in [("a/f32:0", f32), ("i64", i64), ("f16", f16), ("f64", f64)] { try g.writeTensor(n, t) }
        XCTAssertEqual(try g.readTensor("a/f32:0"), f32)
        XCTAssertEqual(try g.readTensor("i64"), i64)
        XCTAssertEqual(try g.readTensor("f16"), f16)
        XCTAssertEqual(try g.readTensor("f64"), f64)
        XCTAssertEqual(try g.readFloat32("f16").floats(), [1, -2])
        XCTAssertEqual(try g.datasetInfo("i64").shape, [])
        XCTAssertEqual(try g.datasetInfo("i64").dtype, .int64)
        XCTAssertEqual(try g.kind(of: "a"), .group)
        XCTAssertEqual(try g.kind(of: "a/f32:0"), .dataset)
    }

    func testErrorsNameFileAndPath() throws {
        let path = Fixtures.path("keras/genesis_tiny.h5")
        let g = try H5File.open(path).root()
        XCTAssertThrowsError(try g.readTensor("model_weights/nope")) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains(path) && s.contains("/model_weights/nope"), s)
        }
        XCTAssertThrowsError(try H5File.open(Fixtures.path("formats/t.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("not an HDF5 file"), "\(e)")
        }
    }
}
