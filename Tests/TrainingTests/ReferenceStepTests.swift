import GenesisIO
import GenesisModel
import Runtime3D
import Tensors
import TestSupport
import Training
import XCTest

/// One training step from each fixture model, against the step the real framework took from
/// the same file (fixtures/README.md): tf_keras 2.21 `train_on_batch` for keras/genesis_tiny.h5,
/// PyTorch 2.15 forward + MSELoss + backward + SGD for torch/genesis_tiny*.pt, each with the
/// file's own SGD state (lr 0.1, momentum 0.9). Tolerances (schemas/numerics.md): the loss to
/// 1e-5 relative; every tensor after the step within 1e-5 + 1e-3 |after - before|, BN moving
/// statistics included (measured: 1.2% of that bound at most).
final class ReferenceStepTests: XCTestCase {
    func checkStep(model: String, reference: String, keras: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let loaded = try ModelLoader.load(Fixtures.path(model))
        let arch = try loaded.architecture()
        let state = try XCTUnwrap(loaded.optimizer, "\(model) carries SGD state")
        let optimizer = try XCTUnwrap(Optimizer(state: state))
        XCTAssertEqual(optimizer.kind, .sgd)
        XCTAssertEqual(optimizer.learningRate, 0.1, accuracy: 1e-7)
        XCTAssertEqual(optimizer.momentum, 0.9, accuracy: 1e-7)
        let ref = try TrainingReference(Fixtures.path(reference), keras: keras)
        // The file's weights are the reference's starting point, bit for bit.
        for (name, t) in ref.before.entries where t.dtype == .float32 {
            XCTAssertEqual(loaded.mapped.store[name]?.floats(), t.floats(), "\(model): before/\(name)", file: file, line: line)
        }
        var trainer = Trainer(architecture: arch, framework: Framework(arch.variant), loss: .mse,
                              weights: loaded.mapped.store, optimizer: optimizer)
        let r = try trainer.step(input: try FeatureMap(ref.input), target: try FeatureMap(ref.target))
        XCTAssertEqual(r.loss, ref.loss, accuracy: 1e-5 * ref.loss, "\(model): loss", file: file, line: line)
        let use = ref.toleranceUse(trainer.weights)
        XCTAssertEqual(use.missing, [], file: file, line: line)
        XCTAssertGreaterThanOrEqual(use.compared, arch.tensors.filter { $0.dtype == .float32 }.count, "\(model): every tensor compared", file: file, line: line)
        XCTAssertLessThanOrEqual(use.worst, 1, "\(model): worst |ours - after| / (1e-5 + 1e-3 |after - before|)", file: file, line: line)
    }

    func testKerasStepMatchesTFKerasTrainOnBatch() throws {
        try checkStep(model: "keras/genesis_tiny.h5", reference: "keras/genesis_tiny.reference.h5", keras: true)
    }

    func testTorchStepMatchesPyTorch() throws {
        try checkStep(model: "torch/genesis_tiny.pt", reference: "torch/genesis_tiny.reference.h5", keras: false)
        try checkStep(model: "torch/genesis_tiny_legacy.pt", reference: "torch/genesis_tiny_legacy.reference.h5", keras: false)
    }
}
