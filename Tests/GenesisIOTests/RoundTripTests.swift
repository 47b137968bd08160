import GenesisIO
import GenesisModel
import KerasFormat
import Tensors
import TestSupport
import TorchFormat
import XCTest

/// Conversions that move bits must keep them: every tensor bit-identical after a round trip
/// (schemas/numerics.md: a transpose moves bits, it never rounds them).
final class RoundTripTests: XCTestCase {
    func convert(_ input: String, _ output: String, _ options: WriteOptions = WriteOptions()) throws -> Converter.Result {
        let fmt = FormatKind.fromExtension(output)!
        return try Converter.convert(try ModelLoader.load(input), to: output, format: fmt, options: options)
    }

    func testKerasToNativeToKerasIsBitIdenticalWithOptimizerState() throws {
        let dir = Fixtures.scratchDirectory()
        let src = Fixtures.path("keras/genesis_tiny.h5")
        _ = try convert(src, dir + "/a.genesis")
        _ = try convert(dir + "/a.genesis", dir + "/b.h5", WriteOptions(kerasFullModel: true))
        let a = try KerasReader.read(src), b = try KerasReader.read(dir + "/b.h5")
        XCTAssertEqual(a.weightedLayers.map(\.name), b.weightedLayers.map(\.name))
        for (la, lb) in zip(a.weightedLayers, b.weightedLayers) {
            XCTAssertEqual(la.weights.map(\.name), lb.weights.map(\.name), la.name)
            for (wa, wb) in zip(la.weights, lb.weights) { XCTAssertEqual(wa.tensor, wb.tensor, wa.name) }
        }
        // Optimizer state: same count, same values in the same order (names and order as tf_keras 2.21 wrote them).
        XCTAssertEqual(a.optimizerWeights.count, b.optimizerWeights.count)
        for (wa, wb) in zip(a.optimizerWeights, b.optimizerWeights) { XCTAssertEqual(wa.tensor, wb.tensor, "\(wa.name) vs \(wb.name)") }
    }

    func testNativeRecordsArchitectureProvenanceAndConvention() throws {
        let dir = Fixtures.scratchDirectory()
        let src = Fixtures.path("keras/genesis_tiny.h5")
        _ = try convert(src, dir + "/a.genesis")
        let m = try ModelLoader.load(dir + "/a.genesis")
        XCTAssertEqual(try m.architecture(), Architecture(variant: .keras, baseFilters: 4))
        XCTAssertEqual(m.bnEpsilon, 1e-3)
        XCTAssertEqual(m.inputShape, [1, 16, 16, 8])  // from the source's model_config
        XCTAssertEqual(m.optimizer?.convention, .keras)
        XCTAssertEqual(m.optimizer?.step, 2)
        XCTAssertEqual(m.versions["source_format"], "keras-h5")
    }

    func testSafetensorsUnderEveryNamingMapsBack() throws {
        let dir = Fixtures.scratchDirectory()
        let src = try ModelLoader.load(Fixtures.path("keras/genesis_tiny_weights.h5"))
        for (naming, prefix) in [(Naming.canonical, false), (.torch, true), (.keras2, false)] {
            let out = dir + "/\(naming.rawValue)\(prefix).safetensors"
            let r = try Converter.convert(src, to: out, format: .safetensors, options: WriteOptions(modulePrefix: prefix, naming: naming))
            XCTAssertTrue(r.reread.entries.allSatisfy(\.bitIdentical), "\(naming)")
            let back = try ModelLoader.load(out)
            XCTAssertEqual(back.mapped.hadModulePrefix, prefix)
            XCTAssertEqual(try back.architecture(), try src.architecture())
            XCTAssertEqual(Verification.verify(back.mapped, against: try back.architecture()).problems, [])
        }
    }

    func testFailedWriteLeavesNoFile() throws {
        let dir = Fixtures.scratchDirectory()
        let src = try ModelLoader.load(Fixtures.path("keras/genesis_tiny_weights.h5"))
        XCTAssertThrowsError(try Converter.convert(src, to: dir + "/missing-dir/x.genesis", format: .native))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testFormatResolution() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try ModelLoader.resolveFormat(Fixtures.path("keras3/genesis_tiny.keras")), .keras3Zip)
        XCTAssertEqual(try ModelLoader.resolveFormat(Fixtures.path("formats/t.safetensors")), .safetensors)
        XCTAssertThrowsError(try ModelLoader.resolveFormat(Fixtures.path("keras/genesis_tiny.h5"), override: .safetensors)) { e in
            XCTAssertEqual(e as? GenesisIOError, .formatMismatch(file: Fixtures.path("keras/genesis_tiny.h5"), asked: "safetensors", found: "HDF5"))
        }
        try FileIO.write([], to: dir + "/empty.h5")
        XCTAssertThrowsError(try ModelLoader.resolveFormat(dir + "/empty.h5")) { e in XCTAssertTrue("\(e)".contains("empty"), "\(e)") }
    }
}
