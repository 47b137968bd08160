import GenesisModel
import Tensors

/// The network's gradients for one traced forward pass.
public struct NetworkGradients: Sendable {
    /// dLoss/d(every trainable tensor) as float32, under canonical names with the described
    /// shapes, in the description's parameter order.
    public var tensors: TensorStore
    /// Trainable tensors of nodes whose output reaches no network output (nnU-Net's
    /// seg_outputs 0-3 without deep supervision), in parameter order: their gradients in
    /// `tensors` are zero; PyTorch leaves their `.grad` None, so its optimizers skip them.
    public var unreached: [String] = []
    /// The statistics each BatchNorm normalised with, in node order: in batch mode the
    /// batch's, which the training loop folds into the moving statistics with
    /// `movingStatistics(after:convention:)`.
    public var statistics: [BatchNormStatistics]
    public var mode: BatchNormMode
}

extension Network {
    /// Backward of a traced `forwardOutputs(x, bn:, trace:)`: given dLoss/d(each output), the
    /// gradients of every trainable tensor. Walks the execution plan in reverse: each step's
    /// backward turns the gradient of its output into gradients of its parameters and of the
    /// nodes it read; a node read by several steps gets their sum (the gradient arriving last,
    /// i.e. from the earliest reader, plus the ones before it). The input's gradient is not
    /// computed. `onLayer` receives each step's wall time (`<bn>+relu backward`, `<conv> dW`,
    /// `<conv> dX`, `<node> backward`; FLOPs are the im2col-equivalent multiply-adds x 2 of the
    /// whole batch). `onGradient` receives each trainable tensor's gradient (canonical name,
    /// values) as soon as it is final, from the outputs back to the input (a data-parallel run
    /// starts its all-reduce of the first buckets while the rest of the backward pass runs).
    public func backward(trace: ForwardTrace, outputGradients: [FeatureMap], threads: Int = Parallel.defaultThreads,
                         onLayer: ((LayerTiming) -> Void)? = nil,
                         onGradient: ((_ name: String, _ values: [Float]) throws -> Void)? = nil) throws -> NetworkGradients {
        let nodes = graph.nodes
        guard let mode = trace.mode, trace.graph == graph, trace.values.count == nodes.count else {
            throw RuntimeError.badInput(reason: "backward: the trace is incomplete (pass a fresh ForwardTrace to forward)")
        }
        guard outputGradients.count == graph.outputs.count else {
            throw RuntimeError.badInput(reason: "backward: \(outputGradients.count) output gradients for \(graph.outputs.count) outputs")
        }
        var grads = [FeatureMap?](repeating: nil, count: nodes.count)
        for (o, g) in zip(graph.outputs, outputGradients) {
            guard let y = trace.values[o], g.shape == y.shape else {
                throw RuntimeError.badInput(reason: "backward: output gradient has shape \(g.shape), the output \(trace.values[o]?.shape ?? [])")
            }
            grads[o] = g
        }
        var found: [String: [Float]] = [:]
        func keep(_ name: String, _ values: [Float]) throws {
            found[name] = values
            try onGradient?(name, values)
        }
        func accumulate(_ n: Int, _ d: FeatureMap) throws {
            guard n > 0 else { return }
            if let earlier = grads[n] {
                var sum = d
                try sum.add(earlier, threads: threads)
                grads[n] = sum
            } else {
                grads[n] = d
            }
        }
        let clock = StepClock(report: onLayer)
        let step = StepBackward(network: self, trace: trace, mode: mode, threads: threads, clock: clock)
        for s in plan.steps.reversed() {
            guard let g = grads[s.output] else { continue }
            grads[s.output] = nil
            switch s {
            case let .convolution(c, norm, relu, parts):
                var dY = g
                if let norm, case let .batchNorm(layer) = layers[norm] {
                    let name = nodes[norm].name
                    let b = try clock.time(name + (relu != nil ? "+relu" : "") + " backward", shape: { $0.input.shape }) {
                        try layer.backward(input: trace.values[c]!, output: relu.map { trace.values[$0]! }, outputGradient: g,
                                           statistics: trace.statisticsByNode[norm]!, mode: mode, relu: relu != nil, threads: threads)
                    }
                    try keep(name + ".weight", b.gamma)
                    try keep(name + ".bias", b.beta)
                    dY = b.input
                }
                let inputs = try step.convolution(c, parts: parts, outputGradient: dY, keep: keep)
                for (p, d) in zip(parts, inputs) { try accumulate(p.node, d) }
            case let .op(n):
                for (input, d) in try step.op(n, outputGradient: g, keep: keep) { try accumulate(input, d) }
            }
        }
        var store = TensorStore()
        var unreached: [String] = []
        let live = graph.reachesOutput
        let liveNodes = Set(nodes.indices.filter { live[$0] }.map { nodes[$0].name })
        for spec in graph.parameters where spec.trainable && !liveNodes.contains(spec.node) {
            try keep(spec.name, [Float](repeating: 0, count: spec.elementCount))
            unreached.append(spec.name)
        }
        for spec in graph.parameters where spec.trainable {
            guard let values = found[spec.name], values.count == spec.elementCount else {
                throw RuntimeError.missingTensor(name: spec.name, expectedShape: spec.shape)
            }
            store[spec.name] = Tensor(shape: spec.shape, floats: values)
        }
        return NetworkGradients(tensors: store, unreached: unreached, statistics: trace.statistics, mode: mode)
    }
}

