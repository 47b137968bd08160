import Tensors

/// Fresh weights for an architecture: He-normal convolution kernels (std sqrt(2 / fan_in)),
/// zero biases, BatchNorm at identity (gamma 1, beta 0, mean 0, variance 1), and up-convolutions
/// as the identity upsampler (so a fresh torch-variant network equals the keras one).
public enum Initialization {
    public static func heNormal(_ arch: Architecture, seed: UInt64) -> TensorStore {
        var rng = SeededGenerator(seed: seed)
        var store = TensorStore()
        for spec in arch.tensors {
            let n = spec.elementCount
            switch spec.role {
            case .convWeight:
                let fanIn = spec.shape[1] * spec.shape[2] * spec.shape[3] * spec.shape[4]
                let std = (2.0 / Double(fanIn)).squareRoot()
                store[spec.name] = Tensor(shape: spec.shape, floats: (0..<n).map { _ in Float(rng.nextNormal() * std) })
            case .convBias, .bnBeta, .bnMean, .upBias:
                store[spec.name] = Tensor(shape: spec.shape, floats: [Float](repeating: 0, count: n))
            case .bnGamma, .bnVariance:
                store[spec.name] = Tensor(shape: spec.shape, floats: [Float](repeating: 1, count: n))
            case .bnCount:
                store[spec.name] = Tensor(scalarInt64: 0)
            case .upWeight:
                store[spec.name] = identityUpsampler(channels: spec.shape[0])
            }
        }
        return store
    }

    /// A ConvTranspose3d(C, C, 2, stride 2) weight (in, out, 2, 2, 2) that is nearest-neighbour
    /// upsampling: 1 at every tap where in == out (schemas/genesis-architecture.md, "Variant conversion").
    public static func identityUpsampler(channels c: Int) -> Tensor {
        var w = [Float](repeating: 0, count: c * c * 8)
        for i in 0..<c { for tap in 0..<8 { w[(i * c + i) * 8 + tap] = 1 } }
        return Tensor(shape: [c, c, 2, 2, 2], floats: w)
    }
}
