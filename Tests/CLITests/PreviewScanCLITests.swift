import Foundation
import TestSupport
import XCTest

/// `genesis preview --scan`: the middle planes of scans, in millimetres. Sizes are hand-worked from
/// the fixture's geometry (SimpleITK's ct_like.mhd: 32 x 40 x 24 voxels, spacing 0.7, 0.7, 2.5 mm).
final class PreviewScanCLITests: XCTestCase {
    func testPlanesKeepTheSpacingAndTheDefaultWindows() throws {
        let dir = Fixtures.scratchDirectory()
        let scan = Fixtures.path("volumes/ct_like.mhd")
        // A float scan in [0, 1]: the model's output on the scan (a one-patch run of a tiny model).
        let model = dir + "/tiny.h5"
        XCTAssertEqual(try runProcess(Fixtures.genesisBinary, ["init", "--base-filters", "2", "--seed", "1", "--out", model]).status, 0)
        let output = dir + "/out.nii.gz"
        let run = try runProcess(Fixtures.genesisBinary, ["run", model, "--input", scan, "--output", output, "--patch", "32,40,24"])
        XCTAssertEqual(run.status, 0, run.stderr)

        let png = dir + "/planes.png"
        let r = try runProcess(Fixtures.genesisBinary, ["preview", "--scan", scan, "--scan", output, "--out", png, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json, r.stdout)
        // 2 pixels per voxel on the finest axis (0.7 mm); k's 2.5 mm gives round(2 x 2.5 / 0.7) = 7.
        // Rows: axial 40 x 2 = 80 px high, coronal and sagittal 24 x 7 = 168; a row is its tallest
        // panel. Height: title line 13 + gap 4, then per scan 168 + 4 + caption 13 + 4 = 189.
        XCTAssertEqual(j["height"] as? Int, 13 + 4 + 2 * 189)
        // Panels 32 x 2 = 64 (axial, i across), 64 (coronal), 40 x 2 = 80 (sagittal, j across), gaps of 4.
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(j["width"] as? Int), 4 + 68 + 68 + 84)
        let scans = try XCTUnwrap(j["scans"] as? [[String: Any]])
        XCTAssertEqual(scans.count, 2)
        XCTAssertEqual(scans[0]["window"] as? [Double], [-1000, 1000], "an int16 scan is drawn in the CT window")
        XCTAssertEqual(scans[1]["window"] as? [Double], [0, 1], "a float output in [0, 1] is drawn as it is")
        XCTAssertEqual(scans[1]["shape"] as? [Int], [32, 40, 24])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    func testRefusals() throws {
        let dir = Fixtures.scratchDirectory()
        let npy = dir + "/cubes.npy"
        XCTAssertEqual(try runProcess(Fixtures.genesisBinary, ["cubes", "--count", "1", "--shape", "8,8,8", "--out", npy]).status, 0)
        let notScan = try runProcess(Fixtures.genesisBinary, ["preview", "--scan", npy, "--out", dir + "/a.png"])
        XCTAssertEqual(notScan.status, 2, notScan.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/a.png"))
        let both = try runProcess(Fixtures.genesisBinary, ["preview", "--scan", Fixtures.path("volumes/ct_like.mhd"), "--log", npy, "--out", dir + "/b.png"])
        XCTAssertEqual(both.status, 2)
        XCTAssertTrue(both.stderr.contains("exactly one of"), both.stderr)
    }
}
