import GenesisModel
import Tensors
import XCTest

/// The siblings' head layouts as data (`SiblingNetworks`): at the official widths (base 32) the
/// patterns give the official shapes of fhaghighi/SemanticGenesis and fhaghighi/TransVW
/// ynet3d.py and MrGiovanni/SuPreM Universal_model.py; free widths bind once for the whole head.
final class SiblingNetworksTests: XCTestCase {
    func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, floats: [Float](repeating: 0.5, count: shape.reduce(1, *))) }

    /// The official shapes, as the official code builds them at base 32.
    static let officialKeras: [String: [Int]] = [
        "depth_14_conv/kernel": [3, 3, 3, 512, 512], "depth_14_conv/bias": [512],
        "depth_14_bn/gamma": [512], "depth_14_bn/beta": [512], "depth_14_bn/moving_mean": [512], "depth_14_bn/moving_variance": [512],
        "cls_fc/kernel": [512, 1024], "cls_fc/bias": [1024], "cls_output/kernel": [1024, 44], "cls_output/bias": [44],
    ]
    static let officialTorch: [String: [Int]] = [
        "clc_out.conv1.weight": [1024, 512, 3, 3, 3], "clc_out.conv1.bias": [1024],
        "clc_out.bn1.weight": [1024], "clc_out.bn1.bias": [1024], "clc_out.bn1.running_mean": [1024], "clc_out.bn1.running_var": [1024],
        "clc_out.fc1.weight": [44, 1024], "clc_out.fc1.bias": [44],
    ]
    static let officialSuPreM: [String: [Int]] = [
        "precls_conv.0.weight": [64], "precls_conv.0.bias": [64], "precls_conv.2.weight": [8, 64, 1, 1, 1], "precls_conv.2.bias": [8],
        "GAP.0.weight": [512], "GAP.0.bias": [512], "GAP.3.weight": [256, 512, 1, 1, 1], "GAP.3.bias": [256],
        "controller.weight": [153, 512, 1, 1, 1], "controller.bias": [153],
        "organ_embedding": [25, 512], "text_to_vision.weight": [256, 512], "text_to_vision.bias": [256],
    ]

    func store(_ shapes: [String: [Int]]) -> TensorStore {
        var s = TensorStore()
        for (n, shape) in shapes.sorted(by: { $0.key < $1.key }) { s[n] = zeros(shape) }
        return s
    }

    func testOfficialWidthsFitTheLayouts() {
        for (layout, shapes, widths) in [(SiblingNetworks.ynetKeras, Self.officialKeras, ["F": 512, "H": 1024, "K": 44]),
                                         (SiblingNetworks.ynetTorch, Self.officialTorch, ["H": 1024, "K": 44]),
                                         (SiblingNetworks.supremUNet, Self.officialSuPreM, ["K": 25])] {
            let c = layout.check(store(shapes), baseFilters: 32)
            XCTAssertEqual(c.problems, [], layout.id)
            XCTAssertEqual(c.widths, widths, layout.id)
            // Every tensor of the official head is one the layout names.
            XCTAssertTrue(Set(shapes.keys).isSubset(of: layout.headNames), layout.id)
        }
    }

    func testAWidthThatDisagreesIsAShapeProblem() {
        var shapes = Self.officialTorch
        shapes["clc_out.fc1.weight"] = [44, 1000]  // H is 1024 in conv1
        shapes["clc_out.conv1.weight"] = [1024, 256, 3, 3, 3]  // not 16 x base 32
        let c = SiblingNetworks.ynetTorch.check(store(shapes), baseFilters: 32)
        XCTAssertEqual(c.problems.map(\.tensor), ["clc_out.conv1.weight", "clc_out.fc1.weight"])
        XCTAssertEqual(c.problems.map(\.kind), [.shape, .shape])
        XCTAssertEqual(c.problems.first?.expected, "(1024,512,3,3,3)")
        // A missing required tensor is named; an optional one (num_batches_tracked) is not.
        var s = store(Self.officialTorch)
        s["clc_out.bn1.running_var"] = nil
        XCTAssertEqual(SiblingNetworks.ynetTorch.check(s, baseFilters: 32).problems.map(\.kind), [.missing])
    }

    func testTheFileNameTellsWhichYNet() {
        XCTAssertEqual(SiblingNetworks.ynetKeras.network(fileName: "semantic_genesis_chest_ct.h5"), "semantic-genesis")
        XCTAssertEqual(SiblingNetworks.ynetTorch.network(fileName: "TransVW_chest_ct.pt"), "transvw")
        XCTAssertNil(SiblingNetworks.ynetTorch.network(fileName: "ynet.pt"))
        XCTAssertEqual(SiblingNetworks.supremUNet.network(fileName: "anything.pth"), "suprem")
        XCTAssertEqual(SiblingNetworks.ynetKeras.headLayers, ["depth_14_conv", "depth_14_bn", "cls_fc", "cls_output"])
    }
}
