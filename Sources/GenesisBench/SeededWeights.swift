import GenesisModel
import Tensors

/// Deterministic weights for any architecture (SplitMix64): He-uniform-like kernels, small
/// biases, BN gamma near 1 and positive variances, so activations stay in a realistic range.
enum SeededWeights {
    static func store(_ arch: Architecture, seed: UInt64) -> TensorStore {
        var state = seed
        func next() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(z >> 40) / Float(1 << 24) * 2 - 1
        }
        var store = TensorStore()
        for spec in arch.tensors where spec.role != .bnCount {
            let n = spec.elementCount
            var v = [Float](repeating: 0, count: n)
            switch spec.role {
            case .convWeight, .upWeight:
                let scale = (6 / Float(spec.shape.dropFirst().reduce(1, *))).squareRoot()
                for i in 0..<n { v[i] = next() * scale }
            case .bnGamma: for i in 0..<n { v[i] = 1 + 0.1 * next() }
            case .bnVariance: for i in 0..<n { v[i] = 0.5 + abs(next()) }
            default: for i in 0..<n { v[i] = 0.05 * next() }
            }
            store[spec.name] = Tensor(shape: spec.shape, floats: v)
        }
        return store
    }
}
