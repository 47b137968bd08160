import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// NIfTI written through libnifti and read back; the slab writer against the whole-volume one.
final class VolumeWriteTests: XCTestCase {
    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// The affine's 16 values to float32 rounding (the sform is stored as float32): |a - b| <=
    /// 1e-7 x max(1, |b|), i.e. about one float32 ulp.
    func assertAffine(_ a: [Double], _ b: [Double], _ what: String, tol: Double = 1e-7, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, 16, what, file: file, line: line)
        for (x, y) in zip(a, b) where abs(x - y) > tol * max(1, abs(y)) {
            XCTFail("\(what): \(a) vs \(b)", file: file, line: line)
            return
        }
    }

    func testRoundTripKeepsVoxelsAndGeometryInNiiAndNiiGz() throws {
        let dir = Fixtures.scratchDirectory()
        for source in ["anatomical.nii", "example_nifti2.nii.gz"] {
            let v = try VolumeFile.read(Fixtures.path("volumes/" + source))
            for suffix in [".nii", ".nii.gz"] {
                let out = dir + "/" + source.replacingOccurrences(of: ".", with: "_") + suffix
                try VolumeFile.writeNIfTI(v, to: out)
                let w = try VolumeFile.read(out)
                XCTAssertEqual(w.format, "nifti1", out)
                XCTAssertEqual(w.storedType, "float32", out)
                XCTAssertEqual(w.shape, v.shape, out)
                XCTAssertEqual(w.voxels, v.voxels, out)   // int16 values: exact in float32
                assertAffine(w.geometry.affineRAS, v.geometry.affineRAS, "\(out) affine")
                XCTAssertEqual(try bytes(out).starts(with: [0x1f, 0x8b]), suffix == ".nii.gz", "\(out) gzip or not")
            }
        }
    }

    /// The qform written beside the sform: with sform_code patched to 0 in the written file
    /// (NIfTI-1 offset 254, int16 little-endian), nibabel's rule falls back to the qform,
    /// which must give the same affine to float32 rounding of the quaternion (measured < 2e-6
    /// on anatomical's 2 mm, 32 mm-offset affine; 1e-5 allowed).
    func testQformMatchesTheSform() throws {
        let dir = Fixtures.scratchDirectory()
        let v = try VolumeFile.read(Fixtures.path("volumes/example_nifti2.nii.gz"))
        let out = dir + "/q.nii"
        try VolumeFile.writeNIfTI(v, to: out)
        var b = try bytes(out)
        XCTAssertEqual(b[254], 1)   // NIFTI_XFORM_SCANNER_ANAT
        b[254] = 0; b[255] = 0
        try Data(b).write(to: URL(fileURLWithPath: out))
        let q = try VolumeFile.read(out)
        assertAffine(q.geometry.affineRAS, v.geometry.affineRAS, "qform affine", tol: 1e-5)
    }

    /// SimpleITK writes an LPS image to NIfTI with affine = diag(-1, -1, 1) [D diag(s) | o]:
    /// A[r][c] = f_r D[r][c] s[c], A[r][3] = f_r o[r], f = (-1, -1, 1) (ITK's NIfTI writer,
    /// which flips x and y from LPS to RAS). D, s and o are EXPECTED.json's direction, spacing
    /// and origin for ct_like.mhd (SimpleITK's own reading of it).
    func testMetaImageWrittenAsNIfTIHasTheAffineSimpleITKWrites() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("volumes/EXPECTED.json")))
        let e = try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["ct_like.mhd"] as? [String: Any])
        let d = try XCTUnwrap(e["direction"] as? [Double]), s = try XCTUnwrap(e["spacing"] as? [Double]), o = try XCTUnwrap(e["origin"] as? [Double])
        var expected = [Double](repeating: 0, count: 16)
        let f: [Double] = [-1, -1, 1]
        for r in 0..<3 {
            for c in 0..<3 { expected[r * 4 + c] = f[r] * d[r * 3 + c] * s[c] }
            expected[r * 4 + 3] = f[r] * o[r]
        }
        expected[15] = 1

        let v = try VolumeFile.read(Fixtures.path("volumes/ct_like.mhd"))
        assertAffine(v.geometry.affineRAS, expected, "in memory", tol: 1e-12)
        let out = Fixtures.scratchDirectory() + "/ct_like.nii.gz"
        try VolumeFile.writeNIfTI(v, to: out)
        let w = try VolumeFile.read(out)
        XCTAssertEqual(w.voxels, v.voxels)
        XCTAssertEqual(w.shape, [32, 40, 24])
        for (x, y) in zip(w.geometry.affineRAS, expected) { XCTAssertEqual(x, y, accuracy: 1e-6, "written affine \(w.geometry.affineRAS)") }
        for (x, y) in zip(w.geometry.spacing, s) { XCTAssertEqual(x, y, accuracy: 1e-6) }
    }

    func testSlabWriterWritesTheSameBytesAsTheWholeVolumeWriter() throws {
        let dir = Fixtures.scratchDirectory()
        let v = try VolumeFile.read(Fixtures.path("volumes/ct_like.mhd"))
        let plane = v.shape[0] * v.shape[1]
        for suffix in [".nii", ".nii.gz"] {
            let whole = dir + "/whole" + suffix, slabs = dir + "/slabs" + suffix
            try VolumeFile.writeNIfTI(v, to: whole, description: "ct_like")
            let w = try NIfTISlabWriter(path: slabs, shape: v.shape, geometry: v.geometry, description: "ct_like")
            // Slabs of 5, 1, 7, ... slices: uneven on purpose; 24 slices in all.
            var k = 0
            for n in [5, 1, 7, 3, 8] {
                try v.voxels[(k * plane)..<((k + n) * plane)].withUnsafeBufferPointer { try w.append($0) }
                k += n
                XCTAssertFalse(FileManager.default.fileExists(atPath: slabs), "nothing at the path before finish()")
            }
            XCTAssertEqual(k, 24)
            try w.finish()
            XCTAssertEqual(try bytes(slabs), try bytes(whole), suffix)
            XCTAssertEqual(try VolumeFile.read(slabs).voxels, v.voxels)
        }
    }

    func testSlabWriterRefusesWrongCountsAndLeavesNothing() throws {
        let dir = Fixtures.scratchDirectory()
        let path = dir + "/short.nii"
        do {
            let w = try NIfTISlabWriter(path: path, shape: [4, 3, 2], geometry: .identity)
            let half = [Float](repeating: 1, count: 12)
            try half.withUnsafeBufferPointer { try w.append($0) }
            XCTAssertThrowsError(try [Float](repeating: 0, count: 5).withUnsafeBufferPointer { try w.append($0) }) { e in
                XCTAssertEqual((e as? VolumeError)?.what, "slab")
            }
        }
        let w = try NIfTISlabWriter(path: path, shape: [4, 3, 2], geometry: .identity)
        try [Float](repeating: 1, count: 12).withUnsafeBufferPointer { try w.append($0) }
        XCTAssertThrowsError(try w.finish()) { e in XCTAssertEqual((e as? VolumeError)?.what, "voxels") }
        XCTAssertThrowsError(try [Float](repeating: 0, count: 36).withUnsafeBufferPointer { try NIfTISlabWriter(path: path, shape: [4, 3, 2], geometry: .identity).append($0) })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "no file and no temporary left")
        XCTAssertThrowsError(try NIfTISlabWriter(path: dir + "/x.img", shape: [4, 3, 2], geometry: .identity))
        XCTAssertThrowsError(try NIfTISlabWriter(path: dir + "/x.nii", shape: [40000, 3, 2], geometry: .identity))
    }

    func testWriterWritesThroughASymlinkAndRefusesADirectory() throws {
        let dir = Fixtures.scratchDirectory()
        let v = Volume(shape: [2, 2, 2], voxels: (0..<8).map(Float.init), geometry: .identity, format: "nifti1", storedType: "float32")
        try VolumeFile.writeNIfTI(v, to: dir + "/real.nii")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.nii", withDestinationPath: "real.nii")
        let v2 = Volume(shape: [2, 2, 2], voxels: (0..<8).map { Float($0) * 2 }, geometry: .identity, format: "nifti1", storedType: "float32")
        try VolumeFile.writeNIfTI(v2, to: dir + "/link.nii")
        XCTAssertEqual(try VolumeFile.read(dir + "/real.nii").voxels, v2.voxels)
        try FileManager.default.createDirectory(atPath: dir + "/d.nii", withIntermediateDirectories: false)
        XCTAssertThrowsError(try VolumeFile.writeNIfTI(v, to: dir + "/d.nii"))
        XCTAssertThrowsError(try VolumeFile.writeNIfTI(Volume(shape: [2, 2, 2], voxels: [1], geometry: .identity, format: "", storedType: ""), to: dir + "/bad.nii"))
    }
}
