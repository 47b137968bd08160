import GenesisModel
import VolumeIO

/// The checks a segmentation mask passes before label cubes are cut from it beside its scan:
/// the scan's shape, the scan's place in space (unless told to ignore it), and voxels that
/// are class indices `genesis finetune --task segmentation` takes (0/1 for one class,
/// 0..<K for K classes, K at most `Architecture.maxLabels`).
public enum CubeLabels {
    /// Largest difference allowed between the scan's and the mask's voxel -> RAS mm affine
    /// entries, and between their spacings (mm).
    public static let geometryTolerance = 1e-4

    /// The mask's largest class index, after checking it against its scan.
    public static func check(mask: Volume, file: String, scan: Volume, scanFile: String, ignoreGeometry: Bool) throws -> Int {
        guard mask.shape == scan.shape else {
            throw WorkflowError(subject: file, message: "mask of shape \(TextFormat.shape(mask.shape)), its scan \(TextFormat.terminalSafe(scanFile)) is \(TextFormat.shape(scan.shape))")
        }
        if !ignoreGeometry, let what = geometryDifference(mask.geometry, scan.geometry) {
            throw WorkflowError(subject: file, message: "mask and its scan \(TextFormat.terminalSafe(scanFile)) differ in geometry (\(what), more than \(geometryTolerance)); --ignore-geometry to cut them anyway")
        }
        return try largestClass(mask, file: file)
    }

    /// "spacing 0.8 vs 0.7 on axis 1" / "affine entry (0, 3) -12 vs -10", or nil when equal to the tolerance.
    public static func geometryDifference(_ a: VolumeGeometry, _ b: VolumeGeometry) -> String? {
        for i in 0..<min(a.spacing.count, b.spacing.count) where !(abs(a.spacing[i] - b.spacing[i]) <= geometryTolerance) {
            return "spacing \(a.spacing[i]) vs \(b.spacing[i]) mm on axis \(i)"
        }
        for i in 0..<min(a.affineRAS.count, b.affineRAS.count) where !(abs(a.affineRAS[i] - b.affineRAS[i]) <= geometryTolerance) {
            return "affine entry (\(i / 4), \(i % 4)) \(a.affineRAS[i]) vs \(b.affineRAS[i])"
        }
        return nil
    }

    /// The largest voxel of a mask whose voxels (t = 0 of a 4-D one, as the cubes) are all
    /// whole numbers in 0..<maxLabels; else an error naming the first bad voxel (i, j, k).
    public static func largestClass(_ mask: Volume, file: String) throws -> Int {
        let count = mask.shape.prefix(3).reduce(1, *)
        let cap = Float(Architecture.maxLabels)
        var largest: Float = 0
        for n in 0..<count {
            let v = mask.voxels[n]
            if v >= 0, v < cap, v == v.rounded() {
                largest = max(largest, v)
                continue
            }
            let (nx, ny) = (mask.shape[0], mask.shape[1])
            let ijk = [n % nx, (n / nx) % ny, n / (nx * ny)]
            throw WorkflowError(subject: file, message: "voxel \(TextFormat.shape(ijk)) is \(v): mask voxels must be class indices 0...\(Architecture.maxLabels - 1) (0/1 for one class)")
        }
        return Int(largest)
    }
}
