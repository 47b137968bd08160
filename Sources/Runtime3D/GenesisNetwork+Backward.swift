import GenesisModel
import Tensors

/// The network's gradients for one traced forward pass.
public struct NetworkGradients: Sendable {
    /// dLoss/d(every trainable tensor) as float32, under canonical names with the
    /// architecture's shapes, in the architecture's order: `<block>.conv1.weight`/`.bias`,
    /// `<block>.bn1.weight` (gamma) / `.bias` (beta), the torch variant's
    /// `up_tr*.up_conv.weight`/`.bias`, `out_tr.final_conv.weight`/`.bias`.
    public var tensors: TensorStore
    /// The statistics each block's BatchNorm normalised with (depth_0 ... depth_13): in batch
    /// mode the batch's, which the training loop folds into the moving statistics with
    /// `GenesisNetwork.movingStatistics(after:convention:)`.
    public var statistics: [BatchNormStatistics]
    public var mode: BatchNormMode
}

extension GenesisNetwork {
    /// Backward of a traced `forward(x, bn:, trace:)`: given dLoss/dOutput (of the sigmoid or
    /// softmax output, the network's own shape), the gradients of every trainable tensor.
    /// Runs the ops' backward passes in reverse order from what the trace kept: activation,
    /// final 1x1x1 convolution, then per decoder level the second and first block (the first
    /// one's input gradient split between the upsampled part and the skip), the up-convolution
    /// (torch) or the sum over 2x2x2 children (keras, inside the convolution's backward), the
    /// bottom blocks, and per encoder level the max-pool backward plus the skip's gradient.
    /// The first block's input gradient is not computed. `onLayer` receives each step's wall
    /// time (`<module>.bn1+relu backward`, `<module>.conv1 dW`, `<module>.conv1 dX`, ...; FLOPs
    /// are the im2col-equivalent multiply-adds x 2 of the whole batch, shape the step's result).
    /// `onGradient` receives each trainable tensor's gradient (canonical name, values) as soon
    /// as it is final, from the output back to the input (a data-parallel run starts its
    /// all-reduce of the first buckets while the rest of the backward pass runs).
    public func backward(trace: ForwardTrace, outputGradient dOut: FeatureMap, threads: Int = Parallel.defaultThreads,
                         onLayer: ((LayerTiming) -> Void)? = nil,
                         onGradient: ((_ name: String, _ values: [Float]) throws -> Void)? = nil) throws -> NetworkGradients {
        guard let output = trace.output, let mode = trace.mode, trace.blockInputs.count == 14, trace.convOutputs.count == 14,
              trace.blockOutputs.count == 14, trace.statistics.count == 14 else {
            throw RuntimeError.badInput(reason: "backward: the trace is incomplete (pass a fresh ForwardTrace to forward)")
        }
        guard dOut.shape == output.shape else {
            throw RuntimeError.badInput(reason: "backward: output gradient has shape \(dOut.shape), the output \(output.shape)")
        }
        var found: [String: [Float]] = [:]
        func keep(_ name: String, _ values: [Float]) throws {
            found[name] = values
            try onGradient?(name, values)
        }
        let clock = StepClock(report: onLayer)
        func blockBackward(_ i: Int, _ dY: FeatureMap, inputGradient: Bool = true) throws -> [FeatureMap] {
            let module = Layout.blockModules[i]
            let bn = try clock.time(module + ".bn1+relu backward", shape: { $0.input.shape }) {
                try batchNorms[i].backward(input: trace.convOutputs[i], output: trace.blockOutputs[i], outputGradient: dY,
                                           statistics: trace.statistics[i], mode: mode, relu: true, threads: threads)
            }
            try keep(module + ".bn1.weight", bn.gamma)
            try keep(module + ".bn1.bias", bn.beta)
            let conv = convolutions[i]
            let flops = conv.flops(voxels: dY.spatialCount) * Double(dY.batch)
            let (w, b) = try clock.time(module + ".conv1 dW", flops: flops, shape: { _ in conv.weightShape }) {
                try conv.parameterGradients(trace.blockInputs[i], outputGradient: bn.input, threads: threads)
            }
            try keep(module + ".conv1.weight", w)
            try keep(module + ".conv1.bias", b)
            guard inputGradient else { return [] }
            return try clock.time(module + ".conv1 dX", flops: flops, shape: { $0.first?.shape ?? [] }) {
                try conv.inputGradients(trace.blockInputs[i], outputGradient: bn.input, threads: threads)
            }
        }

        var g = architecture.labels == 1 ? try Activations.sigmoidBackward(output: output, outputGradient: dOut)
                                         : try Activations.softmaxChannelsBackward(output: output, outputGradient: dOut)
        let final = try finalConvolution.backward([.map(trace.blockOutputs[13])], outputGradient: g, threads: threads)
        try keep(Layout.finalModule + ".weight", final.weight)
        try keep(Layout.finalModule + ".bias", final.bias)
        g = final.inputs[0]
        var skipGradients = [FeatureMap?](repeating: nil, count: 3)   // by encoder level
        for u in (0..<3).reversed() {
            g = try blockBackward(9 + 2 * u, g)[0]
            let parts = try blockBackward(8 + 2 * u, g)
            skipGradients[2 - u] = parts[1]
            switch upsamplers[u] {
            case .nearest:
                g = parts[0]
            case let .transposed(t):
                let up = try clock.time(Layout.upsamplerModules[u] + " backward", shape: { $0.input.shape }) {
                    try t.backward(input: trace.blockOutputs[7 + 2 * u], outputGradient: parts[0], threads: threads)
                }
                try keep(Layout.upsamplerModules[u] + ".weight", up.weight)
                try keep(Layout.upsamplerModules[u] + ".bias", up.bias)
                g = up.input
            }
        }
        g = try blockBackward(7, g)[0]
        g = try blockBackward(6, g)[0]
        for level in (0..<3).reversed() {
            var d = try clock.step("maxpool \(level) backward") {
                try Resampling.maxPool2Backward(input: trace.blockOutputs[2 * level + 1], outputGradient: g, threads: threads)
            }
            if let skip = skipGradients[level] { try d.add(skip, threads: threads) }
            g = try blockBackward(2 * level + 1, d)[0]
            let inputs = try blockBackward(2 * level, g, inputGradient: level > 0)
            if level > 0 { g = inputs[0] }
        }

        var store = TensorStore()
        for spec in architecture.tensors where spec.role.isTrainable {
            guard let values = found[spec.name], values.count == spec.elementCount else {
                throw RuntimeError.missingTensor(name: spec.name, expectedShape: spec.shape)
            }
            store[spec.name] = Tensor(shape: spec.shape, floats: values)
        }
        return NetworkGradients(tensors: store, statistics: trace.statistics, mode: mode)
    }

    /// Every block's moving mean and variance after folding in `statistics` (one per block,
    /// as `NetworkGradients.statistics`) by `convention`, under canonical names
    /// (`<block>.bn1.running_mean`, `.running_var`).
    public func movingStatistics(after statistics: [BatchNormStatistics], convention: MovingStatisticsConvention) throws -> TensorStore {
        guard statistics.count == batchNorms.count else {
            throw RuntimeError.badInput(reason: "moving statistics: \(statistics.count) statistics for \(batchNorms.count) batch norms")
        }
        var store = TensorStore()
        for (i, bn) in batchNorms.enumerated() {
            let (mean, variance) = bn.updatedMovingStatistics(statistics[i], convention: convention)
            let m = Layout.blockModules[i] + ".bn1."
            store[m + "running_mean"] = Tensor(shape: [mean.count], floats: mean)
            store[m + "running_var"] = Tensor(shape: [variance.count], floats: variance)
        }
        return store
    }
}
