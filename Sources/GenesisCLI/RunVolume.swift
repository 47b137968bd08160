import Foundation
import GenesisIO
import GenesisModel
import Inference
import Runtime3D
import VolumeIO

/// `genesis run` on a whole scan (.nii, .nii.gz, .mhd, .mha): windowed intensities, sliding
/// windows with Gaussian blending (MONAI's `sliding_window_inference(mode="gaussian")`), the
/// output streamed slab by slab into a NIfTI with the input's geometry.
extension RunCommand {
    static let volumeExtensions = [".nii", ".nii.gz", ".mhd", ".mha"]
    static let defaultPatch = [64, 64, 32]

    static func isVolumePath(_ path: String) -> Bool {
        let lower = path.lowercased()
        return volumeExtensions.contains { lower.hasSuffix($0) }
    }

    /// The window a scan gets: --window, `none` for values taken as they are, else CT's.
    var volumeWindow: IntensityWindow? {
        guard let w = window else { return .ct }
        return w.lowercased() == "none" ? nil : IntensityWindow(parsing: w)
    }

    func runVolume(network net: GenesisNetwork, mode: BatchNormMode, epsilon: Float, recordedInput: [Int]?) throws {
        let start = Date()
        guard !classifier else { throw CLIError(subject: input, message: "--classifier runs on cubes (.npy), not on a whole scan") }
        let lowerOut = output.lowercased()
        guard lowerOut.hasSuffix(".nii") || lowerOut.hasSuffix(".nii.gz") else {
            throw CLIError(subject: output, message: "the output of a whole scan is a NIfTI file (.nii or .nii.gz)")
        }
        let arch = net.architecture
        let (patchSides, patchOrigin) = try patchSides(recordedInput: recordedInput)
        var volume = try VolumeFile.read(input)
        var shape = volume.shape
        if shape.count == 4, shape[3] == 1 { shape.removeLast() }
        guard shape.count == 3 else {
            throw CLIError(subject: input, message: "a scan of shape \(CLIOutput.shape(volume.shape)): whole-scan inference takes one 3D volume (i, j, k)")
        }
        let scanWindow = volumeWindow
        if let w = scanWindow {
            volume.voxels.withUnsafeMutableBufferPointer { v in for t in v.indices { v[t] = w.apply(Double(v[t])) } }
        }
        if !allowNonfinite, let bad = volume.voxels.firstIndex(where: { !$0.isFinite }) {
            let count = volume.voxels.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            throw CLIError(subject: input, message: "\(count) of \(volume.voxels.count) voxels are NaN or Inf (first at index \(bad)); the network needs finite input (--allow-nonfinite runs it anyway)")
        }
        let plan = try WindowPlan(shape: shape, patch: patchSides, overlap: overlap)
        let blender = try SlidingWindowBlender(plan: plan, channels: arch.labels)
        let source = try InMemoryVolume(shape: shape, voxels: volume.voxels)
        volume.voxels = []  // the source holds the one copy

        let nThreads = threads ?? Parallel.defaultThreads
        let flopsPerWindow = arch.forwardFLOPs(depth: patchSides[0], height: patchSides[1], width: patchSides[2])
        let progress = Progress(label: "windows", totalWork: flopsPerWindow * Double(plan.windowCount), totalItems: plan.windowCount,
                                units: .init(item: "windows", rateLabel: "GFLOP/s", rateScale: 1e9), enabled: !json)
        let outputShape = arch.labels == 1 ? shape : shape + [arch.labels]
        let sink = try NIfTIChannelSink(path: output, shape: outputShape, channels: arch.labels, geometry: volume.geometry,
                                        description: "genesis run \(arch)")
        var stats = OutputStatistics()
        let network = PatchNetwork(channels: arch.labels) { x, s in
            try net.forward(FeatureMap(shape: s, data: x), bn: mode, threads: nThreads) { progress.advance(work: $0.flops) }.data
        }
        let counting = StatisticsSink(inner: sink) { stats.add(Array($0)) }
        do {
            try blender.run(source: source, network: network, sink: counting) { progress.finished(items: $0) }
            try sink.finish()
        } catch {
            sink.discard()
            throw error
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        let peak = Self.peakRSSMegabytes()
        if json {
            CLIOutput.json(["model": model, "input": input, "output": output, "shape": shape, "output_shape": outputShape,
                            "windows": plan.windowCount, "patch": patchSides, "patch_origin": patchOrigin, "overlap": overlap,
                            "window": scanWindow.map { ["low": $0.low, "high": $0.high] },
                            "variant": arch.variant.rawValue, "base_filters": arch.baseFilters, "labels": arch.labels,
                            "bn": mode.rawValue, "bn_epsilon": Double(epsilon), "threads": nThreads,
                            "accumulator_bytes": blender.peakAccumulatorBytes,
                            "seconds": seconds, "peak_rss_mb": peak, "output_stats": stats.json])
        } else {
            CLIOutput.line("\(arch), BN \(mode.rawValue) (eps \(epsilon)), \(nThreads) threads")
            CLIOutput.line("scan \(CLIOutput.shape(shape)) (\(volume.format)), window \(scanWindow.map(\.description) ?? "none"): \(plan.windowCount) windows of \(CLIOutput.shape(patchSides)) (\(patchOrigin)), overlap \(overlap), Gaussian blending")
            CLIOutput.line(String(format: "%@ in %.1f s, peak RSS %.0f MB; wrote %@", stats.text, seconds, peak, output))
        }
    }

    /// --patch as D,H,W (i, j, k), each side a multiple of 8.
    func parsedPatch() throws -> [Int] {
        guard let text = patch else { return Self.defaultPatch }
        let sides = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sides.count == 3, let p = sides as? [Int], p.allSatisfy({ $0 >= 8 && $0 % 8 == 0 && $0 <= 1024 }) else {
            throw CLIError(subject: "--patch", message: "takes three sides D,H,W (i, j, k), each a multiple of 8 up to 1024 (e.g. 64,64,32), not '\(text)'")
        }
        return p
    }

    /// The process's peak resident set so far (getrusage: kilobytes on Linux).
    static func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// Passes slabs on to another sink, showing each to `observe` first.
final class StatisticsSink: SlabSink {
    let inner: SlabSink
    let observe: (UnsafeBufferPointer<Float>) -> Void
    init(inner: SlabSink, observe: @escaping (UnsafeBufferPointer<Float>) -> Void) {
        self.inner = inner
        self.observe = observe
    }

    func append(k: Int, channels: Int, slab: UnsafeBufferPointer<Float>) throws {
        observe(slab)
        try inner.append(k: k, channels: channels, slab: slab)
    }
}
