import Foundation
import GenesisModel
import Tensors

/// How the decoder doubles resolution.
public enum Upsampler: Sendable {
    /// Keras `UpSampling3D(2)`.
    case nearest
    /// PyTorch `ConvTranspose3d(C, C, 2, stride 2)`.
    case transposed(ConvTranspose3D)
}

extension BatchNormArithmetic {
    /// The arithmetic of the framework a variant comes from (keras: TensorFlow's, torch: PyTorch's).
    public init(_ variant: Variant) { self = variant == .keras ? .tensorflow : .pytorch }
}

/// One timed step of a forward pass, for benchmarks.
public struct LayerTiming: Sendable {
    /// Canonical module path (`down_tr64.ops.1.conv1`) or op name (`maxpool 0`).
    public let name: String
    public let seconds: Double
    /// Multiply-adds x 2 over the whole batch (every sample; 0 for ops without weights): the
    /// steps of one call add up to `Architecture.forwardFLOPs(...)` times the batch size.
    public let flops: Double
    /// Output shape.
    public let shape: [Int]
}

/// The Genesis 3D U-Net (schemas/genesis-architecture.md) with weights, ready to run forward.
///
/// Built from an `Architecture` and a `TensorStore` in canonical names and layouts; never
/// opens a file. The blocks are kept as separate ops (Conv3D, BatchNorm, ...) so that the
/// training pass can keep each block's convolution output and BN statistics and run the ops'
/// backward in reverse order.
public struct GenesisNetwork: Sendable {
    public let architecture: Architecture
    public let bnEpsilon: Float
    /// The 14 blocks' convolutions and batch norms, in order (depth_0 ... depth_13).
    public let convolutions: [Conv3D]
    public let batchNorms: [BatchNorm]
    /// The three decoder upsamplers (decoder order).
    public let upsamplers: [Upsampler]
    public let finalConvolution: Conv3D

    /// Checks and takes every tensor the architecture needs (extra tensors are ignored;
    /// `num_batches_tracked` is not needed). `bnEpsilon` defaults to the variant's framework
    /// (keras 1e-3, torch 1e-5). `algorithm` picks the 3x3x3 convolution method: the Winograd
    /// default prepares transformed filters (4x the weights' memory, worth it on full-size
    /// cubes); `.im2col` runs straight from the weights (cheaper for one small proof cube).
    /// `tuning` sets the convolutions' tiling (benchmarks and tests; the default is measured).
    /// `bnReducer` (data-parallel `--sync-bn`) gives every BatchNorm the whole batch's statistics.
    /// `bnArithmetic` defaults to the variant's framework (keras: TensorFlow's, torch: PyTorch's).
    public init(architecture: Architecture, weights: TensorStore, bnEpsilon: Float? = nil,
                algorithm: Conv3D.Algorithm = Conv3D.defaultAlgorithm, tuning: ConvolutionTuning = .default,
                bnReducer: (any BatchNormReducer)? = nil, bnArithmetic: BatchNormArithmetic? = nil) throws {
        let w = NetworkWeights(architecture: architecture, store: weights, algorithm: algorithm, tuning: tuning)
        self.architecture = architecture
        let eps = bnEpsilon ?? architecture.variant.defaultBNEpsilon
        self.bnEpsilon = eps
        convolutions = try architecture.blocks.map { try w.conv($0, module: Layout.blockModules[$0.index] + ".conv1") }
        batchNorms = try (0..<14).map {
            var bn = try w.batchNorm(block: $0, epsilon: eps)
            bn.reducer = bnReducer
            bn.arithmetic = bnArithmetic ?? BatchNormArithmetic(architecture.variant)
            return bn
        }
        switch architecture.variant {
        case .keras: upsamplers = [.nearest, .nearest, .nearest]
        case .torch: upsamplers = try (0..<3).map { .transposed(try w.upConv($0)) }
        }
        finalConvolution = try w.conv(architecture.finalConv, module: Layout.finalModule)
    }

    /// Checks an input: (N, 1, D, H, W), N >= 1, every spatial side a positive multiple of 8.
    public func validate(_ x: FeatureMap) throws {
        guard x.channels == 1 else { throw RuntimeError.badInput(reason: "expected 1 channel (N,1,D,H,W), found shape \(x.shape)") }
        guard x.batch >= 1 else { throw RuntimeError.badInput(reason: "empty batch: shape \(x.shape)") }
        for (axis, side) in [("D", x.depth), ("H", x.height), ("W", x.width)] where side < 8 || side % 8 != 0 {
            throw RuntimeError.badInput(reason: "spatial side \(axis) = \(side) must be a positive multiple of 8 (three 2x poolings); shape \(x.shape)")
        }
    }

