import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// Damaged and hostile scans: each a thrown VolumeError naming the file and what was wrong,
/// never a crash or a huge allocation; and the MetaImage variants the fixtures lack (byte order,
/// LOCAL data, key synonyms, .zraw, 4-D), read right. Variants are made from the fixtures in a
/// scratch folder.
final class VolumeDamageTests: XCTestCase {
    var dir = ""

    override func setUp() { dir = Fixtures.scratchDirectory(name) }

    func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("volumes/" + name))))
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let p = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func write(_ text: String, _ name: String) throws -> String { try write(Array(text.utf8), name) }

    func assertRefused(_ path: String, _ what: String, _ found: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try VolumeFile.read(path), file: file, line: line) { e in
            guard let v = e as? VolumeError else { return XCTFail("not a VolumeError: \(e)", file: file, line: line) }
            XCTAssertEqual(v.file, path, file: file, line: line)
            XCTAssertEqual(v.what, what, "\(v)", file: file, line: line)
            if let found { XCTAssertTrue(v.found.contains(found), "\(v)", file: file, line: line) }
            XCTAssertFalse(v.description.contains("\n"), file: file, line: line)
        }
    }

    /// Big-endian int16 at `offset` (anatomical.nii is big-endian).
    func putBE16(_ b: inout [UInt8], _ offset: Int, _ v: Int16) {
        b[offset] = UInt8(truncatingIfNeeded: v >> 8); b[offset + 1] = UInt8(truncatingIfNeeded: v)
    }

    func putBEFloat(_ b: inout [UInt8], _ offset: Int, _ v: Float) {
        let u = v.bitPattern
        for i in 0..<4 { b[offset + i] = UInt8(truncatingIfNeeded: u >> (24 - 8 * i)) }
    }

    // MARK: NIfTI

    func testTruncatedNIfTIHeader() throws {
        assertRefused(try write(Array(try fixture("anatomical.nii").prefix(200)), "short.nii"), "header", "ends after 200")
        assertRefused(try write([UInt8](), "empty.nii"), "header")
    }

    func testTruncatedNIfTIData() throws {
        let b = try fixture("anatomical.nii")
        assertRefused(try write(Array(b.prefix(b.count / 2)), "half.nii"), "data", "cut short")
    }

    /// dim[1...3] = 10000 (offset 42, 44, 46): 10^12 voxels, refused before any allocation.
    func testDimsClaimingATrillionVoxels() throws {
        var b = try fixture("anatomical.nii")
        for axis in 1...3 { putBE16(&b, 40 + 2 * axis, 10000) }
        assertRefused(try write(b, "huge.nii"), "dims", "10000x10000x10000")
        // And a cap the caller sets: anatomical has 33*41*25 = 33825 voxels.
        let ok = Fixtures.path("volumes/anatomical.nii")
        XCTAssertThrowsError(try VolumeFile.read(ok, maxVoxels: 33824)) { e in XCTAssertEqual((e as? VolumeError)?.what, "dims") }
        XCTAssertEqual(try VolumeFile.read(ok, maxVoxels: 33825).voxels.count, 33825)
    }

    func testGzipCutShort() throws {
        let b = try fixture("example_nifti2.nii.gz")
        assertRefused(try write(Array(b.prefix(b.count / 2)), "cut.nii.gz"), "data", "gzip")
        assertRefused(try write(Array(b.prefix(100)), "tiny.nii.gz"), "header")
    }

    /// 1000^3 int16 (2 GB, under the 2^30-voxel cap) claimed by a 60 kB gzip file: deflate
    /// expands at most 1032:1, so it is refused before libnifti allocates anything.
    func testSmallGzipClaimingGigabytes() throws {
        var b = try fixture("anatomical.nii")
        for axis in 1...3 { putBE16(&b, 40 + 2 * axis, 1000) }
        let plain = try write(b, "big.nii")
        let gz = try runProcess("/bin/gzip", ["-f", plain])
        XCTAssertEqual(gz.status, 0, gz.stderr)
        assertRefused(plain + ".gz", "data", "inflates to at most")

        var lines = Self.ctHeader.map { $0.replacingOccurrences(of: "CompressedData = False", with: "CompressedData = True") }
        lines[8] = "DimSize = 1024 1024 1024"
        lines[9] = "ElementType = MET_DOUBLE"
        assertRefused(try write(Array(mhd(lines + ["ElementDataFile = LOCAL"]).utf8) + [UInt8](repeating: 0x78, count: 1000), "big.mha"),
                      "compressed data", "inflate to at most")
    }

    func testNotANIfTI() throws {
        assertRefused(try write(Array(repeating: 0x41, count: 600), "junk.nii"), "header")
        var b = try fixture("anatomical.nii")
        putBE16(&b, 70, 128)   // datatype 128 = RGB24
        putBE16(&b, 72, 24)
        assertRefused(try write(b, "rgb.nii"), "datatype")
        let d = dir + "/dir.nii"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: false)
        assertRefused(d, "file", "directory")
        assertRefused(dir + "/absent.nii", "file")
        // A FIFO is refused before anything opens it (opening one would block).
        XCTAssertEqual(mkfifo(dir + "/fifo.nii", 0o644), 0)
        assertRefused(dir + "/fifo.nii", "file", "FIFO")
        XCTAssertEqual(mkfifo(dir + "/fifo.mhd", 0o644), 0)
        assertRefused(dir + "/fifo.mhd", "file", "FIFO")
        XCTAssertEqual(mkfifo(dir + "/fifo.raw", 0o644), 0)
        assertRefused(try write(mhd(Self.ctHeader + ["ElementDataFile = fifo.raw"]), "fifodata.mhd"), "ElementDataFile", "FIFO")
    }

    /// nibabel's rule (get_slope_inter): slope 0 or NaN -> unscaled; otherwise v*slope + inter
    /// in float64, here slope 2, inter -5 by hand: voxel -610 -> -1225.
    func testSclSlopeAndInterAreAppliedAsNibabelDoes() throws {
        let ref = try VolumeFile.read(Fixtures.path("volumes/anatomical.nii"))
        var b = try fixture("anatomical.nii")
        putBEFloat(&b, 112, 2); putBEFloat(&b, 116, -5)
        let scaled = try VolumeFile.read(try write(b, "scaled.nii"))
        XCTAssertEqual(scaled.voxels, ref.voxels.map { Float(Double($0) * 2 - 5) })
        XCTAssertEqual(scaled.voxels.min(), -1225)
        for (slope, inter) in [(Float(0), Float(7)), (Float.nan, Float(3)), (Float(1), Float(0))] {
            putBEFloat(&b, 112, slope); putBEFloat(&b, 116, inter)
            XCTAssertEqual(try VolumeFile.read(try write(b, "unscaled.nii")).voxels, ref.voxels, "slope \(slope) inter \(inter)")
        }
        putBEFloat(&b, 112, 2); putBEFloat(&b, 116, .infinity)
        assertRefused(try write(b, "badinter.nii"), "scl_inter")
    }

    // MARK: MetaImage

    func mhd(_ lines: [String]) -> String { lines.joined(separator: "\n") + "\n" }

    static let ctHeader = [
        "ObjectType = Image", "NDims = 3", "BinaryData = True", "BinaryDataByteOrderMSB = False",
        "CompressedData = False", "TransformMatrix = 0 1 0 1 0 0 0 0 1", "Offset = -120.5 30 -300.25",
        "ElementSpacing = 0.7 0.7 2.5", "DimSize = 32 40 24", "ElementType = MET_SHORT",
    ]

    func testMetaImageWhoseRawFileIsMissingOrShort() throws {
        let raw = try fixture("ct_like.raw")
        let header = mhd(Self.ctHeader + ["ElementDataFile = ct.raw"])
        assertRefused(try write(header, "missing.mhd"), "ElementDataFile", "No such file")
        _ = try write(Array(raw.prefix(raw.count - 1)), "ct.raw")
        assertRefused(try write(header, "short.mhd"), "data", "cut short")
    }

    func testMetaImageWithAHugeDimSize() throws {
        var lines = Self.ctHeader
        lines[8] = "DimSize = 100000 100000 100000"
        _ = try write(try fixture("ct_like.raw"), "ct.raw")
        assertRefused(try write(mhd(lines + ["ElementDataFile = ct.raw"]), "huge.mhd"), "DimSize", "100000")
        lines[8] = "DimSize = 9223372036854775807 2 2"
        assertRefused(try write(mhd(lines + ["ElementDataFile = ct.raw"]), "overflow.mhd"), "DimSize")
        lines[8] = "DimSize = 32 40"
        assertRefused(try write(mhd(lines + ["ElementDataFile = ct.raw"]), "two.mhd"), "DimSize")
    }

    /// The metaimage fuzz target's find (2026-12-01): `NDims = -2^63` trapped in `abs(Int.min)`
    /// while the header was range-checked. Now refused as a bad NDims. The fuzzer's input.
    func testMetaImageWithTheSmallestIntegerIsRefused() throws {
        let input = [UInt8](Data(base64Encoded: "T2JqZSA9IEltYWdlCk5EaW1zID0gLTkyMjMzNzIwMzY4NTQ3NzU4MDggCkVsZW1lbnRUeXBlID0gTUVUX1NIT1IgUm8gMSBUCkVsZW1lbnREYXRhRmlsZSA9IExPQ0FMCnicY2BkYmZhZWPn4OTi5uHl4wcAArgAeQ==")!)
        XCTAssertEqual(input.count, 121)
        assertRefused(try write(input, "fuzz.mha"), "NDims", "-9223372036854775808")
        var lines = Self.ctHeader
        lines[8] = "DimSize = -9223372036854775808 2 2"
        _ = try write(try fixture("ct_like.raw"), "ct.raw")
        assertRefused(try write(mhd(lines + ["ElementDataFile = ct.raw"]), "min.mhd"), "DimSize")
    }

    func testMetaImageDataFileMustStayBesideTheHeader() throws {
        for name in ["/etc/passwd", "../ct.raw", "a/../../ct.raw", "img%03d.raw", "LIST"] {
            assertRefused(try write(mhd(Self.ctHeader + ["ElementDataFile = \(name)"]), "escape.mhd"), "ElementDataFile")
        }
    }

    func testCompressedMetaImageCutShort() throws {
        let b = try fixture("ct_like_z.mha")
        assertRefused(try write(Array(b.prefix(b.count - 4000)), "cut.mha"), "data", "cut short")   // CompressedDataSize says more
        // Without CompressedDataSize the stream itself ends early.
        let text = String(decoding: b, as: UTF8.self)
        let header = String(text[..<text.range(of: "ElementDataFile = LOCAL\n")!.upperBound])
        let stripped = header.replacingOccurrences(of: "CompressedDataSize = 12891\n", with: "")
        let body = Array(b[header.utf8.count...])
        assertRefused(try write(Array(stripped.utf8) + Array(body.prefix(body.count / 2)), "cut2.mha"), "compressed data", "cut short")
        var damaged = body
        for i in 100..<200 { damaged[i] ^= 0x5a }
        assertRefused(try write(Array(stripped.utf8) + damaged, "damaged.mha"), "compressed data")
    }

    func testMetaImageHeaderLimits() throws {
        assertRefused(try write((0..<600).map { "Comment\($0) = x\n" }.joined(), "long.mhd"), "header")
        assertRefused(try write(mhd(Self.ctHeader), "noData.mhd"), "header", "end of header")
        assertRefused(try write(mhd(Self.ctHeader.map { $0.replacingOccurrences(of: "MET_SHORT", with: "MET_FLOAT_ARRAY") } + ["ElementDataFile = x.raw"]), "type.mhd"), "ElementType")
        assertRefused(try write(mhd(Self.ctHeader.map { $0.replacingOccurrences(of: "NDims = 3", with: "NDims = 2") } + ["ElementDataFile = x.raw"]), "nd.mhd"), "NDims")
        assertRefused(try write(mhd(Self.ctHeader + ["NDims = 3", "ElementDataFile = x.raw"]), "twice.mhd"), "header", "twice")
    }

    // MARK: MetaImage variants read right

    /// The fixture's raw bytes swapped to big-endian, with BinaryDataByteOrderMSB = True.
    func testBigEndianMetaImage() throws {
        let ref = try VolumeFile.read(Fixtures.path("volumes/ct_like.mhd"))
        var raw = try fixture("ct_like.raw")
        for i in stride(from: 0, to: raw.count, by: 2) { raw.swapAt(i, i + 1) }
        _ = try write(raw, "be.raw")
        let lines = Self.ctHeader.map { $0.replacingOccurrences(of: "MSB = False", with: "MSB = True") } + ["ElementDataFile = be.raw"]
        let v = try VolumeFile.read(try write(mhd(lines), "be.mhd"))
        XCTAssertEqual(v.voxels, ref.voxels)
        XCTAssertEqual(v.geometry, ref.geometry)
    }

    /// Uncompressed LOCAL data (.mha), and an asymmetric TransformMatrix read as ITK does
    /// (MetaImageIO: the direction of index axis c is TransformMatrix[3c ..< 3c+3], a column).
    /// By hand: TransformMatrix = 0 0 1  1 0 0  0 1 0 -> columns (0,0,1), (1,0,0), (0,1,0).
    func testLocalDataAndTransformMatrixColumns() throws {
        let ref = try VolumeFile.read(Fixtures.path("volumes/ct_like.mhd"))
        let lines = Self.ctHeader.map { $0.hasPrefix("TransformMatrix") ? "TransformMatrix = 0 0 1 1 0 0 0 1 0" : $0 } + ["ElementDataFile = LOCAL"]
        let v = try VolumeFile.read(try write(Array(mhd(lines).utf8) + (try fixture("ct_like.raw")), "local.mha"))
        XCTAssertEqual(v.voxels, ref.voxels)
        XCTAssertEqual(v.geometry.direction, [0, 1, 0, 0, 0, 1, 1, 0, 0])
        XCTAssertEqual(v.storedType, "int16")
        XCTAssertEqual(v.format, "metaimage")
    }

    /// MET_FLOAT and MET_UCHAR data, and a header under another name found by its first bytes.
    func testOtherElementTypesAndDetectionByContent() throws {
        let values: [Float] = [0, 1.5, -2.25, 1e6, 3, 4, 5, 6]
        var raw: [UInt8] = []
        for f in values { withUnsafeBytes(of: f.bitPattern.littleEndian) { raw += $0 } }
        _ = try write(raw, "f.raw")
        let header = mhd(["ObjectType = Image", "NDims = 3", "DimSize = 2 2 2", "ElementType = MET_FLOAT", "ElementDataFile = f.raw"])
        XCTAssertEqual(try VolumeFile.read(try write(header, "f.mhd")).voxels, values)
        XCTAssertEqual(try VolumeFile.read(try write(header, "f.header")).voxels, values)
        _ = try write([0, 1, 2, 255, 4, 5, 6, 7], "u.raw")
        let u = try VolumeFile.read(try write(mhd(["NDims = 3", "DimSize = 2 2 2", "ElementType = MET_UCHAR", "ElementDataFile = u.raw"]), "u.mhd"))
        XCTAssertEqual(u.voxels, [0, 1, 2, 255, 4, 5, 6, 7])
        XCTAssertEqual(u.geometry.direction, VolumeGeometry.identity.direction)
        XCTAssertEqual(u.geometry.spacing, [1, 1, 1])
        XCTAssertEqual(u.geometry.affineRAS, [-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], "LPS identity is RAS diag(-1, -1, 1)")
        assertRefused(try write("hello", "x.txt"), "name")
    }

    /// The synonyms MetaIO accepts (Origin/Position for Offset, Rotation/Orientation for
    /// TransformMatrix, ElementByteOrderMSB), a separate .zraw, and NDims = 4.
    func testMetaImageSynonymsZrawAndFourDimensions() throws {
        let ref = try VolumeFile.read(Fixtures.path("volumes/ct_like.mhd"))
        _ = try write(try fixture("ct_like.raw"), "ct.raw")
        for (offsetKey, matrixKey) in [("Origin", "Rotation"), ("Position", "Orientation")] {
            let lines = Self.ctHeader.map {
                $0.replacingOccurrences(of: "Offset", with: offsetKey).replacingOccurrences(of: "TransformMatrix", with: matrixKey)
                    .replacingOccurrences(of: "BinaryDataByteOrderMSB", with: "ElementByteOrderMSB")
            } + ["ElementDataFile = ct.raw"]
            XCTAssertEqual(try VolumeFile.read(try write(mhd(lines), "syn.mhd")).geometry, ref.geometry, offsetKey)
        }

        // ct_like_z.mha split into a header and a .zraw file beside it.
        let z = try fixture("ct_like_z.mha"), zref = try VolumeFile.read(Fixtures.path("volumes/ct_like_z.mha"))
        let text = String(decoding: z, as: UTF8.self)
        let header = String(text[..<text.range(of: "ElementDataFile = LOCAL\n")!.upperBound])
        _ = try write(Array(z[header.utf8.count...]), "z.zraw")
        let split = header.replacingOccurrences(of: "ElementDataFile = LOCAL", with: "ElementDataFile = z.zraw")
        XCTAssertEqual(try VolumeFile.read(try write(split, "z.mhd")).voxels, zref.voxels)

        // The same bytes as 32x40x12x2: t = 1 is the second half of the file.
        var four = Self.ctHeader
        four[1] = "NDims = 4"
        four[5] = "TransformMatrix = 0 1 0 0 1 0 0 0 0 0 1 0 0 0 0 1"
        four[6] = "Offset = -120.5 30 -300.25 0"
        four[7] = "ElementSpacing = 0.7 0.7 2.5 1"
        four[8] = "DimSize = 32 40 12 2"
        let v = try VolumeFile.read(try write(mhd(four + ["ElementDataFile = ct.raw"]), "four.mhd"))
        XCTAssertEqual(v.shape, [32, 40, 12, 2])
        XCTAssertEqual(v.voxels, ref.voxels)
        XCTAssertEqual(v[3, 5, 2, 1], ref[3, 5, 14])
        XCTAssertEqual(v.geometry, ref.geometry)
    }
}
