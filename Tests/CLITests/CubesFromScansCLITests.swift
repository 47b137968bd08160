import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// `genesis cubes SCANS...` on the fixture scans: the official generator's rule
/// (infinite_generator_3D.py) re-computed here from the scan itself, written out plainly as
/// that script's loops, for every cube the command kept.
final class CubesFromScansCLITests: XCTestCase {
    let ct = Fixtures.path("volumes/ct_like.mhd")
    let ctz = Fixtures.path("volumes/ct_like_z.mha")

    func genesis(_ args: [String]) throws -> ProcessResult {
        try runProcess(Fixtures.genesisBinary, args, environment: ["GENESIS_PROGRESS_INTERVAL": "0"])
    }

    /// 16x16x8 cubes, no borders (the fixtures are 32x40x24 and 24x24x16), max tissue 0.05 so
    /// that some draws are refused on both scans (measured: 11 of 19 and 52 of 60 at seed 3).
    func cut(_ out: String, seed: String = "3", extra: [String] = []) throws -> ProcessResult {
        try genesis(["cubes", ct, ctz, "--size", "16,16,8", "--border", "0,0", "--per-volume", "8",
                     "--max-tissue", "0.05", "--seed", seed, "--out", out, "--json"] + extra)
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func testTheSameSeedGivesTheSameBytesAndAnotherSeedOthers() throws {
        let dir = Fixtures.scratchDirectory()
        let a = try cut(dir + "/a.npy"), b = try cut(dir + "/b.npy"), c = try cut(dir + "/c.npy", seed: "4")
        for r in [a, b, c] { XCTAssertEqual(r.status, 0, r.stderr) }
        XCTAssertEqual(try bytes(dir + "/a.npy"), try bytes(dir + "/b.npy"))
        XCTAssertNotEqual(try bytes(dir + "/a.npy"), try bytes(dir + "/c.npy"))
        XCTAssertEqual(a.stdout, b.stdout.replacingOccurrences(of: "/b.npy", with: "/a.npy"))
    }

    /// The official tissue score of the window at (x, y, z): for d in 0..<W, i, j: the first
    /// k in 0..<3 with value(i, j, d + k) >= 0.425 gives d_img = k, none gives 2; score = sum
    /// of 1 - d_img / 2. Values are the scan clipped to [-1000, 1000] and scaled to [0, 1].
    func officialScore(_ v: Volume, _ x: Int, _ y: Int, _ z: Int, _ size: [Int]) -> Double {
        func value(_ i: Int, _ j: Int, _ k: Int) -> Float {
            let hu = Double(v[x + i, y + j, z + k])
            return Float((min(max(hu, -1000), 1000) + 1000) / 2000)
        }
        var sum = 0.0
        for d in 0..<size[2] {
            for i in 0..<size[0] {
                for j in 0..<size[1] {
                    var dImg = 2
                    for k in 0..<3 where value(i, j, d + k) >= Float(0.425) { dImg = k; break }
                    sum += 1 - Double(dImg) / 2
                }
            }
        }
        return sum
    }

    func testEveryCubeIsTheWindowedScanWhereTheRuleAllowsIt() throws {
        let dir = Fixtures.scratchDirectory()
        let r = try cut(dir + "/cubes.npy")
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(r.json, r.stdout)
        let size = [16, 16, 8]
        let t = try NPY.read(dir + "/cubes.npy")
        let n = try XCTUnwrap(json["cubes"] as? Int)
        XCTAssertEqual(t.shape, [n, 1] + size)
        XCTAssertEqual(json["shape"] as? [Int], [n, 1] + size)
        XCTAssertEqual(json["per_volume"] as? Int, 8)
        XCTAssertEqual(json["seed"] as? Int, 3)
        XCTAssertEqual(json["file"] as? String, dir + "/cubes.npy")
        let values = t.floats()
        XCTAssertTrue(values.allSatisfy { $0 >= 0 && $0 <= 1 }, "values in [0, 1]")

        let scans = try XCTUnwrap(json["volumes"] as? [[String: Any]])
        XCTAssertEqual(scans.map { $0["file"] as? String }, [ct, ctz])
        var cube = 0, rejected = 0
        let cubeValues = size.reduce(1, *)
        for scan in scans {
            let v = try VolumeFile.read(scan["file"] as! String)
            let positions = try XCTUnwrap(scan["positions"] as? [[Int]])
            XCTAssertEqual(scan["cubes"] as? Int, positions.count)
            XCTAssertEqual(positions.count, 8, "both scans give the 8 wanted")
            let attempts = scan["attempts"] as! Int, refused = scan["rejected"] as! Int
            XCTAssertEqual(attempts, positions.count + refused)
            rejected += refused
            for p in positions {
                // The official ranges, ends included: [0, n - size - 1] on x and y, [0, nz - W - 3 - 1] on z.
                XCTAssertTrue((0...(v.shape[0] - 17)).contains(p[0]) && (0...(v.shape[1] - 17)).contains(p[1]) && (0...(v.shape[2] - 12)).contains(p[2]), "\(p)")
                XCTAssertLessThanOrEqual(officialScore(v, p[0], p[1], p[2], size), 0.05 * Double(cubeValues), "cube \(cube) at \(p)")
                // (N, 1, D, H, W): D along i, H along j, W along k.
                var mismatches = 0
                for a in 0..<16 { for b in 0..<16 { for c in 0..<8 {
                    let hu = Double(v[p[0] + a, p[1] + b, p[2] + c])
                    let expected = Float((min(max(hu, -1000), 1000) + 1000) / 2000)
                    if values[cube * cubeValues + (a * 16 + b) * 8 + c] != expected { mismatches += 1 }
                } } }
                XCTAssertEqual(mismatches, 0, "cube \(cube) at \(p)")
                cube += 1
            }
        }
        XCTAssertEqual(cube, n)
        XCTAssertGreaterThan(rejected, 0, "the rule refused some draws")
    }

    func testAScanTooSmallGivesNoCubeAndNoCubeAtAllExitsOne() throws {
        let dir = Fixtures.scratchDirectory()
        // Official borders (100, 30) do not fit a 32x40x24 scan.
        let r = try genesis(["cubes", ct, "--size", "16,16,8", "--out", dir + "/none.npy", "--json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/none.npy"))
        let scan = try XCTUnwrap((r.json?["volumes"] as? [[String: Any]])?.first)
        XCTAssertEqual(scan["cubes"] as? Int, 0)
        XCTAssertTrue((scan["skipped"] as? String)?.contains("axis x has 32 voxels") == true, "\(scan)")
    }

    func testADamagedScanExitsTwoWithOneLineAndWritesNothing() throws {
        let dir = Fixtures.scratchDirectory()
        let raw = try bytes(Fixtures.path("volumes/ct_like.raw"))
        try raw.prefix(raw.count / 2).write(to: URL(fileURLWithPath: dir + "/ct_like.raw"))
        try bytes(ct).write(to: URL(fileURLWithPath: dir + "/short.mhd"))
        let gz = try bytes(Fixtures.path("volumes/example_nifti2.nii.gz"))
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.nii.gz"))
        for damaged in [dir + "/short.mhd", dir + "/cut.nii.gz"] {
            let r = try genesis(["cubes", ct, damaged, "--size", "16,16,8", "--border", "0,0", "--out", dir + "/x.npy"])
            XCTAssertEqual(r.status, 2, r.stderr)
            let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("cubes") }   // progress lines aside
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(lines.first?.hasPrefix("genesis: error: \(damaged)") == true, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.npy"))
        }
    }

    func testOptionsOfTheTwoModesAreNotMixed() throws {
        let dir = Fixtures.scratchDirectory()
        for args in [["--count", "2"], ["--modality", "pet"], ["--border", "1"], ["--max-tissue", "2"]] {
            let r = try genesis(["cubes", ct, "--out", dir + "/x.npy"] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
        }
        XCTAssertEqual(try genesis(["cubes", "--per-volume", "2", "--out", dir + "/x.npy"]).status, 2)
        let synthetic = try genesis(["cubes", "--count", "2", "--shape", "16,16,8", "--seed", "7", "--out", dir + "/s.npy", "--json"])
        XCTAssertEqual(synthetic.status, 0, synthetic.stderr)
        XCTAssertEqual(try NPY.read(dir + "/s.npy").shape, [2, 1, 16, 16, 8])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.npy"))
    }
}
