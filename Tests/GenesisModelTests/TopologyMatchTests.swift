import GenesisIO
import GenesisModel
import Tensors
import TestSupport
import XCTest

/// Detection by the whole topology: every Genesis fixture still detected, every other network
/// (the wild files, the small format samples) refused with the first thing that does not fit,
/// and damaged Genesis networks detected with their problems named.
final class TopologyMatchTests: XCTestCase {
    func testEveryGenesisFixtureFitsTheWholeTopology() throws {
        // fixtures/README: keras/, keras3/ and torch/ hold the official network at base 4 or 32.
        for (file, variant, base) in [("keras/genesis_tiny.h5", Variant.keras, 4), ("keras/genesis_tiny_weights.h5", .keras, 4),
                                      ("keras/genesis_chest_ct_shape.h5", .keras, 32), ("keras3/genesis_tiny.weights.h5", .keras, 4),
                                      ("keras3/genesis_tiny.keras", .keras, 4), ("torch/genesis_tiny.pt", .torch, 4),
                                      ("torch/genesis_tiny_legacy.pt", .torch, 4)] {
            let m = try ModelLoader.load(Fixtures.path(file))
            let t = Detection.analyze(m.mapped)
            XCTAssertEqual(t.architecture, Architecture(variant: variant, baseFilters: base), file)
            XCTAssertEqual(m.detected?.architecture, Architecture(variant: variant, baseFilters: base), file)
            XCTAssertEqual(t.fittingBlocks, 14, file)
            // 14 blocks + final conv, + 3 up-convolutions in the torch variant.
            XCTAssertEqual(t.chainingLinks, variant == .torch ? 18 : 15, file)
            XCTAssertTrue(t.finalConv.fits, file)
            let ups = variant == .torch ? "; up-convolutions 3 of 3 (C,C,2,2,2)" : ""
            XCTAssertEqual(t.evidence, "14 of 14 blocks fit base \(base), \(t.steps.count) of \(t.steps.count) channel links chain\(ups); final conv \(2 * base) -> 1", file)
        }
    }

    func testVoxelmorphUNetsAreNotGenesis() throws {
        // wild/EXPECTED.json: conv kernels (3,3,3,in,out) 2->16, 16->32, 32->32, 32->32, 32->32,
        // 64->32, ... At base 16 depth_1 (b -> 2b) and depth_2 (2b -> 2b) fit; depth_0 takes 2
        // channels where the network has 1. Every other base fits at most one block.
        for (file, first) in [("wild/keras216_voxelmorph_miccai2018_adam.h5", "conv3d_1"), ("wild/keras224_voxelmorph_cvpr2018_vm2_cc.h5", "conv3d_245")] {
            let m = try ModelLoader.load(Fixtures.path(file))
            XCTAssertNil(m.detected, file)
            let t = Detection.analyze(m.mapped)
            XCTAssertFalse(t.isGenesis, file)
            XCTAssertEqual(t.baseFilters, 16, file)
            XCTAssertEqual(t.blocks.filter(\.fits).map(\.label), ["depth_1", "depth_2"], file)
            XCTAssertEqual(t.verdict, "2 of 14 blocks fit base 16 (10 needed): depth_1, depth_2; the first that does not: depth_0 (\(first)/kernel:0) "
                           + "is (3,3,3,2,16), the network has (3,3,3,1,16)", file)
            XCTAssertThrowsError(try m.architecture(), file)
        }
    }

    func testNetworksWithoutGenesisTensorsAreNotGenesis() throws {
        // 2D Keras networks (wild), and the torch/safetensors format samples whose modules are
        // `conv1`, `bn1`, `up` (formats/README: small networks, not Genesis).
        for file in ["wild/keras224_carnd_model_adam.h5", "wild/tfkeras224_kotlindl_toyresnet_weights.h5", "formats/sd.pt",
                     "formats/sd_buffer.pt", "formats/sd_legacy.pt", "formats/ckpt_sgd.pt", "formats/ckpt_adam.pt", "formats/t.safetensors"] {
            let m = try ModelLoader.load(Fixtures.path(file))
            XCTAssertNil(m.detected, file)
            let t = Detection.analyze(m.mapped)
            XCTAssertFalse(t.anyTensorMapped, file)
            XCTAssertEqual(t.verdict, "none of its tensors is a convolution or BatchNorm weight of the Genesis 3D U-Net", file)
        }
    }

