import GenesisIO
import GenesisModel
import KerasFormat
import Tensors
import TestSupport
import XCTest

/// Tensors are shown under the file's own names; a tensor the file lacks under the name it
/// would have there; `genesis architecture` under the official Keras 2.2.4 file's names.
final class KerasNamesTests: XCTestCase {
    func testOfficialNamesAreThoseOfTheOfficialShapeFile() throws {
        // keras/genesis_chest_ct_shape.h5 has the released Genesis_Chest_CT.h5's layer names.
        let m = try ModelLoader.load(Fixtures.path("keras/genesis_chest_ct_shape.h5"))
        let arch = Architecture.official(.keras)
        for spec in arch.tensors {
            XCTAssertEqual(KerasNames.official(spec, variant: .keras), m.mapped.sourceNames[spec.name], spec.name)
        }
        XCTAssertEqual(KerasNames.official(arch.spec(named: "out_tr.final_conv.weight")!, variant: .keras), "conv3d_1/kernel:0")
        let torch = Architecture.official(.torch)
        XCTAssertEqual(KerasNames.official(torch.spec(named: "up_tr128.up_conv.weight")!, variant: .torch), "conv3d_transpose_2/kernel:0")
        XCTAssertNil(KerasNames.official(torch.spec(named: "down_tr64.ops.0.bn1.num_batches_tracked")!, variant: .torch))
    }

    func keras2(_ change: (inout [SourceLayer]) -> Void) throws -> MappedTensors {
        let k = try KerasReader.read(Fixtures.path("keras/genesis_tiny_weights.h5"))
        var layers = k.layers.map { l in SourceLayer(name: l.name, className: l.className, weights: l.weights.map { ($0.name, $0.tensor) }) }
        change(&layers)
        return Mapping.fromKeras(layers, naming: .keras2)
    }

    func testMissingTensorsAreNamedAsTheFileWouldNameThem() throws {
        let arch = Architecture(variant: .keras, baseFilters: 4)
        let m = try keras2 { layers in
            layers.removeAll { $0.name == "depth_7_bn" || $0.name == "conv3d_1" }
            // depth_2_conv keeps its bias only.
            let i = layers.firstIndex { $0.name == "depth_2_conv" }!
            layers[i] = SourceLayer(name: "depth_2_conv", className: "Conv3D", weights: [layers[i].weights[1]])
        }
        let missing = Verification.verify(m, against: arch).problems.filter { $0.kind == .missing }
        XCTAssertEqual(missing.map(\.tensor), ["depth_2_conv/kernel:0", "depth_7_bn/gamma:0", "depth_7_bn/beta:0", "depth_7_bn/moving_mean:0",
                                               "depth_7_bn/moving_variance:0", "conv3d_1/kernel:0", "conv3d_1/bias:0"])
        // Only the auto-named final conv says its name is Keras 2.2.4's.
        XCTAssertEqual(missing.filter { $0.message.contains(KerasNames.autoNameNote) }.map(\.tensor), ["conv3d_1/kernel:0", "conv3d_1/bias:0"])
    }

    func testAnAutoNamedLayerKeepsTheFileNameOfItsOtherWeight() throws {
        // A file whose final conv is called conv3d_7 (another Keras version) and lost its kernel.
        let arch = Architecture(variant: .keras, baseFilters: 4)
        let m = try keras2 { layers in
            let i = layers.firstIndex { $0.name == "conv3d_1" }!
            layers[i] = SourceLayer(name: "conv3d_7", className: "Conv3D", weights: [("conv3d_7/bias:0", layers[i].weights[1].tensor)])
        }
        let p = try XCTUnwrap(Verification.verify(m, against: arch).problems.first)
        XCTAssertEqual(p.tensor, "conv3d_7/kernel:0")
        XCTAssertEqual(p.message, "conv3d_7/kernel:0: missing (expected float32 (1,1,1,8,1))")
    }

    func testKeras3NamesFollowTheFileAndItsClassOrder() throws {
        let m0 = try ModelLoader.load(Fixtures.path("keras3/genesis_tiny.weights.h5")).mapped
        let arch = Architecture(variant: .keras, baseFilters: 4)
        var m = m0
        m.store["out_tr.final_conv.weight"] = nil
        m.sourceNames["out_tr.final_conv.weight"] = nil
        // The bias is still there: the kernel is named after the bias's layer, weight 0.
        XCTAssertEqual(m0.sourceNames["out_tr.final_conv.bias"], "conv3d/1")
        XCTAssertEqual(Verification.verify(m, against: arch).problems.map(\.tensor), ["conv3d/0"])
        // A block's BN gone: its layer name, Keras 3 weight indices.
        m.store["down_tr64.ops.1.bn1.running_var"] = nil
        m.sourceNames["down_tr64.ops.1.bn1.running_var"] = nil
        m.store["down_tr64.ops.1.bn1.weight"] = nil
        m.sourceNames["down_tr64.ops.1.bn1.weight"] = nil
        XCTAssertEqual(Verification.verify(m, against: arch).problems.map(\.tensor), ["depth_1_bn/0", "depth_1_bn/3", "conv3d/0"])
        // Layers not named depth_* (a Keras 3 file without `vars@name` has class keys): the
        // final conv, nothing of it left, gets the 15th Conv3D's class key.
        var keys = MappedTensors(naming: .keras3)
        keys.store = m.store
        for (k, v) in m.sourceNames { keys.sourceNames[k] = v.hasPrefix("depth_") ? "layer_" + v.dropFirst(6) : v }
        keys.store["out_tr.final_conv.bias"] = nil
        keys.sourceNames["out_tr.final_conv.bias"] = nil
        XCTAssertEqual(Verification.verify(keys, against: arch).problems.map(\.tensor), ["layer_1_bn/0", "layer_1_bn/3", "conv3d_14/0", "conv3d_14/1"])
    }
}
