import Tensors
import TestSupport
import XCTest
@testable import KerasFormat

/// The legacy-layout `.h5` files of ../shared/fixtures/formats (tf_keras 2.21 and Keras 3.15
/// wrote them): optimizer state in the saved order, weights-only layout, chunked attributes.
/// Expected names were read off the files with h5py 3.14 (the first entries, in order).
final class LegacyLayoutTests: XCTestCase {
    func read(_ name: String) throws -> KerasModelFile { try KerasReader.read(Fixtures.path("formats/" + name)) }

    /// Trainable weights in layer order (conv kernel/bias, BN gamma/beta; not moving statistics).
    func trainable(_ m: KerasModelFile) -> [KerasWeight] {
        m.layers.flatMap { $0.weights }.filter { w in
            !w.name.contains("moving_mean") && !w.name.contains("moving_variance")
        }
    }

    func testTFKerasNewSGD() throws {
        let m = try read("tfk_sgd_model.h5")
        XCTAssertEqual(m.layout, .fullSave)
        XCTAssertEqual(Array(m.optimizerWeights.map(\.name).prefix(4)),
                       ["iteration:0", "SGD/m/depth_0_conv/kernel:0", "SGD/m/depth_0_conv/bias:0", "SGD/m/depth_0_bn/gamma:0"])
        XCTAssertEqual(m.optimizerWeights.count, 21)
        XCTAssertEqual(m.optimizerWeights[0].tensor.dtype, .int64)
        XCTAssertEqual(m.optimizerWeights[0].tensor.shape, [])
        // One momentum slot per trainable weight, in the same order and shape.
        XCTAssertEqual(m.optimizerWeights.dropFirst().map(\.tensor.shape), trainable(m).map(\.tensor.shape))
    }

    func testTFKerasNewAdamInterleavesMAndV() throws {
        let m = try read("tfk_adam_model.h5")
        XCTAssertEqual(m.optimizerWeights.count, 41)
        XCTAssertEqual(Array(m.optimizerWeights.map(\.name).prefix(4)),
                       ["iteration:0", "Adam/m/depth_0_conv/kernel:0", "Adam/v/depth_0_conv/kernel:0", "Adam/m/depth_0_conv/bias:0"])
        let slots = Array(m.optimizerWeights.dropFirst())
        let shapesOfM = stride(from: 0, to: slots.count, by: 2).map { slots[$0].tensor.shape }
        XCTAssertEqual(shapesOfM, trainable(m).map(\.tensor.shape))
    }

    func testTFKerasLegacyOptimizers() throws {
        let sgd = try read("tfk_legacy_sgd_model.h5")
        XCTAssertEqual(Array(sgd.optimizerWeights.map(\.name).prefix(3)),
                       ["SGD/iter:0", "SGD/depth_0_conv/kernel/momentum:0", "SGD/depth_0_conv/bias/momentum:0"])
        XCTAssertEqual(sgd.optimizerWeights.dropFirst().map(\.tensor.shape), trainable(sgd).map(\.tensor.shape))
        let adam = try read("tfk_legacy_adam_model.h5")
        XCTAssertEqual(adam.optimizerWeights.count, 41)
        XCTAssertEqual(Array(adam.optimizerWeights.map(\.name).prefix(2)), ["Adam/iter:0", "Adam/depth_0_conv/kernel/m:0"])
        // All m slots, then all v slots.
        let n = trainable(adam).count
        XCTAssertEqual(adam.optimizerWeights[1...n].map(\.tensor.shape), trainable(adam).map(\.tensor.shape))
        XCTAssertEqual(adam.optimizerWeights[(n + 1)...].map(\.tensor.shape), trainable(adam).map(\.tensor.shape))
    }

    func testKeras3LegacySaveHasNamesWithoutColonZero() throws {
        let m = try read("k3_sgd_legacy.h5")
        XCTAssertEqual(m.layers.first?.name, "input_layer")
        XCTAssertEqual(Array(m.optimizerWeights.map(\.name).prefix(3)),
                       ["sgd/iteration", "sgd/learning_rate", "sgd/depth_0_conv_kernel_momentum"])
        XCTAssertEqual(m.optimizerWeights[1].tensor.dtype, .float32)
        XCTAssertEqual(m.optimizerWeights.dropFirst(2).map(\.tensor.shape), trainable(m).map(\.tensor.shape))
        let conv = try XCTUnwrap(m.layers.first { $0.name == "depth_0_conv" })
        XCTAssertEqual(conv.weights.map(\.name), ["depth_0_conv/kernel", "depth_0_conv/bias"])
    }

    func testWeightsOnlyLayout() throws {
        let m = try read("tfk_sgd.weights_only.h5")
        XCTAssertEqual(m.layout, .weightsOnly)
        XCTAssertNil(m.config)
        XCTAssertTrue(m.optimizerWeights.isEmpty)
        XCTAssertEqual(m.layers.map(\.name).prefix(3), ["input_1", "depth_0_conv", "depth_0_bn"])
        XCTAssertEqual(m.layers.last?.name, "activation")
        XCTAssertEqual(m.layers.first { $0.name == "depth_0_bn" }?.weights.count, 4)
    }

    func testChunkedLayerNamesReadBackWhole() throws {
        let file = try H5Access.root(Fixtures.path("formats/chunked.h5"))
        let names = try file.stringListAttribute("layer_names")
        XCTAssertEqual(names.count, 700)
        // h5py: layer_names0 has 234 entries, then 233 and 233; names are layer_%05d_ + padding.
        XCTAssertEqual(names.enumerated().filter { !$0.element.hasPrefix(String(format: "layer_%05d_", $0.offset)) }.count, 0)
        XCTAssertEqual(names[0].count, 212)  // fills its fixed-length slot: no NUL terminator
        XCTAssertEqual(try file.stringListAttribute("empty"), [])
    }
}
