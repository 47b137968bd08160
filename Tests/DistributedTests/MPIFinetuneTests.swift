import Foundation
import GenesisIO
import TestSupport
import Tensors
import VolumeIO
import XCTest

/// `genesis finetune` under `mpirun -np 2`: each rank reads its shard of the training split
/// (the headers give the split, rows are read by index), rank 0 the held-out rows too, and the
/// class count comes from the whole label file; with `--sync-bn` the run equals one process.
final class MPIFinetuneTests: XCTestCase {
    let helper = MPIRun()

    /// 8 cubes 16x16x8 with a bright box in half of them; labels are class indices 0 / 2 (so
    /// three classes, found from the file), 2 cubes held out, 6 to train on at batch 2.
    func inputs() throws -> String {
        let dir = try helper.inputs(name)
        var g = SeededGenerator(seed: 11)
        var x = [Float](), c = [Float]()
        for i in 0..<8 {
            var cube = (0..<2048).map { _ in 0.4 + Float(g.next() % 1000) / 10_000 }
            var labels = [Float](repeating: 0, count: 2048)
            if i % 2 == 0 {
                for d in 4..<8 { for h in 6..<10 { for w in 2..<6 { cube[d * 128 + h * 8 + w] = 0.9; labels[d * 128 + h * 8 + w] = 2 } } }
            }
            x += cube
            c += labels
        }
        try NPY.write(Tensor(shape: [8, 16, 16, 8], floats: x), to: dir + "/x.npy")
        try NPY.write(Tensor(shape: [8, 16, 16, 8], floats: c), to: dir + "/c.npy")
        return dir
    }

    func arguments(out: String) -> [String] {
        ["finetune", "--init", "tiny.pt", "--task", "segmentation", "--images", "x.npy", "--labels", "c.npy", "--validation-split", "0.25",
         "--batch", "2", "--epochs", "1", "--no-shuffle", "--optimizer", "sgd", "--lr", MPIRun.lr, "--threads", "1", "--json", "--out", out]
    }

    func testTwoRanksWithSyncBNFineTuneAsOneProcess() throws {
        let dir = try inputs()
        let one = try helper.genesis(arguments(out: "one.pt"), cwd: dir)
        let two = try helper.mpirun(2, arguments(out: "two.pt") + ["--sync-bn"], cwd: dir)
        let a = helper.losses(one), b = helper.losses(two)
        XCTAssertEqual(one.json?["classes"] as? Int, 3)
        XCTAssertEqual(two.json?["classes"] as? Int, 3)
        XCTAssertEqual(two.json?["ranks"] as? Int, 2)
        XCTAssertEqual(a.count, 3)   // 6 training cubes at batch 2
        XCTAssertEqual(b.count, 3)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: MPIRun.tolerance * abs(x)) }
        // The held-out 2 cubes are scored by rank 0 alone, on the same weights.
        let va = one.json?["validation"] as? [Double] ?? [], vb = two.json?["validation"] as? [Double] ?? []
        XCTAssertEqual(va.count, 1)
        XCTAssertEqual(vb.count, 1)
        for (x, y) in zip(va, vb) { XCTAssertEqual(x, y, accuracy: MPIRun.tolerance * abs(x)) }
        let w = helper.worst(try helper.store(dir + "/two.pt"), try helper.store(dir + "/one.pt"))
        print("finetune, 2 ranks --sync-bn against 1 process: worst \(w), losses \(zip(a, b).map { abs($0 - $1) / $0 })")
        XCTAssertLessThanOrEqual(w.relative, MPIRun.tolerance, "worst tensor \(w.name)")
        XCTAssertGreaterThan(helper.worst(try helper.store(dir + "/tiny.pt"), try helper.store(dir + "/one.pt")).relative, 100 * MPIRun.tolerance)
    }

    func testLabelsOfAnotherCountAreRefusedFromTheHeaders() throws {
        let dir = try inputs()
        try NPY.write(Tensor(shape: [7, 16, 16, 8], floats: [Float](repeating: 0, count: 7 * 2048)), to: dir + "/c.npy")
        let r = try helper.mpirun(2, arguments(out: "x.pt"), cwd: dir)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("7 labels for 8 images"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.pt"))
    }
}
