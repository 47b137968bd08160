import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// `genesis cubes SCAN --labels MASK --labels-out Y`: on the shipped phantom and its lung mask
/// (zoo/samples, made by scripts/make_phantom.py; 96x96x48, uint8 0/1), every label cube is
/// recomputed here from the mask's voxels at the corners the command reports, and the pair
/// feeds `genesis finetune --task segmentation`.
final class CubesWithLabelsCLITests: XCTestCase {
    let scan = Fixtures.repoRoot + "/zoo/samples/chest_phantom.mha"
    let lungs = Fixtures.repoRoot + "/zoo/samples/chest_phantom_lungs.mha"
    let size = [32, 32, 16]

    func genesis(_ args: [String]) throws -> ProcessResult {
        try runProcess(Fixtures.genesisBinary, args, environment: ["GENESIS_PROGRESS_INTERVAL": "0"])
    }

    /// The official borders (100, 30) do not fit the phantom; --max-tissue 1 keeps every draw
    /// (its body is dense tissue: at 0.15 none of 200 draws is kept, measured).
    func cut(masks: [String], dir: String, scans: [String]? = nil, extra: [String] = []) throws -> ProcessResult {
        try genesis(["cubes"] + (scans ?? [scan]) + ["--labels"] + masks + ["--labels-out", dir + "/y.npy", "--out", dir + "/x.npy",
                     "--border", "8,4", "--size", "32,32,16", "--per-volume", "3", "--max-tissue", "1", "--seed", "2", "--json"] + extra)
    }

