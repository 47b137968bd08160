import Foundation
import GenesisIO
import TestSupport
import Tensors
import XCTest

/// What the MPI tests share: mpirun as this machine needs it (root: --allow-run-as-root; 2
/// cores: --oversubscribe), the tiny inputs, the pretrain arguments and the comparisons.
struct MPIRun {
    static let tolerance = 1e-5
    static let lr = "0.001"

    /// mpirun with what this machine (root, 2 cores) needs.
    func mpirun(_ ranks: Int, _ arguments: [String], cwd: String) throws -> ProcessResult {
        try runProcess("/usr/bin/mpirun", ["-np", "\(ranks)", "--oversubscribe", "--allow-run-as-root", Fixtures.genesisBinary] + arguments,
                       cwd: cwd)
    }

    func genesis(_ arguments: [String], cwd: String) throws -> ProcessResult {
        try runProcess(Fixtures.genesisBinary, arguments, cwd: cwd)
    }

    /// tiny.pt (base 4, torch variant) and c.npy (8 cubes 16x16x8) in a fresh directory.
    func inputs(_ name: String) throws -> String {
        let dir = Fixtures.scratchDirectory(name)
        XCTAssertEqual(try genesis(["init", "--base-filters", "4", "--variant", "torch", "--seed", "3", "--out", "tiny.pt"], cwd: dir).status, 0)
        XCTAssertEqual(try genesis(["cubes", "--count", "8", "--shape", "16,16,8", "--seed", "5", "--out", "c.npy"], cwd: dir).status, 0)
        return dir
    }

    func pretrainArguments(out: String, steps: Int = 3) -> [String] {
        ["pretrain", "--init", "tiny.pt", "--data", "c.npy", "--batch", "4", "--steps", "\(steps)", "--transforms", "none", "--no-shuffle",
         "--optimizer", "sgd", "--lr", Self.lr, "--threads", "1", "--json", "--out", out]
    }

    func losses(_ r: ProcessResult, file: StaticString = #filePath, line: UInt = #line) -> [Double] {
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return r.json?["losses"] as? [Double] ?? []
    }

    /// Worst difference over the trainable tensors and BN statistics: max |a - b| over the
    /// tensor's largest magnitude (at least 1e-3: the convolution biases before a BatchNorm
    /// have a zero gradient in exact arithmetic, their values are rounding noise near 1e-10).
    func worst(_ a: TensorStore, _ b: TensorStore) -> (name: String, relative: Double) {
        var w = ("", 0.0)
        for (name, t) in b.entries where t.dtype == .float32 {
            guard let u = a[name] else { return (name + " missing", .infinity) }
            let x = u.floats(), y = t.floats()
            let scale = max(1e-3, Double(y.map { abs($0) }.max() ?? 0))
            let d = zip(x, y).map { Double(abs($0 - $1)) }.max() ?? 0
            if d / scale > w.1 { w = (name, d / scale) }
        }
        return w
    }

    func store(_ path: String) throws -> TensorStore { try ModelLoader.load(path).mapped.store }

}
