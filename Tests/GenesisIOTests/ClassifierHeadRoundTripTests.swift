import GenesisIO
import GenesisModel
import HDF5
import KerasFormat
import Tensors
import TestSupport
import TorchFormat
import XCTest

/// A fine-tuned classifier's head (`head.fc1.*`, `head.fc2.*`) and the head's optimizer state
/// written and read back in `.pt`, `.genesis` and `.h5`: every head tensor and every optimizer
/// slot (network's and head's) bit for bit, and each format's own layout of them.
final class ClassifierHeadRoundTripTests: XCTestCase {
    /// The fixture's payload plus a seeded head for `classes` classes and a seeded optimizer
    /// slot for each head tensor in the state's convention.
    func payload(_ fixture: String, classes: Int) throws -> ModelPayload {
        var p = try ModelLoader.load(Fixtures.path(fixture)).payload()
        var g = SeededGenerator(seed: 41)
        func seeded(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in Float(Int(g.next() % 20_001) - 10_000) / 7_919 })
        }
        let shapes = ClassifierHead.shapes(baseFilters: p.architecture.baseFilters, classes: classes)
        for name in ClassifierHead.names {
            p.weights[name] = seeded(shapes[name]!)
            p.optimizer!.slots[name] = ["momentum": seeded(shapes[name]!)]
        }
        return p
    }

    func assertHeadAndStateSurvive(_ p: ModelPayload, _ back: LoadedModel, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(back.head.names, ClassifierHead.names, file: file, line: line)
        for name in ClassifierHead.names {
            XCTAssertEqual(back.head[name]?.bytes, p.weights[name]?.bytes, name, file: file, line: line)
        }
        let o = try XCTUnwrap(back.optimizer, file: file, line: line)
        XCTAssertEqual(o.step, p.optimizer!.step, file: file, line: line)
        XCTAssertEqual(Set(o.slots.keys), Set(p.optimizer!.slots.keys), file: file, line: line)
        for (name, slots) in p.optimizer!.slots {
            XCTAssertEqual(o.slots[name]?["momentum"]?.bytes, slots["momentum"]?.bytes, name, file: file, line: line)
        }
        for (name, t) in p.weights.entries where !name.hasPrefix("head.") {
            XCTAssertEqual(back.mapped.store[name]?.bytes, t.bytes, name, file: file, line: line)
        }
    }

    /// `.pt`: head tensors in state_dict (with `module.` when asked), their state at param
    /// positions 64..<68 after the network's 64 in `ClassifierHead.names` order.
    func testTorchKeepsTheHeadAndItsOptimizerStateAfterTheNetworks() throws {
        let dir = Fixtures.scratchDirectory()
        let p = try payload("torch/genesis_tiny.pt", classes: 3)
        try ModelWriter.write(p, to: dir + "/c.pt", format: .torch, options: WriteOptions(modulePrefix: true))
        let raw = try TorchReader.read(dir + "/c.pt")
        XCTAssertEqual(raw.stateDict["module.head.fc2.weight"]?.shape, [3, 1024])
        let o = try XCTUnwrap(raw.optimizer)
        XCTAssertEqual(o.parameterCount, 68)
        XCTAssertEqual(o.paramGroups.first?.params, Array(0..<68))
        XCTAssertEqual(o.tensor("momentum_buffer", position: 66)?.bytes, p.optimizer!.slots["head.fc2.weight"]!["momentum"]!.bytes)
        try assertHeadAndStateSurvive(p, try ModelLoader.load(dir + "/c.pt"))
        // Without a head the state covers the network alone (the official 64 parameters).
        var plain = try ModelLoader.load(Fixtures.path("torch/genesis_tiny.pt")).payload(digest: false)
        plain.optimizer!.slots["head.fc1.weight"] = nil
        try ModelWriter.write(plain, to: dir + "/p.pt", format: .torch, options: WriteOptions())
        XCTAssertEqual(try TorchReader.read(dir + "/p.pt").optimizer?.parameterCount, 64)
    }

    /// `.genesis`: head tensors and `optimizer/head.*/momentum_buffer` slots.
    func testNativeKeepsTheHeadAndItsOptimizerState() throws {
        let dir = Fixtures.scratchDirectory()
        for fixture in ["torch/genesis_tiny.pt", "keras/genesis_tiny.h5"] {
            let p = try payload(fixture, classes: 1)
            try ModelWriter.write(p, to: dir + "/c.genesis", format: .native, options: WriteOptions())
            try assertHeadAndStateSurvive(p, try ModelLoader.load(dir + "/c.genesis"))
        }
    }

    /// `.h5`: a Keras full save of the classifier: model_config's layers are the encoder's, then
    /// global_average_pooling3d_1, dense_1 (1024, relu), dense_2 (K, softmax); Dense kernels
    /// (in, out) in model_weights; optimizer_weights in tf_keras order (iteration, the encoder's
    /// 32 slots, then dense_1/dense_2's); the decoder beside it in genesis_extra_layers.
    func testKerasWritesTheClassifierModelWithItsHeadAndOptimizerState() throws {
        let dir = Fixtures.scratchDirectory()
        let p = try payload("keras/genesis_tiny.h5", classes: 3)
        try ModelWriter.write(p, to: dir + "/c.h5", format: .kerasH5, options: WriteOptions())
        let k = try KerasReader.read(dir + "/c.h5")
        let names = try XCTUnwrap(k.config).layers.map(\.name)
        XCTAssertEqual(Array(names.suffix(4)), ["depth_7_relu", "global_average_pooling3d_1", "dense_1", "dense_2"])
        XCTAssertFalse(names.contains("depth_8_conv"))
        XCTAssertEqual(k.config?.className(of: "dense_2"), "Dense")
        let json = try XCTUnwrap(try H5File.open(dir + "/c.h5").root().stringAttribute("model_config"))
        XCTAssertTrue(json.contains(#""units":1024"#) && json.contains(#""activation":"softmax""#) && json.contains(#""output_layers":[["dense_2",0,0]]"#), json)
        let dense1 = try XCTUnwrap(k.layers.first { $0.name == "dense_1" })
        XCTAssertEqual(dense1.weights.map(\.name), ["dense_1/kernel:0", "dense_1/bias:0"])
        XCTAssertEqual(dense1.weights[0].tensor, p.weights["head.fc1.weight"]!.permuted([1, 0]))
        XCTAssertEqual(k.extraLayers.first?.name, "depth_8_conv")
        XCTAssertEqual(k.extraLayers.last?.className, "Conv3D")
        XCTAssertEqual(k.optimizerWeights.count, 1 + 32 + 4)
        XCTAssertEqual(k.optimizerWeights.suffix(4).map(\.name),
                       ["SGD/m/dense_1/kernel:0", "SGD/m/dense_1/bias:0", "SGD/m/dense_2/kernel:0", "SGD/m/dense_2/bias:0"])
        // Read back: the whole network (decoder included) and the head with the encoder's and
        // the head's state; the decoder's state is not in a classifier's Keras file.
        var expected = p
        for name in p.optimizer!.slots.keys where !(name.hasPrefix("head.") || (p.architecture.tensors.first { $0.name == name }?.block ?? 99) < 8) {
            expected.optimizer!.slots[name] = nil
        }
        let back = try ModelLoader.load(dir + "/c.h5")
        XCTAssertEqual(Verification.verify(back.mapped, against: try back.architecture()).problems.filter { $0.kind != .unexpected }, [])
        try assertHeadAndStateSurvive(expected, back)
    }

    /// A Keras classifier without the decoder beside it (as a tf_keras re-save leaves it) is not
    /// a Genesis network: reading it names why, instead of detection's bare verdict.
    func testAKerasClassifierWithoutTheDecoderIsRefusedClearly() throws {
        let dir = Fixtures.scratchDirectory()
        let p = try payload("keras/genesis_tiny.h5", classes: 1)
        try ModelWriter.write(p, to: dir + "/c.h5", format: .kerasH5, options: WriteOptions())
        let k = try KerasReader.read(dir + "/c.h5")
        let config = try XCTUnwrap(try H5File.open(dir + "/c.h5").root().stringAttribute("model_config"))
        try KerasWriter.writeModel(k.layers, optimizerWeights: k.optimizerWeights, modelConfig: config, trainingConfig: nil, to: dir + "/stripped.h5")
        let stripped = try ModelLoader.load(dir + "/stripped.h5")
        XCTAssertNil(stripped.detected)
        XCTAssertThrowsError(try stripped.architecture()) { e in
            XCTAssertTrue("\(e)".contains("without the Genesis decoder") && "\(e)".contains(KerasWriter.Header.extraLayersGroup), "\(e)")
        }
    }
}
