import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// `genesis run` on inputs that are not what the model expects (issue 8, items 2 to 5 and 8):
/// integer cubes, windows, channels-last arrays, NaN, progress over several cubes, slices and
/// the memory limit of batch statistics.
final class RunInputCLITests: XCTestCase {
    let tinyKeras = Fixtures.path("keras/genesis_tiny.h5")
    let tinyTorch = Fixtures.path("torch/genesis_tiny.pt")

    func genesis(_ args: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(Fixtures.genesisBinary, args, environment: environment)
    }

    /// Seeded HU-like int16 values in [-1500, 1500) (outside the CT window on both sides).
    func huCubes(count: Int) -> [Int16] {
        var g = SeededGenerator(seed: 11)
        return (0..<(count * 16 * 16 * 8)).map { _ in Int16(Int(g.next() % 3000) - 1500) }
    }

    func write(_ t: Tensor, _ path: String) throws -> String {
        try NPY.write(t, to: path)
        return path
    }

    func testIntegerCubesNeedAWindowAndTheCTWindowIsTheOfficialScaling() throws {
        let dir = Fixtures.scratchDirectory()
        let hu = huCubes(count: 2)
        let raw = try write(try Tensor(dtype: .int16, shape: [2, 16, 16, 8], bytes: hu.withUnsafeBytes { Array($0) }), dir + "/hu.npy")
        let refused = try genesis(["run", tinyKeras, "--input", raw, "--output", dir + "/y.npy"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("int16") && refused.stderr.contains("--window"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/y.npy"))

        // Hand-worked: clip to [-1000, 1000], then (v + 1000) / 2000, as the official preprocessing.
        let scaled = hu.map { Float((min(max(Double($0), -1000), 1000) + 1000) / 2000) }
        let float = try write(Tensor(shape: [2, 1, 16, 16, 8], floats: scaled), dir + "/scaled.npy")
        let a = try genesis(["run", tinyKeras, "--input", raw, "--window", "ct", "--output", dir + "/a.npy"])
        let b = try genesis(["run", tinyKeras, "--input", float, "--output", dir + "/b.npy"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(try NPY.read(dir + "/a.npy"), try NPY.read(dir + "/b.npy"))
    }

    func testAWindowBelowZeroParsesAsAWindow() throws {
        let dir = Fixtures.scratchDirectory()
        let raw = try write(try Tensor(dtype: .int16, shape: [1, 16, 16, 8], bytes: huCubes(count: 1).withUnsafeBytes { Array($0) }), dir + "/hu.npy")
        let r = try genesis(["run", tinyKeras, "--input", raw, "--window", "-1000,400", "--output", dir + "/y.npy", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let w = r.json?["window"] as? [String: Any]
        XCTAssertEqual(w?["low"] as? Double, -1000)
        XCTAssertEqual(w?["high"] as? Double, 400)
        let bad = try genesis(["run", tinyKeras, "--input", raw, "--window", "400,-1000", "--output", dir + "/z.npy"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("LO < HI"), bad.stderr)
    }

    func testChannelsLastAndSingleCubesAreRefusedWithWhatToDo() throws {
        let dir = Fixtures.scratchDirectory()
        let last = try write(Tensor(shape: [2, 16, 16, 8, 1], floats: [Float](repeating: 0.5, count: 2 * 2048)), dir + "/last.npy")
        let r = try genesis(["run", tinyKeras, "--input", last, "--output", dir + "/y.npy"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("(2, 16, 16, 8, 1)") && r.stderr.contains("channels-last") && r.stderr.contains("np.moveaxis"), r.stderr)
        let single = try write(Tensor(shape: [16, 16, 8], floats: [Float](repeating: 0.5, count: 2048)), dir + "/one.npy")
        let s = try genesis(["run", tinyKeras, "--input", single, "--output", dir + "/y.npy"])
        XCTAssertEqual(s.status, 2)
        XCTAssertTrue(s.stderr.contains("single cube") && s.stderr.contains("x[None]"), s.stderr)
        XCTAssertEqual(s.stderr.split(separator: "\n").count, 1, s.stderr)
    }

    func testNonFiniteInputIsRefusedWithCountAndFirstIndexUnlessAllowed() throws {
        let dir = Fixtures.scratchDirectory()
        var v = [Float](repeating: 0.25, count: 2 * 2048)
        v[2048 + 3 * 128 + 4 * 8 + 5] = .nan   // index (1, 0, 3, 4, 5)
        v[2048 + 3 * 128 + 4 * 8 + 6] = .infinity
        let x = try write(Tensor(shape: [2, 1, 16, 16, 8], floats: v), dir + "/x.npy")
        let r = try genesis(["run", tinyKeras, "--input", x, "--output", dir + "/y.npy"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("2 of 4096") && r.stderr.contains("[1, 0, 3, 4, 5]") && r.stderr.contains("--allow-nonfinite"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/y.npy"))

        let allowed = try genesis(["run", tinyKeras, "--input", x, "--output", dir + "/y.npy", "--allow-nonfinite", "--json"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        let y = try NPY.read(dir + "/y.npy").floats()
        XCTAssertTrue(y[..<2048].allSatisfy(\.isFinite), "the first cube is finite and independent in inference mode")
        XCTAssertTrue(y[2048...].contains { $0.isNaN }, "NaN propagates to the second cube's output")
        XCTAssertGreaterThan((allowed.json?["output_stats"] as? [String: Any])?["non_finite"] as? Int ?? 0, 0)
    }

    /// Three cubes one per slice: the plain progress lines (stderr is a pipe here) count 1/3,
    /// 2/3 and 3/3 cubes at 33%, 67% and 100% of the work, and while cube k+1 runs the work
    /// stays between k/3 and (k+1)/3 (today's bug: 1/3 of the bar for the whole batch).
    func testProgressCountsEveryCube() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["cubes", "--count", "3", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        let r = try genesis(["run", tinyKeras, "--input", dir + "/x.npy", "--output", dir + "/y.npy", "--cubes-per-slice", "1"],
                            environment: ["GENESIS_PROGRESS_INTERVAL": "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("forward:") }
        for (k, pct) in [(1, " 33%"), (2, " 67%"), (3, "100%")] {
            let at = lines.filter { $0.contains(" \(k)/3 cubes") }
            XCTAssertFalse(at.isEmpty, "no line at \(k)/3 cubes: \(r.stderr)")
            XCTAssertTrue(at.first?.contains(pct) ?? false, "at \(k)/3: \(at.first ?? "")")
        }
        for line in lines {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let pct = Double(fields[1].dropLast()), let k = Int(fields[2].prefix { $0 != "/" }) else { XCTFail("unparsed: \(line)"); continue }
            XCTAssertTrue(pct >= Double(k) * 100 / 3 - 1 && pct <= Double(k + 1) * 100 / 3 + 1, "\(line)")
        }
    }

    /// Inference mode: samples are independent, so one slice per cube gives the output of one
    /// batch of three up to float32 rounding of GEMMs blocked differently (measured 8.3e-7).
    func testSlicedInferenceEqualsOneBatch() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["cubes", "--count", "3", "--shape", "16,16,8", "--seed", "5", "--out", dir + "/x.npy"]).status, 0)
        let one = try genesis(["run", tinyKeras, "--input", dir + "/x.npy", "--output", dir + "/a.npy", "--cubes-per-slice", "1", "--json"])
        let all = try genesis(["run", tinyKeras, "--input", dir + "/x.npy", "--output", dir + "/b.npy", "--cubes-per-slice", "3", "--json"])
        XCTAssertEqual(one.json?["cubes_per_slice"] as? Int, 1)
        XCTAssertEqual(all.json?["cubes_per_slice"] as? Int, 3)
        let a = try NPY.read(dir + "/a.npy").floats(), b = try NPY.read(dir + "/b.npy").floats()
        XCTAssertEqual(a.count, b.count)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 2e-6)
    }

    func testBatchStatisticsAnnounceTheirMemoryAndRefuseOverTheLimit() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["cubes", "--count", "2", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        let ok = try genesis(["run", tinyTorch, "--input", dir + "/x.npy", "--output", dir + "/y.npy"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stderr.contains("couple the 2 cubes") && ok.stderr.contains("estimated peak memory"), ok.stderr)
        let refused = try genesis(["run", tinyTorch, "--input", dir + "/x.npy", "--output", dir + "/z.npy", "--max-memory", "1M"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("exceeds --max-memory") && refused.stderr.contains("--bn inference"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/z.npy"))
    }

    func testANoteSaysWhenBatchNormDiffersFromTheFilesFramework() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["cubes", "--count", "1", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        let official = try genesis(["run", tinyKeras, "--input", dir + "/x.npy", "--output", dir + "/a.npy"])
        XCTAssertEqual(official.status, 0)
        XCTAssertFalse(official.stderr.contains("note:"), official.stderr)
        let other = try genesis(["run", tinyTorch, "--input", dir + "/x.npy", "--output", dir + "/b.npy", "--bn", "inference", "--bn-epsilon", "0.001"])
        XCTAssertEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("official mode is batch"), other.stderr)
        XCTAssertTrue(other.stderr.contains("epsilon 0.001 (--bn-epsilon), not PyTorch's default 1e-05"), other.stderr)
    }

    func testUsageErrorsSayErrorOnce() throws {
        let r = try genesis(["run"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("genesis: error: Missing expected argument"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Error:"), r.stderr)
    }
}

extension RunInputCLITests {
    /// A .pt converted from a Keras .h5 records where it came from; `run` says it runs with
    /// PyTorch's BatchNorm conventions and how to reproduce the Keras source.
    func testAConvertedFileSaysItsSourceUsedOtherBatchNormConventions() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["convert", tinyKeras, dir + "/c.pt"]).status, 0)
        XCTAssertEqual(try genesis(["cubes", "--count", "1", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        let r = try genesis(["run", dir + "/c.pt", "--input", dir + "/x.npy", "--output", dir + "/y.npy"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("converted from a Keras model (BatchNorm epsilon 0.001, inference mode)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--bn inference --bn-epsilon 0.001 reproduces the source"), r.stderr)
    }
}

extension RunInputCLITests {
    func testOneChannelsLastCubeAndSidesNotMultiplesOfEightSayWhatToDo() throws {
        let dir = Fixtures.scratchDirectory()
        let last = try write(Tensor(shape: [16, 16, 8, 1], floats: [Float](repeating: 0.5, count: 2048)), dir + "/last.npy")
        let r = try genesis(["run", tinyKeras, "--input", last, "--output", dir + "/y.npy"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("(16, 16, 8, 1)") && r.stderr.contains("channels-last") && r.stderr.contains("np.moveaxis(x, -1, 0)[None]"), r.stderr)
        let odd = try write(Tensor(shape: [1, 1, 15, 16, 16], floats: [Float](repeating: 0.5, count: 15 * 256)), dir + "/odd.npy")
        let o = try genesis(["run", tinyKeras, "--input", odd, "--output", dir + "/y.npy"])
        XCTAssertEqual(o.status, 2)
        XCTAssertTrue(o.stderr.contains(odd) && o.stderr.contains("(15,16,16)") && o.stderr.contains("crop or pad") && o.stderr.contains("(8,16,16)"), o.stderr)
    }

    /// Inference slices shrink to fit --max-memory: six cubes refused as one slice run one by one.
    func testInferenceSlicesFitTheMemoryLimit() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["cubes", "--count", "6", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        let r = try genesis(["run", tinyKeras, "--input", dir + "/x.npy", "--output", dir + "/y.npy", "--max-memory", "7M", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let per = try XCTUnwrap(r.json?["cubes_per_slice"] as? Int)
        XCTAssertLessThan(per, 6)
        XCTAssertLessThanOrEqual(try XCTUnwrap(r.json?["estimated_peak_bytes"] as? Int), 7 << 20)
    }
}
