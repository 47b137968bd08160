import Foundation
import XCTest
import FuzzTargets
import TestSupport

/// The fuzz targets reach their parsers: each accepts a fixture written by the real library (a
/// target that refused everything would fuzz nothing but its first check), refuses a cut copy
/// with its module's own error, and the regression inputs stay clean refusals.
final class FuzzTargetTests: XCTestCase {
    private func bytes(_ relative: String) throws -> [UInt8] {
        try Array(Data(contentsOf: URL(fileURLWithPath: Fixtures.path(relative))))
    }

    func testEachTargetAcceptsARealFileAndRefusesACutOne() throws {
        let scratch = ScratchFile(parent: Fixtures.scratchDirectory())
        let cases: [(FuzzTarget, String)] = [
            (.zip, "formats/sd.pt"), (.zip, "formats/sd_legacy.pt"), (.safetensors, "formats/t.safetensors"),
            (.npy, "volumes/ct_like_z.voxels.npy"), (.metaimage, "volumes/ct_like_z.mha"),
        ]
        for (target, file) in cases {
            let data = try bytes(file)
            XCTAssertEqual(target.run(data, scratch: scratch), .accepted, "\(target) on \(file)")
            guard case .refused = target.run(Array(data.prefix(data.count / 2)), scratch: scratch) else {
                return XCTFail("\(target): half of \(file) was not refused with the module's error")
            }
        }
    }

    /// The pickle, native and Keras targets take a part of a file: a data.pkl, a metadata
    /// document, a config string. An empty one is refused by each with its own error.
    func testEmptyInputIsRefusedByEveryTarget() {
        let scratch = ScratchFile(parent: Fixtures.scratchDirectory())
        for target in FuzzTarget.allCases {
            guard case .refused = target.run([], scratch: scratch) else {
                return XCTFail("\(target): an empty input was not refused with the module's error")
            }
        }
    }

    /// A storage whose element count passes the cap check but whose bytes do not (2^31-1
    /// doubles): was a TensorError out of the torch reader (PickleFuzzRegressionTests).
    func testStorageOverTheByteCapIsAnOwnError() {
        let pickle = Array("\u{80}\u{02}(".unicodeScalars.map { UInt8($0.value) })
            + [0x8C, 7] + Array("storage".utf8) + Array("ctorch\nDoubleStorage\n".utf8)
            + [0x8C, 1] + Array("0".utf8) + [0x8C, 3] + Array("cpu".utf8) + [0x4A, 0xFF, 0xFF, 0xFF, 0x7F, 0x74, 0x51, 0x2E]
        let outcome = FuzzTarget.pickle.run(pickle, scratch: ScratchFile(parent: Fixtures.scratchDirectory()))
        guard case let .refused(text) = outcome else { return XCTFail("expected a TorchError, got \(outcome)") }
        XCTAssertTrue(text.contains("storage 0 bytes 17179869176 exceeds the cap of 4294967296"), text)
    }

    /// The onnx target on a graph `genesis convert` writes (no other writer's file is a genesis graph).
    func testONNXTargetAcceptsAWrittenGraphAndRefusesACutOne() throws {
        let dir = Fixtures.scratchDirectory()
        let r = try runProcess(Fixtures.genesisBinary, ["convert", Fixtures.path("keras/genesis_tiny.h5"), dir + "/k.onnx"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let data = try Array(Data(contentsOf: URL(fileURLWithPath: dir + "/k.onnx")))
        let scratch = ScratchFile(parent: dir)
        XCTAssertEqual(FuzzTarget.onnx.run(data, scratch: scratch), .accepted)
        guard case .refused = FuzzTarget.onnx.run(Array(data.prefix(data.count / 2)), scratch: scratch) else {
            return XCTFail("half of a written graph was not refused with ONNXError")
        }
    }

    /// The data-pickle target on the nnU-Net v1 plans the real nnU-Net code pickled
    /// (scripts/make_nnunet_v1_plans.py); a cut copy, and a pickle naming a global outside the
    /// data profile (os.system), are refused with TorchError.
    func testDataPickleTargetAcceptsRealPlansAndRefusesACutOneAndForeignGlobals() throws {
        let scratch = ScratchFile(parent: Fixtures.scratchDirectory())
        for name in ["nnUNetPlans_v1_genesis.pkl", "nnUNetPlans_v1_tiny.pkl"] {
            let data = try Array(Data(contentsOf: URL(fileURLWithPath: Fixtures.reference("nnunet/" + name))))
            XCTAssertEqual(FuzzTarget.dataPickle.run(data, scratch: scratch), .accepted, name)
            guard case .refused = FuzzTarget.dataPickle.run(Array(data.prefix(data.count / 2)), scratch: scratch) else {
                return XCTFail("half of \(name) was not refused with TorchError")
            }
        }
        // protocol 2: GLOBAL 'posix system', the string 'true', TUPLE1, REDUCE, STOP.
        let hostile: [UInt8] = [0x80, 0x02] + Array("cposix\nsystem\n".utf8) + [0x8C, 4] + Array("true".utf8) + [0x85, 0x52, 0x2E]
        guard case let .refused(text) = FuzzTarget.dataPickle.run(hostile, scratch: scratch) else {
            return XCTFail("a pickle calling posix.system was not refused")
        }
        XCTAssertTrue(text.contains("posix"), text)
    }
}
