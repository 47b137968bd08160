import GenesisModel
/// How a framework folds a batch's statistics into BatchNorm's moving (running) statistics
/// (schemas/numerics.md). Normalisation always uses the biased batch variance; the conventions
/// differ in the momentum and in how they compute the update.
///
/// Both fold in the UNBIASED batch variance (times M / (M - 1), M values per channel). For
/// tf_keras 2.21 this is not what its documentation suggests (a biased update) but is what the
/// fixture shows: `after/` in keras/genesis_tiny.reference.h5 differs from a biased update by
/// exactly 0.01 * var / (M - 1) in every channel (M = 8 at the bottom level: up to 1.8e-3), and
/// equals the unbiased update (TF's fused batch norm returns the Bessel-corrected variance).
/// KerasTrainingReferenceTests checks it.
public typealias MovingStatisticsConvention = FrameworkConventions

extension FrameworkConventions {
    /// The weight of the new batch (`bnBatchWeight`).
    public var batchWeight: Double { bnBatchWeight }
}

extension BatchNorm {
    /// The moving mean and variance after folding in one batch's statistics `stats`
    /// (`stats.count` values per channel; a count of 1 gives the unbiased variance
    /// M / (M - 1) = Inf x 0 = NaN, as PyTorch does).
    public func updatedMovingStatistics(_ stats: BatchNormStatistics, convention: MovingStatisticsConvention)
        -> (mean: [Float], variance: [Float]) {
        let w = convention.batchWeight
        let m = Double(stats.count)
        let correction = m / (m - 1)
        switch convention.movingStatisticsUpdate {
        case .float32AssignSub:
            // float32, as TF's assign_sub.
            let wf = Float(w)
            let mean = zip(movingMean, stats.mean).map { mv, b in mv - (mv - b) * wf }
            let variance = zip(movingVariance, stats.variance).map { mv, b in mv - (mv - Float(Double(b) * correction)) * wf }
            return (mean, variance)
        case .doubleInterpolation:
            // ATen's CPU update: momentum * batch + (1 - momentum) * running, in double.
            let mean = zip(movingMean, stats.mean).map { r, b in Float(w * Double(b) + (1 - w) * Double(r)) }
            let variance = zip(movingVariance, stats.variance).map { r, b in Float(w * (Double(b) * correction) + (1 - w) * Double(r)) }
            return (mean, variance)
        }
    }
}
