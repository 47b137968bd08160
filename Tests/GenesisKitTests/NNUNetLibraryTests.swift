import Foundation
import GenesisKit
import HDF5
import TestSupport
import XCTest

/// The nnU-Net Genesis file through the library, in-process, as a program uses it: the same
/// verdict as `genesis verify`, the network to run (PyTorch's logits), cubes and a whole scan.
final class NNUNetLibraryTests: XCTestCase {
    var fixture: String { Fixtures.reference("nnunet/nnunet_tiny.model") }

    func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func testLoadVerifyAndRunToPyTorchsLogits() throws {
        let model = try ModelLoader.load(fixture)
        let verdict = model.verify()
        XCTAssertTrue(verdict.valid, verdict.description)
        XCTAssertEqual(verdict.description, "valid: nnU-Net Genesis, base 4, cap 8, pools 2x2x2 x4, 1x2x2, 2 labels (logits)")
        XCTAssertEqual(verdict.network?.variantName, "nnunet")
        XCTAssertNil(verdict.architecture, "not the Genesis U-Net")
        let network = try model.network()
        XCTAssertEqual(network.outputChannels, 2)
        XCTAssertEqual(network.architecture.spatialMultiples, [16, 32, 32])
        let ref = try H5File.open(Fixtures.reference("nnunet/nnunet_tiny.reference.h5")).root()
        let x = try ref.readFloat32("input")
        let expected = try ref.readFloat32("logits").floats()
        let y = try network.forward(x, bn: .inference)
        let err = maxAbs(y.floats(), expected)
        print("library forward of the nnU-Net fixture: max abs deviation from PyTorch's logits \(err)")
        XCTAssertLessThanOrEqual(err, 2e-5)
        // No BatchNorm: the mode changes nothing (InstanceNorm normalises each cube by itself).
        XCTAssertEqual(try network.forward(x, bn: .batch).floats(), y.floats())
        XCTAssertThrowsError(try network.forward(FeatureMap(shape: [1, 1, 16, 16, 16], data: [Float](repeating: 0, count: 4096)), bn: .inference)) { e in
            XCTAssertTrue("\(e)".contains("H = 16 must be a positive multiple of 32"), "\(e)")
        }
    }

    func testADamagedNetworkIsNamedInProcess() throws {
        let model = try ModelLoader.load(fixture)
        var mapped = model.mapped
        mapped.store["tu.2.weight"] = nil
        let verdict = ModelVerdict.of(mapped, recognised: model.recognised?.architecture)
        XCTAssertFalse(verdict.valid)
        XCTAssertEqual(verdict.problems.map { "\($0.kind.rawValue) \($0.tensor) \($0.expected)" }, ["missing tu.2.weight (8,8,2,2,2)"])
        XCTAssertEqual(verdict.description, "invalid: 1 problem: tu.2.weight: missing (expected float32 (8,8,2,2,2))")
        // Asked for as the Genesis U-Net, the file is no such network.
        let genesis = model.verify(against: Architecture(variant: .torch, baseFilters: 4, labels: 2))
        XCTAssertFalse(genesis.valid)
        XCTAssertTrue(genesis.problems.contains { $0.kind == .missing && $0.tensor == "down_tr64.ops.0.conv1.weight" })
        XCTAssertTrue(genesis.problems.contains { $0.kind == .unexpected && $0.tensor == "tu.0.weight" })
    }

    /// Cubes through `CubeInference` (streamed to a .npy), and a scan of exactly one window
    /// through `ScanInference` with the network's default window (nnunet-ct): the network's own
    /// output on the normalised window (the Gaussian weight divides out), in the scan's geometry.
    func testCubesAndAScanThroughTheWorkflows() throws {
        let dir = Fixtures.scratchDirectory()
        let model = try ModelLoader.load(fixture)
        let network = try model.network()
        let ref = try H5File.open(Fixtures.reference("nnunet/nnunet_tiny.reference.h5")).root()
        let x = try ref.readFloat32("input").asFloat32()
        var cubes = CubeInference(mode: .inference)
        let plan = try cubes.slicePlan(network, cubes: 2, spatial: [32, 32, 32], subject: "x")
        XCTAssertGreaterThan(plan.estimatedPeakBytes, 0)
        cubes.cubesPerSlice = 1
        let report = try cubes.run(network, cubes: x, plan: try cubes.slicePlan(network, cubes: 2, spatial: [32, 32, 32], subject: "x"), output: dir + "/y.npy")
        XCTAssertEqual(report.outputShape, [2, 2, 32, 32, 32])
        XCTAssertLessThanOrEqual(maxAbs(try NPY.read(dir + "/y.npy").floats(), try ref.readFloat32("logits").floats()), 2e-5)

        let window = InputWindows.defaultScanWindow(for: network.architecture)
        XCTAssertEqual(window.preset, "nnunet-ct")
        XCTAssertEqual(window.apply(-2000), Float((-1000 + 775.8457) / 251.9326))
        XCTAssertEqual(window.apply(0), Float(775.8457 / 251.9326))
        XCTAssertEqual(InputWindows.parse("nnunet-cubes")?.apply(0.5), Float(775.8457 / 251.9326), "0.5 is 0 HU")
        var rng = SeededGenerator(seed: 3)
        let side = 32, n = side * side * side
        let hu = (0..<n).map { _ in Float(Int(rng.next() % 2000) - 1000) }   // i fastest (NIfTI order)
        let geometry = VolumeGeometry.fromLPS(spacing: [0.5, 0.5, 1.25], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        try VolumeFile.writeNIfTI(Volume(shape: [side, side, side], voxels: hu, geometry: geometry, format: "nifti1", storedType: "float32"), to: dir + "/scan.nii")
        var scan = ScanInference(patch: [side, side, side], mode: .inference)
        scan.window = window
        let r = try scan.run(network, input: dir + "/scan.nii", output: dir + "/pred.nii")
        XCTAssertEqual(r.windows, 1)
        XCTAssertEqual(r.outputShape, [side, side, side, 2])
        let written = try VolumeFile.read(dir + "/pred.nii")
        XCTAssertEqual(written.geometry.spacing, geometry.spacing)
        var cube = [Float](repeating: 0, count: n)
        for i in 0..<side { for j in 0..<side { for k in 0..<side { cube[(i * side + j) * side + k] = window.apply(Double(hu[i + side * (j + side * k)])) } } }
        let y = try network.forward(try FeatureMap(shape: [1, 1, side, side, side], data: cube), bn: .inference)
        var err: Float = 0
        for c in 0..<2 { for i in 0..<side { for j in 0..<side { for k in 0..<side {
            err = max(err, abs(y.data[((c * side + i) * side + j) * side + k] - written.voxels[i + side * (j + side * (k + side * c))]))
        } } } }
        XCTAssertLessThanOrEqual(err, 1e-5, "scan output vs the network on the same window: \(err)")
    }
}
