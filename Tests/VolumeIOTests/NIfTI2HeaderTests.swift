import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// Uncompressed NIfTI-2 files built here field by field (offsets from nifti2.h), in both byte
/// orders, with hand-worked expectations: scaling, the sform, the pixdim fallback, and int64
/// dims that overflow.
final class NIfTI2HeaderTests: XCTestCase {
    struct Header {
        var bigEndian = false
        var dims: [Int64] = [3, 2, 3, 2, 1, 1, 1, 1]
        var pixdim: [Double] = [1, 1.5, 2, 3, 1, 1, 1, 1]
        var slope = 0.5, inter = 3.0
        var sformCode: Int32 = 2
        var srow: [[Double]] = [[0, -2, 0, 10], [1.5, 0, 0, -20], [0, 0, 3, 5]]
        var values: [Int16] = (0..<12).map { Int16($0 * 10 - 50) }

        func bytes() -> [UInt8] {
            var b = [UInt8](repeating: 0, count: 544)
            func put<T: FixedWidthInteger>(_ v: T, _ at: Int) {
                let e = bigEndian ? v.bigEndian : v.littleEndian
                withUnsafeBytes(of: e) { for (i, x) in $0.enumerated() { b[at + i] = x } }
            }
            func put(_ v: Double, _ at: Int) { put(v.bitPattern, at) }
            put(Int32(540), 0)
            for (i, c) in [0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a].enumerated() { b[4 + i] = UInt8(c) }   // "n+2\0\r\n\032\n"
            put(Int16(4), 12); put(Int16(16), 14)                                    // DT_INT16, 16 bits
            for i in 0..<8 { put(dims[i], 16 + 8 * i); put(pixdim[i], 104 + 8 * i) }
            put(Int64(544), 168)                                                     // vox_offset
            put(slope, 176); put(inter, 184)
            put(Int32(0), 344); put(sformCode, 348)                                  // qform_code, sform_code
            for r in 0..<3 { for c in 0..<4 { put(srow[r][c], 400 + 32 * r + 8 * c) } }
            put(Int32(2), 500)                                                       // mm
            var data: [UInt8] = []
            for v in values { let e = bigEndian ? v.bigEndian : v.littleEndian; withUnsafeBytes(of: e) { data += $0 } }
            return b + data
        }
    }

    func write(_ h: Header, _ name: String) throws -> String {
        let p = Fixtures.scratchDirectory(name) + "/" + name
        try Data(h.bytes()).write(to: URL(fileURLWithPath: p))
        return p
    }

    func testNIfTI2InBothByteOrders() throws {
        for big in [false, true] {
            var h = Header()
            h.bigEndian = big
            let v = try VolumeFile.read(try write(h, "n2.nii"))
            XCTAssertEqual(v.format, "nifti2")
            XCTAssertEqual(v.storedType, "int16")
            XCTAssertEqual(v.shape, [2, 3, 2])
            // v * 0.5 + 3: -50 -> -22, -40 -> -17, ...
            XCTAssertEqual(v.voxels, h.values.map { Float(Double($0) * 0.5 + 3) }, "big-endian \(big)")
            XCTAssertEqual(v.voxels.first, -22)
            XCTAssertEqual(v.geometry.affineRAS, [0, -2, 0, 10, 1.5, 0, 0, -20, 0, 0, 3, 5, 0, 0, 0, 1])
            XCTAssertEqual(v.geometry.spacing, [1.5, 2, 3])
            XCTAssertEqual(v.geometry.origin, [10, -20, 5])
            // Columns divided by their lengths: (0, 1, 0), (-1, 0, 0), (0, 0, 1).
            XCTAssertEqual(v.geometry.direction, [0, -1, 0, 1, 0, 0, 0, 0, 1])
        }
    }

    /// No sform, no qform: nibabel's base affine, diag(-1.5, 2, 3) centred on voxel
    /// ((2-1)/2, (3-1)/2, (2-1)/2): translation (0.75, -2, -1.5).
    func testPixdimAffineWhenNoTransformIsSet() throws {
        var h = Header()
        h.sformCode = 0
        let v = try VolumeFile.read(try write(h, "plain.nii"))
        XCTAssertEqual(v.geometry.affineRAS, [-1.5, 0, 0, 0.75, 0, 2, 0, -2, 0, 0, 3, -1.5, 0, 0, 0, 1])
    }

    func testDimsThatOverflowOrAreNegative() throws {
        var h = Header()
        h.dims = [3, 1 << 31, 1 << 31, 1 << 31, 1, 1, 1, 1]
        XCTAssertThrowsError(try VolumeFile.read(try write(h, "overflow.nii"))) { e in
            XCTAssertEqual((e as? VolumeError)?.what, "dims", "\(e)")
            XCTAssertTrue((e as? VolumeError)?.found.contains("2147483648x2147483648x2147483648") == true, "\(e)")
        }
        // With no cap to speak of, the product itself overflows Int64: still refused, checked.
        let path = try write(h, "overflow2.nii")
        XCTAssertThrowsError(try VolumeFile.read(path, maxVoxels: .max)) { e in
            XCTAssertTrue((e as? VolumeError)?.found.contains("overflows") == true, "\(e)")
        }
        h.dims = [3, 2, -3, 2, 1, 1, 1, 1]
        XCTAssertThrowsError(try VolumeFile.read(try write(h, "negative.nii"))) { e in
            XCTAssertEqual((e as? VolumeError)?.what, "header", "\(e)")
        }
        h.dims = [5, 2, 3, 2, 1, 2, 1, 1]
        XCTAssertThrowsError(try VolumeFile.read(try write(h, "fifth.nii"))) { e in
            XCTAssertEqual((e as? VolumeError)?.what, "dims", "\(e)")
        }
    }
}
