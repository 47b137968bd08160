import GenesisModel
import Runtime3D
import Tensors
import XCTest

/// The network's backward against central differences of an independent float64 network
/// (`ReferenceNetwork`), tiny (base 1), cube 16x8x8 (the bottom level 2x1x1, so batch-mode BN
/// there averages 4 values), batch 2, loss sum(r * y) with seeded r. h = 1e-8 in Double: in
/// batch mode a parameter moves every downstream pre-activation, and with h = 1e-6 some of the
/// ~10^4 ReLU kinks were crossed (measured errors up to 6e-3); at 1e-8 none are, and the
/// rounding of the float64 loss (~1e-15) stays ~1e-7 of the differences.
///
/// Checked: for every trainable tensor a seeded random direction v (d/dt L(theta + t v)
/// against <gradient, v>, which involves every entry of the tensor); in the torch test also
/// every gamma and beta entry of three blocks and single weight entries (see below). Batch
/// mode's conv biases have gradient 0 (the BN removes the batch mean): checked as such.
///
/// Tolerance 2e-4 relative (to sum |g v| for a direction, to the tensor's largest entry for an
/// entry). Measured: inference mode 1.6e-7; batch mode up to 9.5e-5 (direction) and 5.9e-5
/// (entry): float32 cancellation in BN's dx = k (dz - mean dz - x^ mean(dz x^)) where a channel
/// averages only 4 values (the 2x1x1 bottom level of a batch of 2). Zero conv-bias gradients:
/// at most 2.5e-5 of the block's largest beta gradient; bound 1e-4.
final class NetworkBackwardTests: XCTestCase {
    private func check(_ variant: Variant, mode: BatchNormMode, tuning: ConvolutionTuning, seed: UInt64,
                       entrywise: Bool) throws {
        let arch = Architecture(variant: variant, baseFilters: 1, labels: 1)
        let store = seededStore(arch, seed: seed)
        let eps = Double(variant.defaultBNEpsilon)
        let net = try GenesisNetwork(architecture: arch, weights: store, tuning: tuning)
        let reference = ReferenceNetwork(architecture: arch, store: store, epsilon: eps)
        let x = try randomMap([2, 1, 16, 8, 8], seed: seed + 1)
        let trace = ForwardTrace()
        let y = try net.forward(x, bn: mode, threads: 2, trace: trace)
        let grid = Grid(x)
        let expected = reference.forward(grid, mode: mode)
        let forwardError = maxAbsDifference(y.data, expected.data.map(Float.init))
        XCTAssertLessThanOrEqual(forwardError, 1e-5, "forward \(variant) \(mode)")
        var r = SeededValues(seed: seed + 2)
        let rf = r.array(y.data.count)
        let rd = rf.map(Double.init)
        let g = try net.backward(trace: trace, outputGradient: FeatureMap(shape: y.shape, data: rf), threads: 2)
        XCTAssertEqual(g.tensors.names, arch.tensors.filter { $0.role.isTrainable }.map(\.name))
        XCTAssertEqual(g.statistics, trace.statistics)

        func loss(_ name: String, _ values: [Double]) -> Double {
            var n = reference
            n.parameters[name] = values
            return Reference.dot(n.forward(grid, mode: mode), rd)
        }
        let h = 1e-8
        var worstEntry = 0.0, worstDirection = 0.0, worstZero = 0.0
        for spec in arch.tensors where spec.role.isTrainable {
            let theta = reference.parameters[spec.name]!
            let ours = g.tensors[spec.name]!.floats().map(Double.init)
            if mode == .batch, spec.role == .convBias, let block = spec.block, block < 14 {
                // Batch-mode BN subtracts the batch mean: the bias before it has no effect and
                // its gradient is 0 up to float32 rounding of sum(dx), which we bound by the
                // block's beta gradient (the sum of the same dz before normalisation).
                let beta = g.tensors[Layout.blockModules[block] + ".bn1.bias"]!.floats().map { abs(Double($0)) }.max()!
                let ratio = (ours.map(abs).max() ?? 0) / max(beta, 1e-12)
                worstZero = max(worstZero, ratio)
                XCTAssertLessThanOrEqual(ratio, 1e-4, "\(variant) \(mode) \(spec.name): \(ours) should be 0")
                continue
            }
            // A random direction over the whole tensor.
            var vr = SeededValues(seed: spec.name.utf8.reduce(seed + 3) { $0 &* 31 &+ UInt64($1) })
            let v = (0..<theta.count).map { _ in Double(vr.next()) }
            let plus = zip(theta, v).map { $0 + h * $1 }, minus = zip(theta, v).map { $0 - h * $1 }
            let fd = (loss(spec.name, plus) - loss(spec.name, minus)) / (2 * h)
            let dot = zip(ours, v).reduce(0) { $0 + $1.0 * $1.1 }
            let scale = zip(ours, v).reduce(0) { $0 + abs($1.0 * $1.1) } + 1e-12
            let e = abs(fd - dot) / scale
            worstDirection = max(worstDirection, e)
            XCTAssertLessThanOrEqual(e, 2e-4, "\(variant) \(mode) \(spec.name) direction: fd \(fd) ours \(dot)")
            // Entry by entry: every gamma and beta of the first block, the bottom block and the
            // last (a third of all BN channels at base 1), and the first entry of the weights
            // of blocks 0, 8 (the decoder's concatenation), 13, the last up-convolution and the
            // final convolution (debug-build time: each difference is two float64 passes).
            guard entrywise else { continue }
            let block = spec.block ?? -1
            let indices: [Int]
            if (spec.role == .bnGamma || spec.role == .bnBeta) && [0, 7, 13].contains(block) {
                indices = Array(theta.indices)
            } else if spec.role == .upWeight && spec.upsampler == 2 || spec.role == .convWeight && [0, 8, 13, 14].contains(block) {
                indices = [0]
            } else {
                indices = []
            }
            let tensorScale = max(ours.map(abs).max() ?? 0, 1e-12)
            for i in indices {
                let fdi = Reference.centralDifference(theta, i, h: h) { loss(spec.name, $0) }
                let ei = abs(fdi - ours[i]) / tensorScale
                worstEntry = max(worstEntry, ei)
                XCTAssertLessThanOrEqual(ei, 2e-4, "\(variant) \(mode) \(spec.name)[\(i)]: fd \(fdi) ours \(ours[i])")
            }
        }
        print("network backward \(variant) \(mode): forward error \(forwardError), worst direction \(worstDirection), worst entry \(worstEntry), worst zero-gradient ratio \(worstZero)")
    }

