import GenesisModel
/// Which statistics BatchNorm normalises with.
public enum BatchNormMode: String, Sendable, CaseIterable {
    /// The stored moving (running) statistics: Keras `predict`, PyTorch `eval()` of a standard BN.
    case inference
    /// The statistics of the batch being run (biased variance over N, D, H, W): Keras training,
    /// and the official PyTorch `ContBatchNorm3d` in every mode.
    case batch
}

/// The per-channel statistics one BatchNorm call normalised with; the backward pass of the
/// training issue needs exactly these (mean and 1/sqrt(var + eps)).
public struct BatchNormStatistics: Sendable, Equatable {
    public let mean: [Float]
    /// Biased variance (what normalisation uses).
    public let variance: [Float]
    /// Elements per channel the statistics were taken over (N * D * H * W; 0 in inference mode).
    public let count: Int

    public init(mean: [Float], variance: [Float], count: Int) {
        self.mean = mean
        self.variance = variance
        self.count = count
    }
}

extension BatchNormArithmetic {
    func scaleAndShift(mean: Float, variance: Float, epsilon: Float, gamma: Float, beta: Float) -> (Float, Float) {
        switch self {
        case .tensorflow:
            let scale = gamma * (1 / (variance + epsilon).squareRoot())
            return (scale, beta - mean * scale)
        case .pytorch:
            let invstd = Float(1 / (Double(variance) + Double(epsilon)).squareRoot())
            return (invstd * gamma, beta - mean * invstd * gamma)
        }
    }
}

/// BatchNorm over channels of an NCDHW map: y = gamma * (x - mean) / sqrt(var + eps) + beta.
public struct BatchNorm: Sendable {
    public let gamma: [Float]
    public let beta: [Float]
    public let movingMean: [Float]
    public let movingVariance: [Float]
    /// Keras 1e-3, PyTorch 1e-5.
    public let epsilon: Float
    /// Adds the batch-mode channel sums over the processes of a data-parallel run (`--sync-bn`);
    /// nil: the statistics of this process's batch alone.
    public var reducer: (any BatchNormReducer)?
    /// How the per-channel scale and shift are rounded: the framework the weights train in.
    public var arithmetic: BatchNormArithmetic = .tensorflow

    public init(gamma: [Float], beta: [Float], movingMean: [Float], movingVariance: [Float], epsilon: Float) throws {
        let c = gamma.count
        guard beta.count == c, movingMean.count == c, movingVariance.count == c else {
            throw RuntimeError.badInput(reason: "batchnorm: parameter lengths differ (\(c), \(beta.count), \(movingMean.count), \(movingVariance.count))")
        }
        self.gamma = gamma
        self.beta = beta
        self.movingMean = movingMean
        self.movingVariance = movingVariance
        self.epsilon = epsilon
    }

    public var channels: Int { gamma.count }

    /// Batch statistics: per channel mean and biased variance over N, D, H, W, accumulated in
    /// Double in two passes (mean, then squared deviations). A channel holding NaN or Inf gets
    /// NaN statistics (Inf - Inf in the second pass), so BatchNorm makes it NaN throughout, as
    /// PyTorch does.
    public static func batchStatistics(_ x: FeatureMap, threads: Int = Parallel.defaultThreads) -> BatchNormStatistics {
        // Without a reducer nothing throws.
        (try? batchStatistics(x, threads: threads, reducer: nil)) ?? BatchNormStatistics(mean: [], variance: [], count: 0)
    }

    /// Normalises `x` in place with the mode's statistics, then applies ReLU when asked
    /// (the network's Conv -> BN -> ReLU blocks fuse the two into one pass; the ReLU keeps NaN).
    /// Returns the statistics used.
    @discardableResult
    public func apply(_ x: inout FeatureMap, mode: BatchNormMode, relu: Bool = false,
                      threads: Int = Parallel.defaultThreads) throws -> BatchNormStatistics {
        let stats = try statistics(of: x, mode: mode, threads: threads)
        let (batch, s) = (x.batch, x.spatialCount)
        x.data.withUnsafeMutableBufferPointer { xp in
            normalise(xp.baseAddress!, into: xp.baseAddress!, batch: batch, spatial: s, stats, relu: relu, threads: threads)
        }
        return stats
    }

    /// `apply` into a new map, leaving `x` as it is (the traced forward keeps both: one pass
    /// instead of a copy and an in-place pass).
    public func applied(_ x: FeatureMap, mode: BatchNormMode, relu: Bool = false,
                        threads: Int = Parallel.defaultThreads) throws -> (output: FeatureMap, statistics: BatchNormStatistics) {
        let stats = try statistics(of: x, mode: mode, threads: threads)
        var y = try FeatureMap(uninitializedBatch: x.batch, channels: x.channels, depth: x.depth, height: x.height, width: x.width)
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeMutableBufferPointer { yp in
                normalise(xp.baseAddress!, into: yp.baseAddress!, batch: x.batch, spatial: x.spatialCount, stats, relu: relu, threads: threads)
            }
        }
        return (y, stats)
    }

    private func statistics(of x: FeatureMap, mode: BatchNormMode, threads: Int) throws -> BatchNormStatistics {
        guard x.channels == channels else {
            throw RuntimeError.badInput(reason: "batchnorm: input has \(x.channels) channels, expected \(channels)")
        }
        return mode == .batch ? try BatchNorm.batchStatistics(x, threads: threads, reducer: reducer)
            : BatchNormStatistics(mean: movingMean, variance: movingVariance, count: 0)
    }

    /// y = x * scale + shift per channel (then ReLU), from `src` into `dst` (may be the same).
    private func normalise(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, batch: Int, spatial s: Int,
                           _ stats: BatchNormStatistics, relu: Bool, threads: Int) {
        var scale = [Float](repeating: 0, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        for ch in 0..<channels {
            (scale[ch], shift[ch]) = arithmetic.scaleAndShift(mean: stats.mean[ch], variance: stats.variance[ch], epsilon: epsilon,
                                                              gamma: gamma[ch], beta: beta[ch])
        }
        let c = channels
        Parallel.forEach(batch * c, threads: threads) { plane, _ in
            let ch = plane % c
            let (a, b) = (scale[ch], shift[ch])
            let p = src + plane * s, q = dst + plane * s
            if relu {
                for i in 0..<s { q[i] = Activations.reluKeepingNaN(p[i] * a + b) }
            } else {
                for i in 0..<s { q[i] = p[i] * a + b }
            }
        }
    }

    /// Out-of-place form of `apply`.
    public func forward(_ x: FeatureMap, mode: BatchNormMode, threads: Int = Parallel.defaultThreads) throws -> FeatureMap {
        var y = x
        try apply(&y, mode: mode, threads: threads)
        return y
    }
}
