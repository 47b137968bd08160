#if canImport(Glibc)
import Glibc
#endif
internal import CNIfTI
import Tensors

/// One float32 NIfTI-1 file written by libnifti2 at `file` (a name ending `.nii` or `.nii.gz`,
/// which decides gzip): the header (sform and qform from the affine) when it opens, then the
/// voxels in the order given, through `nifti_write_buffer`; `close()` checks the close status.
/// Not atomic by itself: the writers below give it a temporary name and rename it into place.
final class NIfTIStream {
    /// NIfTI-1 dims are int16.
    static let maxAxis = 32767

    let file: String
    let report: String
    let voxelsExpected: Int
    private(set) var voxelsWritten = 0
    private var nim: UnsafeMutablePointer<nifti_image>?
    private var fp: znzFile?

    init(file: String, reportAs report: String, shape: [Int], geometry: VolumeGeometry, description: String) throws {
        self.file = file
        self.report = report
        func fail(_ what: String, _ expected: String, _ found: String) -> VolumeError {
            VolumeError(file: report, what: what, expected: expected, found: found)
        }
        guard (3...4).contains(shape.count), shape.allSatisfy({ (1...Self.maxAxis).contains($0) }) else {
            throw fail("shape", "3 or 4 axes of 1...\(Self.maxAxis) (NIfTI-1 dims are int16)", "\(shape)")
        }
        voxelsExpected = try Limits.byteCount(shape, .float32, what: "NIfTI output \(report)") / 4
        guard geometry.affineRAS.count == 16, geometry.affineRAS.allSatisfy({ $0.isFinite }) else {
            throw fail("affine", "16 finite values (4x4 row-major)", "\(geometry.affineRAS.count) values")
        }
        nifti_set_debug_level(0)
        var dims: [Int64] = [Int64(shape.count), 1, 1, 1, 1, 1, 1, 1]
        for (i, d) in shape.enumerated() { dims[i + 1] = Int64(d) }
        guard let nim = nifti_make_new_nim(dims, Int32(DT_FLOAT32), 0) else {
            throw fail("header", "an image libnifti can make", "nifti_make_new_nim failed")
        }
        self.nim = nim
        Self.setGeometry(nim, geometry.affineRAS)
        nim.pointee.scl_slope = 1
        nim.pointee.scl_inter = 0
        nim.pointee.xyz_units = Int32(NIFTI_UNITS_MM)
        withUnsafeMutableBytes(of: &nim.pointee.descrip) { d in
            let bytes = Array(description.utf8.prefix(79))
            for i in 0..<d.count { d[i] = i < bytes.count ? bytes[i] : 0 }
        }
        guard nifti_set_filenames(nim, file, 0, 1) == 0 else {
            free(); throw fail("name", "a name ending .nii or .nii.gz", file)
        }
        // write_opts 2: the header now, the file left open for the data.
        guard let fp = nifti_image_write_hdr_img(nim, 2, "wb") else {
            free(); throw fail("write", "a writable file", "libnifti could not write the header to \(file)")
        }
        self.fp = fp
    }

    deinit {
        if let fp { _ = cnifti_close(fp) }
        free()
    }

    private func free() {
        if let nim { nifti_image_free(nim) }
        nim = nil
    }

    /// sform = the affine; qform = its quaternion, offset and qfac (libnifti's polar
    /// decomposition); pixdim = the affine's column lengths, as nibabel's set_qform does.
    private static func setGeometry(_ nim: UnsafeMutablePointer<nifti_image>, _ affine: [Double]) {
        let m = NIfTIGeometry.matrix(affine)
        var qb = 0.0, qc = 0.0, qd = 0.0, qx = 0.0, qy = 0.0, qz = 0.0, dx = 0.0, dy = 0.0, dz = 0.0, qfac = 0.0
        nifti_dmat44_to_quatern(m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac)
        nim.pointee.sform_code = Int32(NIFTI_XFORM_SCANNER_ANAT)
        nim.pointee.sto_xyz = m
        nim.pointee.sto_ijk = nifti_dmat44_inverse(m)
        nim.pointee.qform_code = Int32(NIFTI_XFORM_SCANNER_ANAT)
        nim.pointee.quatern_b = qb; nim.pointee.quatern_c = qc; nim.pointee.quatern_d = qd
        nim.pointee.qoffset_x = qx; nim.pointee.qoffset_y = qy; nim.pointee.qoffset_z = qz
        nim.pointee.qfac = qfac
        nim.pointee.qto_xyz = nifti_quatern_to_dmat44(qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac)
        nim.pointee.qto_ijk = nifti_dmat44_inverse(nim.pointee.qto_xyz)
        nim.pointee.dx = dx; nim.pointee.dy = dy; nim.pointee.dz = dz
        withUnsafeMutableBytes(of: &nim.pointee.pixdim) { raw in
            let p = raw.bindMemory(to: Double.self)
            p[1] = dx; p[2] = dy; p[3] = dz
        }
    }

