import GenesisIO
import GenesisModel
import Tensors
import TestSupport
import TorchFormat
import XCTest

/// Optimizer values a file may poison (inf step, NaN hyperparameters) load and convert without
/// trapping; the meaningless values are dropped.
final class HostileValuesTests: XCTestCase {
    func testInfiniteStepAndNaNMomentumAreDropped() throws {
        let dir = Fixtures.scratchDirectory()
        var c = try TorchReader.read(Fixtures.path("torch/genesis_tiny.pt"))
        var o = try XCTUnwrap(c.optimizer)
        o.paramGroups[0].hyperparameters = o.paramGroups[0].hyperparameters.map { h in
            h.name == "momentum" ? TorchNamedValue("momentum", .double(.nan)) : h
        }
        for key in o.state.keys { o.state[key]!.append(TorchNamedValue("step", .double(.infinity))) }
        c.optimizer = o
        let path = dir + "/poisoned.pt"
        try TorchWriter.write(c, to: path, modulePrefix: true)
        let m = try ModelLoader.load(path)
        let s = try XCTUnwrap(m.optimizer)
        XCTAssertNil(s.step)
        XCTAssertNil(s.hyperparameters["momentum"])
        XCTAssertEqual(s.learningRate ?? 0, 0.1, accuracy: 1e-9)
        for out in ["/a.h5", "/a.genesis"] {
            _ = try Converter.convert(m, to: dir + out, format: FormatKind.fromExtension(out)!, options: WriteOptions(kerasFullModel: true), allowLossy: true)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + out))
        }
    }

    /// A Keras model config whose recorded input cube cannot exist (its volume overflows) is
    /// read as recording no input shape; loading and converting go on with the defaults.
    func testImpossibleRecordedInputShapeIsIgnored() throws {
        let dir = Fixtures.scratchDirectory()
        let m0 = try ModelLoader.load(Fixtures.path("keras/genesis_tiny.h5"))
        var p = try m0.payload(digest: false)
        p.inputShape = [1, 4_000_000_000_000_000_000, 4_000_000_000_000_000_000, 16]
        try ModelWriter.write(p, to: dir + "/huge_input.h5", format: .kerasH5, options: WriteOptions(kerasFullModel: true))
        let m = try ModelLoader.load(dir + "/huge_input.h5")
        XCTAssertNil(m.inputShape)
        XCTAssertEqual(try m.payload(digest: false).inputShape, [1, 64, 64, 32])
        let r = try Converter.convert(m, to: dir + "/huge_input.pt", format: .torch)
        XCTAssertTrue(r.reread.entries.allSatisfy(\.bitIdentical))
        // A plausible recorded shape is kept.
        p.inputShape = [1, 32, 32, 16]
        try ModelWriter.write(p, to: dir + "/small_input.h5", format: .kerasH5, options: WriteOptions(kerasFullModel: true))
        XCTAssertEqual(try ModelLoader.load(dir + "/small_input.h5").inputShape, [1, 32, 32, 16])
    }
}
