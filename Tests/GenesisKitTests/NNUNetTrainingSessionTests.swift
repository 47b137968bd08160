import Foundation
import GenesisKit
import TestSupport
import TorchFormat
import XCTest

/// nnU-Net Genesis trained in-process as `genesis pretrain` and `finetune` train it: the
/// checkpoint in the file's own layout (`{'epoch', 'state_dict', 'optimizer_state_dict'}`, the
/// state dict in the module's order, SGD state by position with none for seg_outputs.0-3),
/// resumed bit for bit; fine-tuning with the family's conventions.
final class NNUNetTrainingSessionTests: XCTestCase {
    static let model = Fixtures.repoRoot + "/Tests/References/nnunet/nnunet_tiny.model"

    func pretrain(initial: String?, resume: String?, out: String, data: String, steps: Int) throws -> TrainingReport? {
        var settings = TrainingSettings()
        settings.steps = steps
        settings.batch = 2
        settings.seed = 3
        settings.threads = 2
        let session = try TrainingSession.prepare(kind: "pretrain", initial: initial, resume: resume, out: out, options: settings,
                                                  transforms: "genesis", loss: .mse, json: true, ranks: SingleProcess())
        let cubes = try session.shardCubes(data, expect: session.inputSpatial)
        let trainer = session.trainer!
        var training = try TrainingData(inputs: cubes, transforms: .official)
        training.inputNormalisation = trainer.source.trainingInputNormalisation
        var run = try session.runState(data: cubes, framework: trainer.framework, learningRate: trainer.optimizer.learningRate)
        run.transforms = "genesis"
        return try session.train(trainer, data: training, validation: nil, run: run, checkpoint: { trainer, run in
            try TrainingCheckpoint.write(trainer, run: run, to: out, inputShape: [1] + run.dataSpatial, modulePrefix: session.modulePrefix)
        })
    }

    func testPretrainCheckpointIsTheFilesLayoutAndResumesBitForBit() throws {
        let dir = Fixtures.scratchDirectory()
        var rng = SeededGenerator(seed: 11)
        let cubes = Tensor(shape: [4, 1, 32, 32, 32], floats: (0..<(4 * 32768)).map { _ in rng.nextUnitFloat() })
        try NPY.write(cubes, to: dir + "/cubes.npy")
        XCTAssertEqual(try ModelLoader.load(Self.model).networkArchitecture().trainingInputNormalisation?.name, "nnunet-cubes")

        let straight = try XCTUnwrap(try pretrain(initial: Self.model, resume: nil, out: dir + "/straight.pt", data: dir + "/cubes.npy", steps: 2))
        XCTAssertEqual(straight.losses.count, 2)
        XCTAssertTrue(straight.losses.allSatisfy(\.isFinite))
        XCTAssertTrue((straight.json["notes"] as? [String])?.first?.contains("sigmoid on the logits") == true)
        let first = try XCTUnwrap(try pretrain(initial: Self.model, resume: nil, out: dir + "/cut.pt", data: dir + "/cubes.npy", steps: 1))
        XCTAssertEqual(first.losses, [straight.losses[0]])
        let second = try XCTUnwrap(try pretrain(initial: nil, resume: dir + "/cut.pt", out: dir + "/cut.pt", data: dir + "/cubes.npy", steps: 2))
        XCTAssertEqual(second.losses, [straight.losses[1]])

        let a = try TorchReader.read(dir + "/straight.pt"), b = try TorchReader.read(dir + "/cut.pt")
        let original = try TorchReader.read(Self.model)
        XCTAssertEqual(a.stateDictKey, "state_dict")
        XCTAssertEqual(a.epoch, 1)
        XCTAssertEqual(a.stateDict.names, original.stateDict.names)
        for name in a.stateDict.names {
            XCTAssertEqual(a.stateDict[name]?.bytes, b.stateDict[name]?.bytes, name)
            XCTAssertEqual(a.stateDict[name]?.shape, original.stateDict[name]?.shape, name)
        }
        // Never stepped: seg_outputs.0-3 unchanged, no momentum buffer (positions 93-96).
        for u in 0..<4 { XCTAssertEqual(a.stateDict["seg_outputs.\(u).weight"], original.stateDict["seg_outputs.\(u).weight"]) }
        let o = try XCTUnwrap(a.optimizer), ob = try XCTUnwrap(b.optimizer)
        XCTAssertEqual(o.kind, .sgd)
        XCTAssertEqual(o.parameterCount, 98)
        XCTAssertEqual((0..<98).filter { o.state[$0] == nil }, [93, 94, 95, 96])
        XCTAssertEqual(o.paramGroups.first?["momentum"]?.doubleValue, 0.9)
        for i in 0..<98 where o.state[i] != nil {
            XCTAssertEqual(o.tensor("momentum_buffer", position: i)?.bytes, ob.tensor("momentum_buffer", position: i)?.bytes, "\(i)")
        }
        // It reads back as the nnU-Net Genesis network, valid.
        let back = try ModelLoader.load(dir + "/straight.pt")
        XCTAssertEqual(back.recognised?.architecture.variantName, "nnunet")
        XCTAssertTrue(back.verify().valid)
    }

    func testFinetuneTakesTheFamilysConventions() throws {
        var settings = TrainingSettings()
        settings.seed = 1
        let setup = try FinetuneSetup.make(task: .segmentation, classes: 2, initial: Self.model, resumed: nil, options: settings,
                                           freezeEncoder: false, loss: nil, threads: 1)
        XCTAssertEqual(setup.loss, .dcAndCE)
        XCTAssertEqual(setup.schedule, .poly)
        guard case let .segmentation(t) = setup.model else { return XCTFail("a segmentation trainer") }
        XCTAssertEqual(t.optimizer.kind, .sgd)
        XCTAssertEqual(t.optimizer.convention, .torch)
        XCTAssertEqual(t.optimizer.learningRate, 1e-2)
        XCTAssertEqual(t.optimizer.momentum, 0.99)
        XCTAssertTrue(t.optimizer.nesterov)
        XCTAssertEqual(t.optimizer.weightDecay, 3e-5)
        XCTAssertTrue(t.optimizer.slots.isEmpty)
        XCTAssertEqual(t.graph.nodes.last?.operation, .softmax)
        XCTAssertFalse(t.repeatsTarget)
        XCTAssertEqual(setup.report.loaded.count, 98)
        XCTAssertTrue(setup.notes.joined().contains("DC_and_CE_loss"))

        // Three labels: the seg_outputs are new, the rest loaded.
        let three = try FinetuneSetup.make(task: .segmentation, classes: 3, initial: Self.model, resumed: nil, options: settings,
                                           freezeEncoder: false, loss: nil, threads: 1)
        XCTAssertEqual(three.report.new.map(\.tensor), (0..<5).map { "seg_outputs.\($0).weight" })
        XCTAssertEqual(three.report.loaded.count, 93)
        XCTAssertThrowsError(try FinetuneSetup.make(task: .classification, classes: 2, initial: Self.model, resumed: nil, options: settings,
                                                    freezeEncoder: false, loss: nil, threads: 1))
    }
}
