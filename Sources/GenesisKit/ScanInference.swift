import Foundation
import GenesisModel
import Inference
import Runtime3D
import VolumeIO

/// A network on a whole scan (.nii, .nii.gz, .mhd, .mha): windowed intensities, sliding windows
/// with Gaussian blending (MONAI's `sliding_window_inference(mode="gaussian")`), the output
/// streamed slab by slab into a NIfTI with the input's geometry.
public struct ScanInference {
    public static let volumeExtensions = [".nii", ".nii.gz", ".mhd", ".mha"]
    /// The window size when neither the caller nor the model says one.
    public static let defaultPatch = [64, 64, 32]

    /// Window sides D, H, W along i, j, k (multiples of the network's pooling).
    public var patch: [Int]
    /// Overlap of neighbouring windows, in [0, 1).
    public var overlap = 0.5
    /// Intensities mapped before the network (nil: taken as they are).
    public var window: IntensityWindow? = .ct
    public var mode: BatchNormMode
    public var threads = Parallel.defaultThreads
    /// Run a scan that holds NaN or Inf (refused otherwise).
    public var allowNonfinite = false
    /// Progress on stderr (bar on a terminal, plain lines otherwise).
    public var showProgress = false

    public init(patch: [Int], mode: BatchNormMode) {
        self.patch = patch
        self.mode = mode
    }

    public static func isScanPath(_ path: String) -> Bool {
        let lower = path.lowercased()
        return volumeExtensions.contains { lower.hasSuffix($0) }
    }

    /// The window size for a scan: the model's recorded input (C, D, H, W) when its sides are
    /// multiples of 8, else `defaultPatch`; and where it came from.
    public static func patch(recordedInput: [Int]?) -> (sides: [Int], origin: String) {
        patch(recordedInput: recordedInput, multiples: [8, 8, 8])
    }

    /// The same for a network whose sides must be `multiples` (D, H, W): the recorded input when
    /// it fits them, else `defaultPatch` rounded up to them.
    public static func patch(recordedInput: [Int]?, multiples m: [Int]) -> (sides: [Int], origin: String) {
        if let r = recordedInput, r.count == 4, (1...3).allSatisfy({ r[$0] >= m[$0 - 1] && r[$0] % m[$0 - 1] == 0 && r[$0] <= 1024 }) {
            return (Array(r[1...]), "the model's recorded input size")
        }
        let sides = (0..<3).map { (defaultPatch[$0] + m[$0] - 1) / m[$0] * m[$0] }
        return (sides, sides == defaultPatch ? "the default; the model records no input size"
                                             : "the default 64,64,32 rounded up to the network's multiples; the model records no input size")
    }

    /// What a run did.
    public struct Report {
        public let shape: [Int]
        public let outputShape: [Int]
        public let format: String
        public let windows: Int
        public let accumulatorBytes: Int
        public let statistics: OutputStatistics
        public let seconds: Double
    }

    /// Runs the Genesis U-Net `network` over a scan (`run` of its `runnable`).
    public func run(_ network: GenesisNetwork, input: String, output: String) throws -> Report {
        try run(network.runnable, input: input, output: output)
    }

    /// Runs `network` (any family's) over the scan at `input` and writes the NIfTI `output`
    /// (temporary file beside it, renamed into place; nothing left on failure).
    public func run(_ network: RunnableNetwork, input: String, output: String) throws -> Report {
        let start = Date()
        let lowerOut = output.lowercased()
        guard lowerOut.hasSuffix(".nii") || lowerOut.hasSuffix(".nii.gz") else {
            throw WorkflowError(subject: output, message: "the output of a whole scan is a NIfTI file (.nii or .nii.gz)")
        }
        let arch = network.architecture
        let channels = network.outputChannels
        var volume = try VolumeFile.read(input)
        var shape = volume.shape
        if shape.count == 4, shape[3] == 1 { shape.removeLast() }
        guard shape.count == 3 else {
            throw WorkflowError(subject: input, message: "a scan of shape \(TextFormat.shape(volume.shape)): whole-scan inference takes one 3D volume (i, j, k)")
        }
        if let w = window {
            volume.voxels.withUnsafeMutableBufferPointer { v in for t in v.indices { v[t] = w.apply(Double(v[t])) } }
        }
        if !allowNonfinite, let bad = volume.voxels.firstIndex(where: { !$0.isFinite }) {
            let count = volume.voxels.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            throw WorkflowError(subject: input, message: "\(count) of \(volume.voxels.count) voxels are NaN or Inf (first at index \(bad)); the network needs finite input (--allow-nonfinite runs it anyway)")
        }
        let plan = try WindowPlan(shape: shape, patch: patch, overlap: overlap)
        let blender = try SlidingWindowBlender(plan: plan, channels: channels)
        let source = try InMemoryVolume(shape: shape, voxels: volume.voxels)
        volume.voxels = []  // the source holds the one copy

        let flopsPerWindow = network.forwardFLOPs(depth: patch[0], height: patch[1], width: patch[2])
        let progress = ProgressMeter(label: "windows", totalWork: flopsPerWindow * Double(plan.windowCount), totalItems: plan.windowCount,
                                     units: .init(item: "windows", rateLabel: "GFLOP/s", rateScale: 1e9), enabled: showProgress)
        let outputShape = channels == 1 ? shape : shape + [channels]
        let sink = try NIfTIChannelSink(path: output, shape: outputShape, channels: channels, geometry: volume.geometry,
                                        description: "genesis run \(arch)")
        var stats = OutputStatistics()
        let mode = self.mode, threads = self.threads
        let patchNetwork = PatchNetwork(channels: channels) { x, s in
            try network.forward(FeatureMap(shape: s, data: x), bn: mode, threads: threads) { progress.advance(work: $0.flops) }.data
        }
        let counting = StatisticsSink(inner: sink) { stats.add(Array($0)) }
        do {
            try blender.run(source: source, network: patchNetwork, sink: counting) { progress.finished(items: $0) }
            try sink.finish()
        } catch {
            sink.discard()
            throw error
        }
        progress.finish()
        return Report(shape: shape, outputShape: outputShape, format: volume.format, windows: plan.windowCount,
                      accumulatorBytes: blender.peakAccumulatorBytes, statistics: stats, seconds: Date().timeIntervalSince(start))
    }
}

/// Passes slabs on to another sink, showing each to `observe` first.
public final class StatisticsSink: SlabSink {
    let inner: SlabSink
    let observe: (UnsafeBufferPointer<Float>) -> Void
    public init(inner: SlabSink, observe: @escaping (UnsafeBufferPointer<Float>) -> Void) {
        self.inner = inner
        self.observe = observe
    }

    public func append(k: Int, channels: Int, slab: UnsafeBufferPointer<Float>) throws {
        observe(slab)
        try inner.append(k: k, channels: channels, slab: slab)
    }
}