    /// Writes an uncompressed float32 MetaImage of the phantom's shape and geometry (Offset
    /// moved by `shift` mm on x) holding `voxels` (i fastest).
    func writeMask(_ path: String, _ voxels: [Float], shift: Double = 0) throws {
        let header = """
        ObjectType = Image
        NDims = 3
        BinaryData = True
        BinaryDataByteOrderMSB = False
        CompressedData = False
        TransformMatrix = 1 0 0 0 1 0 0 0 1
        Offset = \(-38 + shift) -38 -58.75
        ElementSpacing = 0.8 0.8 2.5
        DimSize = 96 96 48
        ElementType = MET_FLOAT
        ElementDataFile = LOCAL

        """
        var data = Data(header.utf8)
        voxels.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Label cube n of `labels` against mask[p + (a, b, c)], and image cube n against the
    /// scan there clipped to [-1000, 1000] and scaled to [0, 1]: the mismatching voxels.
    func mismatches(_ labels: [Float], _ images: [Float], cube n: Int, at p: [Int], mask: Volume, scan v: Volume) -> (Int, Int) {
        var bad = (0, 0)
        let per = size.reduce(1, *)
        for a in 0..<size[0] { for b in 0..<size[1] { for c in 0..<size[2] {
            let at = n * per + (a * size[1] + b) * size[2] + c
            if labels[at] != mask[p[0] + a, p[1] + b, p[2] + c] { bad.0 += 1 }
            let hu = Double(v[p[0] + a, p[1] + b, p[2] + c])
            if images[at] != Float((min(max(hu, -1000), 1000) + 1000) / 2000) { bad.1 += 1 }
        } } }
        return bad
    }

    func testLabelCubesAreTheMaskAtTheImageCubesCornersAndFeedFinetune() throws {
        let dir = Fixtures.scratchDirectory()
        let r = try cut(masks: [lungs], dir: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(r.json, r.stdout)
        XCTAssertEqual(json["labels_out"] as? String, dir + "/y.npy")
        XCTAssertEqual(json["classes"] as? Int, 1)
        let x = try NPY.read(dir + "/x.npy"), y = try NPY.read(dir + "/y.npy")
        XCTAssertEqual(x.shape, [3, 1] + size)
        XCTAssertEqual(y.shape, [3, 1] + size, "0/1 masks come out (N, 1, D, H, W) like the images")
        XCTAssertEqual(json["labels_shape"] as? [Int], y.shape)
        let volume = try XCTUnwrap((json["volumes"] as? [[String: Any]])?.first)
        XCTAssertEqual(volume["labels"] as? String, lungs)
        XCTAssertEqual(volume["largest_class"] as? Int, 1)
        let positions = try XCTUnwrap(volume["positions"] as? [[Int]])
        XCTAssertEqual(positions.count, 3)
        let mask = try VolumeFile.read(lungs), v = try VolumeFile.read(scan)
        let labels = y.floats(), images = x.floats()
        for (n, p) in positions.enumerated() {
            // Official ranges with borders 8, 4: x, y in [8, 96 - 32 - 1 - 8], z in [4, 48 - 16 - 3 - 1 - 4].
            XCTAssertTrue((8...55).contains(p[0]) && (8...55).contains(p[1]) && (4...24).contains(p[2]), "\(p)")
            let bad = mismatches(labels, images, cube: n, at: p, mask: mask, scan: v)
            XCTAssertEqual(bad.0, 0, "label cube \(n) at \(p)")
            XCTAssertEqual(bad.1, 0, "image cube \(n) at \(p)")
        }
        XCTAssertTrue(labels.contains(1) && labels.contains(0), "the cubes hold lung and not-lung voxels")

        let model = dir + "/tiny.h5"
        let initRun = try genesis(["init", "--base-filters", "4", "--input-shape", "1,32,32,16", "--out", model])
        XCTAssertEqual(initRun.status, 0, initRun.stderr)
        let tune = try genesis(["finetune", "--init", model, "--task", "segmentation", "--images", dir + "/x.npy", "--labels", dir + "/y.npy",
                                "--steps", "1", "--batch", "2", "--out", dir + "/seg.h5", "--json"])
        XCTAssertEqual(tune.status, 0, tune.stderr)
        XCTAssertEqual(tune.json?["classes"] as? Int, 1)
    }

    func testClassIndexMasksComeOutAsIndicesForFinetuneToOneHot() throws {
        let dir = Fixtures.scratchDirectory()
        // Lungs split by side: class 2 where i < 48, class 1 elsewhere.
        let mask = try VolumeFile.read(lungs)
        let classes = mask.voxels.enumerated().map { n, v in v == 0 ? 0 : (n % 96 < 48 ? 2 : 1) as Float }
        try writeMask(dir + "/sides.mha", classes)
        let r = try cut(masks: [dir + "/sides.mha"], dir: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json?["classes"] as? Int, 3)
        let y = try NPY.read(dir + "/y.npy"), x = try NPY.read(dir + "/x.npy")
        XCTAssertEqual(y.shape, [3] + size, "class indices come out (N, D, H, W)")
        let positions = try XCTUnwrap((r.json?["volumes"] as? [[String: Any]])?.first?["positions"] as? [[Int]])
        let written = try VolumeFile.read(dir + "/sides.mha"), v = try VolumeFile.read(scan)
        for (n, p) in positions.enumerated() {
            XCTAssertEqual(mismatches(y.floats(), x.floats(), cube: n, at: p, mask: written, scan: v).0, 0, "cube \(n) at \(p)")
        }
        XCTAssertEqual(Set(y.floats()), [0, 1, 2])

        let model = dir + "/tiny.h5"
        XCTAssertEqual(try genesis(["init", "--base-filters", "4", "--input-shape", "1,32,32,16", "--out", model]).status, 0)
        let tune = try genesis(["finetune", "--init", model, "--task", "segmentation", "--images", dir + "/x.npy", "--labels", dir + "/y.npy",
                                "--steps", "1", "--batch", "2", "--out", dir + "/seg.h5", "--json"])
        XCTAssertEqual(tune.status, 0, tune.stderr)
        XCTAssertEqual(tune.json?["classes"] as? Int, 3, "finetune one-hot encodes the indices into 3 channels")
    }

    func testMismatchedCountsShapesGeometryAndValuesExitTwoAndWriteNothing() throws {
        let dir = Fixtures.scratchDirectory()
        let mask = try VolumeFile.read(lungs)
        try writeMask(dir + "/moved.mha", mask.voxels, shift: 1)
        var half = mask.voxels
        half[5 + 6 * 96 + 7 * 96 * 96] = 0.5
        try writeMask(dir + "/half.mha", half)
        let small = Fixtures.path("volumes/ct_like.mhd")
        let cases: [([String], [String]?, [String], String)] = [
            ([lungs], [scan, scan], [], "--labels has 1 mask(s) for 2 scan(s)"),
            ([small], nil, [], "\(small): mask of shape (32,40,24), its scan \(scan) is (96,96,48)"),
            ([dir + "/moved.mha"], nil, [], "\(dir)/moved.mha: mask and its scan \(scan) differ in geometry"),
            ([dir + "/half.mha"], nil, [], "\(dir)/half.mha: voxel (5,6,7) is 0.5"),
            ([lungs], nil, ["--labels-out", dir + "/x.npy"], "--labels-out and --out name the same file"),
        ]
        for (masks, scans, extra, message) in cases {
            let r = try cut(masks: masks, dir: dir, scans: scans, extra: extra)
            XCTAssertEqual(r.status, 2, "\(message): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "wanted \(message), got \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.npy"))
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/y.npy"))
        }
        let accepted = try cut(masks: [dir + "/moved.mha"], dir: dir, extra: ["--ignore-geometry"])
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
        XCTAssertEqual(try NPY.read(dir + "/y.npy").shape, [3, 1] + size)
    }

    /// 16x16x8 cubes with no border reach the air around the body, where cubes hold no lung.
    func testPositionsFromLabelsKeepTheAskedShareOfForegroundCubes() throws {
        let dir = Fixtures.scratchDirectory()
        let r = try genesis(["cubes", scan, "--labels", lungs, "--labels-out", dir + "/y.npy", "--out", dir + "/x.npy",
                             "--border", "0,0", "--size", "16,16,8", "--per-volume", "8", "--max-tissue", "1", "--seed", "1",
                             "--positions-from-labels", "--foreground", "0.25", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json?["foreground"] as? Double, 0.25)
        let y = try NPY.read(dir + "/y.npy")
        XCTAssertEqual(y.shape, [8, 1, 16, 16, 8])
        let per = 16 * 16 * 8, v = y.floats()
        let withLung = (0..<8).filter { n in v[(n * per)..<((n + 1) * per)].contains { $0 != 0 } }.count
        XCTAssertEqual(withLung, 2, "round(0.25 x 8) cubes hold foreground, the other 6 none")
    }
}
