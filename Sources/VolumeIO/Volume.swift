/// Where a volume's voxels sit in space.
///
/// `spacing`, `origin` and `direction` are in the file's own convention: for MetaImage (ITK,
/// LPS) ElementSpacing, Offset and the direction whose column c is the world direction of index
/// axis c; for NIfTI (RAS) pixdim[1...3], the affine's translation and its 3x3 with each
/// column divided by that column's length. `affineRAS` is always the voxel (i, j, k) -> RAS mm
/// map, so a volume written as NIfTI keeps its place.
public struct VolumeGeometry: Equatable, Sendable {
    /// 3 values, mm.
    public var spacing: [Double]
    /// 3 values, in the file's own convention.
    public var origin: [Double]
    /// 3x3 row-major, in the file's own convention (MetaImage: LPS).
    public var direction: [Double]
    /// 4x4 row-major: the NIfTI affine (sform where set, as nibabel picks it; else qform; else
    /// pixdim); for MetaImage the affine SimpleITK writes when it saves that image as NIfTI
    /// (LPS -> RAS: the first two rows negated).
    public var affineRAS: [Double]

    public init(spacing: [Double], origin: [Double], direction: [Double], affineRAS: [Double]) {
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
        self.affineRAS = affineRAS
    }

    /// Unit spacing, zero origin, identity direction and affine: a NIfTI (RAS) image with no
    /// geometry. (An LPS image with identity direction has affineRAS diag(-1, -1, 1, 1).)
    public static let identity = VolumeGeometry(
        spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
        affineRAS: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])

    /// The geometry of an LPS image (ITK/MetaImage): affineRAS = diag(-1, -1, 1, 1) x
    /// [direction x diag(spacing) | origin], which is what SimpleITK writes to a NIfTI's sform.
    public static func fromLPS(spacing: [Double], origin: [Double], direction: [Double]) -> VolumeGeometry {
        var a = [Double](repeating: 0, count: 16)
        for r in 0..<3 {
            let sign: Double = r < 2 ? -1 : 1
            for c in 0..<3 { a[r * 4 + c] = sign * direction[r * 3 + c] * spacing[c] }
            a[r * 4 + 3] = sign * origin[r]
        }
        a[15] = 1
        return VolumeGeometry(spacing: spacing, origin: origin, direction: direction, affineRAS: a)
    }

    /// The geometry of a RAS affine (NIfTI): origin the translation, direction the columns of
    /// the 3x3 divided by their lengths (a zero column stays zero), spacing as given (pixdim).
    public static func fromRAS(affine a: [Double], spacing: [Double]) -> VolumeGeometry {
        var direction = [Double](repeating: 0, count: 9)
        for c in 0..<3 {
            let n = (0..<3).map { a[$0 * 4 + c] * a[$0 * 4 + c] }.reduce(0, +).squareRoot()
            for r in 0..<3 { direction[r * 3 + c] = n > 0 ? a[r * 4 + c] / n : 0 }
        }
        return VolumeGeometry(spacing: spacing, origin: [a[3], a[7], a[11]], direction: direction, affineRAS: a)
    }
}

/// A scan read whole: voxels as float32 in the file's own index order (i fastest).
public struct Volume: Sendable {
    /// i, j, k (and t for 4D).
    public var shape: [Int]
    /// The file's own index order, i fastest, after scl scaling.
    public var voxels: [Float]
    public var geometry: VolumeGeometry
    /// "nifti1", "nifti2", "metaimage".
    public var format: String
    /// The type on disk, e.g. "int16", "float32".
    public var storedType: String

    public init(shape: [Int], voxels: [Float], geometry: VolumeGeometry, format: String, storedType: String) {
        self.shape = shape
        self.voxels = voxels
        self.geometry = geometry
        self.format = format
        self.storedType = storedType
    }

    /// The voxel at (i, j, k[, t]); no bounds check beyond Swift's own.
    public subscript(_ index: Int...) -> Float {
        var flat = 0, stride = 1
        for (axis, v) in index.enumerated() {
            flat += v * stride
            stride *= shape[axis]
        }
        return voxels[flat]
    }
}

/// Reading scans (NIfTI-1/2 through libnifti, MetaImage through our bounded parser) and
/// writing float32 NIfTI-1.
public enum VolumeFile {
    /// Largest volume read: 2^30 voxels (4 GiB as float32; a 512x512x1000 CT is 2.6e8).
    public static let defaultMaxVoxels = 1 << 30

    /// Reads `.nii`, `.nii.gz` (NIfTI-1 or -2), `.mhd` (+ its data file) or `.mha`; a file
    /// of another name is recognised by its first bytes when it is a NIfTI or MetaImage.
    /// Refuses more than `maxVoxels` voxels before anything is allocated.
    public static func read(_ path: String, maxVoxels: Int = defaultMaxVoxels) throws -> Volume {
        switch try VolumeFormat.detect(path) {
        case .nifti: return try NIfTIReader.read(path, maxVoxels: maxVoxels)
        case .metaImage: return try MetaImageReader.read(path, maxVoxels: maxVoxels)
        }
    }

    /// Writes float32 NIfTI-1 (`.nii`, or gzip for `.nii.gz`) through libnifti, atomically
    /// (FileIO.atomicWrite: nothing at `path` unless the whole file was written), the geometry
    /// kept as sform and qform (both code 1, scanner anatomical) from `affineRAS`.
    public static func writeNIfTI(_ volume: Volume, to path: String, description: String = "") throws {
        try NIfTIOutput.writeWhole(volume, to: path, description: description)
    }
}
