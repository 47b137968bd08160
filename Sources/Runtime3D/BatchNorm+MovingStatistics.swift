/// How a framework folds a batch's statistics into BatchNorm's moving (running) statistics
/// (DESIGN.md section 2). Normalisation always uses the biased batch variance; the conventions
/// differ in the momentum and in which variance they fold in.
public enum MovingStatisticsConvention: String, Sendable, CaseIterable {
    /// tf_keras 2.21: momentum 0.99 and the UNBIASED batch variance (times M / (M - 1)), as its
    /// fused batch norm returns it for the update (keras/genesis_tiny.reference.h5 `after/`
    /// shows it: with the biased variance the bottom blocks, M = 8 values per channel, miss by
    /// 8/7; DESIGN.md section 2 says biased, which holds for the non-fused path only), computed
    /// as TF does: moving -= (moving - batch) * (1 - 0.99).
    case keras
    /// PyTorch: momentum 0.1, the unbiased batch variance (times M / (M - 1)):
    /// running = (1 - 0.1) * running + 0.1 * batch. (`num_batches_tracked` is not touched: the
    /// official `ContBatchNorm3d` calls `F.batch_norm` directly, which never increments it.)
    case torch

    /// The weight of the new batch, as each framework rounds it: Keras casts the Python double
    /// 1 - 0.99 to float32 (0.01); PyTorch keeps the momentum 0.1 in double.
    public var batchWeight: Double { self == .keras ? Double(Float(1.0 - 0.99)) : 0.1 }
}

extension BatchNorm {
    /// The moving mean and variance after folding in one batch's statistics `stats`
    /// (`stats.count` values per channel; a count of 1 gives the PyTorch unbiased variance
    /// M / (M - 1) = Inf x 0 = NaN, as PyTorch does).
    public func updatedMovingStatistics(_ stats: BatchNormStatistics, convention: MovingStatisticsConvention)
        -> (mean: [Float], variance: [Float]) {
        let w = convention.batchWeight
        switch convention {
        case .keras:
            // float32 throughout, as TF's assign_sub; the variance Bessel-corrected as fused BN does.
            let wf = Float(w)
            let mean = zip(movingMean, stats.mean).map { m, b in m - (m - b) * wf }
            let c = Float(Double(stats.count) / Double(stats.count - 1))
            let variance = zip(movingVariance, stats.variance).map { m, b in m - (m - b * c) * wf }
            return (mean, variance)
        case .torch:
            // ATen's CPU update: momentum * batch + (1 - momentum) * running, in double.
            let m = Double(stats.count)
            let correction = m / (m - 1)
            let mean = zip(movingMean, stats.mean).map { r, b in Float(w * Double(b) + (1 - w) * Double(r)) }
            let variance = zip(movingVariance, stats.variance).map { r, b in Float(w * (Double(b) * correction) + (1 - w) * Double(r)) }
            return (mean, variance)
        }
    }
}