    func write(_ values: UnsafeBufferPointer<Float>) throws {
        guard let fp else { throw VolumeError(file: report, what: "write", expected: "an open file", found: "closed") }
        guard values.count <= voxelsExpected - voxelsWritten else {
            throw VolumeError(file: report, what: "voxels", expected: "\(voxelsExpected) in all",
                              found: "\(voxelsWritten + values.count) given")
        }
        guard values.count > 0 else { return }
        let bytes = values.count * 4
        let n = nifti_write_buffer(fp, values.baseAddress!, Int64(bytes))
        guard n == Int64(bytes) else {
            throw VolumeError(file: report, what: "write", expected: "\(bytes) bytes written", found: "\(n) (disk full?)")
        }
        voxelsWritten += values.count
    }

    /// Checks that every voxel came, closes (gzip trailer, fclose) and fsyncs the file.
    func close() throws {
        guard let f = fp else { return }
        fp = nil
        free()
        guard voxelsWritten == voxelsExpected else {
            _ = cnifti_close(f)
            throw VolumeError(file: report, what: "voxels", expected: "\(voxelsExpected)", found: "\(voxelsWritten) written")
        }
        guard cnifti_close(f) == 0 else {
            throw VolumeError(file: report, what: "write", expected: "the file closed cleanly", found: "an error closing \(file)")
        }
        let fd = open(file, O_RDONLY)
        guard fd >= 0, fsync(fd) == 0 else {
            if fd >= 0 { Glibc.close(fd) }
            throw VolumeError(file: report, what: "write", expected: "the file synced to disk", found: String(cString: strerror(errno)))
        }
        Glibc.close(fd)
    }

    /// `.nii` or `.nii.gz` for an output path; anything else refused.
    static func suffix(of path: String) throws -> String {
        if path.hasSuffix(".nii.gz") { return ".nii.gz" }
        if path.hasSuffix(".nii") { return ".nii" }
        throw VolumeError(file: path, what: "name", expected: "a NIfTI output name ending .nii or .nii.gz", found: path)
    }
}

enum NIfTIOutput {
    static func writeWhole(_ volume: Volume, to path: String, description: String) throws {
        let suffix = try NIfTIStream.suffix(of: path)
        var expected = 1
        for d in volume.shape {
            let (p, o) = expected.multipliedReportingOverflow(by: max(d, 0))
            guard !o else { throw VolumeError(file: path, what: "shape", expected: "a size that fits", found: "\(volume.shape)") }
            expected = p
        }
        guard volume.voxels.count == expected else {
            throw VolumeError(file: path, what: "voxels", expected: "\(expected) for shape \(volume.shape)", found: "\(volume.voxels.count)")
        }
        do {
            try FileIO.atomicWrite(to: path) { tmp in
                let named = tmp + suffix
                do {
                    let stream = try NIfTIStream(file: named, reportAs: path, shape: volume.shape, geometry: volume.geometry, description: description)
                    try volume.voxels.withUnsafeBufferPointer { try stream.write($0) }
                    try stream.close()
                    guard rename(named, tmp) == 0 else {
                        throw VolumeError(file: path, what: "write", expected: "a rename of \(named)", found: String(cString: strerror(errno)))
                    }
                } catch {
                    unlink(named)
                    throw error
                }
            }
        } catch let e as VolumeError {
            throw e
        } catch {
            throw VolumeError(file: path, what: "write", expected: "a writable path", found: "\(error)")
        }
    }
}
