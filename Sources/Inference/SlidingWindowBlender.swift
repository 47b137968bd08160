/// The network as the blender sees it: a batch of patches (N, 1, D, H, W), W fastest, in; the
/// outputs (N, C, D, H, W) out, in the same order.
public struct PatchNetwork {
    public let channels: Int
    public let predict: (_ patches: [Float], _ shape: [Int]) throws -> [Float]

    public init(channels: Int, predict: @escaping (_ patches: [Float], _ shape: [Int]) throws -> [Float]) {
        self.channels = channels
        self.predict = predict
    }
}

/// Sliding-window inference with Gaussian blending, streamed along k (MONAI's
/// `sliding_window_inference(mode="gaussian")`, see `WindowPlan` and `ImportanceMap`).
///
/// Windows run one k group at a time (every window that starts at the same k); a batch never
/// spans two groups. After a group, every k-slab below the next group's start is final: it is
/// divided (value sum / weight sum), cropped to the scan, handed to the sink and its
/// accumulators are reused. At most `patch[2]` slabs are open at once, each holding C value sums
/// and one weight sum over the padded (I, J) plane: memory is O(I * J * patchK * (C + 1)),
/// whatever K is.
public final class SlidingWindowBlender {
    public let plan: WindowPlan
    public let importance: ImportanceMap
    public let channels: Int
    /// Windows per network call (within a k group).
    public let batchSize: Int
    /// The constant that pads an axis shorter than the patch (MONAI's `cval`, 0).
    public let padValue: Float

    /// The most k-slabs open at once in the last `run`, and their bytes (value and weight sums).
    public private(set) var peakOpenSlabs = 0
    public var bytesPerSlab: Int { (channels + 1) * plan.paddedShape[0] * plan.paddedShape[1] * MemoryLayout<Float>.stride }
    public var peakAccumulatorBytes: Int { peakOpenSlabs * bytesPerSlab }

    /// Bytes of accumulators a plan may hold (a cap before allocation).
    public static let maxAccumulatorBytes = 16 << 30

    public init(plan: WindowPlan, channels: Int, batchSize: Int = 1, padValue: Float = 0, sigmaScale: Double = 0.125) throws {
        guard channels >= 1, channels <= 4096 else { throw InferenceError.badPlan(reason: "output channels must be 1...4096, got \(channels)") }
        guard batchSize >= 1, batchSize <= 4096 else { throw InferenceError.badPlan(reason: "windows per batch must be 1...4096, got \(batchSize)") }
        self.plan = plan
        self.channels = channels
        self.batchSize = batchSize
        self.padValue = padValue
        importance = try ImportanceMap(patch: plan.patch, sigmaScale: sigmaScale)
        _ = try CheckedSize.product([channels + 1, plan.paddedShape[0], plan.paddedShape[1], plan.patch[2], 4],
                                    what: "accumulator bytes", limit: Self.maxAccumulatorBytes)
    }

    /// Runs every window of the plan through `network`, reading from `source` and writing the
    /// blended result to `sink`, k ascending. `onWindows` gets the count of windows done.
    public func run(source: VolumeSource, network: PatchNetwork, sink: SlabSink, onWindows: ((Int) -> Void)? = nil) throws {
        guard source.shape == plan.shape else { throw InferenceError.badRegion(reason: "source shape \(source.shape) is not the plan's \(plan.shape)") }
        guard network.channels == channels else { throw InferenceError.badPlan(reason: "network has \(network.channels) channels, blender \(channels)") }
        let patchVoxels = plan.patch.reduce(1, *)
        var slabs = SlabPool(plane: plan.paddedShape[0] * plan.paddedShape[1], channels: channels)
        peakOpenSlabs = 0
        var done = 0
        var flushedBelow = 0
        let groups = plan.kStarts
        for g in groups.indices {
            let windows = plan.windows(inGroup: g)
            var first = 0
            while first < windows.count {
                let batch = Array(windows[first..<min(first + batchSize, windows.count)])
                var input = [Float](repeating: padValue, count: batch.count * patchVoxels)
                try input.withUnsafeMutableBufferPointer { buf in
                    for (n, origin) in batch.enumerated() {
                        try readWindow(source, paddedOrigin: origin, into: UnsafeMutableBufferPointer(rebasing: buf[(n * patchVoxels)..<((n + 1) * patchVoxels)]))
                    }
                }
                let output = try network.predict(input, [batch.count, 1] + plan.patch)
                guard output.count == batch.count * channels * patchVoxels else {
                    throw InferenceError.badPrediction(expected: batch.count * channels * patchVoxels, found: output.count)
                }
                for (n, origin) in batch.enumerated() {
                    for k in origin[2]..<(origin[2] + plan.patch[2]) { slabs.open(k) }
                    peakOpenSlabs = max(peakOpenSlabs, slabs.openCount)
                    output.withUnsafeBufferPointer { out in
                        accumulate(UnsafeBufferPointer(rebasing: out[(n * channels * patchVoxels)..<((n + 1) * channels * patchVoxels)]), at: origin, into: &slabs)
                    }
                }
                done += batch.count
                first += batch.count
                onWindows?(done)
            }
            let finalBelow = g + 1 < groups.count ? groups[g + 1] : plan.paddedShape[2]
            while flushedBelow < finalBelow {
                try flush(flushedBelow, from: &slabs, to: sink)
                flushedBelow += 1
            }
        }
    }