/// The backward of one step, op by op, beside the forward in `Network+Forward.swift`.
struct StepBackward {
    let network: Network
    let trace: ForwardTrace
    let mode: BatchNormMode
    let threads: Int
    let clock: StepClock

    /// Weight and bias gradients of convolution `c` (kept), then its parts' gradients (none
    /// when every part is the network input).
    func convolution(_ c: Int, parts: [ExecutionPlan.Part], outputGradient dY: FeatureMap,
                     keep: (String, [Float]) throws -> Void) throws -> [FeatureMap] {
        guard case let .conv(conv) = network.layers[c], case let .conv(spec) = network.graph.nodes[c].operation,
              let inputs = trace.convInputsByNode[c] else {
            throw RuntimeError.badInput(reason: "backward: the trace has no input for \(network.graph.nodes[c].name)")
        }
        let name = network.graph.nodes[c].name
        let flops = conv.flops(voxels: dY.spatialCount) * Double(dY.batch)
        let (w, b) = try clock.time(name + " dW", flops: flops, shape: { _ in conv.weightShape }) {
            try conv.parameterGradients(inputs, outputGradient: dY, threads: threads)
        }
        try keep(name + ".weight", w)
        if spec.bias { try keep(name + ".bias", b) }
        guard parts.contains(where: { $0.node > 0 }) else { return [] }
        return try clock.time(name + " dX", flops: flops, shape: { $0.first?.shape ?? [] }) {
            try conv.inputGradients(inputs, outputGradient: dY, threads: threads)
        }
    }

    /// Gradients of node `n`'s parameters (kept) and of the nodes it read, given its output's.
    func op(_ n: Int, outputGradient g: FeatureMap, keep: (String, [Float]) throws -> Void) throws -> [(Int, FeatureMap)] {
        let node = network.graph.nodes[n]
        let name = node.name
        let value = { (i: Int) throws -> FeatureMap in
            guard let v = self.trace.values[i] else { throw RuntimeError.badInput(reason: "backward: the trace has no output of \(self.network.graph.nodes[i].name)") }
            return v
        }
        let first = node.inputs[0]
        switch (node.operation, network.layers[n]) {
        case (.conv, _):
            return try convolution(n, parts: [.map(first)], outputGradient: g, keep: keep).map { (first, $0) }
        case let (.convTranspose(spec), .convTranspose(t)):
            let up = try clock.time(name + " backward", shape: { $0.input.shape }) {
                try t.backward(input: value(first), outputGradient: g, threads: threads)
            }
            try keep(name + ".weight", up.weight)
            if spec.bias { try keep(name + ".bias", up.bias) }
            return [(first, up.input)]
        case let (_, .batchNorm(layer)):
            let b = try clock.time(name + " backward", shape: { $0.input.shape }) {
                try layer.backward(input: value(first), output: nil, outputGradient: g, statistics: trace.statisticsByNode[n]!,
                                   mode: mode, relu: false, threads: threads)
            }
            try keep(name + ".weight", b.gamma)
            try keep(name + ".bias", b.beta)
            return [(first, b.input)]
        case let (.instanceNorm(_, affine, _), .instanceNorm(layer)):
            let b = try clock.time(name + " backward", shape: { $0.input.shape }) { try layer.backward(input: value(first), outputGradient: g) }
            if affine {
                try keep(name + ".weight", b.gamma)
                try keep(name + ".bias", b.beta)
            }
            return [(first, b.input)]
        case let (_, .dense(d)):
            let x = try value(first)
            let r = d.backward(input: x.data, outputGradient: g.data, batch: x.batch)
            try keep(name + ".weight", r.weight)
            try keep(name + ".bias", r.bias)
            return [(first, try FeatureMap(shape: x.shape, data: r.input))]
        case (.maxPool, _):
            return [(first, try clock.step(name + " backward") { try Resampling.maxPool2Backward(input: value(first), outputGradient: g, threads: threads) })]
        case (.upsampleNearest, _):
            return [(first, try clock.step(name + " backward") { try Resampling.upsampleNearest2Backward(g, threads: threads) })]
        case (.concat, _):
            var start = 0
            return try node.inputs.map { i in
                let c = try value(i).channels
                defer { start += c }
                return (i, try g.channelSlice(start..<(start + c), threads: threads))
            }
        case (.globalAveragePool, _):
            return [(first, try GlobalAveragePool.backward(g.data, shape: value(first).shape))]
        case (.relu, _):
            return [(first, try Activations.reluBackward(output: value(n), outputGradient: g))]
        case let (.leakyReLU(slope), _):
            return [(first, try Activations.leakyReLUBackward(output: value(n), outputGradient: g, slope: slope))]
        case (.sigmoid, _):
            return [(first, try Activations.sigmoidBackward(output: value(n), outputGradient: g))]
        case (.softmax, _):
            return [(first, try Activations.softmaxChannelsBackward(output: value(n), outputGradient: g))]
        default:
            throw RuntimeError.badInput(reason: "\(name): operation \(node.operation) has no backward")
        }
    }
}
