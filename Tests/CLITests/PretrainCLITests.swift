import Foundation
import GenesisIO
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// `genesis pretrain` end to end (issue 9): one step from each fixture model against the real
/// framework's step, and resuming bit for bit in every checkpoint format.
final class PretrainCLITests: XCTestCase {
    func genesis(_ args: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(Fixtures.genesisBinary, args, environment: environment)
    }

    /// `pretrain --transforms none --batch 2 --lr 0.1 --momentum 0.9 --steps 1 --no-shuffle` on the
    /// reference's input and target: the loss to 1e-5 relative and every tensor of the written
    /// checkpoint within 1e-5 + 1e-3 |after - before| of the framework's (schemas/numerics.md).
    @discardableResult
    func checkOneStep(model: String, reference: String, keras: Bool, out: String, environment: [String: String] = [:]) throws -> TensorStore {
        let dir = Fixtures.scratchDirectory()
        let ref = try TrainingReference(Fixtures.path(reference), keras: keras)
        try NPY.write(ref.input, to: dir + "/x.npy")
        try NPY.write(ref.target, to: dir + "/t.npy")
        let r = try genesis(["pretrain", "--init", Fixtures.path(model), "--data", dir + "/x.npy", "--targets", dir + "/t.npy",
                             "--transforms", "none", "--batch", "2", "--lr", "0.1", "--momentum", "0.9", "--steps", "1", "--no-shuffle",
                             "--out", dir + "/" + out, "--json"], environment: environment)
        XCTAssertEqual(r.status, 0, r.stderr)
        let loss = try XCTUnwrap((r.json?["losses"] as? [Double])?.first, r.stdout)
        XCTAssertEqual(loss, ref.loss, accuracy: 1e-5 * ref.loss, model)
        let written = try ModelLoader.load(dir + "/" + out)
        let use = ref.toleranceUse(written.mapped.store)
        XCTAssertEqual(use.missing, [], model)
        XCTAssertGreaterThan(use.compared, 60, model)
        XCTAssertLessThanOrEqual(use.worst, 1, "\(model): worst tolerance use")
        XCTAssertNotNil(written.optimizer, "\(model): the checkpoint carries the optimizer state")
        return written.mapped.store
    }

    /// The reference steps do not depend on the kernels OpenBLAS picks for the CPU: the same
    /// step under each core type this CPU can run (Haswell, Zen and Sandybridge on any AVX2
    /// machine; SkylakeX where AVX-512 is there) writes the same bits, within the tolerance of
    /// the framework's step. (AVX2 without the fixes of this test's commit: the keras step used
    /// 1.40x its tolerance on Haswell kernels, 0.01x on SkylakeX ones.)
    func testTheReferenceStepsAreTheSameOnEveryCoreType() throws {
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cores = ["Haswell", "Zen", "Sandybridge"] + (flags.contains(" avx512f") ? ["SkylakeX"] : [])
        for (model, reference, keras, out) in [("keras/genesis_tiny.h5", "keras/genesis_tiny.reference.h5", true, "k.h5"),
                                               ("torch/genesis_tiny_legacy.pt", "torch/genesis_tiny_legacy.reference.h5", false, "l.pt")] {
            let stores = try cores.map { try checkOneStep(model: model, reference: reference, keras: keras, out: out, environment: ["OPENBLAS_CORETYPE": $0]) }
            for (core, store) in zip(cores.dropFirst(), stores.dropFirst()) {
                for (name, t) in stores[0].entries { XCTAssertEqual(store[name], t, "\(model): \(name) on \(core) differs from \(cores[0])") }
            }
        }
    }

    func testOneStepFromKerasMatchesTFKeras() throws {
        try checkOneStep(model: "keras/genesis_tiny.h5", reference: "keras/genesis_tiny.reference.h5", keras: true, out: "k.h5")
    }

    func testOneStepFromPyTorchMatchesPyTorch() throws {
        try checkOneStep(model: "torch/genesis_tiny.pt", reference: "torch/genesis_tiny.reference.h5", keras: false, out: "t.pt")
        try checkOneStep(model: "torch/genesis_tiny_legacy.pt", reference: "torch/genesis_tiny_legacy.reference.h5", keras: false, out: "l.pt")
    }