    /// The network's output: sigmoid for one label (official), softmax over channels for more.
    /// `onLayer` receives each step's wall time and FLOPs (for the whole batch) as it
    /// completes; `trace` (for training) keeps
    /// what the backward pass needs.
    public func forward(_ x: FeatureMap, bn: BatchNormMode, threads: Int = Parallel.defaultThreads,
                        trace: ForwardTrace? = nil, onLayer: ((LayerTiming) -> Void)? = nil) throws -> FeatureMap {
        try validate(x)
        trace?.mode = bn
        let clock = StepClock(report: onLayer)
        var skips: [FeatureMap] = []
        var current = x
        for level in 0..<3 {
            current = try block(2 * level, [.map(current)], bn: bn, threads: threads, clock: clock, trace: trace)
            current = try block(2 * level + 1, [.map(current)], bn: bn, threads: threads, clock: clock, trace: trace)
            skips.append(current)
            current = try clock.step("maxpool \(level)") { try Resampling.maxPool2(current, threads: threads) }
        }
        current = try block(6, [.map(current)], bn: bn, threads: threads, clock: clock, trace: trace)
        current = try block(7, [.map(current)], bn: bn, threads: threads, clock: clock, trace: trace)
        for u in 0..<3 {
            let up: ConvInput
            switch upsamplers[u] {
            case .nearest:
                // Read through the upsampling by the next convolution (no 8x larger copy).
                up = .upsampled(current)
            case let .transposed(t):
                let flops = 2 * Double(current.batch * current.spatialCount * 8) * Double(t.inChannels * t.outChannels)
                let y = try clock.step(Layout.upsamplerModules[u], flops: flops) { try t.forward(current, threads: threads) }
                trace?.upsampled.append(y)
                up = .map(y)
            }
            let skip = skips.removeLast()
            current = try block(8 + 2 * u, [up, .map(skip)], bn: bn, threads: threads, clock: clock, trace: trace)
            current = try block(9 + 2 * u, [.map(current)], bn: bn, threads: threads, clock: clock, trace: trace)
        }
        var out = try clock.step(Layout.finalModule, flops: finalConvolution.flops(voxels: current.spatialCount) * Double(current.batch)) {
            try finalConvolution.forward(current, threads: threads)
        }
        trace?.logits = out
        let labels = architecture.labels
        let y = clock.step(labels == 1 ? "sigmoid" : "softmax") {
            if labels == 1 { Activations.sigmoid(&out) } else { Activations.softmaxChannels(&out) }
            return out
        }
        trace?.output = y
        return y
    }

    /// `forward` on a rank-5 tensor of any numeric dtype; returns float32.
    public func forward(_ x: Tensor, bn: BatchNormMode, threads: Int = Parallel.defaultThreads,
                        onLayer: ((LayerTiming) -> Void)? = nil) throws -> Tensor {
        try forward(FeatureMap(x), bn: bn, threads: threads, onLayer: onLayer).tensor
    }

    /// `forward` on values in C order with their shape (N, 1, D, H, W).
    public func forward(_ values: [Float], shape: [Int], bn: BatchNormMode, threads: Int = Parallel.defaultThreads) throws -> (values: [Float], shape: [Int]) {
        let y = try forward(FeatureMap(shape: shape, data: values), bn: bn, threads: threads)
        return (y.data, y.shape)
    }

    /// Conv -> BN -> ReLU of block `i` on the channel concatenation of `inputs`.
    private func block(_ i: Int, _ inputs: [ConvInput], bn: BatchNormMode, threads: Int, clock: StepClock,
                       trace: ForwardTrace?) throws -> FeatureMap {
        let conv = convolutions[i]
        let module = Layout.blockModules[i]
        let voxels = inputs[0].shape[2...].reduce(1, *)
        let batch = inputs[0].shape[0]
        var y = try clock.step(module + ".conv1", flops: conv.flops(voxels: voxels) * Double(batch)) {
            try conv.forward(inputs, threads: threads)
        }
        if let trace {
            // Keep the convolution output and write the block output beside it.
            trace.blockInputs.append(inputs)
            trace.convOutputs.append(y)
            y = try clock.step(module + ".bn1+relu") {
                let (out, stats) = try batchNorms[i].applied(y, mode: bn, relu: true, threads: threads)
                trace.statistics.append(stats)
                return out
            }
            trace.blockOutputs.append(y)
            return y
        }
        try clock.step(module + ".bn1+relu") {
            try batchNorms[i].apply(&y, mode: bn, relu: true, threads: threads)
            return y
        }
        return y
    }
}

/// Times steps and reports them when someone listens.
final class StepClock {
    private let report: ((LayerTiming) -> Void)?
    init(report: ((LayerTiming) -> Void)?) { self.report = report }

    @discardableResult
    func step(_ name: String, flops: Double = 0, _ body: () throws -> FeatureMap) rethrows -> FeatureMap {
        try time(name, flops: flops, shape: { $0.shape }, body)
    }

    /// Runs `body`, reporting its wall time under `name` with the shape `shape` gives.
    func time<T>(_ name: String, flops: Double = 0, shape: (T) -> [Int], _ body: () throws -> T) rethrows -> T {
        guard let report else { return try body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let y = try body()
        let t1 = DispatchTime.now().uptimeNanoseconds
        report(LayerTiming(name: name, seconds: Double(t1 - t0) * 1e-9, flops: flops, shape: shape(y)))
        return y
    }
}