    func testSmallKerasFormatSamplesAreNotGenesis() throws {
        // formats/: depth_0..depth_2 named like Genesis (1->4, 4->8, 8->8 at base 4), then other
        // layers: 3 blocks fit, depth_3's place holds a (3,3,3,24,4) kernel.
        for file in ["formats/tfk_sgd_model.h5", "formats/tfk_adam_model.h5", "formats/tfk_legacy_sgd_model.h5", "formats/tfk_legacy_adam_model.h5",
                     "formats/tfk_sgd.weights_only.h5", "formats/k3_sgd.weights.h5", "formats/k3_adam.weights.h5", "formats/k3_sgd.keras",
                     "formats/k3_sgd_legacy.h5"] {
            let m = try ModelLoader.load(Fixtures.path(file))
            XCTAssertNil(m.detected, file)
            let t = Detection.analyze(m.mapped)
            XCTAssertEqual(t.baseFilters, 4, file)
            XCTAssertEqual(t.blocks.filter(\.fits).map(\.label), ["depth_0", "depth_1", "depth_2"], file)
            XCTAssertEqual(t.blocks[3].found, [3, 3, 3, 24, 4], file)
        }
        // tfk_v3.weights.h5: one conv (3,3,3,1,2), one BN, one transposed conv; Keras 3 class keys
        // (conv3d, conv3d_1, ...) name what it lacks.
        let t = Detection.analyze(try ModelLoader.load(Fixtures.path("formats/tfk_v3.weights.h5")).mapped)
        XCTAssertEqual(t.verdict, "1 of 14 blocks fit base 2 (10 needed): depth_0; the first that does not: depth_1 (conv3d_1/0) is absent")
    }

    // MARK: damaged Genesis networks, made here

    func mapped(_ arch: Architecture, _ change: (inout TensorStore) -> Void) -> MappedTensors {
        var store = Initialization.heNormal(arch, seed: 3)
        change(&store)
        return Mapping.fromFlat(store)
    }

