import Foundation
import HDF5Sandbox
import KerasFormat
import Tensors
import TestSupport
import XCTest

/// Every Keras fixture reads through the sandbox exactly as in this process: the same layers,
/// classes, configs, attributes and the same bytes in every tensor (SHA-256 of each), or, for
/// files the reader refuses, the same message.
final class SandboxFixtureTests: XCTestCase {
    static let fixtures = [
        "keras/genesis_tiny.h5", "keras/genesis_tiny_weights.h5", "keras/genesis_chest_ct_shape.h5", "keras/genesis_tiny.reference.h5",
        "keras3/genesis_tiny.keras", "keras3/genesis_tiny.weights.h5",
        "formats/chunked.h5", "formats/k3_adam.weights.h5", "formats/k3_sgd.keras", "formats/k3_sgd.weights.h5", "formats/k3_sgd_legacy.h5",
        "formats/tfk_adam_model.h5", "formats/tfk_legacy_adam_model.h5", "formats/tfk_legacy_sgd_model.h5", "formats/tfk_sgd.weights_only.h5",
        "formats/tfk_sgd_model.h5", "formats/tfk_v3.weights.h5",
        "wild/keras216_voxelmorph_miccai2018_adam.h5", "wild/keras224_carnd_model_adam.h5",
        "wild/keras224_voxelmorph_cvpr2018_vm2_cc.h5", "wild/tfkeras224_kotlindl_toyresnet_weights.h5",
    ]

    func testEveryKerasFixtureReadsIdenticallyThroughTheSandbox() throws {
        var tensorsCompared = 0, refusalsCompared = 0
        for fixture in Self.fixtures {
            let path = Fixtures.path(fixture)
            let archive = path.hasSuffix(".keras")
            let direct = Result { try KerasReader.read(path, asArchive: archive) }
            let boxed = Result { try SandboxedKerasReader.read(path, archive: archive, helper: .executable(Fixtures.genesisBinary), testHook: nil) }
            switch (direct, boxed) {
            case let (.success(a), .success(b)):
                XCTAssertEqual(Self.describe(a), Self.describe(b), fixture)
                XCTAssertEqual(b.path, path)
                tensorsCompared += Self.allTensors(a).count
            case let (.failure(a), .failure(b)):
                XCTAssertEqual("\(a)", "\(b)", fixture)
                refusalsCompared += 1
            case let (a, b):
                XCTFail("\(fixture): in process \(a), sandboxed \(b)")
            }
        }
        // Counted from the fixtures: all but the reference outputs and chunked.h5 are Keras files.
        XCTAssertGreaterThan(tensorsCompared, 500)
        XCTAssertEqual(refusalsCompared, 2, "genesis_tiny.reference.h5 and chunked.h5 are not Keras files")
    }

    static func allTensors(_ m: KerasModelFile) -> [Tensor] {
        (m.layers + m.extraLayers).flatMap { $0.weights.map(\.tensor) } + m.optimizerWeights.map(\.tensor)
    }

    /// Everything the bridge uses from a read, one line per item, tensors by dtype, shape and SHA-256.
    static func describe(_ m: KerasModelFile) -> [String] {
        func weights(_ ws: [KerasWeight]) -> [String] {
            ws.map { "  \($0.name) \($0.tensor.dtype) \($0.tensor.shape) \(Checksum.sha256Hex($0.tensor.bytes))" }
        }
        var out = ["layout \(m.layout.rawValue)", "keras \(m.kerasVersion ?? "-")", "backend \(m.backend ?? "-")", "writer \(m.writer ?? "-")"]
        for l in m.layers { out.append("layer \(l.name) \(l.className ?? "-")"); out += weights(l.weights) }
        for l in m.extraLayers { out.append("extra \(l.name) \(l.className ?? "-")"); out += weights(l.weights) }
        out.append("optimizer weights"); out += weights(m.optimizerWeights)
        if let c = m.config {
            out.append("config \(c.modelClass) \(c.name ?? "-") \(c.inputShape.map { "\($0)" } ?? "-")")
            out += c.layers.map { "  \($0.className) \($0.name)" }
        }
        if let o = m.optimizer { out.append("optimizer \(o.className) \(o.hyperparameters.sorted { $0.key < $1.key })") }
        out += m.annotations.sorted { $0.key < $1.key }.map { "annotation \($0.key)=\($0.value)" }
        return out
    }
}
