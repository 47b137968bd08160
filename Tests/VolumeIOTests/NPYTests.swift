import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// `.npy` reading and writing against byte images numpy 2.x wrote (copied from
/// `np.save(io.BytesIO(), a).getvalue()` in /opt/peers), and the strictness of the header parser.
final class NPYTests: XCTestCase {
    /// numpy's header for np.zeros((2, 3), np.float32): 10 + 118 bytes.
    static let numpyHeader2x3 = Array("\u{93}NUMPY".unicodeScalars.map { UInt8($0.value) }) + [1, 0, 0x76, 0]
        + Array(("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + String(repeating: " ", count: 58) + "\n").utf8)

    func testEncodedHeaderIsByteIdenticalToNumpy() throws {
        XCTAssertEqual(NPYHeader.encode(dtype: .float32, shape: [2, 3]), Self.numpyHeader2x3)
        // np.arange(5, dtype=np.int64): shape (5,), same 128-byte total.
        let h = NPYHeader.encode(dtype: .int64, shape: [5])
        XCTAssertEqual(h.count, 128)
        XCTAssertEqual(String(decoding: h[10...], as: UTF8.self).prefix(60), "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }   ")
    }

    func testDecodeNumpyImage() throws {
        let values: [Float] = [1, -2, 3.5, 0, 1e-3, 7]
        let image = Self.numpyHeader2x3 + values.withUnsafeBytes { Array($0) }
        let t = try NPY.decode(image, file: "a.npy")
        XCTAssertEqual(t.shape, [2, 3])
        XCTAssertEqual(t.dtype, .float32)
        XCTAssertEqual(t.floats(), values)
    }

    func testRoundTripThroughAFileForEveryNumpyDType() throws {
        let dir = Fixtures.scratchDirectory()
        for dtype in DType.allCases where dtype != .bfloat16 {
            let shape = [2, 1, 2, 3]
            let bytes = (0..<(12 * dtype.byteSize)).map { UInt8(($0 * 37 + 11) & 0x7f) }
            let t = try Tensor(dtype: dtype, shape: shape, bytes: bytes)
            let path = dir + "/\(dtype.rawValue).npy"
            try NPY.write(t, to: path)
            XCTAssertEqual(try NPY.read(path), t, "\(dtype)")
        }
    }

    func testFortranOrderIsRefused() throws {
        var header = Self.numpyHeader2x3
        let text = String(decoding: header[10...], as: UTF8.self).replacingOccurrences(of: "False, 'shape': (2, 3), } ", with: "True, 'shape': (2, 3), }  ")
        header = Array(header[..<10]) + Array(text.utf8)
        XCTAssertThrowsError(try NPY.decode(header + [UInt8](repeating: 0, count: 24), file: "f.npy")) { e in
            let v = e as? VolumeError
            XCTAssertEqual(v?.file, "f.npy")
            XCTAssertEqual(v?.what, "fortran_order")
            XCTAssertEqual(v?.found, "True")
        }
    }

    func testBigEndianIsRefused() throws {
        let text = String(decoding: Self.numpyHeader2x3[10...], as: UTF8.self).replacingOccurrences(of: "<f4", with: ">f4")
        let image = Array(Self.numpyHeader2x3[..<10]) + Array(text.utf8) + [UInt8](repeating: 0, count: 24)
        XCTAssertThrowsError(try NPY.decode(image, file: "b.npy")) { e in
            XCTAssertEqual((e as? VolumeError)?.what, "descr")
            XCTAssertEqual((e as? VolumeError)?.found, "'>f4'")
        }
    }

    func testDataSizeMustMatchTheShape() throws {
        XCTAssertThrowsError(try NPY.decode(Self.numpyHeader2x3 + [UInt8](repeating: 0, count: 20), file: "t.npy")) { e in
            XCTAssertEqual(e as? VolumeError, VolumeError(file: "t.npy", what: "data size", expected: "24 bytes for shape [2, 3] of float32", found: "20 bytes"))
        }
        XCTAssertThrowsError(try NPY.decode(Self.numpyHeader2x3 + [UInt8](repeating: 0, count: 28), file: "t.npy"))
    }

    /// A header image (version 1.0) around any dict text.
    static func image(_ dict: String) -> [UInt8] {
        let text = dict + "\n"
        let n = text.utf8.count
        return Array("\u{93}NUMPY".unicodeScalars.map { UInt8($0.value) }) + [1, 0, UInt8(n & 0xff), UInt8(n >> 8)] + Array(text.utf8)
    }

    /// A shape whose byte count overflows or exceeds the 4 GiB cap is refused from the header
    /// alone, before any allocation (no data follows these headers).
    func testHugeShapeIsRefusedBeforeAllocation() throws {
        for shape in ["(999999999999, 99999999999)", "(99999, 99999)"] {
            let header = Self.image("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }")
            XCTAssertThrowsError(try NPY.decode(header, file: "h.npy")) { e in
                XCTAssertEqual((e as? VolumeError)?.what, "shape", shape)
            }
        }
    }

    func testMalformedHeadersAreRefused() throws {
        func image(_ dict: String) -> [UInt8] { Self.image(dict) }
        let bad = [
            "{'descr': '<f4', 'fortran_order': False}",                                  // no shape
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",           // extra key
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",                       // not a bool
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",                  // negative
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk",              // trailing text
            "{'descr': '<u4', 'fortran_order': False, 'shape': (2,)}",                   // unsupported dtype
        ]
        for b in bad { XCTAssertThrowsError(try NPY.decode(image(b) + [UInt8](repeating: 0, count: 8)), b) }
        XCTAssertThrowsError(try NPY.decode([0x93, 0x4E, 0x55, 0x4D]))                  // truncated magic
    }

    func testMissingFileNamesThePath() throws {
        XCTAssertThrowsError(try NPY.read("/nonexistent/x.npy")) { e in
            XCTAssertEqual((e as? VolumeError)?.file, "/nonexistent/x.npy")
        }
    }

    /// Official cube files are (N, 64, 64, 32) float64; the network takes (N, 1, D, H, W) float32.
    func testCubesGetAChannelAxisAndBecomeFloat32() throws {
        let cubes = Tensor(shape: [2, 2, 2, 2], floats: (0..<16).map(Float.init)).asFloat32()
        let f64 = try Tensor(dtype: .float64, shape: [2, 2, 2, 2], bytes: cubes.floats().flatMap { v -> [UInt8] in withUnsafeBytes(of: Double(v)) { Array($0) } })
        let x = try VolumeBatch.networkInput(f64, file: "c.npy")
        XCTAssertEqual(x.shape, [2, 1, 2, 2, 2])
        XCTAssertEqual(x.dtype, .float32)
        XCTAssertEqual(x.floats(), (0..<16).map(Float.init))
        XCTAssertThrowsError(try VolumeBatch.networkInput(Tensor(shape: [2, 3, 2, 2, 2], floats: [Float](repeating: 0, count: 48)), file: "c.npy")) { e in
            XCTAssertEqual(e as? VolumeError, VolumeError(file: "c.npy", what: "shape", expected: "(N, 1, D, H, W) or (N, D, H, W)", found: "(2, 3, 2, 2, 2): 3 channels; the network takes one channel per cube"))
        }
    }
}
