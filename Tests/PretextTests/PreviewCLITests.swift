import Foundation
import Pretext
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// `genesis preview`, run as the real binary (built by `swift build --product genesis`).
final class PreviewCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    /// Official-form cubes (N, 64, 64, 32) written by the test.
    func writeCubes(_ dir: String, count: Int = 3) throws -> (path: String, cubes: [Cube]) {
        let cubes = (0..<count).map { uniformCube(64, 64, 32, seed: UInt64(100 + $0)) }
        let path = dir + "/cubes.npy"
        try NPY.write(Tensor(shape: [count, 64, 64, 32], floats: cubes.flatMap(\.values)), to: path)
        return (path, cubes)
    }

    /// The picture holds, pixel for pixel, the middle depth slice of the target and the input
    /// that the library's seeded transforms give for (seed, cube index); the layout is 1 voxel
    /// of gap at x4 and a header of one text line; the same seed gives the same bytes.
    func testCubePreviewShowsTheSeededPairs() throws {
        let dir = Fixtures.scratchDirectory()
        let (data, cubes) = try writeCubes(dir)
        let out = dir + "/pairs.png"
        let r = try genesis(["preview", "--data", data, "--out", out, "--seed", "5", "--count", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json)
        let (scale, gap, header) = (4, 4, 11 * 2 + 4)
        XCTAssertEqual(j["width"] as? Int, gap + 2 * (64 * scale + gap))
        XCTAssertEqual(j["cubes"] as? Int, 2)
        XCTAssertEqual((j["transforms"] as? [[String: Any]])?.count, 2)
        let image = try PNG.read(out)
        XCTAssertEqual(image.color, .gray)
        XCTAssertEqual(image.width, j["width"] as? Int)
        XCTAssertEqual(image.height, j["height"] as? Int)

        let pair = GenesisTransforms.official.pairs(Array(cubes.prefix(1)), seed: 5)[0]
        XCTAssertEqual((j["transforms"] as? [[String: Any]])?.first?["summary"] as? String, pair.record.summary)
        for (k, cube) in [pair.target, pair.input].enumerated() {
            let slice = cube.depthSlice(16)
            var mismatches = 0
            for row in 0..<64 {
                for col in 0..<64 {
                    let expected = UInt8((min(1, max(0, slice[row * 64 + col])) * 255).rounded())
                    let x = gap + k * (64 * scale + gap) + col * scale + 1, y = header + row * scale + 2
                    if image.pixels[y * image.width + x] != expected { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, "panel \(k)")
        }
        let again = dir + "/again.png", other = dir + "/other.png"
        XCTAssertEqual(try genesis(["preview", "--data", data, "--out", again, "--seed", "5", "--count", "2"]).status, 0)
        XCTAssertEqual(try genesis(["preview", "--data", data, "--out", other, "--seed", "6", "--count", "2"]).status, 0)
        XCTAssertEqual(try FileIO.read(again), try FileIO.read(out))
        XCTAssertNotEqual(try FileIO.read(other), try FileIO.read(out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["again.png", "cubes.npy", "other.png", "pairs.png"])
    }

    /// With a model: a third column, and one restoration MSE per cube (sigmoid outputs and
    /// targets in [0, 1], so each MSE is in [0, 1]).
    func testCubePreviewWithModelAddsRestoration() throws {
        let dir = Fixtures.scratchDirectory()
        let (data, _) = try writeCubes(dir, count: 2)
        let model = dir + "/tiny.h5"
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--seed", "3", "--out", model]).status, 0)
        let r = try genesis(["preview", "--data", data, "--model", model, "--out", dir + "/r.png", "--scale", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json)
        XCTAssertEqual(j["width"] as? Int, 2 + 3 * (64 * 2 + 2))
        XCTAssertEqual(j["bn"] as? String, "inference")
        let mse = try XCTUnwrap(j["restoration_mse"] as? [Double])
        XCTAssertEqual(mse.count, 2)
        XCTAssertTrue(mse.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(mse)")
    }

    /// A log of 40 steps over 4 epochs with a validation line per epoch: all points read,
    /// validation placed at the end of each epoch, a white RGB picture with the validation
    /// colour and the smoothed line's colour in it.
    func testLossCurveFromJSONLines() throws {
        let dir = Fixtures.scratchDirectory()
        var lines: [String] = []
        for step in 1...40 {
            lines.append("{\"step\": \(step), \"epoch\": \((step - 1) / 10), \"loss\": \(0.05 / Double(step))}")
            if step % 10 == 0 { lines.append("{\"epoch\": \((step - 1) / 10), \"validation\": \(0.06 / Double(step))}") }
        }
        let log = dir + "/train.jsonl", out = dir + "/curve.png"
        try FileIO.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: log)
        let r = try genesis(["preview", "--log", log, "--out", out, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json)
        XCTAssertEqual(j["points"] as? [String: Int], ["training": 40, "validation": 4])
        XCTAssertEqual(j["validation_placement"] as? String, "epoch_end")
        let image = try PNG.read(out)
        XCTAssertEqual(image.color, .rgb)
        XCTAssertEqual([image.width, image.height], [j["width"] as? Int, j["height"] as? Int])
        XCTAssertEqual(Array(image.pixels[0..<3]), [255, 255, 255])
        var colours = Set<[UInt8]>()
        for i in stride(from: 0, to: image.pixels.count, by: 3) { colours.insert(Array(image.pixels[i..<(i + 3)])) }
        XCTAssertTrue(colours.contains([228, 102, 16]), "validation orange")
        XCTAssertTrue(colours.contains([24, 98, 170]), "smoothed blue")
    }

    /// Exit codes: a log with a broken line still draws and exits 1; one with nothing to draw,
    /// a missing file and bad usage exit 2 and leave no file.
    func testExitCodes() throws {
        let dir = Fixtures.scratchDirectory()
        let log = dir + "/bad.jsonl"
        try FileIO.write(Array("{\"step\": 1, \"loss\": 0.5}\nnot json\n{\"step\": 2, \"loss\": NaN}\n{\"step\": 3, \"loss\": 0.25}\n".utf8), to: log)
        let bad = try genesis(["preview", "--log", log, "--out", dir + "/bad.png", "--json"])
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertEqual(bad.json?["bad_lines"] as? [Int], [2])
        XCTAssertEqual(bad.json?["non_finite"] as? Int, 1)
        XCTAssertEqual((bad.json?["points"] as? [String: Int])?["training"], 2)
        XCTAssertNoThrow(try PNG.read(dir + "/bad.png"))

        let empty = dir + "/empty.jsonl"
        try FileIO.write(Array("{\"lr\": 1}\n".utf8), to: empty)
        XCTAssertEqual(try genesis(["preview", "--log", empty, "--out", dir + "/e.png"]).status, 2)
        let missing = try genesis(["preview", "--data", dir + "/none.npy", "--out", dir + "/m.png", "--json"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertNotNil(missing.json?["error"])
        XCTAssertEqual(try genesis(["preview", "--log", log, "--data", log, "--out", dir + "/u.png"]).status, 2)
        XCTAssertEqual(try genesis(["preview", "--log", log, "--out", dir + "/u.jpg"]).status, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["bad.jsonl", "bad.png", "empty.jsonl"])
    }
}
