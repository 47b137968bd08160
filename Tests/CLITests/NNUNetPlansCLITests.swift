import Foundation
import TestSupport
import XCTest

/// `genesis verify MODEL --plans PLANS`: the nnU-Net fixture against nnU-Net v2 plans files
/// written by scripts/make_nnunet_fixtures.py (each builds a real PlainConvUNet): the matching
/// one transfers whole (exit 0); a last pool of [2,2,2] changes the bottleneck's stride (same
/// shape, other meaning) and tu.0's shape: does not transfer (1); 2 input channels change the
/// first convolution: does not transfer (1); 5 stages: the encoder's first 5 stages transfer,
/// the decoder joins other levels: the encoder only (1). Bad plans: one line, exit 2.
final class NNUNetPlansCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }
    var fixture: String { Fixtures.reference("nnunet/nnunet_tiny.model") }
    func plans(_ name: String) -> String { Fixtures.reference("nnunet/" + name) }

    func report(_ plansFile: String, status: Int32, verdict: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let text = try genesis(["verify", fixture, "--plans", plans(plansFile)])
        XCTAssertEqual(text.status, status, text.stderr, file: file, line: line)
        XCTAssertEqual(text.stdout.split(separator: "\n").last.map(String.init), verdict, file: file, line: line)
        let r = try genesis(["verify", fixture, "--plans", plans(plansFile), "--configuration", "3d_fullres", "--json"])
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        XCTAssertEqual(r.json?["verdict"] as? String, verdict, file: file, line: line)
        return r.json?["tensors"] as? [[String: Any]] ?? []
    }

    func statuses(_ t: [[String: Any]]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: t.map { ($0["tensor"] as! String, $0["status"] as! String) })
    }

    func testMatchingPlansTransferWhole() throws {
        let s = statuses(try report("nnUNetPlans.json", status: 0, verdict: "transfers whole"))
        XCTAssertEqual(s.count, 108, "PlainConvUNet's 292 keys without aliases")
        XCTAssertEqual(Set(s.values), ["transfers", "skipped"])
        XCTAssertEqual(s["decoder.seg_layers.4.weight"], "skipped")
    }

    func testAChangedLastPoolDoesNotTransfer() throws {
        let s = statuses(try report("nnUNetPlans_pool.json", status: 1, verdict: "does not transfer"))
        XCTAssertEqual(s["encoder.stages.5.0.convs.0.conv.weight"], "differs_in_meaning", "same shape, stride [2,2,2] against [1,2,2]")
        XCTAssertEqual(s["decoder.transpconvs.0.weight"], "differs_in_shape")
        XCTAssertEqual(s["encoder.stages.4.0.convs.0.conv.weight"], "transfers")
    }

    func testTwoInputChannelsDoNotTransfer() throws {
        let s = statuses(try report("nnUNetPlans_2ch.json", status: 1, verdict: "does not transfer"))
        XCTAssertEqual(s["encoder.stages.0.0.convs.0.conv.weight"], "differs_in_shape")
        XCTAssertEqual(s["encoder.stages.0.0.convs.0.conv.bias"], "differs_in_meaning")
        XCTAssertEqual(s["encoder.stages.1.0.convs.0.conv.weight"], "transfers")
    }

    func testFewerStagesTransferTheEncoderOnly() throws {
        let s = statuses(try report("nnUNetPlans_5stages.json", status: 1, verdict: "transfers the encoder only"))
        XCTAssertEqual(s["encoder.stages.5.0.convs.0.conv.weight"], "only_in_model")
        XCTAssertEqual(s["decoder.stages.0.convs.0.conv.weight"], "differs_in_meaning", "same shape, another level")
        XCTAssertEqual(s["decoder.stages.3.convs.0.conv.weight"], "differs_in_shape")
    }

    /// v1 plans (`.pkl`, nnU-Net 1.7.1's planner at base 4): the trainer's widths double up to
    /// Generic_UNet's 320, the fixture's stop at 8, so stages 2 on differ in shape.
    func testV1PlansPickle() throws {
        let s = statuses(try report("nnUNetPlans_v1_tiny.pkl", status: 1, verdict: "does not transfer"))
        XCTAssertEqual(s["encoder.stages.1.0.convs.0.conv.weight"], "transfers")
        XCTAssertEqual(s["encoder.stages.2.0.convs.0.conv.weight"], "differs_in_shape")
        XCTAssertEqual(s["encoder.stages.0.0.convs.0.conv.weight"], "transfers", "the planner's CT statistics are the model's normalisation")
        let text = try genesis(["verify", fixture, "--plans", plans("nnUNetPlans_v1_tiny.pkl")])
        XCTAssertTrue(text.stdout.contains("configuration 3d_fullres: Generic_UNet, features [4, 8, 16, 32, 64, 128]"), text.stdout)
    }

    func testBadPlansAreOneLineErrors() throws {
        let dir = Fixtures.scratchDirectory()
        let notJSON = dir + "/plans.json"
        try "not json".write(toFile: notJSON, atomically: true, encoding: .utf8)
        let noArch = dir + "/noarch.json"
        try #"{"configurations": {"3d_fullres": {"normalization_schemes": ["CTNormalization"]}}}"#.write(toFile: noArch, atomically: true, encoding: .utf8)
        for (args, needle) in [(["--plans", notJSON], "expected an nnU-Net v2 plans JSON object or a v1 plans pickle"),
                               (["--plans", noArch], "configurations.3d_fullres.architecture"),
                               (["--plans", plans("nnUNetPlans.json"), "--configuration", "2d"], "a configuration named 2d"),
                               (["--configuration", "2d"], "give --plans too")] {
            let r = try genesis(["verify", fixture] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage") && !$0.contains("--help") }.count, 1, r.stderr)
        }
        let genesisFile = try genesis(["verify", Fixtures.reference("nnunet/nnUNetPlans.json"), "--plans", plans("nnUNetPlans.json")])
        XCTAssertEqual(genesisFile.status, 2)
        let init4 = dir + "/g.pt"
        XCTAssertEqual(try genesis(["init", "--base-filters", "4", "--out", init4]).status, 0)
        let other = try genesis(["verify", init4, "--plans", plans("nnUNetPlans.json")])
        XCTAssertEqual(other.status, 2)
        XCTAssertTrue(other.stderr.contains("--plans takes an nnU-Net Genesis network"), other.stderr)
        XCTAssertEqual(other.stderr.split(separator: "\n").count, 1, other.stderr)
    }
}
