import Foundation
import GenesisModel
import HDF5
import Runtime3D
import Tensors
import TestSupport
import TorchFormat
import XCTest

/// The nnU-Net Genesis description (`NetworkDescription.nnunetGenesis`) against nnU-Net v1's
/// own `Generic_UNet` (Tests/References/nnunet, scripts/make_nnunet_fixtures.py: base 4, cap 8,
/// the official pools [2, 2, 2] x 4, [1, 2, 2] and 3x3x3 kernels): the checkpoint as the official
/// script saves it, read by the safe torch reader; PyTorch's logits and one training step's
/// gradients on its input.
final class NNUNetGenesisForwardTests: XCTestCase {
    static let tiny = NetworkDescription.nnunetGenesis(baseFilters: 4, maxFilters: 8)

    /// A reference under Tests/References/nnunet; a missing one fails the test.
    static func reference(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let p = Fixtures.repoRoot + "/Tests/References/nnunet/" + name
        if !FileManager.default.fileExists(atPath: p) {
            XCTFail("reference missing: \(p) (scripts/make_nnunet_fixtures.py writes it)", file: file, line: line)
        }
        return p
    }

    func testParametersAreTheCheckpointsStateDictKeysAndShapesInOrder() throws {
        let checkpoint = try TorchReader.read(Self.reference("nnunet_tiny.model"))
        XCTAssertEqual(checkpoint.stateDictKey, "state_dict")
        XCTAssertEqual(checkpoint.epoch, 1)
        XCTAssertEqual(checkpoint.otherKeys, [])
        let names = checkpoint.stateDict.names
        XCTAssertEqual(names.count, 98)
        XCTAssertEqual(Self.tiny.parameters.map(\.name), names)
        for p in Self.tiny.parameters {
            XCTAssertEqual(checkpoint.stateDict[p.name]?.shape, p.shape, p.name)
            XCTAssertTrue(p.trainable, p.name)
        }
        // SGD momentum 0.9 over model.parameters() (the state_dict order); seg_outputs.0-3 never
        // got a gradient, so they have no momentum buffer.
        let optimizer = try XCTUnwrap(checkpoint.optimizer)
        XCTAssertEqual(optimizer.kind, .sgd)
        XCTAssertEqual(optimizer.parameterCount, names.count)
        XCTAssertEqual(optimizer.paramGroups.first?["momentum"]?.doubleValue, 0.9)
        XCTAssertEqual(optimizer.paramGroups.first?["lr"]?.doubleValue, 0.1)
        let stateless = names.indices.filter { optimizer.state[$0] == nil }.map { names[$0] }
        XCTAssertEqual(stateless, (0..<4).map { "seg_outputs.\($0).weight" })
        for (i, name) in names.enumerated() where optimizer.state[i] != nil {
            XCTAssertEqual(optimizer.tensor("momentum_buffer", position: i)?.shape, checkpoint.stateDict[name]?.shape, name)
        }
        // The checkpoint one step later (for step-for-step training tests) reads alike.
        let after = try TorchReader.read(Self.reference("nnunet_tiny.step.model"))
        XCTAssertEqual(after.stateDict.names, names)
        XCTAssertEqual(after.optimizer.map { opt in names.indices.filter { opt.state[$0] == nil } }, [93, 94, 95, 96])
        XCTAssertNotEqual(after.stateDict["seg_outputs.4.weight"], checkpoint.stateDict["seg_outputs.4.weight"])
        XCTAssertEqual(after.stateDict["seg_outputs.0.weight"], checkpoint.stateDict["seg_outputs.0.weight"])
    }

