/// InstanceNorm3d (nnU-Net's normalisation): each (sample, channel) plane normalised by its own
/// mean and biased variance over D, H, W, then scaled and shifted per channel when affine:
/// y = gamma (x - mean) / sqrt(var + eps) + beta. Statistics are taken in Double per plane and
/// rounded once; training and inference compute alike (no running statistics, as PyTorch's
/// default `track_running_stats=False`).
public struct InstanceNorm: Sendable {
    public let channels: Int
    /// Per-channel scale and shift; nil without affine parameters (1 and 0).
    public let gamma: [Float]?
    public let beta: [Float]?
    public let epsilon: Float

    public init(channels: Int, gamma: [Float]?, beta: [Float]?, epsilon: Float) throws {
        guard channels > 0, gamma.map({ $0.count == channels }) ?? true, beta.map({ $0.count == channels }) ?? true,
              (gamma == nil) == (beta == nil) else {
            throw RuntimeError.badInput(reason: "instancenorm: parameters do not hold \(channels) values each")
        }
        self.channels = channels
        self.gamma = gamma
        self.beta = beta
        self.epsilon = epsilon
    }

    /// Mean and 1 / sqrt(biased variance + eps) of every (sample, channel) plane.
    func planeStatistics(_ x: FeatureMap) -> [(mean: Double, invstd: Double)] {
        let s = x.spatialCount
        return (0..<(x.batch * x.channels)).map { plane in
            var sum = 0.0
            for i in 0..<s { sum += Double(x.data[plane * s + i]) }
            let mean = sum / Double(s)
            var squares = 0.0
            for i in 0..<s { let d = Double(x.data[plane * s + i]) - mean; squares += d * d }
            return (mean, 1 / (squares / Double(s) + Double(epsilon)).squareRoot())
        }
    }

    public func forward(_ x: FeatureMap) throws -> FeatureMap {
        guard x.channels == channels else {
            throw RuntimeError.badInput(reason: "instancenorm: input has \(x.channels) channels, expected \(channels)")
        }
        var y = x
        let s = x.spatialCount
        for (plane, st) in planeStatistics(x).enumerated() {
            let c = plane % channels
            let scale = Float(st.invstd) * (gamma?[c] ?? 1), shift = (beta?[c] ?? 0) - Float(st.mean) * scale
            for i in 0..<s { y.data[plane * s + i] = x.data[plane * s + i] * scale + shift }
        }
        return y
    }

    /// Backward of `forward(x)` given dLoss/dOutput: with x^ the normalised input of one plane
    /// of M voxels, dbeta = sum dy, dgamma = sum dy x^ (over samples and voxels), and
    /// dx = gamma invstd (dy - mean(dy) - x^ mean(dy x^)) per plane. Sums in Double.
    public func backward(input x: FeatureMap, outputGradient dY: FeatureMap) throws -> (input: FeatureMap, gamma: [Float], beta: [Float]) {
        guard x.channels == channels, dY.shape == x.shape else {
            throw RuntimeError.badInput(reason: "instancenorm backward: input \(x.shape) and output gradient \(dY.shape) do not fit \(channels) channels")
        }
        let s = x.spatialCount, m = Double(s)
        var dX = x
        var dGamma = [Double](repeating: 0, count: channels), dBeta = [Double](repeating: 0, count: channels)
        for (plane, st) in planeStatistics(x).enumerated() {
            let c = plane % channels
            var sumG = 0.0, sumGX = 0.0
            for i in 0..<s {
                let g = Double(dY.data[plane * s + i]), xh = (Double(x.data[plane * s + i]) - st.mean) * st.invstd
                sumG += g
                sumGX += g * xh
            }
            dBeta[c] += sumG
            dGamma[c] += sumGX
            let k = Double(gamma?[c] ?? 1) * st.invstd
            for i in 0..<s {
                let xh = (Double(x.data[plane * s + i]) - st.mean) * st.invstd
                dX.data[plane * s + i] = Float(k * (Double(dY.data[plane * s + i]) - sumG / m - xh * sumGX / m))
            }
        }
        return (dX, dGamma.map { Float($0) }, dBeta.map { Float($0) })
    }
}

extension Activations {
    /// LeakyReLU in place: x for x > 0, slope x otherwise (NaN stays NaN).
    public static func leakyReLU(_ x: inout FeatureMap, slope: Float) {
        x.data.withUnsafeMutableBufferPointer { p in
            for i in p.indices where !(p[i] > 0) && !p[i].isNaN { p[i] *= slope }
        }
    }

    /// Backward of `leakyReLU` from its output (for slope > 0 its sign is the input's):
    /// dy where y > 0, slope dy elsewhere (PyTorch's `leaky_relu_backward` on x > 0).
    public static func leakyReLUBackward(output y: FeatureMap, outputGradient dY: FeatureMap, slope: Float) throws -> FeatureMap {
        guard y.shape == dY.shape else {
            throw RuntimeError.badInput(reason: "leaky relu backward: output \(y.shape) and gradient \(dY.shape) differ")
        }
        var dX = dY
        for i in dX.data.indices where !(y.data[i] > 0) { dX.data[i] *= slope }
        return dX
    }
}
