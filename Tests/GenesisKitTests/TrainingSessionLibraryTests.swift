import Foundation
import GenesisKit
import TestSupport
import XCTest

/// A training session run in-process, as a program runs one: from a model file, two steps in one
/// go, and one step then a resume for the second, write the same bits (resuming is bit-exact).
final class TrainingSessionLibraryTests: XCTestCase {
    func pretrain(initial: String?, resume: String?, out: String, data: String, steps: Int) throws -> TrainingReport? {
        var settings = TrainingSettings()
        settings.steps = steps
        settings.batch = 2
        settings.seed = 3
        settings.threads = 1
        let session = try TrainingSession.prepare(kind: "pretrain", initial: initial, resume: resume, out: out, options: settings,
                                                  transforms: "genesis", loss: .mse, json: true, ranks: SingleProcess())
        let cubes = try session.shardCubes(data, expect: session.inputSpatial)
        try session.checkData(count: cubes.totalCount)
        let trainer = session.trainer!
        let training = try TrainingData(inputs: cubes, transforms: .official)
        var run = try session.runState(data: cubes, framework: trainer.framework, learningRate: trainer.optimizer.learningRate)
        run.transforms = "genesis"
        return try session.train(trainer, data: training, validation: nil, run: run, checkpoint: { trainer, run in
            try TrainingCheckpoint.write(trainer, run: run, to: out, inputShape: [1] + run.dataSpatial, modulePrefix: session.modulePrefix,
                                         kerasLayerNames: session.kerasLayerNames)
        })
    }

    func testTwoStepsEqualOneStepAndAResume() throws {
        let dir = Fixtures.scratchDirectory()
        var rng = SeededGenerator(seed: 11)
        let cubes = Tensor(shape: [4, 1, 16, 16, 16], floats: (0..<(4 * 4096)).map { _ in rng.nextUnitFloat() })
        try NPY.write(cubes, to: dir + "/cubes.npy")
        let initial = Fixtures.path("torch/genesis_tiny.pt")

        let straight = try XCTUnwrap(try pretrain(initial: initial, resume: nil, out: dir + "/straight.pt", data: dir + "/cubes.npy", steps: 2))
        XCTAssertEqual(straight.losses.count, 2)
        XCTAssertTrue(straight.losses.allSatisfy(\.isFinite))
        let first = try XCTUnwrap(try pretrain(initial: initial, resume: nil, out: dir + "/cut.pt", data: dir + "/cubes.npy", steps: 1))
        XCTAssertEqual(first.losses, [straight.losses[0]])
        let second = try XCTUnwrap(try pretrain(initial: nil, resume: dir + "/cut.pt", out: dir + "/cut.pt", data: dir + "/cubes.npy", steps: 2))
        XCTAssertEqual(second.losses, [straight.losses[1]])

        let a = try ModelLoader.load(dir + "/straight.pt"), b = try ModelLoader.load(dir + "/cut.pt")
        XCTAssertTrue(a.verify().valid)
        XCTAssertEqual(a.mapped.store.names, b.mapped.store.names)
        for name in a.mapped.store.names {
            XCTAssertEqual(a.mapped.store[name]?.bytes, b.mapped.store[name]?.bytes, name)
        }
    }
}
