import GenesisModel
import Runtime3D
import Tensors

/// The Genesis U-Net (schemas/genesis-architecture.md) in float64 from `Reference` ops, written from the
/// architecture table, not from `GenesisNetwork`: parameters by canonical name.
struct ReferenceNetwork {
    let architecture: Architecture
    var parameters: [String: [Double]]
    let epsilon: Double

    init(architecture: Architecture, store: TensorStore, epsilon: Double) {
        self.architecture = architecture
        self.epsilon = epsilon
        var p: [String: [Double]] = [:]
        for spec in architecture.tensors where spec.role != .bnCount { p[spec.name] = store[spec.name]!.floats().map(Double.init) }
        parameters = p
    }

    private func block(_ i: Int, _ x: Grid, mode: BatchNormMode) -> Grid {
        let m = Layout.blockModules[i]
        let b = architecture.blocks[i]
        let y = Reference.conv(x, parameters[m + ".conv1.weight"]!, parameters[m + ".conv1.bias"]!, out: b.outChannels, k: 3)
        let moving = mode == .inference ? (parameters[m + ".bn1.running_mean"]!, parameters[m + ".bn1.running_var"]!) : nil
        return Reference.batchNorm(y, gamma: parameters[m + ".bn1.weight"]!, beta: parameters[m + ".bn1.bias"]!, eps: epsilon, moving: moving, relu: true)
    }

    func forward(_ x: Grid, mode: BatchNormMode) -> Grid {
        var skips: [Grid] = []
        var h = x
        for level in 0..<3 {
            h = block(2 * level + 1, block(2 * level, h, mode: mode), mode: mode)
            skips.append(h)
            h = Reference.maxPool(h)
        }
        h = block(7, block(6, h, mode: mode), mode: mode)
        for u in 0..<3 {
            let up: Grid
            if architecture.variant == .torch {
                let m = Layout.upsamplerModules[u]
                up = Reference.convTranspose(h, parameters[m + ".weight"]!, parameters[m + ".bias"]!, out: architecture.upsamplerChannels[u])
            } else {
                up = Reference.upsample(h)
            }
            h = block(9 + 2 * u, block(8 + 2 * u, Reference.concat([up, skips.removeLast()]), mode: mode), mode: mode)
        }
        let f = Layout.finalModule
        let logits = Reference.conv(h, parameters[f + ".weight"]!, parameters[f + ".bias"]!, out: architecture.labels, k: 1)
        return architecture.labels == 1 ? Reference.sigmoid(logits) : Reference.softmaxChannels(logits)
    }
}