    /// The official configuration (base 32, cap 320, 2 labels): the tensors the issue lists.
    func testOfficialConfiguration() {
        let net = NetworkDescription.nnunetGenesis()
        let shapes = Dictionary(uniqueKeysWithValues: net.parameters.map { ($0.name, $0.shape) })
        XCTAssertEqual(net.parameters.count, 98)
        XCTAssertEqual(net.parameters.first?.name, "conv_blocks_localization.0.0.blocks.0.conv.weight")
        XCTAssertEqual(shapes["conv_blocks_context.0.blocks.0.conv.weight"], [32, 1, 3, 3, 3])
        XCTAssertEqual(shapes["conv_blocks_context.4.blocks.0.conv.weight"], [320, 256, 3, 3, 3])
        XCTAssertEqual(shapes["conv_blocks_context.5.0.blocks.0.conv.weight"], [320, 320, 3, 3, 3])
        XCTAssertEqual(shapes["conv_blocks_context.5.1.blocks.0.instnorm.bias"], [320])
        XCTAssertEqual(shapes["tu.0.weight"], [320, 320, 1, 2, 2])
        XCTAssertEqual(shapes["tu.1.weight"], [320, 256, 2, 2, 2])
        XCTAssertEqual(shapes["tu.4.weight"], [64, 32, 2, 2, 2])
        XCTAssertEqual(shapes["conv_blocks_localization.0.0.blocks.0.conv.weight"], [320, 640, 3, 3, 3])
        XCTAssertEqual(shapes["conv_blocks_localization.4.1.blocks.0.conv.weight"], [32, 32, 3, 3, 3])
        XCTAssertEqual(shapes["seg_outputs.4.weight"], [2, 32, 1, 1, 1])
        XCTAssertNil(shapes["tu.0.bias"])
        XCTAssertNil(shapes["seg_outputs.4.bias"])
        XCTAssertEqual(net.parameters.reduce(0) { $0 + $1.elementCount }, 30_785_184)
        XCTAssertEqual(net.spatialMultiples, [16, 32, 32])
        XCTAssertEqual(net.downsamplingSteps, 5)
        // The official 64 x 64 x 32 cube: bottleneck 4 x 2 x 1, logits at full size.
        let out = net.outputShapes(depth: 64, height: 64, width: 32)
        XCTAssertEqual(out[net.nodes.firstIndex { $0.name == "conv_blocks_context.5.1.blocks.0.lrelu" }!], [320, 4, 2, 1])
        XCTAssertEqual(out[net.outputs[0]], [2, 64, 64, 32])
    }

    /// Inputs must be multiples of 16 on D and 32 on H and W.
    func testInputSidesArePerAxisMultiples() throws {
        let store = DescribedNetworkTests.weights(Self.tiny, seed: 5)
        let network = try Network(Self.tiny, weights: store, options: NetworkOptions(bnEpsilon: 1e-5, bnArithmetic: .pytorch))
        XCTAssertThrowsError(try network.validate(FeatureMap(batch: 1, channels: 1, depth: 16, height: 16, width: 32))) { e in
            XCTAssertTrue("\(e)".contains("H = 16 must be a positive multiple of 32"), "\(e)")
        }
        XCTAssertNoThrow(try network.validate(FeatureMap(batch: 1, channels: 1, depth: 16, height: 32, width: 32)))
    }

    func testForwardMatchesPyTorchLogits() throws {
        let checkpoint = try TorchReader.read(Self.reference("nnunet_tiny.model"))
        let ref = try H5File.open(Self.reference("nnunet_tiny.reference.h5")).root()
        let x = try FeatureMap(ref.readFloat32("input"))
        let expected = try ref.readFloat32("logits")
        // Precise float64 GEMMs (the default below 2^26 multiply-adds) and the fast float32 paths.
        for (label, tuning) in [("default", ConvolutionTuning.default), ("fast paths", ConvolutionTuning())] {
            let options = NetworkOptions(bnEpsilon: 1e-5, bnArithmetic: .pytorch, tuning: tuning)
            let y = try Network(Self.tiny, weights: checkpoint.stateDict, options: options).forwardOutputs(x, bn: .batch, threads: 2)
            XCTAssertEqual(y.count, 1)
            XCTAssertEqual(y[0].shape, expected.shape)
            let error = maxAbsDifference(y[0].data, expected.floats())
            print("nnU-Net Genesis forward (\(label)): max abs deviation from PyTorch \(error)")
            // Design bound 2e-5 (issue 21). Measured 1.39e-5 (default: float64 GEMMs, the same
            // bits on every CPU) and 1.85e-5 (fast float32 paths). That is PyTorch's own rounding:
            // its float32 logits are 1.38e-5 from its float64 evaluation of the same network,
            // ours 2.7e-6 (default) and 2.0e-5 (fast paths) from it (logits up to 6.7).
            XCTAssertLessThanOrEqual(error, 2e-5, label)
        }
    }

