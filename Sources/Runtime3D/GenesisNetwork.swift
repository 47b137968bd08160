import GenesisModel
import Tensors

extension BatchNormArithmetic {
    /// The arithmetic of the framework a variant comes from (keras: TensorFlow's, torch: PyTorch's).
    public init(_ variant: Variant) { self = FrameworkConventions(variant).bnArithmetic }
}

/// The Genesis 3D U-Net (schemas/genesis-architecture.md) with weights, ready to run forward
/// and backward: the `Network` built from `architecture.network`, the description that
/// `Architecture` derives its tensor table from. Never opens a file.
public struct GenesisNetwork: Sendable {
    public let architecture: Architecture
    public let bnEpsilon: Float
    public let network: Network

    /// Checks and takes every tensor the architecture needs (extra tensors are ignored;
    /// `num_batches_tracked` is not needed). `bnEpsilon` defaults to the variant's framework
    /// (keras 1e-3, torch 1e-5). `algorithm` picks the 3x3x3 convolution method: the Winograd
    /// default prepares transformed filters (4x the weights' memory, worth it on full-size
    /// cubes); `.im2col` runs straight from the weights (cheaper for one small proof cube).
    /// `tuning` sets the convolutions' tiling (benchmarks and tests; the default is measured).
    /// `bnReducer` (data-parallel `--sync-bn`) gives every BatchNorm the whole batch's statistics.
    /// `bnArithmetic` defaults to the variant's framework (keras: TensorFlow's, torch: PyTorch's).
    public init(architecture: Architecture, weights: TensorStore, bnEpsilon: Float? = nil,
                algorithm: Conv3D.Algorithm = Conv3D.defaultAlgorithm, tuning: ConvolutionTuning = .default,
                bnReducer: (any BatchNormReducer)? = nil, bnArithmetic: BatchNormArithmetic? = nil) throws {
        self.architecture = architecture
        let eps = bnEpsilon ?? architecture.variant.defaultBNEpsilon
        self.bnEpsilon = eps
        let options = NetworkOptions(bnEpsilon: eps, bnArithmetic: bnArithmetic ?? BatchNormArithmetic(architecture.variant),
                                     bnReducer: bnReducer, algorithm: algorithm, tuning: tuning)
        network = try Network(architecture.network, weights: weights, options: options)
        self.options = options
    }

    /// How the layers were built (the classifier on this network's encoder builds alike).
    public let options: NetworkOptions

    /// The 14 blocks' batch norms, in order (depth_0 ... depth_13).
    public var batchNorms: [BatchNorm] { network.batchNorms.map(\.layer) }

    /// Checks an input: (N, 1, D, H, W), N >= 1, every spatial side a positive multiple of 8.
    public func validate(_ x: FeatureMap) throws { try network.validate(x) }

    /// The network's output: sigmoid for one label (official), softmax over channels for more.
    /// `onLayer` receives each step's wall time and FLOPs (for the whole batch) as it
    /// completes (`<module>.conv1`, `<module>.bn1+relu`, `maxpool N`, `up_tr*.up_conv`,
    /// `out_tr.final_conv`, `sigmoid`); `trace` (for training) keeps what the backward pass needs.
    public func forward(_ x: FeatureMap, bn: BatchNormMode, threads: Int = Parallel.defaultThreads,
                        trace: ForwardTrace? = nil, onLayer: ((LayerTiming) -> Void)? = nil) throws -> FeatureMap {
        try network.forwardOutputs(x, bn: bn, threads: threads, trace: trace, onLayer: onLayer)[0]
    }

    /// `forward` on a rank-5 tensor of any numeric dtype; returns float32.
    public func forward(_ x: Tensor, bn: BatchNormMode, threads: Int = Parallel.defaultThreads,
                        onLayer: ((LayerTiming) -> Void)? = nil) throws -> Tensor {
        try forward(FeatureMap(x), bn: bn, threads: threads, onLayer: onLayer).tensor
    }

    /// `forward` on values in C order with their shape (N, 1, D, H, W).
    public func forward(_ values: [Float], shape: [Int], bn: BatchNormMode, threads: Int = Parallel.defaultThreads) throws -> (values: [Float], shape: [Int]) {
        let y = try forward(FeatureMap(shape: shape, data: values), bn: bn, threads: threads)
        return (y.data, y.shape)
    }

    /// Backward of a traced `forward`, given dLoss/dOutput (`Network.backward`): gradients of
    /// every trainable tensor in the architecture's order, and the 14 blocks' statistics.
    public func backward(trace: ForwardTrace, outputGradient dOut: FeatureMap, threads: Int = Parallel.defaultThreads,
                         onLayer: ((LayerTiming) -> Void)? = nil,
                         onGradient: ((_ name: String, _ values: [Float]) throws -> Void)? = nil) throws -> NetworkGradients {
        try network.backward(trace: trace, outputGradients: [dOut], threads: threads, onLayer: onLayer, onGradient: onGradient)
    }

    /// Every block's moving mean and variance after folding in `statistics` (one per block,
    /// as `NetworkGradients.statistics`) by `convention`, under canonical names
    /// (`<block>.bn1.running_mean`, `.running_var`).
    public func movingStatistics(after statistics: [BatchNormStatistics], convention: MovingStatisticsConvention) throws -> TensorStore {
        try network.movingStatistics(after: statistics, convention: convention)
    }
}
