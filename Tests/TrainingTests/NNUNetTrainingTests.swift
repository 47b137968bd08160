import Foundation
import GenesisIO
import GenesisModel
import HDF5
import Runtime3D
import Tensors
import TestSupport
import Training
import XCTest

/// nnU-Net Genesis trained as its recipe does (schemas/nnunet-genesis.md), against the real
/// nnU-Net code (Tests/References/nnunet, scripts/make_nnunet_fixtures.py): one pretraining step
/// from `nnunet_tiny.model` (sigmoid on the logits, MSE against the cube repeated over the 2
/// classes, the file's SGD state) against `nnunet_tiny.step.model`; `DC_and_CE_loss` against
/// nnU-Net v1's on `dc_and_ce.h5`; SGD with Nesterov momentum and the poly schedule against
/// torch.optim.SGD on `sgd_nesterov.h5`.
final class NNUNetTrainingTests: XCTestCase {
    static func reference(_ name: String) -> String { Fixtures.repoRoot + "/Tests/References/nnunet/" + name }

    /// A trainer continuing `nnunet_tiny.model` as `genesis pretrain --init` does.
    static func pretrainer() throws -> (trainer: Trainer, loaded: LoadedModel) {
        let loaded = try ModelLoader.load(reference("nnunet_tiny.model"))
        let net = try loaded.networkArchitecture()
        let optimizer = try XCTUnwrap(loaded.optimizer.flatMap(Optimizer.init(state:)), "the file's SGD state")
        let trainer = Trainer(network: net, pretraining: true, loss: .mse, weights: loaded.mapped.store, optimizer: optimizer, threads: 2)
        return (trainer, loaded)
    }

    static func referenceBatch() throws -> (input: FeatureMap, target: FeatureMap, loss: Double) {
        let ref = try H5File.open(reference("nnunet_tiny.reference.h5")).root()
        return (try FeatureMap(ref.readFloat32("input")), try FeatureMap(ref.readFloat32("target")),
                Double(try ref.readFloat32("step/loss").floats()[0]))
    }

    func testPretrainStepMatchesPyTorch() throws {
        var (trainer, loaded) = try Self.pretrainer()
        XCTAssertEqual(trainer.optimizer.kind, .sgd)
        XCTAssertEqual(trainer.optimizer.convention, .torch)
        XCTAssertEqual(trainer.optimizer.learningRate, 0.1, accuracy: 1e-12)
        XCTAssertEqual(trainer.optimizer.momentum, 0.9, accuracy: 1e-12)
        XCTAssertFalse(trainer.optimizer.nesterov)
        XCTAssertTrue(trainer.repeatsTarget)
        XCTAssertEqual(trainer.graph.nodes.last?.operation, .sigmoid)
        let unbuffered = (0..<4).map { "seg_outputs.\($0).weight" }
        for name in unbuffered { XCTAssertNil(trainer.optimizer.slots[name], name) }
        let before = loaded.mapped.store
        let batch = try Self.referenceBatch()
        let r = try trainer.step(input: batch.input, target: batch.target)
        print("nnU-Net pretrain step: loss \(r.loss) vs PyTorch \(batch.loss), relative \(abs(r.loss - batch.loss) / batch.loss)")
        XCTAssertEqual(r.loss, batch.loss, accuracy: 1e-5 * batch.loss)

        let after = try ModelLoader.load(Self.reference("nnunet_tiny.step.model"))
        let expectedSlots = try XCTUnwrap(after.optimizer)
        var worst = (0.0, "")
        var buffers: [(name: String, ours: [Float], theirs: [Float])] = []
        for p in trainer.source.network.parameters {
            let ours = try XCTUnwrap(trainer.weights[p.name]?.floats(), p.name)
            let theirs = try XCTUnwrap(after.mapped.store[p.name]?.floats(), p.name)
            let start = try XCTUnwrap(before[p.name]?.floats(), p.name)
            if unbuffered.contains(p.name) {
                // No gradient in PyTorch: not updated, no momentum buffer made.
                XCTAssertEqual(ours, start, p.name)
                XCTAssertNil(trainer.optimizer.slots[p.name], p.name)
                XCTAssertNil(expectedSlots.slots[p.name], p.name)
                continue
            }
            // |ours - PyTorch's| / (1e-5 + 1e-3 |PyTorch's update|): the DESIGN tolerance of
            // ReferenceStepTests (schemas/numerics.md).
            for i in ours.indices {
                let use = Double(abs(ours[i] - theirs[i])) / (1e-5 + 1e-3 * Double(abs(theirs[i] - start[i])))
                if use > worst.0 { worst = (use, p.name) }
            }
            let buffer = try XCTUnwrap(trainer.optimizer.slots[p.name]?["momentum"], p.name)
            buffers.append((p.name, buffer, try XCTUnwrap(expectedSlots.slots[p.name]?["momentum"]?.floats(), p.name)))
        }
        print("nnU-Net pretrain step: worst |ours - PyTorch| / (1e-5 + 1e-3 |update|) = \(worst.0) (\(worst.1))")
        XCTAssertLessThanOrEqual(worst.0, 1, worst.1)
        // Momentum buffers: |ours - PyTorch's| over the larger of the tensor's largest buffer
        // entry and 1e-3 of the network's (a floor for the convolution biases before an
        // InstanceNorm, whose gradients are rounding noise, 0 analytically). Measured in
        // schemas/numerics.md; tolerance 1e-3.
        let largest = Double(buffers.flatMap { $0.theirs }.map(abs).max() ?? 0)
        var worstBuffer = (0.0, "")
        for b in buffers {
            let scale = max(Double(b.theirs.map(abs).max() ?? 0), 1e-3 * largest)
            let e = Double(maxAbsDifference(b.ours, b.theirs)) / scale
            if e > worstBuffer.0 { worstBuffer = (e, b.name) }
            XCTAssertLessThanOrEqual(e, 1e-3, "momentum of \(b.name)")
        }
        print("nnU-Net pretrain step: worst momentum buffer deviation \(worstBuffer.0) of its scale (\(worstBuffer.1))")
    }

