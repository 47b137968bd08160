import Foundation
import GenesisIO
import TestSupport
import Tensors
import XCTest

/// What 2 ranks write is the tool's own checkpoint in every format: the same tensors with the
/// same dtypes as one process writes (`num_batches_tracked` stays int64 through the
/// broadcasts), `genesis verify` finds nothing, and the run resumes from it under 2 ranks.
final class MPICheckpointTests: XCTestCase {
    let helper = MPIRun()

    func testCheckpointsOfTwoRanksKeepEveryDtypeVerifyAndResume() throws {
        let dir = try helper.inputs(name)
        // A Keras file trains in the keras convention, which checkpoints to .h5.
        XCTAssertEqual(try helper.genesis(["init", "--base-filters", "4", "--seed", "3", "--out", "tiny.h5"], cwd: dir).status, 0)
        for (initial, out) in [("tiny.pt", "run.pt"), ("tiny.h5", "run.h5"), ("tiny.pt", "run.genesis")] {
            func arguments(_ file: String) -> [String] {
                helper.pretrainArguments(out: file, steps: 2).map { $0 == "tiny.pt" ? initial : $0 }
            }
            let two = try helper.mpirun(2, arguments("two-" + out) + ["--sync-bn"], cwd: dir)
            XCTAssertEqual(two.status, 0, "\(out): \(two.stderr)")
            let one = try helper.genesis(arguments("one-" + out), cwd: dir)
            XCTAssertEqual(one.status, 0, "\(out): \(one.stderr)")
            let (a, b) = (try ModelLoader.load(dir + "/one-" + out), try ModelLoader.load(dir + "/two-" + out))
            let dtypesOne = Dictionary(uniqueKeysWithValues: a.mapped.store.entries.map { ($0.name, $0.tensor.dtype) })
            let dtypesTwo = Dictionary(uniqueKeysWithValues: b.mapped.store.entries.map { ($0.name, $0.tensor.dtype) })
            XCTAssertEqual(dtypesTwo, dtypesOne, out)
            if out != "run.h5" {
                // Keras files hold no num_batches_tracked; the torch-convention formats do.
                let counters = dtypesTwo.filter { $0.key.hasSuffix("num_batches_tracked") }
                XCTAssertEqual(counters.count, 14, out)
                XCTAssertTrue(counters.values.allSatisfy { $0 == .int64 }, "\(out): \(counters)")
                XCTAssertEqual(b.mapped.store.entries.filter { $0.name.hasSuffix("num_batches_tracked") }.map { $0.tensor.int64s() },
                               a.mapped.store.entries.filter { $0.name.hasSuffix("num_batches_tracked") }.map { $0.tensor.int64s() }, out)
            }
            let verify = try helper.genesis(["verify", "two-" + out, "--json"], cwd: dir)
            XCTAssertEqual(verify.status, 0, "\(out): \(verify.stdout)")
            XCTAssertEqual(verify.json?["valid"] as? Bool, true, out)
        }
        // Resumed under 2 ranks from what 2 ranks wrote: one more step, still verified.
        let resumed = try helper.mpirun(2, ["pretrain", "--resume", "two-run.pt", "--data", "c.npy", "--steps", "3", "--threads", "1",
                                            "--sync-bn", "--json", "--out", "resumed.pt"], cwd: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual((resumed.json?["losses"] as? [Double])?.count, 1, resumed.stdout)
        XCTAssertEqual(try helper.genesis(["verify", "resumed.pt"], cwd: dir).status, 0)
    }
}
