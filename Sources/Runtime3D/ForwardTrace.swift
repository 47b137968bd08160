/// What a training step's backward pass needs from a forward pass, recorded when a trace is
/// passed to `GenesisNetwork.forward` (inference leaves it out and overwrites in place).
///
/// Per block i (depth_i, 0...13): the convolution's input parts (the upsampled part as the
/// low-resolution map it was read from), its output before BatchNorm, the statistics BatchNorm
/// used and the block's output after ReLU (its mask is output > 0). Max-pool inputs are the
/// outputs of blocks 1, 3, 5 and the pooled maps are the inputs of blocks 2, 4, 6; up-convolution
/// inputs are the outputs of blocks 7, 9, 11. Nothing here needs recomputing.
public final class ForwardTrace {
    /// The BatchNorm mode of the traced pass (the backward pass differentiates through batch
    /// statistics only in batch mode).
    public internal(set) var mode: BatchNormMode?
    public internal(set) var blockInputs: [[ConvInput]] = []
    public internal(set) var convOutputs: [FeatureMap] = []
    public internal(set) var statistics: [BatchNormStatistics] = []
    public internal(set) var blockOutputs: [FeatureMap] = []
    /// Output of each torch-variant up-convolution (decoder order); empty for keras.
    public internal(set) var upsampled: [FeatureMap] = []
    /// The final 1x1x1 convolution's output before sigmoid / softmax, and the network output.
    public internal(set) var logits: FeatureMap?
    public internal(set) var output: FeatureMap?

    public init() {}
}
