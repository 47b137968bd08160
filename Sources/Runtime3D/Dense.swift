import CBLAS

/// A fully connected layer y = W x + b on a batch of feature vectors, weight in PyTorch layout
/// (out, in): the classification head's layers. Forward and backward side by side.
public struct Dense: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: [Float]
    public let bias: [Float]

    public init(weight: [Float], bias: [Float], inFeatures: Int, outFeatures: Int) throws {
        guard inFeatures > 0, outFeatures > 0, weight.count == inFeatures * outFeatures, bias.count == outFeatures else {
            throw RuntimeError.badInput(reason: "dense: weight holds \(weight.count) values and bias \(bias.count), expected \(outFeatures)x\(inFeatures) and \(outFeatures)")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = weight
        self.bias = bias
    }

    /// `x`: batch x in, row-major; returns batch x out.
    public func forward(_ x: [Float], batch: Int) -> [Float] {
        precondition(x.count == batch * inFeatures, "dense: input has \(x.count) values for batch \(batch) x \(inFeatures)")
        var y = [Float](repeating: 0, count: batch * outFeatures)
        for n in 0..<batch { for o in 0..<outFeatures { y[n * outFeatures + o] = bias[o] } }
        Parallel.singleThreadedBLAS()
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(outFeatures), Int32(inFeatures),
                    1, x, Int32(inFeatures), weight, Int32(inFeatures), 1, &y, Int32(outFeatures))
        return y
    }

    public struct Gradients: Sendable {
        public let weight: [Float]
        public let bias: [Float]
        public let input: [Float]
    }

    /// dW = dY^T X, db = sum over the batch of dY, dX = dY W.
    public func backward(input x: [Float], outputGradient dY: [Float], batch: Int) -> Gradients {
        precondition(dY.count == batch * outFeatures && x.count == batch * inFeatures, "dense backward: sizes do not match")
        var dW = [Float](repeating: 0, count: weight.count)
        var dX = [Float](repeating: 0, count: x.count)
        Parallel.singleThreadedBLAS()
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), Int32(batch),
                    1, dY, Int32(outFeatures), x, Int32(inFeatures), 0, &dW, Int32(inFeatures))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(batch), Int32(inFeatures), Int32(outFeatures),
                    1, dY, Int32(outFeatures), weight, Int32(inFeatures), 0, &dX, Int32(inFeatures))
        var db = [Float](repeating: 0, count: outFeatures)
        for n in 0..<batch { for o in 0..<outFeatures { db[o] += dY[n * outFeatures + o] } }
        return Gradients(weight: dW, bias: db, input: dX)
    }
}

/// Global average pooling over D, H, W: (N, C, D, H, W) -> N x C, and its backward (the
/// gradient spread evenly over each channel's voxels).
public enum GlobalAveragePool {
    public static func forward(_ x: FeatureMap) -> [Float] {
        let s = x.spatialCount
        var out = [Float](repeating: 0, count: x.batch * x.channels)
        x.data.withUnsafeBufferPointer { p in
            for plane in 0..<(x.batch * x.channels) {
                out[plane] = Float(Reductions.sum(p.baseAddress! + plane * s, count: s) / Double(s))
            }
        }
        return out
    }

    public static func backward(_ dY: [Float], shape: [Int]) throws -> FeatureMap {
        var g = try FeatureMap(batch: shape[0], channels: shape[1], depth: shape[2], height: shape[3], width: shape[4], what: "pool gradient")
        let s = g.spatialCount
        let inv = 1 / Float(s)
        for plane in 0..<(shape[0] * shape[1]) {
            let v = dY[plane] * inv
            for i in 0..<s { g.data[plane * s + i] = v }
        }
        return g
    }
}

extension Activations {
    /// max(0, x) on plain values, NaN kept.
    public static func relu(_ v: [Float]) -> [Float] { v.map { $0.isNaN || $0 > 0 ? $0 : 0 } }
}
