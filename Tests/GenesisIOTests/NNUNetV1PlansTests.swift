import Foundation
import GenesisIO
import GenesisModel
import Tensors
import TestSupport
import XCTest

/// nnU-Net v1 plans (`.pkl`) written by nnU-Net 1.7.1's planner (scripts/make_nnunet_v1_plans.py)
/// become the network the v1 trainer builds from them, and the compatibility report judges it.
final class NNUNetV1PlansTests: XCTestCase {
    let official = NNUNetArchitecture(baseFilters: 32, maxFilters: 320)

    func testV1PlansBecomeTheTrainersNetwork() throws {
        let path = Fixtures.reference("nnunet/nnUNetPlans_v1_genesis.pkl")
        XCTAssertEqual(try NNUNetPlansReader.configurations(path), ["3d_fullres", "stage0"])
        let (name, n) = try NNUNetPlansReader.read(path)
        XCTAssertEqual(name, "3d_fullres")
        // Hand-worked from the plan: base 32 doubling, Generic_UNet's cap 320; the first stage
        // unstrided, then the five pools; 2 convolutions per stage with bias; InstanceNorm3d
        // eps 1e-5 affine; LeakyReLU 0.01 (nnUNetTrainerV2.initialize_network).
        XCTAssertEqual(n.features, [32, 64, 128, 256, 320, 320])
        XCTAssertEqual(n.strides, [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]])
        XCTAssertEqual(n.kernels, [[Int]](repeating: [3, 3, 3], count: 6))
        XCTAssertEqual(n.convsPerStage, [2, 2, 2, 2, 2, 2])
        XCTAssertEqual(n.convsPerDecoderStage, [2, 2, 2, 2, 2])
        XCTAssertTrue(n.convBias)
        XCTAssertEqual(n.normalisationSchemes, ["CTNormalization"])
        XCTAssertEqual(try XCTUnwrap(n.ctMean), Double(Float(-775.84576)))
        XCTAssertEqual(try XCTUnwrap(n.ctStd), Double(Float(251.93262)))
        XCTAssertEqual(n.ctClip?.low, -1000)
        XCTAssertEqual(n.ctClip?.high, 1000)
    }

    /// The official network (base 32, cap 320) against plans whose statistics are
    /// Genesis_nnUNet.py's normalisation: every tensor transfers (shapes from the description).
    func testTheOfficialNetworkTransfersWholeToMatchingV1Plans() throws {
        let (_, plans) = try NNUNetPlansReader.read(Fixtures.reference("nnunet/nnUNetPlans_v1_genesis.pkl"))
        let window = NNUNetGenesisFamily().inputWindows.first { $0.name == "nnunet-ct" }!
        let c = NNUNetCompatibility.compare(official, weights: TensorStore(), plans: plans, normalisation: window)
        XCTAssertEqual(c.verdict, .whole, c.entries.filter { $0.status != .transfers && $0.status != .skipped }.map(\.tensor).joined(separator: ", "))
        XCTAssertEqual(c.notes, [])
        // The tiny plans (base 4, cap 320) hold other widths from stage 2 on.
        let (_, tiny) = try NNUNetPlansReader.read(Fixtures.reference("nnunet/nnUNetPlans_v1_tiny.pkl"))
        XCTAssertEqual(tiny.features, [4, 8, 16, 32, 64, 128])
        XCTAssertEqual(NNUNetCompatibility.compare(official, weights: TensorStore(), plans: tiny, normalisation: window).verdict, .none)
    }

    func testBadV1PlansAreOneLineErrors() throws {
        let dir = Fixtures.scratchDirectory()
        let evil = dir + "/evil.pkl"
        try Data([0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x8C, 4] + Array("true".utf8) + [0x85, 0x52, 0x2E]).write(to: URL(fileURLWithPath: evil))
        XCTAssertThrowsError(try NNUNetPlansReader.read(evil)) { e in
            XCTAssertTrue("\(e)".contains("refused global os.system"), "\(e)")
            XCTAssertFalse("\(e)".contains("\n"))
        }
        XCTAssertThrowsError(try NNUNetPlansReader.read(Fixtures.reference("nnunet/nnUNetPlans_v1_genesis.pkl"), configuration: "3d_lowres")) { e in
            XCTAssertTrue("\(e)".contains("a configuration named 3d_lowres, found 3d_fullres, stage0"), "\(e)")
        }
    }
}
