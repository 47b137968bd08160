import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// `genesis run` on whole scans (issue 10, part 6): sliding windows over MetaImage and NIfTI
/// input, the output written with the input's geometry.
final class RunVolumeCLITests: XCTestCase {
    let tinyKeras = Fixtures.path("keras/genesis_tiny.h5")
    let ctLike = Fixtures.path("volumes/ct_like.mhd")

    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    /// The affine to float32 rounding (the NIfTI sform is float32): |a - b| <= 1e-7 x max(1, |b|).
    func assertSameGeometry(_ a: VolumeGeometry, _ b: VolumeGeometry, file: StaticString = #filePath, line: UInt = #line) {
        for (x, y) in zip(a.affineRAS, b.affineRAS) where abs(x - y) > 1e-7 * max(1, abs(y)) {
            return XCTFail("affine \(a.affineRAS) vs \(b.affineRAS)", file: file, line: line)
        }
        XCTAssertEqual(a.affineRAS.count, 16, file: file, line: line)
        for (x, y) in zip(a.spacing, b.spacing) { XCTAssertEqual(x, y, accuracy: 1e-6 * y, file: file, line: line) }
    }

    /// Runs the .npy path of `run` on one cube (D, H, W) = (i, j, k), which is the voxels.npy
    /// fixtures' own order, and returns its (labels, D, H, W) output.
    func forwardPass(_ cube: [Float], shape: [Int], dir: String) throws -> [Float] {
        try NPY.write(Tensor(shape: [1, 1] + shape, floats: cube), to: dir + "/cube.npy")
        let r = try genesis(["run", tinyKeras, "--input", dir + "/cube.npy", "--output", dir + "/cube_y.npy"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try NPY.read(dir + "/cube_y.npy").floats()
    }

    /// ct_like (32, 40, 24) with a patch of exactly its shape: one window, equal to one forward
    /// pass of the CT-windowed voxels (SimpleITK's, voxels.npy) to float rounding ((y w) / w:
    /// measured 6e-8), and written with ct_like's geometry (LPS, axes swapped: affineRAS).
    func testOnePatchScanIsOneForwardPassWithTheInputGeometry() throws {
        let dir = Fixtures.scratchDirectory()
        let r = try genesis(["run", tinyKeras, "--input", ctLike, "--output", dir + "/y.nii.gz", "--patch", "32,40,24", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json)
        XCTAssertEqual(j["windows"] as? Int, 1)
        XCTAssertEqual(j["shape"] as? [Int], [32, 40, 24])
        XCTAssertEqual(j["patch"] as? [Int], [32, 40, 24])
        XCTAssertEqual(j["overlap"] as? Double, 0.5)
        for key in ["input", "output", "seconds", "peak_rss_mb"] { XCTAssertNotNil(j[key], key) }

        let hu = try NPY.read(Fixtures.path("volumes/ct_like.voxels.npy")).floats()
        let expected = try forwardPass(hu.map { IntensityWindow.ct.apply(Double($0)) }, shape: [32, 40, 24], dir: dir)
        let out = try VolumeFile.read(dir + "/y.nii.gz")
        XCTAssertEqual(out.shape, [32, 40, 24])
        var worst: Float = 0
        for i in 0..<32 { for jj in 0..<40 { for k in 0..<24 {
            worst = max(worst, abs(out.voxels[(k * 40 + jj) * 32 + i] - expected[(i * 40 + jj) * 24 + k]))
        } } }
        XCTAssertLessThan(worst, 2e-7)
        assertSameGeometry(out.geometry, try VolumeFile.read(ctLike).geometry)
    }

    /// anatomical.nii (33, 41, 25, big-endian NIfTI-1) under a (40, 48, 32) patch: every side
    /// padded as MONAI does (diff 7: 3 before, 4 after, value 0 after the window) and cropped
    /// back; equal to the forward pass of the padded cube, cropped.
    func testSmallScanIsPaddedAndCroppedBack() throws {
        let dir = Fixtures.scratchDirectory()
        let scan = Fixtures.path("volumes/anatomical.nii")
        let r = try genesis(["run", tinyKeras, "--input", scan, "--window", "mri", "--output", dir + "/y.nii", "--patch", "40,48,32", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json?["windows"] as? Int, 1)
        // anatomical.voxels.npy is Fortran-ordered, which NPY refuses: the scan as VolumeIO reads
        // it (checked against those voxels in VolumeIOTests), i fastest.
        let v = try VolumeFile.read(scan).voxels
        var padded = [Float](repeating: 0, count: 40 * 48 * 32)
        for i in 0..<33 { for j in 0..<41 { for k in 0..<25 {
            padded[((i + 3) * 48 + j + 3) * 32 + k + 3] = IntensityWindow.mri.apply(Double(v[(k * 41 + j) * 33 + i]))
        } } }
        let y = try forwardPass(padded, shape: [40, 48, 32], dir: dir)
        let out = try VolumeFile.read(dir + "/y.nii")
        XCTAssertEqual(out.shape, [33, 41, 25])
        var worst: Float = 0
        for i in 0..<33 { for j in 0..<41 { for k in 0..<25 {
            worst = max(worst, abs(out.voxels[(k * 41 + j) * 33 + i] - y[((i + 3) * 48 + j + 3) * 32 + k + 3]))
        } } }
        XCTAssertLessThan(worst, 2e-7)
        assertSameGeometry(out.geometry, try VolumeFile.read(scan).geometry)
    }

    /// Many windows and a 3-label model (softmax): the counts follow MONAI's grid (i 32 step 8:
    /// 0, 8, 16; j 40: 0, 8, 16, 24; k 24 step 4: 0, 4, 8, 12, 16: 60 windows), the output is
    /// (32, 40, 24, 3) and each voxel's blended probabilities still sum to 1.
    func testManyWindowsAndLabels() throws {
        let dir = Fixtures.scratchDirectory()
        let model = dir + "/three.genesis"
        let i = try genesis(["init", "--base-filters", "2", "--labels", "3", "--seed", "3", "--out", model])
        XCTAssertEqual(i.status, 0, i.stderr)
        let r = try genesis(["run", model, "--input", ctLike, "--output", dir + "/y.nii.gz", "--patch", "16,16,8", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json?["windows"] as? Int, 60)
        let out = try VolumeFile.read(dir + "/y.nii.gz")
        XCTAssertEqual(out.shape, [32, 40, 24, 3])
        let n = 32 * 40 * 24
        var worst: Float = 0
        for t in 0..<n { worst = max(worst, abs(out.voxels[t] + out.voxels[n + t] + out.voxels[2 * n + t] - 1)) }
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertGreaterThan(Set(out.voxels[0..<n]).count, 100, "channel 0 varies over the scan")
        assertSameGeometry(out.geometry, try VolumeFile.read(ctLike).geometry)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        XCTAssertEqual(left, [], "no spool or temporary file left")
    }

    func testBadScanOptionsAreRefusedWithoutOutput() throws {
        let dir = Fixtures.scratchDirectory()
        for (args, needle) in [(["--patch", "12,16,8"], "multiple of 8"), (["--overlap", "1"], "--overlap"),
                               (["--patch", "16,16"], "three sides"), (["--window", "0,0"], "LO < HI")] {
            let r = try genesis(["run", tinyKeras, "--input", ctLike, "--output", dir + "/y.nii"] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
        let npyOut = try genesis(["run", tinyKeras, "--input", ctLike, "--output", dir + "/y.npy"])
        XCTAssertEqual(npyOut.status, 2)
        XCTAssertTrue(npyOut.stderr.contains(".nii"), npyOut.stderr)
        let cubeFlags = try genesis(["run", tinyKeras, "--input", dir + "/cubes.npy", "--output", dir + "/y.npy", "--patch", "16,16,8"])
        XCTAssertEqual(cubeFlags.status, 2)
        XCTAssertTrue(cubeFlags.stderr.contains("whole scan"), cubeFlags.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }
}