    /// A window in padded coordinates: the part inside the scan is read, the rest stays `padValue`.
    private func readWindow(_ source: VolumeSource, paddedOrigin: [Int], into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let origin = (0..<3).map { paddedOrigin[$0] - plan.padBefore[$0] }
        let lo = (0..<3).map { max(0, origin[$0]) }
        let hi = (0..<3).map { min(plan.shape[$0], origin[$0] + plan.patch[$0]) }
        let size = (0..<3).map { hi[$0] - lo[$0] }
        if size == plan.patch { return try source.readPatch(origin: lo, size: size, into: buffer) }
        var inner = [Float](repeating: 0, count: size.reduce(1, *))
        try inner.withUnsafeMutableBufferPointer { try source.readPatch(origin: lo, size: size, into: $0) }
        let (ph, pw) = (plan.patch[1], plan.patch[2])
        for a in 0..<size[0] {
            for b in 0..<size[1] {
                let dst = ((lo[0] - origin[0] + a) * ph + (lo[1] - origin[1] + b)) * pw + (lo[2] - origin[2])
                let src = (a * size[1] + b) * size[2]
                for c in 0..<size[2] { buffer[dst + c] = inner[src + c] }
            }
        }
    }

    /// Adds a window's weighted outputs and its weights to the open slabs.
    private func accumulate(_ out: UnsafeBufferPointer<Float>, at origin: [Int], into slabs: inout SlabPool) {
        let (pd, ph, pw) = (plan.patch[0], plan.patch[1], plan.patch[2])
        let (ni, nj) = (plan.paddedShape[0], plan.paddedShape[1])
        let plane = ni * nj
        let patchVoxels = pd * ph * pw
        importance.values.withUnsafeBufferPointer { w in
            for dk in 0..<pw {
                slabs.withSlab(origin[2] + dk) { values, weights in
                    for dj in 0..<ph {
                        let rowBase = (origin[1] + dj) * ni + origin[0]
                        for di in 0..<pd {
                            let p = (di * ph + dj) * pw + dk
                            let weight = w[p]
                            weights[rowBase + di] += weight
                            for c in 0..<channels {
                                values[c * plane + rowBase + di] += out[c * patchVoxels + p] * weight
                            }
                        }
                    }
                }
            }
        }
    }

    /// Divides slab `k` (padded coordinates), crops it to the scan and hands it on, if it lies in
    /// the scan; then frees it.
    private func flush(_ k: Int, from slabs: inout SlabPool, to sink: SlabSink) throws {
        let realK = k - plan.padBefore[2]
        guard slabs.isOpen(k) else { throw InferenceError.badRegion(reason: "slab k=\(k) was never covered by a window") }
        defer { slabs.close(k) }
        guard realK >= 0, realK < plan.shape[2] else { return }
        let (ni, nj) = (plan.shape[0], plan.shape[1])
        let (pi, pj) = (plan.paddedShape[0], plan.paddedShape[1])
        let (oi, oj) = (plan.padBefore[0], plan.padBefore[1])
        var result = [Float](repeating: 0, count: channels * ni * nj)
        slabs.withSlab(k) { values, weights in
            for c in 0..<channels {
                for j in 0..<nj {
                    for i in 0..<ni {
                        let src = (j + oj) * pi + i + oi
                        result[(c * nj + j) * ni + i] = values[c * pi * pj + src] / weights[src]
                    }
                }
            }
        }
        try result.withUnsafeBufferPointer { try sink.append(k: realK, channels: channels, slab: $0) }
    }
}

/// The open k-slabs' value and weight sums, with freed slabs reused.
struct SlabPool {
    let plane: Int
    let channels: Int
    private var open: [Int: Int] = [:]
    private var values: [[Float]] = []
    private var weights: [[Float]] = []
    private var free: [Int] = []

    init(plane: Int, channels: Int) {
        self.plane = plane
        self.channels = channels
    }

    var openCount: Int { open.count }

    func isOpen(_ k: Int) -> Bool { open[k] != nil }

    mutating func open(_ k: Int) {
        guard open[k] == nil else { return }
        if let slot = free.popLast() {
            open[k] = slot
        } else {
            values.append([Float](repeating: 0, count: channels * plane))
            weights.append([Float](repeating: 0, count: plane))
            open[k] = values.count - 1
        }
    }

    /// Zeroes slab `k`'s sums and frees it.
    mutating func close(_ k: Int) {
        guard let slot = open.removeValue(forKey: k) else { return }
        values[slot].withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        weights[slot].withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        free.append(slot)
    }

    mutating func withSlab(_ k: Int, _ body: (UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) {
        guard let slot = open[k] else { preconditionFailure("slab \(k) is not open") }
        values[slot].withUnsafeMutableBufferPointer { v in weights[slot].withUnsafeMutableBufferPointer { w in body(v, w) } }
    }
}
