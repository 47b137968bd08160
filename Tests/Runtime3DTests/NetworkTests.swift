import GenesisModel
import Runtime3D
import Tensors
import XCTest

/// The network's construction checks and the relations between variants, modes and batches.
final class NetworkTests: XCTestCase {
    private let tiny = Architecture(variant: .keras, baseFilters: 2, labels: 1)

    func testMissingTensorIsNamedWithItsShape() throws {
        var store = seededStore(tiny, seed: 1)
        store["down_tr128.ops.1.bn1.running_var"] = nil
        XCTAssertThrowsError(try GenesisNetwork(architecture: tiny, weights: store)) { e in
            XCTAssertEqual(e as? RuntimeError, .missingTensor(name: "down_tr128.ops.1.bn1.running_var", expectedShape: [8]))
        }
    }

    func testMisShapedTensorReportsExpectedAndFound() throws {
        var store = seededStore(tiny, seed: 1)
        store["up_tr64.ops.0.conv1.weight"] = Tensor(shape: [4, 11, 3, 3, 3], floats: [Float](repeating: 0, count: 4 * 11 * 27))
        XCTAssertThrowsError(try GenesisNetwork(architecture: tiny, weights: store)) { e in
            XCTAssertEqual(e as? RuntimeError, .shapeMismatch(name: "up_tr64.ops.0.conv1.weight", expected: [4, 12, 3, 3, 3], found: [4, 11, 3, 3, 3]))
        }
    }

    func testTorchVariantNeedsItsUpConvolutions() throws {
        let torch = Architecture(variant: .torch, baseFilters: 2, labels: 1)
        XCTAssertThrowsError(try GenesisNetwork(architecture: torch, weights: seededStore(tiny, seed: 1))) { e in
            XCTAssertEqual(e as? RuntimeError, .missingTensor(name: "up_tr256.up_conv.weight", expectedShape: [32, 32, 2, 2, 2]))
        }
    }

    func testSpatialSidesMustBeMultiplesOfEight() throws {
        let net = try GenesisNetwork(architecture: tiny, weights: seededStore(tiny, seed: 1))
        XCTAssertThrowsError(try net.forward(try randomMap([1, 1, 8, 12, 8], seed: 2), bn: .inference)) { e in
            XCTAssertEqual(e as? RuntimeError, .badInput(reason: "spatial side H = 12 must be a positive multiple of 8 (three 2x poolings); shape [1, 1, 8, 12, 8]"))
        }
        XCTAssertThrowsError(try net.forward(try randomMap([1, 2, 8, 8, 8], seed: 2), bn: .inference))
        XCTAssertThrowsError(try net.forward([Float](repeating: 0, count: 512), shape: [1, 8, 8, 8], bn: .inference))
    }

    /// schemas/genesis-architecture.md: the torch variant with identity up-convolutions (zero bias) is the keras
    /// variant. Same convolutions on bit-identical upsampled inputs: equal outputs (tolerance 0).
    func testTorchWithIdentityUpConvolutionsEqualsKeras() throws {
        let kerasStore = seededStore(tiny, seed: 3)
        let torchArch = Architecture(variant: .torch, baseFilters: 2, labels: 1)
        var torchStore = kerasStore
        for (u, c) in torchArch.upsamplerChannels.enumerated() {
            let id = ConvTranspose3D.identity(channels: c)
            torchStore[Layout.upsamplerModules[u] + ".weight"] = Tensor(shape: [c, c, 2, 2, 2], floats: id.weight)
            torchStore[Layout.upsamplerModules[u] + ".bias"] = Tensor(shape: [c], floats: id.bias)
        }
        let x = try randomMap([2, 1, 8, 16, 8], seed: 4)
        let keras = try GenesisNetwork(architecture: tiny, weights: kerasStore, bnEpsilon: 1e-3)
        // The same network: Keras's epsilon and BatchNorm rounding on both sides.
        let torch = try GenesisNetwork(architecture: torchArch, weights: torchStore, bnEpsilon: 1e-3, bnArithmetic: .tensorflow)
        for mode in BatchNormMode.allCases {
            let diff = maxAbsDifference(try keras.forward(x, bn: mode).data, try torch.forward(x, bn: mode).data)
            XCTAssertEqual(diff, 0, "\(mode)")
        }
    }

    /// Inference mode treats samples independently: a batch of two equals each sample alone.
    /// Tolerance 1e-6: the GEMM tiles differ with the batch (OpenBLAS may then sum in another
    /// order), so last-bit differences are allowed; the outputs are sigmoids near 0.45.
    func testInferenceModeIsPerSample() throws {
        let net = try GenesisNetwork(architecture: tiny, weights: seededStore(tiny, seed: 5))
        let x = try randomMap([2, 1, 8, 8, 16], seed: 6)
        let both = try net.forward(x, bn: .inference, threads: 2)
        let half = x.data.count / 2
        let first = try net.forward(FeatureMap(shape: [1, 1, 8, 8, 16], data: Array(x.data[..<half])), bn: .inference, threads: 2)
        let second = try net.forward(FeatureMap(shape: [1, 1, 8, 8, 16], data: Array(x.data[half...])), bn: .inference, threads: 2)
        XCTAssertLessThanOrEqual(maxAbsDifference(both.data, first.data + second.data), 1e-6)
    }

