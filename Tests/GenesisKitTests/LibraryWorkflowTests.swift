import Foundation
import GenesisKit
import HDF5
import TestSupport
import XCTest

/// The library as a program uses it, in-process: load (HDF5 through the sandbox), verify, run,
/// convert with proof, run a scan, train. Numbers are compared with the fixtures' references
/// computed by TensorFlow and PyTorch, at the tolerances of ReferenceOutputsTests (inference
/// 1e-6, batch statistics 1.5e-5: 2-3x what is measured).
final class LibraryWorkflowTests: XCTestCase {
    func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func testAKerasFileLoadsVerifiesAndRunsToTensorFlowsOutput() throws {
        let model = try ModelLoader.load(Fixtures.path("keras/genesis_tiny.h5"))
        let verdict = model.verify()
        XCTAssertTrue(verdict.valid, verdict.description)
        XCTAssertTrue(verdict.description.hasPrefix("valid: "), verdict.description)
        let ref = try H5File.open(Fixtures.path("keras/genesis_tiny.reference.h5")).root()
        let y = try model.network().forward(try ref.readFloat32("input"), bn: .inference)
        let err = maxAbs(y.floats(), try ref.readFloat32("output_inference").floats())
        XCTAssertLessThanOrEqual(err, 1e-6, "max |ours - TensorFlow| = \(err)")
    }

    func testAPyTorchFileRunsToPyTorchsOutputWithBatchStatistics() throws {
        let model = try ModelLoader.load(Fixtures.path("torch/genesis_tiny.pt"))
        XCTAssertTrue(model.verify().valid)
        let ref = try H5File.open(Fixtures.path("torch/genesis_tiny.reference.h5")).root()
        let y = try model.network().forward(try ref.readFloat32("input"), bn: .batch)
        let err = maxAbs(y.floats(), try ref.readFloat32("output_batchstats").floats())
        XCTAssertLessThanOrEqual(err, 1.5e-5, "max |ours - PyTorch| = \(err)")
    }

    func testADamagedFileNamesItsProblems() throws {
        let model = try ModelLoader.load(Fixtures.path("torch/genesis_tiny.pt"))
        var mapped = model.mapped
        let victim = mapped.store.names.first { $0.hasSuffix("conv1.weight") }!
        mapped.store[victim] = nil
        let verdict = ModelVerdict.of(mapped, detected: model.detected?.architecture)
        XCTAssertFalse(verdict.valid)
        // Named as the file names it (the official `module.` prefix kept).
        XCTAssertTrue(verdict.problems.contains { $0.tensor.hasSuffix(victim) && $0.kind == .missing }, "\(verdict.problems)")
        XCTAssertTrue(verdict.description.hasPrefix("invalid: "))
    }

    func testAConversionIsProvedAndItsOutputRunsToTheSourceReference() throws {
        let dir = Fixtures.scratchDirectory()
        let source = try ModelLoader.load(Fixtures.path("keras/genesis_tiny.h5"))
        let out = dir + "/tiny.pt"
        let proof = try ProvenConversion.convert(source, to: out, format: .torch)
        XCTAssertTrue(proof.reproducesSource, proof.warning ?? "")
        XCTAssertEqual(proof.bitIdenticalTensors, proof.reread.entries.count)
        // Keras -> PyTorch adds identity up-convolutions: the forward is exact up to rounding.
        XCTAssertLessThanOrEqual(proof.forward.worst, 1e-5)
        let written = try ModelLoader.load(out)
        let ref = try H5File.open(Fixtures.path("keras/genesis_tiny.reference.h5")).root()
        let y = try written.network(bnEpsilon: 1e-3).forward(try ref.readFloat32("input"), bn: .inference)
        XCTAssertLessThanOrEqual(maxAbs(y.floats(), try ref.readFloat32("output_inference").floats()), 1e-6)
    }

    func testARefusedConversionLeavesNothingBehind() throws {
        let dir = Fixtures.scratchDirectory()
        // The official PyTorch up-convolutions are not the identity: Keras output is refused
        // unless lossy is allowed, and no file (final or temporary) is left.
        let source = try ModelLoader.load(Fixtures.path("torch/genesis_tiny.pt"))
        XCTAssertThrowsError(try ProvenConversion.convert(source, to: dir + "/k.h5", format: .kerasH5)) { error in
            XCTAssertTrue(error is VariantConversion.Failure, "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
        let lossy = try ProvenConversion.convert(source, to: dir + "/k.h5", format: .kerasH5, allowLossy: true)
        XCTAssertFalse(lossy.reproducesSource)
        XCTAssertTrue(lossy.warning?.contains("does not reproduce the source") ?? false)
    }
}

/// Whole-scan inference through the library: a scan of exactly one window gives the network's
/// own output on that window (the Gaussian weight divides out: rounding only, <= 1e-6), in the
/// scan's geometry; a larger scan keeps its shape and geometry.
final class ScanInferenceLibraryTests: XCTestCase {
    func testAScanOfOneWindowGivesTheNetworksOutputInTheScansGeometry() throws {
        let dir = Fixtures.scratchDirectory()
        let model = try ModelLoader.load(Fixtures.path("keras/genesis_tiny.h5"))
        let network = try model.network()
        // A 16^3 scan in HU (seeded), written as NIfTI by the library's own slab writer.
        var rng = SeededGenerator(seed: 7)
        let side = 16, plane = side * side
        let hu = (0..<(plane * side)).map { _ in Float(Double(rng.next() % 2000) - 1000) }
        let geometry = VolumeGeometry(spacing: [1, 1, 2], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
                                      affineRAS: [-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1])
        let scanPath = dir + "/scan.nii"
        let sink = try NIfTIChannelSink(path: scanPath, shape: [side, side, side], channels: 1, geometry: geometry, description: "test")
        // NIfTI order: i fastest; slabs along k.
        for k in 0..<side {
            let slab = (0..<plane).map { hu[k * plane + $0] }
            try slab.withUnsafeBufferPointer { try sink.append(k: k, channels: 1, slab: $0) }
        }
        try sink.finish()

        var scan = ScanInference(patch: [side, side, side], mode: .inference)
        let out = dir + "/pred.nii"
        let report = try scan.run(network, input: scanPath, output: out)
        XCTAssertEqual(report.windows, 1)
        XCTAssertEqual(report.outputShape, [side, side, side])
        let written = try VolumeFile.read(out)
        XCTAssertEqual(written.shape, [side, side, side])
        XCTAssertEqual(written.geometry.spacing, geometry.spacing)

        // The same window through the network directly: (D, H, W) = (i, j, k), CT window applied.
        let scanBack = try VolumeFile.read(scanPath)
        var cube = [Float](repeating: 0, count: plane * side)
        for i in 0..<side { for j in 0..<side { for k in 0..<side {
            cube[(i * side + j) * side + k] = IntensityWindow.ct.apply(Double(scanBack.voxels[i + side * (j + side * k)]))
        } } }
        let y = try network.forward(try FeatureMap(shape: [1, 1, side, side, side], data: cube), bn: .inference)
        var err: Float = 0
        for i in 0..<side { for j in 0..<side { for k in 0..<side {
            err = max(err, abs(y.data[(i * side + j) * side + k] - written.voxels[i + side * (j + side * k)]))
        } } }
        XCTAssertLessThanOrEqual(err, 1e-6, "scan output vs the network on the same window: \(err)")

        scan.window = nil
        scan.allowNonfinite = false
        XCTAssertThrowsError(try scan.run(network, input: scanPath, output: dir + "/pred.npy"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/pred.npy"))
    }
}
