/// Backward passes of the activations, from their outputs (what the forward kept).
extension Activations {
    /// ReLU: dx = dy where y > 0, else 0 (PyTorch's `threshold_backward` on the output).
    public static func reluBackward(output y: FeatureMap, outputGradient dY: FeatureMap) throws -> FeatureMap {
        try elementwise(y, dY, "relu") { y, g in y > 0 ? g : 0 }
    }

    /// Sigmoid: dx = dy * y * (1 - y).
    public static func sigmoidBackward(output y: FeatureMap, outputGradient dY: FeatureMap) throws -> FeatureMap {
        try elementwise(y, dY, "sigmoid") { y, g in g * y * (1 - y) }
    }

    /// Softmax over channels: dx_c = y_c (dy_c - sum_k y_k dy_k) at every voxel.
    public static func softmaxChannelsBackward(output y: FeatureMap, outputGradient dY: FeatureMap) throws -> FeatureMap {
        guard y.shape == dY.shape else { throw RuntimeError.badInput(reason: "softmax backward: shapes \(y.shape) and \(dY.shape) differ") }
        var dX = dY
        let (c, s) = (y.channels, y.spatialCount)
        y.data.withUnsafeBufferPointer { yp in
            dX.data.withUnsafeMutableBufferPointer { gp in
                for n in 0..<y.batch {
                    let (ys, gs) = (yp.baseAddress! + n * c * s, gp.baseAddress! + n * c * s)
                    for v in 0..<s {
                        var dot: Float = 0
                        for ch in 0..<c { dot += ys[ch * s + v] * gs[ch * s + v] }
                        for ch in 0..<c { gs[ch * s + v] = ys[ch * s + v] * (gs[ch * s + v] - dot) }
                    }
                }
            }
        }
        return dX
    }

    private static func elementwise(_ y: FeatureMap, _ dY: FeatureMap, _ op: String, _ f: (Float, Float) -> Float) throws -> FeatureMap {
        guard y.shape == dY.shape else { throw RuntimeError.badInput(reason: "\(op) backward: shapes \(y.shape) and \(dY.shape) differ") }
        var dX = dY
        y.data.withUnsafeBufferPointer { yp in
            dX.data.withUnsafeMutableBufferPointer { gp in
                for i in 0..<gp.count { gp[i] = f(yp[i], gp[i]) }
            }
        }
        return dX
    }
}
