import GenesisModel
import HDF5
import Runtime3D
import Tensors
import TestSupport
import XCTest

/// The torch variant against PyTorch 2.15: `torch/genesis_tiny.reference.h5` holds the official
/// `UNet3D` (base 4) state dict before and after one training step (`before/`, `after/`, keys
/// without `module.`), its batch-statistics output (`ContBatchNorm3d` always normalises with the
/// batch's statistics; eps 1e-5), the MSE loss, and the running statistics that step updated.
/// (The weight update needs the momentum buffers of genesis_tiny.pt, which this target does not
/// read: the gradients are checked against TensorFlow in KerasTrainingReferenceTests and against
/// finite differences in NetworkBackwardTests.)
final class TorchTrainingReferenceTests: XCTestCase {
    func testForwardLossAndRunningStatisticsMatchPyTorch() throws {
        let ref = try H5File.open(Fixtures.path("torch/genesis_tiny.reference.h5")).root()
        let arch = Architecture(variant: .torch, baseFilters: 4, labels: 1)
        func store(_ group: String) throws -> TensorStore {
            var s = TensorStore()
            for spec in arch.tensors where spec.role != .bnCount { s[spec.name] = try ref.readFloat32("\(group)/\(spec.name)") }
            return s
        }
        let (before, after) = (try store("before"), try store("after"))
        let net = try GenesisNetwork(architecture: arch, weights: before, bnEpsilon: 1e-5)
        let x = try FeatureMap(ref.readFloat32("input"))
        let trace = ForwardTrace()
        let y = try net.forward(x, bn: .batch, threads: 2, trace: trace)

        // Output: measured 2.2e-6 max abs; tolerance 6e-6.
        let expected = try ref.readFloat32("output_batchstats").floats()
        let outputError = maxAbsDifference(y.data, expected)
        XCTAssertLessThanOrEqual(outputError, 6e-6, "output max abs error \(outputError)")

        // Loss: measured 5e-8 relative; tolerance 1e-5 relative (schemas/numerics.md).
        let target = try ref.readFloat32("target").floats()
        let loss = zip(y.data, target).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(y.data.count)
        let refLoss = Double(try ref.readFloat32("train_step_loss").floats()[0])
        XCTAssertEqual(loss, refLoss, accuracy: 1e-5 * refLoss)

        // Running statistics, PyTorch convention (momentum 0.1, unbiased variance): measured
        // 1.8e-7 max abs; tolerance 5e-7. num_batches_tracked stays as it was: F.batch_norm in
        // ContBatchNorm3d never increments it.
        let moving = try net.movingStatistics(after: trace.statistics, convention: .torch)
        var worst: Float = 0
        for (name, t) in moving.entries {
            let d = maxAbsDifference(t.floats(), after[name]!.floats())
            worst = max(worst, d)
            XCTAssertLessThanOrEqual(d, 5e-7, name)
        }
        for module in Layout.blockModules {
            let name = "\(module).bn1.num_batches_tracked"
            XCTAssertEqual(try ref.readTensor("before/\(name)").floats(), try ref.readTensor("after/\(name)").floats(), name)
        }
        print("torch reference: output \(outputError), loss \(loss) vs \(refLoss), running statistics \(worst)")
    }
}
