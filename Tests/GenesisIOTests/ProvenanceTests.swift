import GenesisIO
import GenesisModel
import KerasFormat
import Tensors
import TestSupport
import TorchFormat
import XCTest

/// What files we write say of themselves: versions kept from the source, the writer named,
/// nothing invented (no epoch 0 nobody recorded). Fixture facts from fixtures/README.md.
final class ProvenanceTests: XCTestCase {
    func convert(_ input: String, _ output: String, _ options: WriteOptions = WriteOptions()) throws -> Converter.Result {
        try Converter.convert(try ModelLoader.load(input), to: output, format: FormatKind.fromExtension(output)!, options: options, allowLossy: true)
    }

    /// genesis_tiny_weights.h5 rewritten as the official file's generation recorded it (Keras 2.2.4).
    func keras224Source(_ dir: String) throws -> String {
        let layers = try KerasReader.read(Fixtures.path("keras/genesis_tiny_weights.h5")).layers
        let p = dir + "/k224.h5"
        try KerasWriter.writeWeights(layers, to: p, header: KerasWriter.Header(kerasVersion: "2.2.4", backend: "tensorflow"))
        return p
    }

    func testDefaultConversionIsAFullSaveKeepingVersionsAndOptimizerState() throws {
        let dir = Fixtures.scratchDirectory()
        let src = Fixtures.path("keras/genesis_tiny.h5")
        _ = try convert(src, dir + "/out.h5")
        let a = try KerasReader.read(src), b = try KerasReader.read(dir + "/out.h5")
        XCTAssertEqual(b.layout, .fullSave)
        XCTAssertNotNil(b.config)
        XCTAssertEqual(b.config?.inputShape, [1, 16, 16, 8])
        XCTAssertEqual(b.kerasVersion, "2.21.0")  // the source's (tf_keras 2.21 wrote the fixture)
        XCTAssertEqual(b.backend, "tensorflow")
        XCTAssertEqual(b.writer, "genesis 0.1.0")
        // Same entries, names and order as tf_keras 2.21 wrote them (iteration, then SGD/m/<layer>/<var>).
        XCTAssertEqual(b.optimizerWeights.map(\.name), a.optimizerWeights.map(\.name))
        XCTAssertEqual(b.optimizerWeights.count, 59)
        for (wa, wb) in zip(a.optimizerWeights, b.optimizerWeights) { XCTAssertEqual(wa.tensor, wb.tensor, wa.name) }
        XCTAssertEqual(b.optimizer?.className, "SGD")
        XCTAssertEqual(b.optimizer?.hyperparameters["momentum"], 0.9)
    }

    func testWeightsOnlyLayoutOnRequest() throws {
        let dir = Fixtures.scratchDirectory()
        let r = try convert(Fixtures.path("keras/genesis_tiny.h5"), dir + "/w.h5", WriteOptions(kerasFullModel: false))
        let b = try KerasReader.read(dir + "/w.h5")
        XCTAssertEqual(b.layout, .weightsOnly)
        XCTAssertNil(b.config)
        XCTAssertEqual(b.optimizerWeights.count, 0)
        XCTAssertTrue(r.notes.contains { $0.contains("holds weights only (--weights-only)") }, "\(r.notes)")
    }

    func testSourceKerasVersionSurvivesH5AndNativeRoundTrips() throws {
        let dir = Fixtures.scratchDirectory()
        let src = try keras224Source(dir)
        _ = try convert(src, dir + "/direct.h5")
        XCTAssertEqual(try KerasReader.read(dir + "/direct.h5").kerasVersion, "2.2.4")
        _ = try convert(src, dir + "/a.genesis")
        let native = try ModelLoader.load(dir + "/a.genesis")
        XCTAssertEqual(native.recorded?.sourceFormat, "keras-h5")
        XCTAssertEqual(native.recorded?.sourceFormatVersion, "2.2.4")
        _ = try convert(dir + "/a.genesis", dir + "/back.h5")
        XCTAssertEqual(try KerasReader.read(dir + "/back.h5").kerasVersion, "2.2.4")
    }

    func testWithoutAKerasSourceTheLayoutsVersionIsWritten() throws {
        let dir = Fixtures.scratchDirectory()
        _ = try convert(Fixtures.path("torch/genesis_tiny.pt"), dir + "/from_pt.h5")
        let k = try KerasReader.read(dir + "/from_pt.h5")
        XCTAssertEqual(k.kerasVersion, KerasWriter.Header.defaultKerasVersion)
        XCTAssertEqual(k.kerasVersion, "2.21.0")
        XCTAssertEqual(k.writer, "genesis 0.1.0")
        // The torch SGD state becomes Keras state (m = -lr * buf): present, 1 + 58 entries.
        XCTAssertEqual(k.optimizerWeights.count, 59)
    }

