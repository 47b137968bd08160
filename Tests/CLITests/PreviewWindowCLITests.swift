import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// `preview --scan`: the window chosen from the values (a mask shown as labels), said in the
/// caption and --json; captions keep `_`, `[` and `]`.
final class PreviewWindowCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    func scan(_ path: String, _ value: (Int) -> Float) throws {
        let v = Volume(shape: [16, 16, 8], voxels: (0..<2048).map(value),
                       geometry: .fromLPS(spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]), format: "nifti1", storedType: "float32")
        try VolumeFile.writeNIfTI(v, to: path)
    }

    /// A 0/1 mask: window [0, 1] ("label map: 2 labels"), so its planes are black and white, not
    /// a uniform gray; a 0...3 label map gets [0, 3]; a CT-like float scan its own range.
    func testAMaskIsShownAsLabels() throws {
        let dir = Fixtures.scratchDirectory()
        try scan(dir + "/mask.nii") { ($0 % 16) < 8 ? 1 : 0 }
        try scan(dir + "/classes.nii") { Float($0 % 4) }
        try scan(dir + "/ct.nii") { Float($0 % 1500 - 1000) }
        let r = try genesis(["preview", "--scan", dir + "/mask.nii", "--scan", dir + "/classes.nii", "--scan", dir + "/ct.nii", "--out", dir + "/p.png", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let scans = try XCTUnwrap(r.json?["scans"] as? [[String: Any]])
        XCTAssertEqual(scans.map { $0["window"] as? [Double] }, [[0, 1], [0, 3], [-1000, 499]])
        XCTAssertEqual(scans.map { $0["window_choice"] as? String }, ["label map: 2 labels", "label map: 4 labels", "the scan's range"])
        // The mask's axial plane (first row, first panel): both 0 and 255 appear.
        let image = try PNG.read(dir + "/p.png")
        let top = 13 + 4   // one text line and a gap above the first row
        let levels = Set((0..<(16 * 2)).map { image.pixels[(top + 8) * image.width + 4 + $0] })
        XCTAssertTrue(levels.contains(0) && levels.contains(255), "\(levels.sorted())")
        // --window wins, and says so.
        let w = try genesis(["preview", "--scan", dir + "/mask.nii", "--window", "ct", "--out", dir + "/w.png", "--json"])
        XCTAssertEqual((w.json?["scans"] as? [[String: Any]])?.first?["window_choice"] as? String, "--window")
    }

    /// The caption draws every character of the name: `a_[b].nii` and `a  b .nii` (blanks where
    /// the old font dropped `_`, `[` and `]`) give different pictures.
    func testCaptionsKeepUnderscoreAndBrackets() throws {
        let dir = Fixtures.scratchDirectory()
        try scan(dir + "/a_[b].nii") { Float($0 % 2) }
        try scan(dir + "/a  b .nii") { Float($0 % 2) }
        XCTAssertEqual(try genesis(["preview", "--scan", dir + "/a_[b].nii", "--out", dir + "/1.png"]).status, 0)
        XCTAssertEqual(try genesis(["preview", "--scan", dir + "/a  b .nii", "--out", dir + "/2.png"]).status, 0)
        let one = try PNG.read(dir + "/1.png"), two = try PNG.read(dir + "/2.png")
        XCTAssertEqual(one.width, two.width)
        XCTAssertNotEqual(one.pixels, two.pixels)
    }
}
