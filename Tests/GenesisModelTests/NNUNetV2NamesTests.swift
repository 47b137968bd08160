import GenesisModel
import Tensors
import XCTest

/// `NNUNetV2Names` for networks other than the fixture's (whose map plainconvunet_keys.json checks
/// through the CLI): every v1 tensor has a primary v2 key, every v2 key maps back to the v1 key
/// it came from, and the v2-only biases are the transposed and segmentation convolutions'.
final class NNUNetV2NamesTests: XCTestCase {
    func check(_ a: NNUNetArchitecture, file: StaticString = #filePath, line: UInt = #line) {
        let keys = NNUNetV2Names.keys(a)
        let params = a.network.parameters.map(\.name)
        XCTAssertEqual(Set(keys.compactMap(\.v1)), Set(params), "every v1 tensor is under some v2 key", file: file, line: line)
        XCTAssertEqual(keys.filter(\.primary).compactMap(\.v1).sorted(), params.sorted(), "one primary key per v1 tensor", file: file, line: line)
        XCTAssertEqual(Set(keys.map(\.name)).count, keys.count, "no key twice", file: file, line: line)
        for k in keys {
            XCTAssertEqual(NNUNetV2Names.v1Name(k.name, bottleneck: a.pools.count, convs: a.convsPerStage), k.v1, k.name, file: file, line: line)
            XCTAssertEqual(NNUNetV2Names.isV2Only(k.name), k.v1 == nil, k.name, file: file, line: line)
        }
        // 8 names per block (conv, norm, all_modules.0/1; weight, bias), the encoder twice, then 2 per transposed and seg convolution.
        let p = a.pools.count, c = a.convsPerStage
        XCTAssertEqual(keys.count, 8 * c * (p + 1) * 2 + 8 * c * p + 4 * p, file: file, line: line)
        var v1 = TensorStore()
        for s in a.network.parameters { v1[s.name] = Tensor(shape: s.shape, floats: [Float](repeating: 1, count: s.shape.reduce(1, *))) }
        let v2 = NNUNetV2Names.v2StateDict(v1, a)
        XCTAssertEqual(v2.names, keys.map(\.name), file: file, line: line)
        for k in keys where k.v1 == nil { XCTAssertTrue(v2[k.name]!.floats().allSatisfy { $0 == 0 }, file: file, line: line) }
        XCTAssertEqual(NNUNetV2Names.shape(of: v2.names).map { [$0.bottleneck, $0.convs] }, [p, c], file: file, line: line)
    }

    func testTheOfficialNetwork() { check(.official) }

    func testThreeConvolutionsPerStageAndFourPools() {
        check(NNUNetArchitecture(baseFilters: 4, maxFilters: 16, pools: [[2, 2, 2], [2, 2, 2], [1, 2, 2], [2, 2, 1]], labels: 3, convsPerStage: 3))
    }

    /// Generic_UNet builds at least one block per StackedConvLayers, so with 1 convolution per
    /// stage its bottleneck and decoder stages still have 2; PlainConvUNet's would have 1: no
    /// v2 network holds it (`NNUNetConversion` refuses --naming nnunetv2 for it).
    func testOneConvolutionPerStageHasNoV2Network() {
        let a = NNUNetArchitecture(baseFilters: 2, maxFilters: 8, pools: [[2, 2, 2], [2, 2, 2]], labels: 1, convsPerStage: 1)
        XCTAssertFalse(NNUNetV2Names.holds(a))
        XCTAssertTrue(NNUNetV2Names.holds(.official))
        XCTAssertNotEqual(Set(NNUNetV2Names.keys(a).compactMap(\.v1)), Set(a.network.parameters.map(\.name)))
    }

    func testKeysThatAreNotV2Names() {
        for k in ["encoder.stages.9.0.convs.0.conv.weight", "encoder.stages.0.0.convs.2.conv.weight", "decoder.stages.0.convs.0.conv.running_mean",
                  "decoder.transpconvs.0.bias", "conv_blocks_context.0.blocks.0.conv.weight", "encoder.stages.0.0.convs.0.all_modules.2.weight"] {
            XCTAssertNil(NNUNetV2Names.v1Name(k, bottleneck: 5, convs: 2), k)
        }
    }
}