    func testDiceAndCrossEntropyMatchesNNUNet() throws {
        let file = try H5File.open(Self.reference("dc_and_ce.h5")).root()
        for c in [2, 3] {
            let logits = try FeatureMap(file.readFloat32("c\(c)/logits"))
            let labels = try file.readFloat32("c\(c)/target").floats()
            var p = logits
            Activations.softmaxChannels(&p)
            let s = logits.spatialCount
            var y = [Float](repeating: 0, count: p.data.count)
            for b in 0..<logits.batch { for v in 0..<s { y[(b * c + Int(labels[b * s + v])) * s + v] = 1 } }
            for batchDice in [true, false] {
                let g = "c\(c)/batch_dice_\(batchDice)"
                let expected = Double(try file.readFloat32(g + "/loss").floats()[0])
                let value = batchDice ? Loss.dcAndCE.evaluate(p.data, y, channels: c, batch: logits.batch)
                    : Loss.diceAndCrossEntropy(p.data, y, channels: c, batch: logits.batch, batchDice: false)
                let dP = try FeatureMap(shape: p.shape, data: value.gradient)
                let dLogits = try Activations.softmaxChannelsBackward(output: p, outputGradient: dP).data
                let theirs = try file.readFloat32(g + "/gradient").floats()
                let scale = Double(theirs.map(abs).max() ?? 1)
                let e = Double(maxAbsDifference(dLogits, theirs)) / scale
                print("DC_and_CE C=\(c) batch Dice \(batchDice): loss \(value.loss) vs \(expected); gradient \(e) of its largest")
                XCTAssertEqual(value.loss, expected, accuracy: 1e-6 * max(1, abs(expected)), g)
                XCTAssertLessThanOrEqual(e, 1e-5, g)
            }
        }
    }

    /// By central differences on a small case: dL/dp of the Dice + CE loss.
    func testDiceAndCrossEntropyGradientByCentralDifferences() {
        let c = 3, n = 2, s = 4
        var g = SeededGenerator(seed: 11)
        var p = [Float](repeating: 0, count: n * c * s), y = p
        for b in 0..<n { for v in 0..<s {
            var sum: Float = 0
            for k in 0..<c { let x = Float(g.next() % 1000 + 1) / 1000; p[(b * c + k) * s + v] = x; sum += x }
            for k in 0..<c { p[(b * c + k) * s + v] /= sum }
            y[(b * c + Int(g.next() % UInt64(c))) * s + v] = 1
        } }
        for batchDice in [true, false] {
            let value = Loss.diceAndCrossEntropy(p, y, channels: c, batch: n, batchDice: batchDice)
            for i in p.indices {
                var up = p, down = p
                up[i] += 1e-3; down[i] -= 1e-3
                let numeric = (Loss.diceAndCrossEntropy(up, y, channels: c, batch: n, batchDice: batchDice).loss
                    - Loss.diceAndCrossEntropy(down, y, channels: c, batch: n, batchDice: batchDice).loss) / 2e-3
                XCTAssertEqual(Double(value.gradient[i]), numeric, accuracy: 1e-3 * max(1, abs(numeric)), "\(i) batch Dice \(batchDice)")
            }
        }
    }

