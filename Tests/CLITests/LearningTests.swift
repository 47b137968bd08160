import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// Issue 9, "Learning": on synthetic CT-like cubes (`SyntheticCT`, seeded) the real binary
/// learns. A short `pretrain` with the Genesis transforms lowers the validation MSE;
/// `finetune --task segmentation` reaches a validation Dice well above a constant prediction's;
/// `finetune --task classification` separates cubes with a nodule from cubes without.
///
/// Every run starts from `genesis init --variant torch --base-filters 4 --seed 1` (the network a
/// user can make too; the torch variant validates with batch statistics, as the official
/// PyTorch `ContBatchNorm3d` always does, see `testPretrainingLowersValidationMSE`). Seeds
/// are fixed, so the figures are reproducible; each assertion keeps a margin below what was
/// measured (debug build, 2 cores, figures in the comments). The figures move in their 6th-7th
/// digit between identical runs with 2 threads (see `testTwoIdenticalRunsGiveTheSameLosses`),
/// and a Dice on 8 cubes by a voxel or two (0.6237 and 0.6256 in two runs): the margins cover it.
final class LearningTests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    /// A seeded base-4 torch-variant network in `dir`.
    func tinyModel(_ dir: String) throws -> String {
        let path = dir + "/tiny.pt"
        let r = try genesis(["init", "--variant", "torch", "--base-filters", "4", "--seed", "1", "--out", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return path
    }

    /// Writes images (N, 1, D, H, W), masks (N, D, H, W) and labels (N,) as `prefix`_*.npy.
    @discardableResult
    func write(_ b: SyntheticCT.Batch, _ prefix: String) throws -> SyntheticCT.Batch {
        try NPY.write(Tensor(shape: b.imageShape, floats: b.images), to: prefix + "_images.npy")
        try NPY.write(Tensor(shape: b.maskShape, floats: b.masks), to: prefix + "_masks.npy")
        try NPY.write(Tensor(shape: [b.count], floats: b.labels), to: prefix + "_labels.npy")
        return b
    }

    func epochs(_ r: ProcessResult) throws -> [[String: Any]] {
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(r.json?["epochs"] as? [[String: Any]], r.stdout + r.stderr)
    }

    func testSyntheticCTIsSeededAndShapedLikeScaledCT() throws {
        let a = SyntheticCT.make(count: 8, spatial: [16, 16, 16], seed: 5), b = SyntheticCT.make(count: 8, spatial: [16, 16, 16], seed: 5)
        XCTAssertEqual(a.images, b.images, "same seed, same cubes")
        XCTAssertNotEqual(a.images, SyntheticCT.make(count: 8, spatial: [16, 16, 16], seed: 6).images)
        XCTAssertTrue(a.images.allSatisfy { $0 >= 0 && $0 <= 1 })
        // Exactly half the cubes carry a nodule (round(8 x 0.5)), and only they have mask voxels;
        // a radius of 2-3.5 voxels holds 33-180 voxels (4/3 pi r^3 = 34-180).
        XCTAssertEqual(a.labels.reduce(0, +), 4)
        for i in 0..<8 {
            let v = a.maskVoxels(i)
            if a.labels[i] == 1 { XCTAssertTrue((25...200).contains(v), "cube \(i): \(v) nodule voxels") } else { XCTAssertEqual(v, 0) }
        }
        // Inside the nodule the cubes are bright (0.75-0.85 plus noise of sd 0.015); outside, the
        // median is soft tissue (0.45-0.55, waves of up to +-0.09) and lungs make a dark tail.
        let inside = zip(a.images, a.masks).filter { $0.1 == 1 }.map(\.0), outside = zip(a.images, a.masks).filter { $0.1 == 0 }.map(\.0).sorted()
        XCTAssertGreaterThan(inside.reduce(0, +) / Float(inside.count), 0.72)
        XCTAssertTrue((0.4...0.6).contains(outside[outside.count / 2]), "median \(outside[outside.count / 2])")
        XCTAssertLessThan(outside[outside.count / 20], 0.25, "the darkest 5% are lung-like")
    }

    /// `pretrain --transforms genesis --validation`: 24 training cubes of 16x16x16, 12 validation
    /// cubes, batch 6 (the official batch; 4 steps per epoch), 6 epochs, SGD lr 0.1 momentum 0.9
    /// (the defaults), seed 3.
    ///
    /// Measured (debug build, 23 s idle, 40-50 s with other builds running): validation MSE per epoch 0.0484, 0.0270, 0.0181, 0.0183,
    /// 0.0183, 0.0171 (last / first = 0.35); training loss 0.056 -> 0.017. Asserted: last < 0.6 x
    /// first. What 24 steps learn is mostly the data's intensity level and coarse structure: the
    /// best constant prediction (the validation cubes' mean) scores their variance, 0.0151, and
    /// the run ends at 1.13 x that (asserted < 1.3 x). Going clearly below it takes many more
    /// steps (0.0144 after 108 steps of batch 2 with Adam 3e-3), because 72% of the cubes are
    /// out-painted (rate 0.9 x 0.8) and most of such a cube must be guessed;
    /// scripts/learning_demo.sh runs longer in a release build.
    ///
    /// Why the torch variant: a Keras model validates with the BN moving statistics (as Keras
    /// `fit` does), and with momentum 0.99 they still hold 0.99^24 = 79% of their initial values
    /// (mean 0, variance 1) after 24 steps. From `genesis init --base-filters 4 --seed 1` (keras)
    /// on the same data and flags the training loss fell the same way (0.056 -> 0.017) but the
    /// validation MSE did not: 0.0189, 0.0165, 0.0168, 0.0188, 0.0199, 0.0193.
    func testPretrainingLowersValidationMSE() throws {
        let dir = Fixtures.scratchDirectory()
        let model = try tinyModel(dir)
        try write(SyntheticCT.make(count: 24, spatial: [16, 16, 16], seed: 11), dir + "/train")
        let val = try write(SyntheticCT.make(count: 12, spatial: [16, 16, 16], seed: 12), dir + "/val")
        let r = try genesis(["pretrain", "--init", model, "--data", dir + "/train_images.npy", "--validation", dir + "/val_images.npy",
                             "--transforms", "genesis", "--epochs", "6", "--batch", "6", "--seed", "3", "--out", dir + "/pre.pt", "--json"])
        let e = try epochs(r)
        let validation = try XCTUnwrap(r.json?["validation"] as? [Double])
        let constant = SyntheticCT.variance(val)
        print("pretrain validation MSE per epoch: \(validation); train: \(e.compactMap { $0["train_loss"] as? Double }); best constant: \(constant)")
        XCTAssertEqual(validation.count, 6, "one validation MSE per epoch")
        let first = try XCTUnwrap(validation.first), last = try XCTUnwrap(validation.last)
        XCTAssertLessThan(last, 0.6 * first, "validation MSE \(validation)")
        XCTAssertLessThan(last, 1.3 * constant, "validation MSE \(validation) against the best constant's \(constant)")
    }

    /// `finetune --task segmentation` on nodule masks: 32 cubes of 16x16x16 (16 with a nodule),
    /// `--validation-split 0.25` (8 held out), batch 6 (4 steps per epoch), 10 epochs, Adam lr
    /// 0.01, Dice loss (the default).
    ///
    /// Measured (debug build, 23 s idle, 37-60 s with other builds running): validation Dice per epoch 0.070, 0.096, 0.121, 0.188,
    /// 0.313, 0.407, 0.512, 0.406, 0.474, 0.624. A constant prediction scores: all zero 0 (the
    /// validation masks are not empty), all one 2|y| / (|y| + |V|): 0.0185 on the 8 cubes held
    /// out, and at most 0.061 on any 8 of these cubes (the 8 with the most nodule voxels; this
    /// bound does not depend on copying the split). Asserted: final Dice >= 0.35 (the last four
    /// epochs ranged 0.41-0.62, Dice on 8 cubes is noisy) and >= the all-one bound + 0.25.
    ///
    /// With the default SGD lr 0.1 Dice rose only to 0.08 in 6 epochs (Dice's gradient per voxel is
    /// about 1 / (|y| + sum p), tiny at this size); SGD lr 1.0 collapsed to all-zero after 4 epochs.
    func testSegmentationFinetuneReachesValidationDice() throws {
        let dir = Fixtures.scratchDirectory()
        let model = try tinyModel(dir)
        let data = try write(SyntheticCT.make(count: 32, spatial: [16, 16, 16], seed: 21), dir + "/seg")
        let r = try genesis(["finetune", "--init", model, "--task", "segmentation", "--images", dir + "/seg_images.npy",
                             "--labels", dir + "/seg_masks.npy", "--validation-split", "0.25", "--epochs", "10", "--batch", "6",
                             "--optimizer", "adam", "--lr", "0.01", "--seed", "3", "--out", dir + "/seg.pt", "--json"])
        let e = try epochs(r)
        let dice = e.compactMap { $0["validation_dice"] as? Double }
        XCTAssertEqual(dice.count, 10, "one validation Dice per epoch")
        let allOnes = SyntheticCT.allOnesDiceBound(data, subsetSize: 8)
        let held = SyntheticCT.validationIndices(count: 32, split: 0.25, seed: 3)
        print("segmentation validation Dice per epoch: \(dice); all-one Dice <= \(allOnes) (on the held-out cubes \(held): \(SyntheticCT.allOnesDice(data, held)))")
        XCTAssertGreaterThan(held.reduce(0) { $0 + data.maskVoxels($1) }, 0, "the validation masks are not empty, so all-zero scores 0")
        let final = try XCTUnwrap(dice.last)
        XCTAssertGreaterThanOrEqual(final, 0.35, "validation Dice \(dice)")
        XCTAssertGreaterThanOrEqual(final, allOnes + 0.25, "validation Dice \(dice) against all-one's \(allOnes)")
    }

    /// `finetune --task classification` on nodule presence: 64 cubes of 16x16x16 (32 with a
    /// nodule), `--validation-split 0.25` (16 held out), batch 6 (8 steps per epoch), 5 epochs,
    /// Adam lr 1e-3, BCE (the default for one class).
    ///
    /// Data seed 34 is chosen so that the 16 held-out cubes are balanced (8 with a nodule, checked
    /// below), so chance is 0.5; with seed 31 they were 12 to 4 (majority rate 0.75).
    /// Measured (debug build, 9-18 s): validation accuracy per epoch 0.8125, 1, 1, 1, 1; AUC
    /// 0.969, 1, 1, 1, 1. Asserted: final accuracy >= 0.75 (> chance + 0.2) and AUC >= 0.85. The
    /// same flags on data seeds 31-38 ended at accuracy 0.81-1 and AUC 0.92-1 (release build).
    /// Adam lr 0.01 stalled on this seed (training loss 0.69, AUC 0.69); the default SGD lr 0.1
    /// learned it but was unstable on other seeds (seed 35: AUC 0.53 after 5 epochs).
    func testClassificationFinetuneBeatsChance() throws {
        let dir = Fixtures.scratchDirectory()
        let model = try tinyModel(dir)
        let data = try write(SyntheticCT.make(count: 64, spatial: [16, 16, 16], seed: 34), dir + "/cls")
        let r = try genesis(["finetune", "--init", model, "--task", "classification", "--images", dir + "/cls_images.npy",
                             "--labels", dir + "/cls_labels.npy", "--validation-split", "0.25", "--epochs", "5", "--batch", "6",
                             "--optimizer", "adam", "--lr", "0.001", "--seed", "3", "--out", dir + "/cls.pt", "--json"])
        let e = try epochs(r)
        let accuracy = e.compactMap { $0["validation_accuracy"] as? Double }, auc = e.compactMap { $0["validation_auc"] as? Double }
        XCTAssertEqual(accuracy.count, 5)
        XCTAssertEqual(auc.count, 5)
        let held = SyntheticCT.validationIndices(count: 64, split: 0.25, seed: 3)
        let positives = held.filter { data.labels[$0] == 1 }.count
        XCTAssertEqual(positives, 8, "data seed 34 balances the 16 held-out cubes")
        let chance = Double(max(positives, held.count - positives)) / Double(held.count)
        print("classification validation accuracy per epoch: \(accuracy); AUC: \(auc); majority class of the \(held.count) held out: \(chance)")
        let finalAccuracy = try XCTUnwrap(accuracy.last), finalAUC = try XCTUnwrap(auc.last)
        XCTAssertGreaterThanOrEqual(finalAccuracy, 0.75, "accuracy \(accuracy)")
        XCTAssertGreaterThan(finalAccuracy, chance + 0.2, "accuracy \(accuracy) against the majority rate \(chance)")
        XCTAssertGreaterThanOrEqual(finalAUC, 0.85, "AUC \(auc)")
    }

    /// Seeded runs should repeat bit for bit (RunState: "every random draw of a run is derived
    /// from (seed, step, cube index)"; PretrainCLITests' resume test compares losses exactly).
    /// They do with `--threads 1`; with 2 threads the first step's loss agrees and every later
    /// one differs in its 7th-9th digit from run to run (measured three release runs: step 2
    /// 0.0655806132, 0.0655806134, 0.0655806175). The forward pass is deterministic (`genesis
    /// run --bn batch --threads 2` three times: identical bytes), so step 1's update differs: the
    /// convolution weight gradients (`Conv3D.weightGradientIm2col`, `weightGradient1`) accumulate
    /// in float32 per worker while `Parallel.forEach` hands chunks to workers dynamically, so
    /// which chunks share an accumulator, and so the rounding, depends on timing.
    /// This test fails until that reduction is made independent of the schedule.
    func testTwoIdenticalRunsGiveTheSameLosses() throws {
        let dir = Fixtures.scratchDirectory()
        let model = try tinyModel(dir)
        try write(SyntheticCT.make(count: 12, spatial: [16, 16, 16], seed: 11), dir + "/train")
        var runs: [[Double]] = []
        for i in 0..<3 {
            let r = try genesis(["pretrain", "--init", model, "--data", dir + "/train_images.npy", "--steps", "3", "--batch", "6",
                                 "--seed", "3", "--threads", "2", "--out", dir + "/run\(i).pt", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            runs.append(try XCTUnwrap(r.json?["losses"] as? [Double], r.stdout))
        }
        XCTAssertEqual(runs[0].count, 3)
        XCTAssertEqual(runs[1], runs[0], "run 2 against run 1 (--threads 2)")
        XCTAssertEqual(runs[2], runs[0], "run 3 against run 1 (--threads 2)")
    }
}
