import GenesisIO
import GenesisModel
import KerasFormat
import Tensors
import TestSupport
import TorchFormat
import XCTest

final class TorchRoundTripTests: XCTestCase {
    func convert(_ input: String, _ output: String, _ options: WriteOptions = WriteOptions(), lossy: Bool = false) throws -> Converter.Result {
        try Converter.convert(try ModelLoader.load(input), to: output, format: FormatKind.fromExtension(output)!, options: options, allowLossy: lossy)
    }

    func testTorchToNativeToTorchIsBitIdenticalWithOptimizer() throws {
        for fixture in ["torch/genesis_tiny.pt", "torch/genesis_tiny_legacy.pt"] {
            let dir = Fixtures.scratchDirectory()
            _ = try convert(Fixtures.path(fixture), dir + "/a.genesis")
            _ = try convert(dir + "/a.genesis", dir + "/b.pt", WriteOptions(modulePrefix: true))
            let a = try TorchReader.read(Fixtures.path(fixture)), b = try TorchReader.read(dir + "/b.pt")
            XCTAssertEqual(a.stateDict.names, b.stateDict.names, fixture)
            for n in a.stateDict.names { XCTAssertEqual(a.stateDict[n], b.stateDict[n], "\(fixture): \(n)") }
            XCTAssertEqual(b.epoch, 3)
            let oa = try XCTUnwrap(a.optimizer), ob = try XCTUnwrap(b.optimizer)
            XCTAssertEqual(oa.parameterCount, ob.parameterCount)
            for i in 0..<oa.parameterCount {
                XCTAssertEqual(oa.tensor("momentum_buffer", position: i), ob.tensor("momentum_buffer", position: i), "\(fixture): slot \(i)")
            }
        }
    }

    func testKerasToTorchAddsIdentityUpConvolutionsAndBack() throws {
        let dir = Fixtures.scratchDirectory()
        let r = try convert(Fixtures.path("keras/genesis_tiny.h5"), dir + "/a.pt", WriteOptions(modulePrefix: true))
        XCTAssertEqual(r.written.architecture.variant, .torch)
        let pt = try ModelLoader.load(dir + "/a.pt")
        XCTAssertEqual(Verification.verify(pt.mapped, against: try pt.architecture()).problems, [])
        XCTAssertTrue(pt.mapped.hadModulePrefix)
        for m in Layout.upsamplerModules {
            XCTAssertTrue(VariantConversion.isIdentity(weight: pt.mapped.store[m + ".weight"]!, bias: pt.mapped.store[m + ".bias"]), m)
        }
        // SGD momentum in torch's convention: buf = -m / lr (schemas/numerics.md).
        let keras = try ModelLoader.load(Fixtures.path("keras/genesis_tiny.h5"))
        let m = keras.optimizer!.slots["down_tr64.ops.0.conv1.weight"]!["momentum"]!.floats()
        let buf = pt.optimizer!.slots["down_tr64.ops.0.conv1.weight"]!["momentum"]!.floats()
        let lr = Float(keras.optimizer!.learningRate!)
        for i in 0..<m.count { XCTAssertEqual(buf[i], -m[i] / lr, accuracy: 1e-6 * max(1, abs(buf[i]))) }

        _ = try convert(dir + "/a.pt", dir + "/b.h5")
        let back = try ModelLoader.load(dir + "/b.h5")
        let d = TensorDiff.compare(keras.mapped.store, back.mapped.store)
        XCTAssertEqual(d.entries.count, 86)
        XCTAssertTrue(d.entries.allSatisfy(\.bitIdentical))
    }

    func testTorchToKerasIsRefusedUnlessLossyIsAllowed() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertThrowsError(try convert(Fixtures.path("torch/genesis_tiny.pt"), dir + "/a.h5")) { e in
            XCTAssertEqual(e as? VariantConversion.Failure, .lossy(tensors: Layout.upsamplerModules))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/a.h5"))
        let r = try convert(Fixtures.path("torch/genesis_tiny.pt"), dir + "/a.h5", lossy: true)
        XCTAssertEqual(r.droppedNonIdentity, Layout.upsamplerModules)
    }
}