    func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *))) }

    func testOneKernelReshapedIsGenesisWithOneProblem() throws {
        // depth_3 is 2b -> 4b = 8 -> 16 at b = 4; give it 16 -> 16.
        let arch = Architecture(variant: .keras, baseFilters: 4)
        let m = mapped(arch) { $0["down_tr128.ops.1.conv1.weight"] = zeros([16, 16, 3, 3, 3]) }
        let t = Detection.analyze(m)
        XCTAssertEqual(t.architecture, arch)
        XCTAssertEqual(t.evidence, "13 of 14 blocks fit base 4 (not depth_3), 14 of 15 channel links chain; final conv 8 -> 1")
        XCTAssertEqual(t.blocks[3].inputChannels, 8)
        XCTAssertFalse(t.blocks[3].chains)
        let problems = Verification.verify(m, against: arch).problems
        XCTAssertEqual(problems.map { "\($0.kind.rawValue) \($0.tensor) \($0.expected) \($0.found)" },
                       ["shape down_tr128.ops.1.conv1.weight (16,8,3,3,3) (16,16,3,3,3)"])
    }

    func testOneTensorRemovedIsGenesisWithOneProblem() throws {
        let arch = Architecture(variant: .torch, baseFilters: 2)
        let m = mapped(arch) { $0["up_tr128.ops.0.conv1.weight"] = nil }  // depth_10's kernel
        let t = Detection.analyze(m)
        XCTAssertEqual(t.architecture, arch)
        XCTAssertEqual(t.evidence, "13 of 14 blocks fit base 2 (not depth_10), 17 of 18 channel links chain; up-convolutions 3 of 3 (C,C,2,2,2); final conv 4 -> 1")
        XCTAssertEqual(Verification.verify(m, against: arch).problems.map { "\($0.kind.rawValue) \($0.tensor)" }, ["missing up_tr128.ops.0.conv1.weight"])
    }

    func testOneBlockWidthChangedIsGenesisWithItsShapesNamed() throws {
        // depth_4 made 5b wide (b = 4: 16 -> 20 channels) consistently: its kernel, bias and BN,
        // and depth_5's kernel in-channels. Every channel link still chains; 12 blocks fit.
        let arch = Architecture(variant: .keras, baseFilters: 4)
        let m = mapped(arch) { s in
            s["down_tr256.ops.0.conv1.weight"] = zeros([20, 16, 3, 3, 3])
            for suffix in ["conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"] {
                s["down_tr256.ops.0." + suffix] = Tensor(shape: [20], floats: [Float](repeating: 1, count: 20))
            }
            s["down_tr256.ops.1.conv1.weight"] = zeros([32, 20, 3, 3, 3])
        }
        let t = Detection.analyze(m)
        XCTAssertEqual(t.architecture, arch)
        XCTAssertEqual(t.evidence, "12 of 14 blocks fit base 4 (not depth_4, depth_5), 15 of 15 channel links chain; final conv 8 -> 1")
        let problems = Verification.verify(m, against: arch).problems
        XCTAssertEqual(problems.map(\.kind), [Problem.Kind](repeating: .shape, count: 7))
        XCTAssertEqual(problems.map(\.tensor), ["down_tr256.ops.0.conv1.weight", "down_tr256.ops.0.conv1.bias", "down_tr256.ops.0.bn1.weight",
                                                "down_tr256.ops.0.bn1.bias", "down_tr256.ops.0.bn1.running_mean", "down_tr256.ops.0.bn1.running_var",
                                                "down_tr256.ops.1.conv1.weight"])
    }

    func testNaNValuesDoNotChangeDetection() throws {
        let arch = Architecture(variant: .torch, baseFilters: 2, labels: 3)
        let m = mapped(arch) { $0["down_tr64.ops.0.conv1.weight"] = Tensor(shape: [2, 1, 3, 3, 3], floats: [Float](repeating: .nan, count: 54)) }
        XCTAssertEqual(Detection.detect(m)?.architecture, arch)
        XCTAssertEqual(Verification.verify(m, against: arch).problems.map { "\($0.kind.rawValue) \($0.found)" }, ["non_finite 54 NaN"])
    }

    func testThresholdIsTenOfFourteenBlocks() throws {
        // Kernels removed from blocks 0..k-1: 10 blocks left is Genesis, 9 is not.
        let arch = Architecture(variant: .keras, baseFilters: 2)
        let removing = { (k: Int) in self.mapped(arch) { s in for i in 0..<k { s[Layout.blockModules[i] + ".conv1.weight"] = nil } } }
        XCTAssertEqual(Detection.detect(removing(4))?.architecture, arch)
        XCTAssertNil(Detection.detect(removing(5)))
        XCTAssertEqual(Detection.analyze(removing(5)).verdict,
                       "9 of 14 blocks fit base 2 (10 needed): depth_5, depth_6, depth_7, depth_8, depth_9, depth_10, depth_11, depth_12, depth_13; "
                       + "the first that does not: depth_0 (down_tr64.ops.0.conv1.weight) is absent")
    }

    func testLabelsAndBaseComeFromTheChainNotTheFirstTensor() throws {
        // The old rule read the base off the first tensor: a wrong depth_0 width made the whole
        // network base 3. Now 13 blocks fit base 2 and depth_0 is one problem.
        let arch = Architecture(variant: .torch, baseFilters: 2, labels: 3)
        let m = mapped(arch) { $0["down_tr64.ops.0.conv1.weight"] = self.zeros([3, 1, 3, 3, 3]) }
        XCTAssertEqual(Detection.detect(m)?.architecture, arch)
        XCTAssertEqual(Verification.verify(m, against: arch).problems.map { "\($0.kind.rawValue) \($0.tensor)" }, ["shape down_tr64.ops.0.conv1.weight"])
    }
}
