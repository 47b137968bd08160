internal import CNIfTI

/// The affine nibabel gives a NIfTI image (`get_best_affine`): the sform when sform_code is
/// set, else the qform (quaternion, pixdim and qfac, as libnifti computes it) when qform_code
/// is set, else its base affine from pixdim: diag(-dx, dy, dz) centred on the middle voxel
/// (`shape_zoom_affine`, x flipped), translation (-(-dx) (nx-1)/2, -dy (ny-1)/2, -dz (nz-1)/2).
enum NIfTIGeometry {
    static func geometry(of im: nifti_image, shape: [Int], file: String) throws -> VolumeGeometry {
        let spacing = [im.dx, im.dy, im.dz].map { abs($0) }
        let affine: [Double]
        if im.sform_code != 0 {
            affine = values(im.sto_xyz)
        } else if im.qform_code != 0 {
            affine = values(im.qto_xyz)
        } else {
            let zooms = [-im.dx, im.dy, im.dz]
            var a = [Double](repeating: 0, count: 16)
            for r in 0..<3 {
                a[r * 4 + r] = zooms[r]
                a[r * 4 + 3] = -Double(shape[r] - 1) / 2 * zooms[r]
            }
            a[15] = 1
            affine = a
        }
        guard affine.allSatisfy({ $0.isFinite }) else {
            throw VolumeError(file: file, what: "affine", expected: "finite srow/quaternion values",
                              found: affine.map { "\($0)" }.joined(separator: " "))
        }
        return .fromRAS(affine: affine, spacing: spacing)
    }

    /// A 4x4 in row-major order.
    static func values(_ m: nifti_dmat44) -> [Double] {
        withUnsafeBytes(of: m) { Array($0.bindMemory(to: Double.self)) }
    }

    static func matrix(_ a: [Double]) -> nifti_dmat44 {
        var m = nifti_dmat44()
        withUnsafeMutableBytes(of: &m) { raw in
            let d = raw.bindMemory(to: Double.self)
            for i in 0..<16 { d[i] = a[i] }
        }
        return m
    }
}
