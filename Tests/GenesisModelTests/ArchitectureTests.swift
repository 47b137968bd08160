import GenesisModel
import Tensors
import XCTest

/// The architecture tables against the figures schemas/genesis-architecture.md gives for the official
/// networks (counted there by instantiating the official Keras and PyTorch models).
final class ArchitectureTests: XCTestCase {
    func testOfficialKerasCounts() {
        let a = Architecture.official(.keras)
        XCTAssertEqual(a.trainableCount, 16_320_257)   // schemas/genesis-architecture.md
        XCTAssertEqual(a.statisticsCount, 4_672)       // BN moving statistics
        XCTAssertEqual(a.trainableCount + a.statisticsCount, 16_324_929)  // schemas/genesis-architecture.md (tf-keras rebuild)
        XCTAssertEqual(a.tensors.count, 86)            // 15 convs x 2 + 14 BN x 4
    }

    func testOfficialTorchCounts() {
        let a = Architecture.official(.torch)
        XCTAssertEqual(a.trainableCount, 19_073_665)   // schemas/genesis-architecture.md
        XCTAssertEqual(a.tensors.count, 106)           // schemas/genesis-architecture.md: state_dict keys
        XCTAssertEqual(a.tensors.filter { $0.role.isTrainable }.count, 64)  // parameters
    }

    func testForwardFLOPsMatchDesign() {
        // schemas/genesis-architecture.md: 236.7 GFLOP (keras) and 244.2 GFLOP (torch) at 1x1x64x64x32.
        XCTAssertEqual(Architecture.official(.keras).forwardFLOPs(depth: 64, height: 64, width: 32) / 1e9, 236.7, accuracy: 0.05)
        XCTAssertEqual(Architecture.official(.torch).forwardFLOPs(depth: 64, height: 64, width: 32) / 1e9, 244.2, accuracy: 0.05)
    }

    func testChannelPlanMatchesFormatsTable() {
        // schemas/genesis-architecture.md channel plan at b = 32.
        let plan = Architecture.official(.keras).blocks.map { [$0.inChannels, $0.outChannels] }
        XCTAssertEqual(plan, [[1, 32], [32, 64], [64, 64], [64, 128], [128, 128], [128, 256], [256, 256], [256, 512],
                              [768, 256], [256, 256], [384, 128], [128, 128], [192, 64], [64, 64]])
    }

    func testOrderFollowsTorchStateDict() {
        let names = Architecture(variant: .torch, baseFilters: 2).tensors.map(\.name)
        XCTAssertEqual(Array(names.prefix(7)), ["down_tr64.ops.0.conv1.weight", "down_tr64.ops.0.conv1.bias", "down_tr64.ops.0.bn1.weight",
                                                "down_tr64.ops.0.bn1.bias", "down_tr64.ops.0.bn1.running_mean", "down_tr64.ops.0.bn1.running_var",
                                                "down_tr64.ops.0.bn1.num_batches_tracked"])
        XCTAssertEqual(names[56], "up_tr256.up_conv.weight")
        XCTAssertEqual(names.last, "out_tr.final_conv.bias")
    }

    func testKerasLayerPlanHasTheOfficialFiftyFourLayers() {
        let plan = KerasLayerPlan(.official(.keras))
        XCTAssertEqual(plan.layers.count, 54)                               // schemas/genesis-architecture.md
        XCTAssertEqual(plan.layers.filter { !$0.weights.isEmpty }.count, 29)
        XCTAssertEqual(plan.layers.suffix(2).map(\.name), ["conv3d_1", "activation_1"])
        XCTAssertEqual(plan.layers[28].name, "up_sampling3d_1")
    }

    func testIdentityUpsamplerIsOneOnTheDiagonalAtEveryTap() {
        let w = Initialization.identityUpsampler(channels: 3).floats()
        for i in 0..<3 { for o in 0..<3 { for tap in 0..<8 { XCTAssertEqual(w[(i * 3 + o) * 8 + tap], i == o ? 1 : 0) } } }
    }

    func testSeededInitialisationIsReproducibleAndHeScaled() {
        let a = Architecture(variant: .keras, baseFilters: 8)
        let s1 = Initialization.heNormal(a, seed: 3), s2 = Initialization.heNormal(a, seed: 3)
        XCTAssertEqual(s1, s2)
        XCTAssertNotEqual(s1, Initialization.heNormal(a, seed: 4))
        // He normal: std sqrt(2 / fan_in); depth_1 has fan_in 8 * 27 = 216 and 16 * 216 values.
        let w = s1["down_tr64.ops.1.conv1.weight"]!.floats()
        let std = (w.map { Double($0 * $0) }.reduce(0, +) / Double(w.count)).squareRoot()
        XCTAssertEqual(std, (2.0 / 216).squareRoot(), accuracy: 0.1 * (2.0 / 216).squareRoot())  // 3456 samples: ~1.2% s.e.
    }
}