    /// torch.optim.SGD(lr 1e-2, momentum 0.99, Nesterov, weight decay 3e-5) with the poly rule
    /// setting each step's lr (one step per epoch, 10 epochs): weights and momentum buffers of
    /// 4 steps against PyTorch's (sgd_nesterov.h5). Measured in schemas/numerics.md.
    func testNesterovSGDAndPolyScheduleMatchTorch() throws {
        let f = try H5File.open(Self.reference("sgd_nesterov.h5")).root()
        let w0 = try f.readFloat32("w0").floats()
        let grads = try f.readFloat32("gradients").floats(), weights = try f.readFloat32("weights").floats()
        let buffers = try f.readFloat32("momentum_buffers").floats()
        let lrs = try f.readFloat32("lrs").floats().map(Double.init)   // float64 in the file, read as float32
        let recipe = TrainingRecipe.nnunetGenesis
        let defaults = try XCTUnwrap(recipe.finetuneOptimizer)
        var o = Optimizer(kind: .sgd, convention: .torch, learningRate: defaults.learningRate, momentum: defaults.momentum,
                          nesterov: defaults.nesterov, weightDecay: defaults.weightDecay)
        var schedule = ScheduleState(baseLearningRate: defaults.learningRate)
        var w = w0
        let n = w0.count
        var worst = 0.0
        for k in 0..<4 {
            XCTAssertEqual(o.learningRate, lrs[k], accuracy: 1e-9, "lr of step \(k)")
            o.update("w", weights: &w, gradient: Array(grads[(k * n)..<((k + 1) * n)]))
            o.finishStep()
            let expected = Array(weights[(k * n)..<((k + 1) * n)]), buffer = Array(buffers[(k * n)..<((k + 1) * n)])
            worst = max(worst, Double(maxAbsDifference(w, expected)))
            XCTAssertLessThanOrEqual(maxAbsDifference(w, expected), 1e-6, "weights after step \(k)")
            XCTAssertLessThanOrEqual(maxAbsDifference(o.slots["w"]!["momentum"]!, buffer), 1e-6, "buffer after step \(k)")
            _ = schedule.endEpoch(loss: nil, schedule: .poly(exponent: 0.9, maxEpochs: 10))
            o.learningRate = schedule.learningRate
        }
        print("Nesterov SGD: worst |w - torch| over 4 steps \(worst)")
    }

    /// Nesterov by hand (PyTorch): g' = g + wd w; buf = g' on the first step, then mu buf + g';
    /// w -= lr (g' + mu buf).
    func testNesterovByHand() {
        var o = Optimizer(kind: .sgd, convention: .torch, learningRate: 0.1, momentum: 0.5, nesterov: true, weightDecay: 0.1)
        var w: [Float] = [1]
        // Step 1: g' = 0.5 + 0.1 = 0.6, buf = 0.6, w = 1 - 0.1 (0.6 + 0.3) = 0.91.
        o.update("w", weights: &w, gradient: [0.5]); o.finishStep()
        XCTAssertEqual(w[0], 0.91, accuracy: 1e-7)
        XCTAssertEqual(o.slots["w"]!["momentum"]![0], 0.6, accuracy: 1e-7)
        // Step 2: g' = 0.5 + 0.091 = 0.591, buf = 0.3 + 0.591 = 0.891, w = 0.91 - 0.1 (0.591 + 0.4455) = 0.80635.
        o.update("w", weights: &w, gradient: [0.5]); o.finishStep()
        XCTAssertEqual(o.slots["w"]!["momentum"]![0], 0.891, accuracy: 1e-6)
        XCTAssertEqual(w[0], 0.80635, accuracy: 1e-6)
    }

    func testPolySchedule() {
        var s = ScheduleState(baseLearningRate: 1e-2)
        let lrs = (0..<4).map { _ in s.endEpoch(loss: nil, schedule: .poly(exponent: 0.9, maxEpochs: 4)) }
        for (e, lr) in lrs.enumerated() { XCTAssertEqual(lr, 1e-2 * pow(1 - Double(e + 1) / 4, 0.9), accuracy: 1e-15) }
        XCTAssertEqual(lrs.last, 0)
    }
}

private func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
