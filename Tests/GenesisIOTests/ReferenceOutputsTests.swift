import GenesisIO
import GenesisModel
import HDF5
import Runtime3D
import Tensors
import TestSupport
import XCTest

/// Every model format read, then run in our runtime, against outputs TensorFlow / Keras 3 /
/// PyTorch computed from the same files (fixtures/*.reference.h5). Tolerance (max absolute error)
/// about 2-3x what is measured: inference mode 1e-6 (measured 2.7e-7 to 3.9e-7), batch
/// statistics 1.5e-5 (measured 2.2e-6 to 6.7e-6; the batch variance of small maps amplifies
/// float32 rounding), within schemas/numerics.md 1e-4.
final class ReferenceOutputsTests: XCTestCase {
    func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func check(model: String, reference: String? = nil, referencePath: String? = nil, output: String, bn: BatchNormMode,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let m = try ModelLoader.load(Fixtures.path(model))
        let ref = try H5File.open(referencePath ?? Fixtures.path(reference!)).root()
        let net = try GenesisNetwork(architecture: try m.architecture(), weights: m.mapped.store, bnEpsilon: m.effectiveBNEpsilon)
        let y = try net.forward(try ref.readFloat32("input"), bn: bn)
        let err = maxAbs(y.floats(), try ref.readFloat32(output).floats())
        XCTAssertLessThanOrEqual(err, bn == .inference ? 1e-6 : 1.5e-5, "\(model) \(bn): max |ours - reference| = \(err)", file: file, line: line)
    }

    func testPyTorchZipAndLegacyMatchPyTorch() throws {
        // The official ContBatchNorm3d normalises with batch statistics in every mode (eps 1e-5).
        try check(model: "torch/genesis_tiny.pt", reference: "torch/genesis_tiny.reference.h5", output: "output_batchstats", bn: .batch)
        try check(model: "torch/genesis_tiny_legacy.pt", reference: "torch/genesis_tiny_legacy.reference.h5", output: "output_batchstats", bn: .batch)
    }

    func testKeras3FilesMatchTensorFlowOnTheirWeights() throws {
        // Reference: tf_keras 2.21 on the weights of keras3/genesis_tiny.keras (Tests/References/README.md
        // says why the fixture's own Keras 3 output cannot serve: a Keras 3.15 bias-broadcast defect).
        let ref = Fixtures.repoRoot + "/Tests/References/keras3_tiny_tfkeras.h5"
        for model in ["keras3/genesis_tiny.weights.h5", "keras3/genesis_tiny.keras"] {
            try check(model: model, referencePath: ref, output: "output_inference", bn: .inference)
            try check(model: model, referencePath: ref, output: "output_batchstats", bn: .batch)
        }
    }

    func testConvertedFilesStillMatchTheirSourceReference() throws {
        // genesis_tiny.h5 through .pt, .safetensors and .genesis and back: same TensorFlow outputs.
        let dir = Fixtures.scratchDirectory()
        var input = Fixtures.path("keras/genesis_tiny.h5")
        for ext in ["pt", "safetensors", "genesis", "h5"] {
            let out = dir + "/m.\(ext)"
            _ = try Converter.convert(try ModelLoader.load(input), to: out, format: FormatKind.fromExtension(out)!)
            input = out
            let m = try ModelLoader.load(out)
            let ref = try H5File.open(Fixtures.path("keras/genesis_tiny.reference.h5")).root()
            let net = try GenesisNetwork(architecture: try m.architecture(), weights: m.mapped.store, bnEpsilon: 1e-3)
            for (mode, name) in [(BatchNormMode.inference, "output_inference"), (.batch, "output_batchstats")] {
                let err = maxAbs(try net.forward(try ref.readFloat32("input"), bn: mode).floats(), try ref.readFloat32(name).floats())
                XCTAssertLessThanOrEqual(err, mode == .inference ? 1e-6 : 1.5e-5, "\(ext) \(mode): \(err)")
            }
        }
    }
}
