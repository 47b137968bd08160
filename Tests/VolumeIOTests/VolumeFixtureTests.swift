import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// Every file of fixtures/volumes against what nibabel 5.4 / SimpleITK 2.5 read from it
/// (`EXPECTED.json`, `NAME.voxels.npy`; see that folder's README). Voxels: the fixtures hold
/// integers read as float32, so they must match exactly (nibabel scaling is 1/0 or absent
/// here). Geometry: 1e-6 absolute, what float64 vs float32 sform storage leaves (measured
/// differences are 0 to ~1e-8).
final class VolumeFixtureTests: XCTestCase {
    static let names = ["anatomical.nii", "example_nifti2.nii.gz", "ct_like.mhd", "ct_like_z.mha"]

    static func expected(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("volumes/EXPECTED.json")))
        let all = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try XCTUnwrap(all[name] as? [String: Any], "EXPECTED.json has no \(name)")
    }

    static func doubles(_ any: Any?) -> [Double] {
        if let rows = any as? [[Double]] { return rows.flatMap { $0 } }
        return (any as? [Double]) ?? []
    }

    static func voxelsPath(_ name: String) -> String {
        let stem = name.replacingOccurrences(of: ".nii.gz", with: "").replacingOccurrences(of: ".nii", with: "")
            .replacingOccurrences(of: ".mhd", with: "").replacingOccurrences(of: ".mha", with: "")
        return "volumes/\(stem).voxels.npy"
    }

    func assertClose(_ a: [Double], _ b: [Double], _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, "\(what): \(a) vs \(b)", file: file, line: line)
        for (x, y) in zip(a, b) where abs(x - y) > tol {
            XCTFail("\(what): \(a) vs expected \(b)", file: file, line: line)
            return
        }
    }

    func testEveryFixtureMatchesTheReferenceReader() throws {
        for name in Self.names {
            let e = try Self.expected(name)
            let v = try VolumeFile.read(Fixtures.path("volumes/" + name))
            XCTAssertEqual(v.format, e["format"] as? String, name)
            XCTAssertEqual(v.shape, e["shape"] as? [Int], name)
            let stored = (e["stored_dtype"] as? String).map { $0 == ">i2" ? "int16" : $0 }
            XCTAssertEqual(v.storedType, stored, name)

            // The voxels numpy holds, in the file's index order (i fastest): .npy is C order
            // over (i, j, k[, t]), so transpose it to i-fastest.
            let ref = try NPY.readAnyOrder(Fixtures.path(Self.voxelsPath(name)))
            XCTAssertEqual(ref.shape, v.shape, name)
            let r = ref.floats()
            let s = v.shape
            var mismatches = 0
            var index = [Int](repeating: 0, count: s.count)
            for c in 0..<r.count {
                var rest = c
                for axis in stride(from: s.count - 1, through: 0, by: -1) { index[axis] = rest % s[axis]; rest /= s[axis] }
                var flat = 0, stride = 1
                for axis in 0..<s.count { flat += index[axis] * stride; stride *= s[axis] }
                if v.voxels[flat] != r[c] { mismatches += 1 }
            }
            XCTAssertEqual(mismatches, 0, "\(name): voxels differing from \(Self.voxelsPath(name))")
            XCTAssertEqual(Double(v.voxels.min()!), e["min"] as! Double, name)
            XCTAssertEqual(Double(v.voxels.max()!), e["max"] as! Double, name)
            let mean = v.voxels.reduce(0.0) { $0 + Double($1) } / Double(v.voxels.count)
            XCTAssertEqual(mean, e["mean"] as! Double, accuracy: 1e-9 * abs(mean), name)

            if v.format == "metaimage" {
                assertClose(v.geometry.spacing, Self.doubles(e["spacing"]), 1e-6, "\(name) spacing")
                assertClose(v.geometry.origin, Self.doubles(e["origin"]), 1e-6, "\(name) origin")
                assertClose(v.geometry.direction, Self.doubles(e["direction"]), 1e-6, "\(name) direction")
            } else {
                assertClose(v.geometry.affineRAS, Self.doubles(e["affine"]), 1e-6, "\(name) affine")
                assertClose(v.geometry.spacing, Array(Self.doubles(e["pixdim"]).prefix(3)), 1e-6, "\(name) pixdim")
                let a = Self.doubles(e["affine"])
                assertClose(v.geometry.origin, [a[3], a[7], a[11]], 1e-6, "\(name) origin")
            }
        }
    }

    /// ct_like.mhd's TransformMatrix swaps the first two axes: voxel (i, j, k) lies at LPS
    /// origin + D diag(spacing) (i, j, k). Hand-worked: D = [[0,1,0],[1,0,0],[0,0,1]], spacing
    /// (0.7, 0.7, 2.5), so index (1, 0, 0) moves 0.7 mm along the second (P) world axis.
    func testMetaImageDirectionMapsIndexAxesToWorldAxes() throws {
        let v = try VolumeFile.read(Fixtures.path("volumes/ct_like.mhd"))
        let a = v.geometry.affineRAS
        // RAS of voxel (1, 0, 0) minus RAS of voxel (0, 0, 0) = column 0 = (0, -0.7, 0).
        assertClose([a[0], a[4], a[8]], [0, -0.7, 0], 1e-12, "affine column 0")
        assertClose([a[3], a[7], a[11]], [120.5, -30, -300.25], 1e-12, "affine translation")
    }
}