    func testTorchBatchModeEntrywise() throws {
        try check(.torch, mode: .batch, tuning: .default, seed: 700, entrywise: true)
    }

    /// Keras variant (the upsampled part read through the convolution), Winograd thresholds
    /// lowered so the backward's flipped convolutions run 2-D Winograd too.
    func testKerasBatchModeWinograd() throws {
        try check(.keras, mode: .batch, tuning: ConvolutionTuning(winograd2DMinChannels: 1, winograd2DMinTiles: 1), seed: 710, entrywise: false)
    }

    /// Inference mode: BatchNorm is an affine map, its statistics constants.
    func testKerasInferenceMode() throws {
        try check(.keras, mode: .inference, tuning: .default, seed: 720, entrywise: false)
    }

    /// Several labels: softmax backward at the top.
    func testTorchSoftmaxHead() throws {
        let arch = Architecture(variant: .torch, baseFilters: 1, labels: 3)
        let net = try GenesisNetwork(architecture: arch, weights: seededStore(arch, seed: 730))
        let x = try randomMap([1, 1, 8, 8, 8], seed: 731)
        let trace = ForwardTrace()
        let y = try net.forward(x, bn: .batch, threads: 2, trace: trace)
        let reference = ReferenceNetwork(architecture: arch, store: seededStore(arch, seed: 730), epsilon: 1e-5)
        var r = SeededValues(seed: 732)
        let rf = r.array(y.data.count)
        let g = try net.backward(trace: trace, outputGradient: FeatureMap(shape: y.shape, data: rf), threads: 2)
        let name = Layout.finalModule + ".bias"
        let theta = reference.parameters[name]!
        for i in theta.indices {
            let fd = Reference.centralDifference(theta, i, h: 1e-6) { v in
                var n = reference
                n.parameters[name] = v
                return Reference.dot(n.forward(Grid(x), mode: .batch), rf.map(Double.init))
            }
            XCTAssertEqual(Double(g.tensors[name]!.floats()[i]), fd, accuracy: 1e-4 * max(1, abs(fd)), "final bias \(i)")
        }
    }

    func testIncompleteTraceIsRefused() throws {
        let arch = Architecture(variant: .keras, baseFilters: 1, labels: 1)
        let net = try GenesisNetwork(architecture: arch, weights: seededStore(arch, seed: 740))
        XCTAssertThrowsError(try net.backward(trace: ForwardTrace(), outputGradient: randomMap([1, 1, 8, 8, 8], seed: 741)))
    }
}
