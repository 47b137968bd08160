import GenesisModel
import Tensors

/// Any recognised network (`NetworkArchitecture`, of any family) with its weights, ready to run
/// forward: the runtime `Network` built from `architecture.network` with the arithmetic of the
/// framework its weights follow. What cube and whole-scan inference and library programs run,
/// whatever the family; `GenesisNetwork` is the Genesis U-Net's own (training, the classifier)
/// and gives one of these (`runnable`). Never opens a file.
public struct RunnableNetwork: Sendable {
    public let architecture: any NetworkArchitecture
    public let network: Network
    /// BatchNorm epsilon (unused by a network without BatchNorm).
    public let bnEpsilon: Float

    /// Checks and takes every tensor the description needs (`Network.init`). `bnEpsilon`
    /// defaults to the weights' framework's; `bnArithmetic` too.
    public init(architecture: any NetworkArchitecture, weights: TensorStore, bnEpsilon: Float? = nil, bnArithmetic: BatchNormArithmetic? = nil,
                algorithm: Conv3D.Algorithm = Conv3D.defaultAlgorithm, tuning: ConvolutionTuning = .default) throws {
        let eps = bnEpsilon ?? architecture.conventions.bnEpsilon
        let options = NetworkOptions(bnEpsilon: eps, bnArithmetic: bnArithmetic ?? architecture.conventions.bnArithmetic,
                                     algorithm: algorithm, tuning: tuning)
        self.init(architecture: architecture, network: try Network(architecture.network, weights: weights, options: options), bnEpsilon: eps)
    }

    init(architecture: any NetworkArchitecture, network: Network, bnEpsilon: Float) {
        self.architecture = architecture
        self.network = network
        self.bnEpsilon = bnEpsilon
    }

    /// Output channels of the network's (first) output.
    public var outputChannels: Int {
        let m = network.graph.spatialMultiples
        return network.graph.outputShapes(depth: m[0], height: m[1], width: m[2])[network.graph.outputs[0]][0]
    }

    /// Checks an input: (N, C, D, H, W) with the described C, every side a multiple of
    /// `architecture.spatialMultiples` on its axis.
    public func validate(_ x: FeatureMap) throws { try network.validate(x) }

    /// The network's (first) output: what its description ends in (sigmoid or softmax for the
    /// Genesis U-Net, the logits for nnU-Net Genesis). `onLayer` receives each step's time and FLOPs.
    public func forward(_ x: FeatureMap, bn: BatchNormMode, threads: Int = Parallel.defaultThreads,
                        onLayer: ((LayerTiming) -> Void)? = nil) throws -> FeatureMap {
        try network.forwardOutputs(x, bn: bn, threads: threads, onLayer: onLayer)[0]
    }

    /// `forward` on a rank-5 tensor of any numeric dtype; returns float32.
    public func forward(_ x: Tensor, bn: BatchNormMode, threads: Int = Parallel.defaultThreads) throws -> Tensor {
        try forward(FeatureMap(x), bn: bn, threads: threads).tensor
    }

    /// Forward FLOPs (multiply-add = 2) for one input of spatial size d x h x w.
    public func forwardFLOPs(depth d: Int, height h: Int, width w: Int) -> Double {
        network.graph.forwardFLOPs(depth: d, height: h, width: w)
    }

    /// What a forward pass on inputs of this size allocates (`ForwardMemoryEstimate`).
    public func memoryEstimate(depth d: Int, height h: Int, width w: Int) -> ForwardMemoryEstimate {
        ForwardMemoryEstimate(architecture, depth: d, height: h, width: w)
    }
}

extension GenesisNetwork {
    /// The same network, weights and layers shared, as any family's network runs.
    public var runnable: RunnableNetwork { RunnableNetwork(architecture: architecture, network: network, bnEpsilon: bnEpsilon) }
}
