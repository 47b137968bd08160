import Foundation
import GenesisIO
import GenesisModel
import KerasFormat
import TorchFormat
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// `genesis finetune`: partial loading said out loud (loaded, new, skipped and why), heads, and
/// checkpoints that resume exactly. (Whether it learns: LearningTests.)
final class FinetuneCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    /// 8 cubes 16x16x8 with a seeded bright box in half of them, its mask and presence labels.
    func data(_ dir: String) throws -> (images: String, masks: String, labels: String, classes: String) {
        var g = SeededGenerator(seed: 3)
        var x = [Float](), m = [Float](), y = [Float](), c = [Float]()
        for i in 0..<8 {
            var cube = (0..<2048).map { _ in 0.4 + Float(g.next() % 1000) / 10_000 }
            var mask = [Float](repeating: 0, count: 2048)
            if i % 2 == 0 {
                for d in 4..<8 { for h in 6..<10 { for w in 2..<6 { cube[d * 128 + h * 8 + w] = 0.9; mask[d * 128 + h * 8 + w] = 1 } } }
            }
            x += cube
            m += mask
            y.append(i % 2 == 0 ? 1 : 0)
            c += mask.map { $0 == 1 ? 2 : 0 }   // class indices 0 / 2 (3 classes)
        }
        try NPY.write(Tensor(shape: [8, 16, 16, 8], floats: x), to: dir + "/x.npy")
        try NPY.write(Tensor(shape: [8, 16, 16, 8], floats: m), to: dir + "/m.npy")
        try NPY.write(Tensor(shape: [8], floats: y), to: dir + "/y.npy")
        try NPY.write(Tensor(shape: [8, 16, 16, 8], floats: c), to: dir + "/c.npy")
        return (dir + "/x.npy", dir + "/m.npy", dir + "/y.npy", dir + "/c.npy")
    }

    func testSegmentationKeepsAMatchingHeadAndReportsANewOne() throws {
        let dir = Fixtures.scratchDirectory()
        let d = try data(dir)
        let same = try genesis(["finetune", "--init", Fixtures.path("keras/genesis_tiny.h5"), "--task", "segmentation", "--images", d.images,
                                "--labels", d.masks, "--batch", "4", "--steps", "1", "--out", dir + "/a.h5", "--json"])
        XCTAssertEqual(same.status, 0, same.stderr)
        let l1 = try XCTUnwrap(same.json?["loading"] as? [String: Any])
        XCTAssertEqual((l1["loaded"] as? [String])?.count, 86)   // every tensor of the base-4 keras network
        XCTAssertEqual((l1["new"] as? [Any])?.count, 0)
        let three = try genesis(["finetune", "--init", Fixtures.path("keras/genesis_tiny.h5"), "--task", "segmentation", "--images", d.images,
                                 "--labels", d.classes, "--classes", "3", "--loss", "ce", "--batch", "4", "--steps", "1", "--out", dir + "/b.h5", "--json"])
        XCTAssertEqual(three.status, 0, three.stderr)
        let l3 = try XCTUnwrap(three.json?["loading"] as? [String: Any])
        let new = (l3["new"] as? [[String: Any]] ?? []).compactMap { $0["tensor"] as? String }
        XCTAssertEqual(new, ["out_tr.final_conv.weight", "out_tr.final_conv.bias"])
        let skipped = (l3["skipped"] as? [[String: Any]] ?? [])
        XCTAssertEqual(skipped.count, 2)
        XCTAssertTrue((skipped.first?["why"] as? String ?? "").contains("1 label(s), the task 3"), "\(skipped)")
        let written = try ModelLoader.load(dir + "/b.h5")
        XCTAssertEqual(try written.architecture().labels, 3)
    }

    func testClassificationReportsItsHeadAndResumesExactlyFromGenesis() throws {
        let dir = Fixtures.scratchDirectory()
        let d = try data(dir)
        let common = ["--task", "classification", "--images", d.images, "--labels", d.labels, "--batch", "4", "--seed", "2"]
        let whole = try genesis(["finetune", "--init", Fixtures.path("keras/genesis_tiny.h5"), "--steps", "4", "--out", dir + "/w.genesis", "--json"] + common)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let loading = try XCTUnwrap(whole.json?["loading"] as? [String: Any])
        XCTAssertEqual((loading["new"] as? [[String: Any]] ?? []).compactMap { $0["tensor"] as? String },
                       ["head.fc1.weight", "head.fc1.bias", "head.fc2.weight", "head.fc2.bias"])
        // Decoder (blocks 8-13, 6 x 6 tensors) and the 1x1x1 head (2): not part of the classifier.
        XCTAssertEqual((loading["skipped"] as? [Any])?.count, 38)
        _ = try genesis(["finetune", "--init", Fixtures.path("keras/genesis_tiny.h5"), "--steps", "2", "--out", dir + "/h.genesis"] + common)
        let rest = try genesis(["finetune", "--resume", dir + "/h.genesis", "--steps", "4", "--out", dir + "/h.genesis", "--json"] + common)
        XCTAssertEqual(rest.status, 0, rest.stderr)
        let a = try ModelLoader.load(dir + "/w.genesis"), b = try ModelLoader.load(dir + "/h.genesis")
        for (name, t) in a.mapped.store.entries { XCTAssertEqual(t.bytes, b.mapped.store[name]?.bytes, name) }
        let headA = Dictionary(uniqueKeysWithValues: a.mapped.unexpected.map { ($0.name, $0.tensor.bytes) })
        let headB = Dictionary(uniqueKeysWithValues: b.mapped.unexpected.map { ($0.name, $0.tensor.bytes) })
        XCTAssertEqual(headA.count, 4)
        XCTAssertEqual(headA, headB)
    }

    /// `.pt`: a PyTorch classifier fine-tuned 2 steps, then resumed for 2 more, equals 4 straight
    /// steps bit for bit: network, head (`module.head.*`, as the source had `module.`) and the
    /// optimizer state, whose 68 parameters are the network's 64 and then the head's 4.
    func testClassificationResumesExactlyFromTorch() throws {
        let dir = Fixtures.scratchDirectory()
        let d = try data(dir)
        let common = ["--task", "classification", "--images", d.images, "--labels", d.labels, "--batch", "4", "--seed", "2"]
        let src = Fixtures.path("torch/genesis_tiny.pt")
        let whole = try genesis(["finetune", "--init", src, "--steps", "4", "--out", dir + "/w.pt"] + common)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let half = try genesis(["finetune", "--init", src, "--steps", "2", "--out", dir + "/h.pt"] + common)
        XCTAssertEqual(half.status, 0, half.stderr)
        let rest = try genesis(["finetune", "--resume", dir + "/h.pt", "--steps", "4", "--out", dir + "/h.pt"] + common)
        XCTAssertEqual(rest.status, 0, rest.stderr)
        let a = try TorchReader.read(dir + "/w.pt"), b = try TorchReader.read(dir + "/h.pt")
        XCTAssertEqual(a.stateDict.names, b.stateDict.names)
        XCTAssertEqual(Array(a.stateDict.names.suffix(4)), ClassifierHead.names.map { "module." + $0 })
        for n in a.stateDict.names { XCTAssertEqual(a.stateDict[n]?.bytes, b.stateDict[n]?.bytes, n) }
        let oa = try XCTUnwrap(a.optimizer), ob = try XCTUnwrap(b.optimizer)
        XCTAssertEqual(oa.parameterCount, 68)
        XCTAssertEqual(ob.parameterCount, 68)
        for i in 0..<68 { XCTAssertEqual(oa.tensor("momentum_buffer", position: i)?.bytes, ob.tensor("momentum_buffer", position: i)?.bytes, "position \(i)") }
        // The head's momentum is there (positions 64..<68), shaped as the head.
        XCTAssertEqual(oa.tensor("momentum_buffer", position: 66)?.shape, [1, 1024])
        XCTAssertEqual(try ModelLoader.load(dir + "/h.pt").optimizer?.slots["head.fc2.weight"]?["momentum"]?.shape, [1, 1024])
    }

    /// `.h5`: a Keras classifier's full save names the head layers in model_config (encoder ...
    /// depth_7_relu, global_average_pooling3d_1, dense_1, dense_2; no decoder layer), reads back
    /// as the whole Genesis network, and 2 steps + resume + 2 equal 4 straight, bit for bit
    /// (weights, decoder, head, optimizer_weights).
    func testClassificationWritesAKerasClassifierAndResumesExactlyFromIt() throws {
        let dir = Fixtures.scratchDirectory()
        let d = try data(dir)
        let common = ["--task", "classification", "--images", d.images, "--labels", d.labels, "--batch", "4", "--seed", "2"]
        let src = Fixtures.path("keras/genesis_tiny.h5")
        let whole = try genesis(["finetune", "--init", src, "--steps", "4", "--out", dir + "/w.h5"] + common)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let config = try XCTUnwrap(KerasReader.read(dir + "/w.h5").config)
        XCTAssertEqual(Array(config.layers.suffix(4).map(\.name)), ["depth_7_relu", "global_average_pooling3d_1", "dense_1", "dense_2"])
        XCTAssertEqual(Array(config.layers.suffix(3).map(\.className)), ["GlobalAveragePooling3D", "Dense", "Dense"])
        XCTAssertFalse(config.layers.contains { $0.name.hasPrefix("depth_8") || $0.className == "UpSampling3D" })
        _ = try genesis(["finetune", "--init", src, "--steps", "2", "--out", dir + "/h.h5"] + common)
        let rest = try genesis(["finetune", "--resume", dir + "/h.h5", "--steps", "4", "--out", dir + "/h.h5"] + common)
        XCTAssertEqual(rest.status, 0, rest.stderr)
        let a = try KerasReader.read(dir + "/w.h5"), b = try KerasReader.read(dir + "/h.h5")
        XCTAssertEqual((a.layers + a.extraLayers).map(\.name), (b.layers + b.extraLayers).map(\.name))
        for (la, lb) in zip(a.layers + a.extraLayers, b.layers + b.extraLayers) {
            for (wa, wb) in zip(la.weights, lb.weights) { XCTAssertEqual(wa.tensor.bytes, wb.tensor.bytes, wa.name) }
        }
        XCTAssertEqual(a.optimizerWeights.count, 1 + 32 + 4)
        XCTAssertEqual(a.optimizerWeights.map(\.name), b.optimizerWeights.map(\.name))
        for (wa, wb) in zip(a.optimizerWeights, b.optimizerWeights) { XCTAssertEqual(wa.tensor.bytes, wb.tensor.bytes, wa.name) }
        let loaded = try ModelLoader.load(dir + "/w.h5")
        XCTAssertEqual(try loaded.architecture(), Architecture(variant: .keras, baseFilters: 4))
        XCTAssertEqual(loaded.head.names, ClassifierHead.names)
    }
}

extension FinetuneCLITests {
    /// `convert` carries a classifier's head (4 tensors beside the network's 106) through
    /// .genesis and back to .pt, and `diff` compares it like the rest: bit for bit.
    func testConvertKeepsAClassifiersHead() throws {
        let dir = Fixtures.scratchDirectory()
        let d = try data(dir)
        let r = try genesis(["finetune", "--init", Fixtures.path("torch/genesis_tiny.pt"), "--task", "classification", "--images", d.images,
                             "--labels", d.labels, "--batch", "4", "--steps", "1", "--out", dir + "/c.pt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try genesis(["convert", dir + "/c.pt", dir + "/c.genesis", "--json"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.json?["tensors_written"] as? Int, 110)
        XCTAssertEqual(try genesis(["convert", dir + "/c.genesis", dir + "/back.pt"]).status, 0)
        let diff = try genesis(["diff", dir + "/c.pt", dir + "/back.pt", "--json"])
        XCTAssertEqual(diff.status, 0, diff.stdout)
        XCTAssertEqual(diff.json?["tensors_compared"] as? Int, 110)
        XCTAssertEqual(diff.json?["bit_identical"] as? Int, 110)
    }
}
