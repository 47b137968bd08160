import GenesisIO
import GenesisModel
import KerasFormat
import Tensors
import TestSupport
import XCTest

final class OptimizerMappingTests: XCTestCase {
    func testKerasSGDStateMapsOntoEveryTrainableParameter() throws {
        // genesis_tiny.h5: tf_keras SGD (lr 0.1, momentum 0.9) after two real steps (fixtures/README).
        let m = try ModelLoader.load(Fixtures.path("keras/genesis_tiny.h5"))
        let s = try XCTUnwrap(m.optimizer)
        XCTAssertEqual(s.kind, .sgd)
        XCTAssertEqual(s.convention, .keras)
        XCTAssertEqual(s.step, 2)
        XCTAssertEqual(s.learningRate ?? 0, 0.1, accuracy: 1e-7)
        XCTAssertEqual(s.slots.count, 58)
        let arch = try m.architecture()
        for spec in arch.tensors where spec.role.isTrainable {
            XCTAssertEqual(s.slots[spec.name]?["momentum"]?.shape, spec.shape, spec.name)
        }
        // The slot is the file's tensor, moved into the canonical layout: compare one by value.
        let file = try KerasReader.read(Fixtures.path("keras/genesis_tiny.h5"))
        let raw = try XCTUnwrap(file.optimizerWeights.first { $0.name == "SGD/m/depth_3_conv/kernel:0" }?.tensor)
        XCTAssertEqual(s.slots["down_tr128.ops.1.conv1.weight"]?["momentum"], raw.permuted(NameMaps.kerasToCanonicalAxes))
    }

    func testSGDConventionChangeIsMinusLearningRate() throws {
        // schemas/numerics.md: keras m = -lr * torch buf for a constant lr.
        let t = Tensor(shape: [2], floats: [0.5, -0.25])
        let s = OptimizerState(kind: .sgd, convention: .torch, hyperparameters: ["lr": 0.1], slots: ["p": ["momentum": t]])
        let k = try XCTUnwrap(s.converted(to: .keras)).state
        XCTAssertEqual(k.slots["p"]?["momentum"]?.floats(), [-0.05, 0.025])
        let back = try XCTUnwrap(k.converted(to: .torch)).state
        XCTAssertEqual(back.slots["p"]!["momentum"]!.floats()[0], 0.5, accuracy: 1e-7)
        XCTAssertNil(OptimizerState(kind: .sgd, convention: .torch, slots: ["p": ["momentum": t]]).converted(to: .keras))
    }
}
