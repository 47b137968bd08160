import Foundation
import GenesisIO
import GenesisModel
import Runtime3D
import Tensors
import VolumeIO

/// A network on cubes (N, 1, D, H, W), the output streamed to a .npy file. In inference mode the
/// cubes are independent and run in slices, so peak memory stays near one slice's whatever N
/// is; batch statistics couple them, so they run as one batch, refused over the memory limit.
public struct CubeInference {
    /// Activations per inference slice: small cubes run several at a time, large ones one by one.
    public static let sliceBudgetBytes = 256 << 20

    public var mode: BatchNormMode
    public var threads = Parallel.defaultThreads
    /// Largest estimated peak memory to start with (nil: 80% of RAM).
    public var maxMemoryBytes: Int?
    /// Inference mode: cubes per forward call (nil: as many as fit `sliceBudgetBytes`).
    public var cubesPerSlice: Int?
    public var showProgress = false

    public init(mode: BatchNormMode) { self.mode = mode }

    public struct SlicePlan {
        public let cubesPerSlice: Int
        public let estimatedPeakBytes: Int
        /// The memory limit: the caller's, or 80% of RAM.
        public let limitBytes: Int
        /// Said when batch statistics make the cubes one batch.
        public let note: String?
    }

    /// Inference: slices within `sliceBudgetBytes`. Batch statistics: one batch, with a note,
    /// refused over the memory limit (`subject`: the input named in the refusal).
    public func slicePlan(_ arch: Architecture, cubes: Int, spatial: [Int], subject: String) throws -> SlicePlan {
        try slicePlan(ForwardMemoryEstimate(architecture: arch, depth: spatial[0], height: spatial[1], width: spatial[2]), cubes: cubes, subject: subject)
    }

    /// The same for any family's network (`RunnableNetwork.memoryEstimate`).
    public func slicePlan(_ network: RunnableNetwork, cubes: Int, spatial: [Int], subject: String) throws -> SlicePlan {
        try slicePlan(network.memoryEstimate(depth: spatial[0], height: spatial[1], width: spatial[2]), cubes: cubes, subject: subject)
    }

    func slicePlan(_ estimate: ForwardMemoryEstimate, cubes: Int, subject: String) throws -> SlicePlan {
        let limit = maxMemoryBytes ?? Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8)
        // Inference slices fit both the slice budget and what the limit leaves beside the weights.
        let budget = max(0, min(Self.sliceBudgetBytes, limit - estimate.fixedBytes))
        let perSlice = mode == .batch ? cubes : min(cubes, cubesPerSlice ?? estimate.cubesPerSlice(budget: budget, total: cubes))
        let peak = estimate.bytes(cubes: perSlice)
        let limitText = maxMemoryBytes == nil ? "80% of RAM, \(MemorySize.format(limit))" : MemorySize.format(limit)
        if peak > limit {
            let advice = mode == .batch && cubes > 1
                ? "batch statistics couple the \(cubes) cubes, so they run as one batch; use fewer cubes, --bn inference, or a larger --max-memory"
                : "use smaller cubes or a larger --max-memory"
            throw WorkflowError(subject: subject, message: "estimated peak memory \(MemorySize.format(peak)) exceeds --max-memory (\(limitText)): \(advice)")
        }
        let note = mode == .batch && cubes > 1
            ? "note: BatchNorm batch statistics couple the \(cubes) cubes: they run as one batch, estimated peak memory \(MemorySize.format(peak)) (limit \(limitText))" : nil
        return SlicePlan(cubesPerSlice: perSlice, estimatedPeakBytes: peak, limitBytes: limit, note: note)
    }

    /// What a run did.
    public struct Report {
        public let outputShape: [Int]
        public let statistics: OutputStatistics
        public let seconds: Double
        public let gflop: Double
    }

    /// Runs the Genesis U-Net `network` on the cubes `x` (`run` of its `runnable`).
    public func run(_ network: GenesisNetwork, cubes x: Tensor, plan: SlicePlan, output: String) throws -> Report {
        try run(network.runnable, cubes: x, plan: plan, output: output)
    }

    /// Runs `network` (any family's) on the cubes `x` (float32 (N, C, D, H, W)) slice by slice as
    /// `plan` says, streaming its output (N, channels, D, H, W) float32 into `output` (nothing
    /// left on failure).
    public func run(_ network: RunnableNetwork, cubes x: Tensor, plan: SlicePlan, output: String) throws -> Report {
        let count = x.shape[0], spatial = Array(x.shape[2...])
        let flopsPerCube = network.forwardFLOPs(depth: spatial[0], height: spatial[1], width: spatial[2])
        let progress = ProgressMeter(label: "forward", totalWork: flopsPerCube * Double(count), totalItems: count,
                                     units: .init(item: "cubes", rateLabel: "GFLOP/s", rateScale: 1e9), enabled: showProgress)
        let outputShape = [count, network.outputChannels] + spatial
        let writer = try NPYStreamWriter(path: output, shape: outputShape)
        var stats = OutputStatistics()
        let start = Date()
        do {
            var first = 0
            while first < count {
                let n = min(plan.cubesPerSlice, count - first)
                let y = try network.forward(try Self.cubes(x, first..<(first + n)), bn: mode, threads: threads) { progress.advance(work: $0.flops) }
                stats.add(y.data)
                try writer.append(y.data)
                first += n
                progress.finished(items: first)
            }
            try writer.commit()
        } catch {
            writer.discard()
            throw error
        }
        let seconds = Date().timeIntervalSince(start)
        progress.finish()
        return Report(outputShape: outputShape, statistics: stats, seconds: seconds, gflop: flopsPerCube * Double(count) / 1e9)
    }

    /// Cubes `range` of a float32 (N, 1, D, H, W) tensor.
    public static func cubes(_ x: Tensor, _ range: Range<Int>) throws -> FeatureMap {
        let per = x.elementCount / x.shape[0]
        let values = x.bytes.withUnsafeBytes { raw in
            Array(raw.bindMemory(to: Float.self)[(range.lowerBound * per)..<(range.upperBound * per)])
        }
        return try FeatureMap(shape: [range.count] + Array(x.shape[1...]), data: values)
    }

    /// The classifier of a file that carries a classification head (encoder -> GAP -> Dense(1024,
    /// ReLU) -> Dense(K)), on all cubes as one batch: (N, K) probabilities.
    public static func classify(_ loaded: LoadedModel, network: GenesisNetwork, cubes x: Tensor, mode: BatchNormMode, threads: Int) throws -> Tensor {
        guard !loaded.head.isEmpty else {
            throw WorkflowError(subject: loaded.path, message: "the file carries no classification head (head.fc1.*, head.fc2.* or a Keras classifier's Dense layers); write one with genesis finetune --task classification")
        }
        var weights = loaded.mapped.store
        for (n, t) in loaded.head.entries { weights[n] = t }
        let m = try EncoderClassifier(network: network, weights: weights)
        let y = try m.forward(try cubes(x, 0..<x.shape[0]), bn: mode, threads: threads)
        return Tensor(shape: [x.shape[0], m.classes], floats: y.data)
    }
}
