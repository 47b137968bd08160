import GenesisModel
import HDF5
import Runtime3D
import Tensors
import TestSupport
import XCTest

/// The network against the TensorFlow (tf_keras 2.21) outputs stored beside every Keras
/// fixture: `output_inference` (BN moving statistics) and `output_batchstats` (batch
/// statistics). Tolerance: max |ours - reference| <= 1e-4 on the sigmoid outputs (DESIGN.md §2).
final class ReferenceOutputTests: XCTestCase {
    static let tolerance: Float = 1e-4

    private func check(model: String, reference: String) throws {
        let (arch, store) = try kerasFixture(model)
        let net = try GenesisNetwork(architecture: arch, weights: store, bnEpsilon: 1e-3)
        let ref = try H5File.open(Fixtures.path(reference)).root()
        let input = try ref.readFloat32("input")
        for (dataset, mode) in [("output_inference", BatchNormMode.inference), ("output_batchstats", .batch)] {
            let expected = try ref.readFloat32(dataset)
            let ours = try net.forward(input, bn: mode, threads: 2)
            XCTAssertEqual(ours.shape, expected.shape, "\(reference) \(dataset)")
            let err = maxAbsDifference(ours.floats(), expected.floats())
            XCTAssertLessThanOrEqual(err, Self.tolerance, "\(reference) \(dataset): max abs error \(err)")
            print("reference \(reference) \(dataset): max abs error \(err) (tolerance \(Self.tolerance))")
        }
    }

    func testTinyFullSave() throws {
        try check(model: "keras/genesis_tiny.h5", reference: "keras/genesis_tiny.reference.h5")
    }

    func testTinySaveWeights() throws {
        try check(model: "keras/genesis_tiny_weights.h5", reference: "keras/genesis_tiny_weights.reference.h5")
    }

    /// The official architecture (base 32) on two 64x64x32 cubes, both modes: about 4 s with
    /// `-c release`, 30 s in a debug build (measured on this 2-core machine).
    func testFullSizeChestCTShape() throws {
        try check(model: "keras/genesis_chest_ct_shape.h5", reference: "keras/genesis_chest_ct_shape.reference.h5")
    }

    /// Every `*.reference.h5` in keras/ is covered by one of the tests above.
    func testEveryKerasReferenceIsCovered() throws {
        let dir = Fixtures.path("keras")
        let refs = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".reference.h5") }.sorted()
        XCTAssertEqual(refs, ["genesis_chest_ct_shape.reference.h5", "genesis_tiny.reference.h5", "genesis_tiny_weights.reference.h5"])
    }
}
