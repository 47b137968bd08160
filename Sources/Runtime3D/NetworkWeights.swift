import GenesisModel
import Tensors

/// Reads the network's tensors out of a canonical store (official PyTorch names and layouts),
/// checking each against the architecture's spec.
struct NetworkWeights {
    let architecture: Architecture
    let store: TensorStore
    let algorithm: Conv3D.Algorithm
    let tuning: ConvolutionTuning

    /// Values of the canonical tensor `name`, which must exist with the spec's shape and a
    /// floating-point dtype.
    func floats(_ name: String) throws -> [Float] {
        guard let spec = architecture.spec(named: name) else {
            throw RuntimeError.badInput(reason: "architecture \(architecture) has no tensor \(name)")
        }
        guard let t = store[name] else { throw RuntimeError.missingTensor(name: name, expectedShape: spec.shape) }
        guard t.shape == spec.shape else { throw RuntimeError.shapeMismatch(name: name, expected: spec.shape, found: t.shape) }
        guard t.dtype.isFloatingPoint else { throw RuntimeError.badDType(name: name, found: t.dtype.rawValue) }
        return t.floats()
    }

    func conv(_ block: ConvBlock, module: String) throws -> Conv3D {
        try Conv3D(weight: floats(module + ".weight"), bias: floats(module + ".bias"),
                   outChannels: block.outChannels, inChannels: block.inChannels, kernel: block.kernel,
                   algorithm: algorithm, tuning: tuning)
    }

    func batchNorm(block: Int, epsilon: Float) throws -> BatchNorm {
        let m = Layout.blockModules[block] + ".bn1."
        return try BatchNorm(gamma: floats(m + "weight"), beta: floats(m + "bias"),
                             movingMean: floats(m + "running_mean"), movingVariance: floats(m + "running_var"),
                             epsilon: epsilon)
    }

    func upConv(_ u: Int) throws -> ConvTranspose3D {
        let c = architecture.upsamplerChannels[u]
        let m = Layout.upsamplerModules[u]
        return try ConvTranspose3D(weight: floats(m + ".weight"), bias: floats(m + ".bias"), inChannels: c, outChannels: c,
                                   tileFloats: tuning.transposedTileFloats, preciseMaxMultiplyAdds: tuning.preciseMaxMultiplyAdds)
    }
}