    /// One step of the Genesis recipe (sigmoid on the logits, MSE against the cube repeated over
    /// the 2 classes): the loss and every parameter's gradient against PyTorch's; seg_outputs.0-3
    /// are not reached (PyTorch leaves their .grad None; here they are zero and listed).
    func testBackwardMatchesPyTorchGradients() throws {
        let checkpoint = try TorchReader.read(Self.reference("nnunet_tiny.model"))
        let ref = try H5File.open(Self.reference("nnunet_tiny.reference.h5")).root()
        let x = try FeatureMap(ref.readFloat32("input"))
        let cube = try ref.readFloat32("target").floats()
        let network = try Network(Self.tiny, weights: checkpoint.stateDict, options: NetworkOptions(bnEpsilon: 1e-5, bnArithmetic: .pytorch))
        let trace = ForwardTrace()
        let y = try network.forwardOutputs(x, bn: .batch, threads: 2, trace: trace)[0]
        let (n, c, voxels) = (y.batch, y.channels, y.spatialCount)
        var loss = 0.0
        var dY = y
        for s in 0..<n { for k in 0..<c { for v in 0..<voxels {
            let i = (s * c + k) * voxels + v
            let p = 1 / (1 + exp(-Double(y.data[i]))), t = Double(cube[s * voxels + v])
            loss += (p - t) * (p - t)
            dY.data[i] = Float(2 * (p - t) * p * (1 - p) / Double(y.data.count))
        } } }
        loss /= Double(y.data.count)
        let refLoss = Double(try ref.readFloat32("step/loss").floats()[0])
        XCTAssertEqual(loss, refLoss, accuracy: 1e-5 * refLoss)
        let g = try network.backward(trace: trace, outputGradients: [dY], threads: 2)
        XCTAssertEqual(g.unreached, (0..<4).map { "seg_outputs.\($0).weight" })
        let grads = try ref.group("step/gradients")
        XCTAssertEqual(Set(try grads.memberNames()), Set(Self.tiny.parameters.map(\.name)).subtracting(g.unreached))
        // Gradients: |ours - PyTorch's| over the larger of the tensor's largest PyTorch gradient
        // and 1e-6 of the network's largest (a floor for the bottleneck, whose 2x1x1-voxel
        // InstanceNorm planes leave its first convolution gradients of ~5e-9). Measured at most
        // 2.1e-5 (conv_blocks_context.5.0's InstanceNorm); tolerance 1e-4. A convolution bias
        // right before an InstanceNorm has gradient 0 (the norm removes any per-channel shift):
        // PyTorch's are rounding noise up to 1.2e-7 of the largest gradient, ours are held to
        // 1e-6 of it (measured 7e-9).
        var theirs: [String: [Float]] = [:]
        for name in try grads.memberNames() { theirs[name] = try grads.readFloat32(name).floats() }
        let largest = Double(theirs.values.flatMap { $0 }.map(abs).max() ?? 0)
        var worst = (0.0, "")
        for spec in Self.tiny.parameters {
            let ours = try XCTUnwrap(g.tensors[spec.name]?.floats(), spec.name)
            guard let t = theirs[spec.name] else {
                XCTAssertEqual(ours, [Float](repeating: 0, count: spec.elementCount), spec.name)
                continue
            }
            if spec.name.hasSuffix(".conv.bias") {
                XCTAssertLessThanOrEqual(Double(ours.map(abs).max() ?? 0), 1e-6 * largest, spec.name)
                continue
            }
            let scale = max(Double(t.map(abs).max() ?? 0), 1e-6 * largest)
            let e = Double(maxAbsDifference(ours, t)) / scale
            if e > worst.0 { worst = (e, spec.name) }
            XCTAssertLessThanOrEqual(e, 1e-4, spec.name)
        }
        print("nnU-Net Genesis step: loss \(loss) vs \(refLoss); worst gradient \(worst.0) of its largest entry (\(worst.1))")
    }
}