    /// 6 steps in one run equal 3 steps, `--resume`, 3 more: every tensor and optimizer slot bit
    /// for bit, and the losses of steps 4-6, with the Genesis transforms and shuffling on.
    func testResumeIsBitExactInEveryCheckpointFormat() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["cubes", "--count", "6", "--shape", "16,16,8", "--seed", "4", "--out", dir + "/x.npy"]).status, 0)
        // The files' own SGD state in each format, and a fresh Adam (step counter, m, v) in both conventions.
        let cases = [("keras/genesis_tiny.h5", "h5", "sgd"), ("keras/genesis_tiny.h5", "genesis", "sgd"), ("torch/genesis_tiny.pt", "pt", "sgd"),
                     ("torch/genesis_tiny.pt", "genesis", "sgd"), ("keras/genesis_tiny.h5", "h5", "adam"), ("torch/genesis_tiny.pt", "pt", "adam")]
        for (i, (model, ext, optimizer)) in cases.enumerated() {
            let whole = dir + "/whole\(i).\(ext)", half = dir + "/half\(i).\(ext)"
            let common = ["--data", dir + "/x.npy", "--batch", "2", "--seed", "9"] + (optimizer == "adam" ? ["--optimizer", "adam", "--lr", "0.001"] : [])
            let a = try genesis(["pretrain", "--init", Fixtures.path(model), "--steps", "6", "--out", whole, "--json"] + common)
            XCTAssertEqual(a.status, 0, a.stderr)
            let b1 = try genesis(["pretrain", "--init", Fixtures.path(model), "--steps", "3", "--out", half, "--json"] + common)
            XCTAssertEqual(b1.status, 0, b1.stderr)
            let b2 = try genesis(["pretrain", "--resume", half, "--steps", "6", "--out", half, "--json"] + common)
            XCTAssertEqual(b2.status, 0, b2.stderr)
            let la = a.json?["losses"] as? [Double] ?? [], lb = (b1.json?["losses"] as? [Double] ?? []) + (b2.json?["losses"] as? [Double] ?? [])
            XCTAssertEqual(la.count, 6, "\(ext)")
            XCTAssertEqual(la, lb, "\(model) -> .\(ext): losses")
            XCTAssertEqual(b2.json?["first_step"] as? Int, 3)
            let ma = try ModelLoader.load(whole), mb = try ModelLoader.load(half)
            XCTAssertEqual(ma.mapped.store.names, mb.mapped.store.names)
            for name in ma.mapped.store.names {
                XCTAssertEqual(ma.mapped.store[name]?.bytes, mb.mapped.store[name]?.bytes, "\(model) -> .\(ext): \(name)")
            }
            let oa = try XCTUnwrap(ma.optimizer), ob = try XCTUnwrap(mb.optimizer)
            XCTAssertEqual(oa.step, ob.step)
            XCTAssertEqual(oa.hyperparameters, ob.hyperparameters)
            XCTAssertEqual(oa.slots.keys.sorted(), ob.slots.keys.sorted())
            for (p, slots) in oa.slots { for (s, t) in slots { XCTAssertEqual(t.bytes, ob.slots[p]?[s]?.bytes, "\(ext): \(p)/\(s)") } }
        }
    }

    func testCheckpointFormatMustKeepTheRunsFramework() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["cubes", "--count", "2", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        let r = try genesis(["pretrain", "--init", Fixtures.path("keras/genesis_tiny.h5"), "--data", dir + "/x.npy", "--batch", "2", "--out", dir + "/a.pt"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains(".h5 or .genesis"), r.stderr)
        let n = try genesis(["pretrain", "--resume", Fixtures.path("keras/genesis_tiny.h5"), "--data", dir + "/x.npy", "--out", dir + "/b.h5"])
        XCTAssertEqual(n.status, 2)
        XCTAssertTrue(n.stderr.contains("records no training run"), n.stderr)
    }
}

extension PretrainCLITests {
    /// A step whose loss is NaN or Inf (lr 1e30 makes step 2's) stops the run with exit 2 and
    /// writes no checkpoint from the broken weights; the earlier checkpoint is kept.
    func testANonFiniteLossStopsTheRunAndKeepsTheLastCheckpoint() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["cubes", "--count", "4", "--shape", "16,16,8", "--out", dir + "/x.npy"]).status, 0)
        let r = try genesis(["pretrain", "--init", Fixtures.path("torch/genesis_tiny.pt"), "--data", dir + "/x.npy", "--batch", "2",
                             "--steps", "6", "--lr", "1e30", "--checkpoint-every", "1", "--out", dir + "/run.pt"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("step 2: the loss is") && r.stderr.contains("smaller --lr"), r.stderr)
        let kept = try GenesisIO.ModelLoader.load(dir + "/run.pt")
        XCTAssertTrue(kept.mapped.store.entries.allSatisfy { $0.tensor.dtype != .float32 || $0.tensor.floats().allSatisfy(\.isFinite) },
                      "the checkpoint of step 1 holds finite weights")
    }
}

extension PretrainCLITests {
    /// A resumed run keeps its own transforms, batch, seed and schedule whatever the flags say
    /// (here: resumed without --transforms none, with another --batch and --seed, without
    /// --schedule): it equals the run done without stopping, loss for loss and byte for byte.
    func testResumeKeepsTheRunsOwnSettings() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["cubes", "--count", "4", "--shape", "16,16,8", "--seed", "2", "--out", dir + "/x.npy"]).status, 0)
        let run = ["--data", dir + "/x.npy", "--transforms", "none", "--batch", "2", "--seed", "4", "--schedule", "step", "--json"]
        let whole = try genesis(["pretrain", "--init", Fixtures.path("torch/genesis_tiny.pt"), "--steps", "4", "--out", dir + "/w.pt"] + run)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let first = try genesis(["pretrain", "--init", Fixtures.path("torch/genesis_tiny.pt"), "--steps", "2", "--out", dir + "/h.pt"] + run)
        XCTAssertEqual(first.status, 0, first.stderr)
        let rest = try genesis(["pretrain", "--resume", dir + "/h.pt", "--data", dir + "/x.npy", "--batch", "3", "--seed", "8",
                                "--steps", "4", "--out", dir + "/h.pt", "--json"])
        XCTAssertEqual(rest.status, 0, rest.stderr)
        XCTAssertEqual((first.json?["losses"] as? [Double] ?? []) + (rest.json?["losses"] as? [Double] ?? []), whole.json?["losses"] as? [Double])
        let a = try GenesisIO.ModelLoader.load(dir + "/w.pt"), b = try GenesisIO.ModelLoader.load(dir + "/h.pt")
        for (name, t) in a.mapped.store.entries { XCTAssertEqual(t.bytes, b.mapped.store[name]?.bytes, name) }
        // Steps 1-4 once each in the resumed run's log.
        let log = try String(contentsOfFile: dir + "/h.pt.log.jsonl", encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").filter { $0.contains("\"loss\"") }.count, 4)
    }
}
