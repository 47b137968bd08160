import GenesisModel

/// What a training step's backward pass needs from a forward pass, recorded when a trace is
/// passed to `Network.forward` (inference leaves it out, frees maps early and overwrites in
/// place).
///
/// Per described node its output (nil for nodes the executor read through: concatenations and
/// upsamplings fused into a convolution, BatchNorms fused with their ReLU), and per BatchNorm
/// node the statistics it normalised with. A fused block's convolution output is its
/// BatchNorm's input and the ReLU output its mask (output > 0). Nothing here needs recomputing.
public final class ForwardTrace {
    /// The BatchNorm mode of the traced pass (the backward pass differentiates through batch
    /// statistics only in batch mode).
    public internal(set) var mode: BatchNormMode?
    /// The traced network's nodes (the backward pass checks it is given its own trace).
    var graph: NetworkDescription?
    var values: [FeatureMap?] = []
    var statisticsByNode: [Int: BatchNormStatistics] = [:]
    /// Per convolution node, its input parts as the convolution read them.
    var convInputsByNode: [Int: [ConvInput]] = [:]

    public init() {}

    /// The output of the node named `name` (nil when not kept).
    public func output(of name: String) -> FeatureMap? {
        guard let i = graph?.nodes.firstIndex(where: { $0.name == name }), i < values.count else { return nil }
        return values[i]
    }

    /// The network's (first) output.
    public var output: FeatureMap? {
        guard let g = graph, let o = g.outputs.first, o < values.count else { return nil }
        return values[o]
    }

    /// The statistics each BatchNorm normalised with, in node order.
    public var statistics: [BatchNormStatistics] { statisticsByNode.keys.sorted().map { statisticsByNode[$0]! } }

    /// The BatchNorm statistics of the batch (`statistics`, under the classifier's older name).
    public var batchStatistics: [BatchNormStatistics] { statistics }

    /// Outputs of the nodes whose operation `matches`, in node order (nil outputs left out).
    func outputs(where matches: (Operation) -> Bool) -> [FeatureMap] {
        guard let g = graph else { return [] }
        return g.nodes.indices.filter { matches(g.nodes[$0].operation) && $0 < values.count }.compactMap { values[$0] }
    }

    /// Inputs of every BatchNorm (the convolution outputs of Conv -> BN -> ReLU blocks).
    public var convOutputs: [FeatureMap] {
        guard let g = graph else { return [] }
        return g.nodes.indices.filter { if case .batchNorm = g.nodes[$0].operation { return true } else { return false } }
            .compactMap { values[g.nodes[$0].inputs[0]] }
    }

    /// Input parts of every convolution followed by a BatchNorm (the blocks' inputs; an
    /// upsampled part as the low-resolution map it was read from).
    public var blockInputs: [[ConvInput]] {
        guard let g = graph else { return [] }
        return g.nodes.indices.filter { if case .batchNorm = g.nodes[$0].operation { return true } else { return false } }
            .compactMap { convInputsByNode[g.nodes[$0].inputs[0]] }
    }

    /// Outputs of every ReLU that follows a BatchNorm (the blocks' outputs).
    public var blockOutputs: [FeatureMap] {
        guard let g = graph else { return [] }
        return g.nodes.indices.filter { i in
            guard g.nodes[i].operation == .relu, let src = g.nodes[i].inputs.first else { return false }
            if case .batchNorm = g.nodes[src].operation { return true } else { return false }
        }.compactMap { values[$0] }
    }

    /// Outputs of the transposed convolutions (the torch variant's up-convolutions).
    public var upsampled: [FeatureMap] { outputs { if case .convTranspose = $0 { return true } else { return false } } }
}
