import GenesisIO
import TestSupport
import XCTest

/// The format table: one bridge per format, and the lookups that read it.
final class FormatRegistryTests: XCTestCase {
    func testEveryFormatKindHasExactlyOneBridge() {
        let kinds = FormatRegistry.all.map(\.kind)
        XCTAssertEqual(kinds.count, FormatKind.allCases.count)
        for k in FormatKind.allCases { XCTAssertEqual(kinds.filter { $0 == k }.count, 1, k.rawValue) }
        for k in FormatKind.allCases { XCTAssertEqual(FormatRegistry.bridge(k).kind, k) }
    }

    func testWritableFormatsAreTheSixThatWrite() {
        // Keras 3 files are read only (README "Formats").
        XCTAssertEqual(FormatRegistry.writable.map(\.kind), [.kerasH5, .torch, .safetensors, .native, .onnx, .monaiBundle])
    }

    func testExtensionsPickTheLongestEnding() {
        let cases: [(String, FormatKind?)] = [
            ("a.h5", .kerasH5), ("A.HDF5", .kerasH5), ("m.weights.h5", .keras3Weights), ("m.keras", .keras3Zip), ("m.keras.h5", .kerasH5),
            ("x.pt", .torch), ("x.pth", .torch), ("x.ckpt", .torch), ("x.safetensors", .safetensors), ("x.genesis", .native), ("x.onnx", .onnx), ("x.npy", nil),
        ]
        for (path, kind) in cases { XCTAssertEqual(FormatKind.fromExtension(path), kind, path) }
    }

    func testSharedContainersDefaultToTheFirstListed() {
        XCTAssertEqual(FormatRegistry.defaultFormat(for: .hdf5), .kerasH5)
        XCTAssertEqual(FormatRegistry.defaultFormat(for: .zip), .torch)
        XCTAssertEqual(FormatRegistry.defaultFormat(for: .torchLegacy), .torch)
        XCTAssertEqual(FormatRegistry.defaultFormat(for: .safetensors), .safetensors)
        XCTAssertEqual(FormatRegistry.defaultFormat(for: .onnx), .onnx)
        XCTAssertNil(FormatRegistry.defaultFormat(for: .unknown))
    }

    func testResolutionByContainerAndName() throws {
        XCTAssertEqual(try ModelLoader.resolveFormat(Fixtures.path("keras3/genesis_tiny.weights.h5")), .keras3Weights)
        XCTAssertEqual(try ModelLoader.resolveFormat(Fixtures.path("torch/genesis_tiny_legacy.pt")), .torch)
        XCTAssertThrowsError(try ModelLoader.resolveFormat(Fixtures.path("torch/genesis_tiny.pt"), override: .kerasH5)) { e in
            XCTAssertEqual(e as? GenesisIOError, .formatMismatch(file: Fixtures.path("torch/genesis_tiny.pt"), asked: "keras-h5", found: "a zip archive"))
        }
    }

    func testReadOnlyFormatRefusesToWrite() throws {
        let dir = Fixtures.scratchDirectory()
        let p = try ModelLoader.load(Fixtures.path("keras/genesis_tiny_weights.h5")).payload(digest: false)
        XCTAssertThrowsError(try ModelWriter.write(p, to: dir + "/x.keras", format: .keras3Zip)) { e in
            XCTAssertTrue("\(e)".contains("writable: keras-h5, pt, safetensors, genesis"), "\(e)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testSameFileIsRecognisedThroughSymlinksAndHardLinks() throws {
        let dir = Fixtures.scratchDirectory()
        try FileIO.write([1, 2, 3], to: dir + "/a.h5")
        try FileIO.write([1, 2, 3], to: dir + "/copy.h5")
        try FileManager.default.createSymbolicLink(atPath: dir + "/sym.h5", withDestinationPath: dir + "/a.h5")
        try FileManager.default.linkItem(atPath: dir + "/a.h5", toPath: dir + "/hard.h5")
        XCTAssertTrue(FileIdentity.same(dir + "/a.h5", dir + "/a.h5"))
        XCTAssertTrue(FileIdentity.same(dir + "/a.h5", dir + "/./sym.h5"))
        XCTAssertTrue(FileIdentity.same(dir + "/a.h5", dir + "/hard.h5"))
        XCTAssertFalse(FileIdentity.same(dir + "/a.h5", dir + "/copy.h5"))  // same bytes, another file
        XCTAssertFalse(FileIdentity.same(dir + "/a.h5", dir + "/new.h5"))   // not there yet
    }

    func testConverterRefusesToWriteOntoItsInput() throws {
        let dir = Fixtures.scratchDirectory()
        try FileManager.default.copyItem(atPath: Fixtures.path("keras/genesis_tiny_weights.h5"), toPath: dir + "/in.h5")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.h5", withDestinationPath: dir + "/in.h5")
        let before = try Checksum.sha256Hex(fileAt: dir + "/in.h5")
        let m = try ModelLoader.load(dir + "/in.h5")
        XCTAssertThrowsError(try Converter.convert(m, to: dir + "/link.h5", format: .kerasH5)) { e in
            XCTAssertEqual(e as? GenesisIOError, .sameFile(input: dir + "/in.h5", output: dir + "/link.h5"))
        }
        XCTAssertEqual(try Checksum.sha256Hex(fileAt: dir + "/in.h5"), before)
    }
}

import Tensors