    func testTorchEpochOnlyWhenTheSourceHadOne() throws {
        let dir = Fixtures.scratchDirectory()
        _ = try convert(Fixtures.path("keras/genesis_tiny.h5"), dir + "/from_keras.pt")
        let a = try TorchReader.read(dir + "/from_keras.pt")
        XCTAssertNil(a.epoch)  // Keras files record no epoch: none is invented
        XCTAssertEqual(a.stateDictKey, "state_dict")
        // The writer, and where the weights came from (run's BatchNorm note reads it).
        XCTAssertEqual(a.extras, [TorchNamedValue("genesis_writer", .string("genesis 0.1.0")), TorchNamedValue("genesis_source_format", .string("keras-h5"))])
        XCTAssertNotNil(a.optimizer)
        XCTAssertEqual(try ModelLoader.load(dir + "/from_keras.pt").writer, "genesis 0.1.0")

        _ = try convert(Fixtures.path("torch/genesis_tiny.pt"), dir + "/from_torch.pt")
        XCTAssertEqual(try TorchReader.read(dir + "/from_torch.pt").epoch, 3)  // fixtures/README: epoch 3
    }

    func testSafetensorsAndNativeNameTheWriter() throws {
        let dir = Fixtures.scratchDirectory()
        let src = Fixtures.path("keras/genesis_tiny.h5")
        _ = try convert(src, dir + "/a.safetensors")
        let st = try ModelLoader.load(dir + "/a.safetensors")
        XCTAssertEqual(st.versions["genesis_writer"], "genesis 0.1.0")  // the safetensors __metadata__ entry
        XCTAssertEqual(st.writer, "genesis 0.1.0")
        _ = try convert(src, dir + "/a.genesis")
        let m = try ModelLoader.load(dir + "/a.genesis")
        let r = try XCTUnwrap(m.recorded)
        XCTAssertEqual(m.writer, "genesis 0.1.0")
        XCTAssertEqual(r.createdBy, "genesis 0.1.0")
        XCTAssertEqual(r.sourceFile, "genesis_tiny.h5")
        XCTAssertEqual(r.sourceSHA256, try Checksum.sha256Hex(fileAt: src))
        XCTAssertEqual(r.bnEpsilon, 0.001)  // Keras's, as the shortest decimal
        XCTAssertEqual(r.bnMomentum, 0.99)
        XCTAssertNil(r.epoch)
        XCTAssertEqual(r.step, 2)  // two training steps (fixtures/README)
    }

    func testTheSourceOfAnInitIsNotInvented() throws {
        let dir = Fixtures.scratchDirectory()
        let arch = Architecture(variant: .keras, baseFilters: 2)
        let p = ModelPayload(architecture: arch, weights: Initialization.heNormal(arch, seed: 1), inputShape: [1, 16, 16, 8])
        try ModelWriter.write(p, to: dir + "/i.h5", format: .kerasH5)
        try ModelWriter.write(p, to: dir + "/i.pt", format: .torch)
        let k = try KerasReader.read(dir + "/i.h5")
        XCTAssertEqual(k.layout, .fullSave)  // the default
        XCTAssertEqual(k.kerasVersion, "2.21.0")
        XCTAssertEqual(k.optimizerWeights.count, 0)
        XCTAssertNil(try TorchReader.read(dir + "/i.pt").epoch)
    }

    /// tf_keras 2.21 restores optimizer entries by position into [iteration, m0, v0, m1, v1, ...]
    /// (fixtures/formats/tfk_adam_model.h5 lists them so): our Adam entries follow that order and
    /// read back as the state written.
    func testAdamEntriesInterleaveAsTfKerasWritesThem() throws {
        let dir = Fixtures.scratchDirectory()
        let arch = Architecture(variant: .keras, baseFilters: 2)
        let weights = Initialization.heNormal(arch, seed: 3)
        var slots: [String: [String: Tensor]] = [:]
        for (i, spec) in arch.tensors.filter({ $0.role.isTrainable }).enumerated() {
            let n = spec.shape.reduce(1, *)
            slots[spec.name] = ["m": Tensor(shape: spec.shape, floats: (0..<n).map { Float($0 + i) * 0.5 }),
                                "v": Tensor(shape: spec.shape, floats: (0..<n).map { Float($0 + i) * 0.25 })]
        }
        let state = OptimizerState(kind: .adam, convention: .keras, step: 7, hyperparameters: ["learning_rate": 0.001], slots: slots)
        try ModelWriter.write(ModelPayload(architecture: arch, weights: weights, optimizer: state), to: dir + "/adam.h5", format: .kerasH5)
        let k = try KerasReader.read(dir + "/adam.h5")
        let reference = try KerasReader.read(Fixtures.path("formats/tfk_adam_model.h5")).optimizerWeights.prefix(5).map(\.name)
        XCTAssertEqual(reference, ["iteration:0", "Adam/m/depth_0_conv/kernel:0", "Adam/v/depth_0_conv/kernel:0",
                                   "Adam/m/depth_0_conv/bias:0", "Adam/v/depth_0_conv/bias:0"])
        XCTAssertEqual(k.optimizerWeights.prefix(5).map(\.name), reference)
        XCTAssertEqual(k.optimizerWeights.count, 1 + 2 * 58)
        XCTAssertEqual(k.optimizerWeights[0].tensor.int64s(), [7])
        let back = try XCTUnwrap(ModelLoader.load(dir + "/adam.h5").optimizer)
        XCTAssertEqual(back.kind, .adam)
        XCTAssertEqual(back.step, 7)
        for (name, s) in slots {
            XCTAssertEqual(back.slots[name]?["m"], s["m"], name)
            XCTAssertEqual(back.slots[name]?["v"], s["v"], name)
        }
    }
}
