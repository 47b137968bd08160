import GenesisIO
import GenesisModel
import HDF5
import Runtime3D
import Tensors
import TestSupport
import Training
import XCTest

/// One training step from each fixture model, against the step the real framework took from
/// the same file (fixtures/README.md): tf_keras 2.21 `train_on_batch` for keras/genesis_tiny.h5,
/// PyTorch 2.15 forward + MSELoss + backward + SGD for torch/genesis_tiny*.pt, each with the
/// file's own SGD state (lr 0.1, momentum 0.9). Tolerances (DESIGN.md section 2): the loss to
/// 1e-5 relative; every tensor after the step within 1e-5 + 1e-3 |after - before|, BN moving
/// statistics included.
final class ReferenceStepTests: XCTestCase {
    /// `before/` and `after/` of a Keras reference (layer groups, Keras layouts) as canonical tensors.
    func kerasGroup(_ g: H5Group) throws -> TensorStore {
        var layers: [SourceLayer] = []
        for layer in try g.memberNames() {
            let lg = try g.group(layer)
            let weights = try lg.memberNames().map { (layer + "/" + $0, try lg.readTensor($0)) }
            layers.append(SourceLayer(name: layer, className: nil, weights: weights))
        }
        return Mapping.fromKeras(layers, naming: .keras2).store
    }

    func torchGroup(_ g: H5Group) throws -> TensorStore {
        var s = TensorStore()
        for name in try g.memberNames() { s[name] = try g.readTensor(name) }
        return s
    }

    func checkStep(model: String, reference: String, keras: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let loaded = try ModelLoader.load(Fixtures.path(model))
        let arch = try loaded.architecture()
        let state = try XCTUnwrap(loaded.optimizer, "\(model) carries SGD state")
        let optimizer = try XCTUnwrap(Optimizer(state: state))
        XCTAssertEqual(optimizer.kind, .sgd)
        XCTAssertEqual(optimizer.learningRate, 0.1, accuracy: 1e-7)
        XCTAssertEqual(optimizer.momentum, 0.9, accuracy: 1e-7)
        let ref = try H5File.open(Fixtures.path(reference)).root()
        let before = keras ? try kerasGroup(ref.group("before")) : try torchGroup(ref.group("before"))
        let after = keras ? try kerasGroup(ref.group("after")) : try torchGroup(ref.group("after"))
        // The file's weights are the reference's starting point, bit for bit.
        for (name, t) in before.entries where t.dtype == .float32 {
            XCTAssertEqual(loaded.mapped.store[name]?.floats(), t.floats(), "\(model): before/\(name)", file: file, line: line)
        }
        var trainer = Trainer(architecture: arch, framework: Framework(arch.variant), loss: .mse,
                              weights: loaded.mapped.store, optimizer: optimizer)
        let x = try FeatureMap(try ref.readFloat32("input")), y = try FeatureMap(try ref.readFloat32("target"))
        let r = try trainer.step(input: x, target: y)
        let expectedLoss = Double(try ref.readFloat32("train_step_loss").floats()[0])
        XCTAssertEqual(r.loss, expectedLoss, accuracy: 1e-5 * expectedLoss, "\(model): loss", file: file, line: line)
        var checked = 0, worstRatio = 0.0
        for (name, t) in after.entries where t.dtype == .float32 {
            guard let ours = trainer.weights[name]?.floats(), let b = before[name]?.floats() else {
                XCTFail("\(model): \(name) missing", file: file, line: line); continue
            }
            let a = t.floats()
            var worstHere = 0.0
            for i in a.indices {
                let bound = 1e-5 + 1e-3 * Double(abs(a[i] - b[i]))
                worstHere = max(worstHere, Double(abs(ours[i] - a[i])) / bound)
            }
            if worstHere > 1 {
                let i = a.indices.max { abs(ours[$0] - a[$0]) / (1e-5 + 1e-3 * abs(a[$0] - b[$0])) < abs(ours[$1] - a[$1]) / (1e-5 + 1e-3 * abs(a[$1] - b[$1])) }!
                print("\(model): \(name) uses \(worstHere) of its tolerance at \(i): before \(b[i]) after \(a[i]) ours \(ours[i])")
            }
            worstRatio = max(worstRatio, worstHere)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, arch.tensors.filter { $0.dtype == .float32 }.count, "\(model): every tensor compared", file: file, line: line)
        XCTAssertLessThanOrEqual(worstRatio, 1, "\(model): worst |ours - after| / (1e-5 + 1e-3 |after - before|) = \(worstRatio)", file: file, line: line)
        print("\(model): loss \(r.loss) vs \(expectedLoss); worst tolerance use \(worstRatio)")
    }

    func testKerasStepMatchesTFKerasTrainOnBatch() throws {
        try checkStep(model: "keras/genesis_tiny.h5", reference: "keras/genesis_tiny.reference.h5", keras: true)
    }

    func testTorchStepMatchesPyTorch() throws {
        try checkStep(model: "torch/genesis_tiny.pt", reference: "torch/genesis_tiny.reference.h5", keras: false)
        try checkStep(model: "torch/genesis_tiny_legacy.pt", reference: "torch/genesis_tiny_legacy.reference.h5", keras: false)
    }
}
