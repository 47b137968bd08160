import Foundation
import Tensors
import TestSupport
import XCTest
@testable import KerasFormat

/// Real Keras files from public repositories, read and compared with what h5py (an independent
/// reader) saw in them: ../shared/fixtures/wild/EXPECTED.json. Tensors must be bit-identical
/// (SHA-256 of the little-endian bytes).
final class WildFilesTests: XCTestCase {
    struct Expected: Decodable {
        struct Weight: Decodable { let name: String; let shape: [Int]; let dtype: String; let sha256: String }
        struct Layer: Decodable { let name: String; let weights: [Weight] }
        let keras_version: String?
        let backend: String?
        let layers: [Layer]
        let optimizer_weights: [Weight]?
    }

    func testEveryWildFileMatchesH5py() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("wild/EXPECTED.json")))
        let expected = try JSONDecoder().decode([String: Expected].self, from: data)
        XCTAssertEqual(expected.count, 4)
        for (file, exp) in expected.sorted(by: { $0.key < $1.key }) {
            let m = try KerasReader.read(Fixtures.path("wild/" + file))
            XCTAssertEqual(m.kerasVersion, exp.keras_version, file)
            XCTAssertEqual(m.backend, exp.backend, file)
            XCTAssertEqual(m.layers.map(\.name), exp.layers.map(\.name), "\(file): layer order")
            for (layer, el) in zip(m.layers, exp.layers) {
                XCTAssertEqual(layer.weights.map(\.name), el.weights.map(\.name), "\(file): \(layer.name)")
                for (w, ew) in zip(layer.weights, el.weights) {
                    check(w, ew, "\(file): \(w.name)")
                }
            }
            let opt = exp.optimizer_weights ?? []
            XCTAssertEqual(m.optimizerWeights.map(\.name), opt.map(\.name), "\(file): optimizer order")
            for (w, ew) in zip(m.optimizerWeights, opt) { check(w, ew, "\(file): optimizer \(w.name)") }
        }
    }

    private func check(_ w: KerasWeight, _ e: Expected.Weight, _ what: String) {
        // EXPECTED.json lists 0-d datasets (`iterations`, SCALAR in h5dump) with shape [1].
        let shape = w.tensor.shape.isEmpty ? [1] : w.tensor.shape
        XCTAssertEqual(shape, e.shape, what)
        XCTAssertEqual(w.tensor.dtype.numpyDescriptor, e.dtype, what)
        XCTAssertEqual(w.tensor.sha256, e.sha256, what)
    }

    func testSequentialConfigOfOldKerasIsParsed() throws {
        let m = try KerasReader.read(Fixtures.path("wild/keras224_carnd_model_adam.h5"))
        XCTAssertEqual(m.layout, .fullSave)
        XCTAssertEqual(m.config?.modelClass, "Sequential")
        XCTAssertFalse(m.config?.layers.isEmpty ?? true)
        XCTAssertEqual(m.optimizer?.className, "Adam")
        // Keras 2.2.4 stores `iterations` as an int64 (h5py: dtype <i8, EXPECTED.json).
        XCTAssertEqual(m.optimizerWeights.first?.tensor.dtype, .int64)
    }
}