    /// Several labels: softmax over channels, so every voxel's outputs sum to 1 (tolerance
    /// 1e-6, float32 rounding of a 3-term sum) and lie in [0, 1].
    func testMultiLabelOutputIsSoftmaxOverChannels() throws {
        let arch = Architecture(variant: .torch, baseFilters: 1, labels: 3)
        let net = try GenesisNetwork(architecture: arch, weights: seededStore(arch, seed: 7))
        let y = try net.forward(try randomMap([1, 1, 8, 8, 8], seed: 8), bn: .batch)
        XCTAssertEqual(y.shape, [1, 3, 8, 8, 8])
        for v in 0..<512 {
            let s = y.data[v] + y.data[512 + v] + y.data[1024 + v]
            XCTAssertEqual(s, 1, accuracy: 1e-6)
        }
        XCTAssertTrue(y.data.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// The per-layer hook sees every step once, in order, and the FLOPs cover the whole batch:
    /// they add up to `Architecture.forwardFLOPs` (one sample) times N, for N = 1, 2 and 3 and
    /// both variants (exact: the same products of small integers, in Double).
    func testLayerTimingsCoverTheNetworkAndTheBatch() throws {
        for variant in [Variant.torch, .keras] {
            let arch = Architecture(variant: variant, baseFilters: 2, labels: 1)
            let net = try GenesisNetwork(architecture: arch, weights: seededStore(arch, seed: 9))
            for n in 1...3 {
                var steps: [LayerTiming] = []
                _ = try net.forward(try randomMap([n, 1, 16, 8, 8], seed: 10), bn: .inference, onLayer: { steps.append($0) })
                XCTAssertEqual(steps.count, 14 * 2 + 3 + (variant == .torch ? 3 : 0) + 1 + 1)
                XCTAssertEqual(steps.first?.name, "down_tr64.ops.0.conv1")
                XCTAssertEqual(steps.last?.name, "sigmoid")
                XCTAssertEqual(steps.first?.shape, [n, 2, 16, 8, 8])
                XCTAssertEqual(steps.reduce(0) { $0 + $1.flops }, arch.forwardFLOPs(depth: 16, height: 8, width: 8) * Double(n), "\(variant) N = \(n)")
            }
        }
    }

    /// A trace keeps, per block, the pre-BN convolution output and the statistics BN used:
    /// re-applying BN + ReLU by hand to the kept output reproduces the kept block output
    /// (same arithmetic: tolerance 1e-6), and the traced run's output equals an untraced run's.
    func testTraceKeepsWhatBackwardNeeds() throws {
        let arch = Architecture(variant: .torch, baseFilters: 2, labels: 1)
        let net = try GenesisNetwork(architecture: arch, weights: seededStore(arch, seed: 11))
        let x = try randomMap([2, 1, 8, 8, 16], seed: 12)
        let trace = ForwardTrace()
        let y = try net.forward(x, bn: .batch, trace: trace)
        XCTAssertEqual(y.data, try net.forward(x, bn: .batch).data)
        XCTAssertEqual(trace.convOutputs.count, 14)
        XCTAssertEqual(trace.statistics.count, 14)
        XCTAssertEqual(trace.blockOutputs.count, 14)
        XCTAssertEqual(trace.upsampled.map(\.shape), [[2, 32, 2, 2, 4], [2, 16, 4, 4, 8], [2, 8, 8, 8, 16]])
        XCTAssertEqual(trace.blockInputs[8].map(\.shape), [[2, 32, 2, 2, 4], [2, 16, 2, 2, 4]])
        XCTAssertEqual(trace.output?.data, y.data)
        for i in [0, 5, 13] {
            let bn = net.batchNorms[i]
            let stats = trace.statistics[i]
            // Independent reference: mean and biased variance per channel in Double, one pass
            // over every (sample, voxel). Tolerance: float32 rounding of the values (relative
            // 1e-6 of the mean square, plus 1e-7 absolute).
            let map = trace.convOutputs[i]
            XCTAssertEqual(stats.count, map.batch * map.spatialCount)
            for ch in 0..<map.channels {
                var sum = 0.0, sumSquares = 0.0
                for n in 0..<map.batch {
                    for v in 0..<map.spatialCount {
                        let x = Double(map.data[(n * map.channels + ch) * map.spatialCount + v])
                        sum += x
                        sumSquares += x * x
                    }
                }
                let count = Double(stats.count)
                let mean = sum / count, variance = sumSquares / count - mean * mean
                let scale = 1e-6 * (sumSquares / count) + 1e-7
                XCTAssertEqual(Double(stats.mean[ch]), mean, accuracy: scale, "block \(i) channel \(ch) mean")
                XCTAssertEqual(Double(stats.variance[ch]), variance, accuracy: scale, "block \(i) channel \(ch) variance")
            }
            let c = stats.mean.count, s = trace.convOutputs[i].spatialCount
            var expected = trace.convOutputs[i].data
            for j in expected.indices {
                let ch = (j / s) % c
                let scale = bn.gamma[ch] / (stats.variance[ch] + bn.epsilon).squareRoot()
                expected[j] = max(0, expected[j] * scale + (bn.beta[ch] - stats.mean[ch] * scale))
            }
            XCTAssertLessThanOrEqual(maxAbsDifference(expected, trace.blockOutputs[i].data), 1e-6, "block \(i)")
        }
    }
}
