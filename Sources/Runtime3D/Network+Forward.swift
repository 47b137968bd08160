import GenesisModel
import Tensors

extension Network {
    /// The network's outputs (in `graph.outputs` order) for `x`. `onLayer` receives each step's
    /// wall time and FLOPs (whole batch) as it completes, under the node's name (a fused block
    /// as `<conv>` then `<bn>+relu`); `trace` (for training) keeps what the backward pass needs.
    /// Untraced, each map is freed after its last reader and overwritten in place by it where
    /// the op allows.
    public func forwardOutputs(_ x: FeatureMap, bn: BatchNormMode, threads: Int = Parallel.defaultThreads,
                               trace: ForwardTrace? = nil, onLayer: ((LayerTiming) -> Void)? = nil) throws -> [FeatureMap] {
        try validate(x)
        let nodes = graph.nodes
        let clock = StepClock(report: onLayer)
        var values = [FeatureMap?](repeating: nil, count: nodes.count)
        values[0] = x
        trace?.mode = bn
        trace?.graph = graph
        let outputs = Set(graph.outputs)
        for (s, step) in plan.steps.enumerated() {
            switch step {
            case let .convolution(c, norm, relu, parts):
                try convolutionStep(c, norm: norm, relu: relu, parts: parts, values: &values, bn: bn, threads: threads, clock: clock, trace: trace)
            case let .op(n):
                values[n] = try run(n, step: s, values: &values, bn: bn, threads: threads, clock: clock, trace: trace)
            }
            if trace == nil {
                for n in Self.reads(step, nodes) where plan.lastRead[n] == s && !outputs.contains(n) { values[n] = nil }
            }
        }
        trace?.values = values
        return try graph.outputs.map { n in
            guard let y = values[n] else { throw RuntimeError.badInput(reason: "network output \(nodes[n].name) was not computed") }
            return y
        }
    }

    static func reads(_ step: ExecutionPlan.Step, _ nodes: [NetworkDescription.Node]) -> [Int] { ExecutionPlan.reads(step, nodes) }

    /// Convolution on its parts, then the fused BatchNorm (+ ReLU): into a new map beside the
    /// kept convolution output when traced, in place otherwise.
    private func convolutionStep(_ c: Int, norm: Int?, relu: Int?, parts: [ExecutionPlan.Part], values: inout [FeatureMap?],
                                 bn: BatchNormMode, threads: Int, clock: StepClock, trace: ForwardTrace?) throws {
        guard case let .conv(conv) = layers[c] else { throw RuntimeError.badInput(reason: "\(graph.nodes[c].name) is not a convolution") }
        let inputs: [ConvInput] = parts.map { p in
            switch p {
            case let .map(n): return .map(values[n]!)
            case let .upsampled(n): return .upsampled(values[n]!)
            }
        }
        let voxels = conv.outputSides(Array(inputs[0].shape[2...])).reduce(1, *)
        var y = try clock.step(graph.nodes[c].name, flops: conv.flops(voxels: voxels) * Double(inputs[0].shape[0])) {
            try conv.forward(inputs, threads: threads)
        }
        trace?.convInputsByNode[c] = inputs
        guard let norm, case let .batchNorm(layer) = layers[norm] else { values[c] = y; return }
        let name = graph.nodes[norm].name + (relu != nil ? "+relu" : "")
        if let trace {
            values[c] = y
            values[relu ?? norm] = try clock.step(name) {
                let (out, stats) = try layer.applied(y, mode: bn, relu: relu != nil, threads: threads)
                trace.statisticsByNode[norm] = stats
                return out
            }
            return
        }
        try clock.step(name) {
            try layer.apply(&y, mode: bn, relu: relu != nil, threads: threads)
            return y
        }
        values[relu ?? norm] = y
    }

    /// Node `n` on its own.
    private func run(_ n: Int, step s: Int, values: inout [FeatureMap?], bn: BatchNormMode, threads: Int,
                     clock: StepClock, trace: ForwardTrace?) throws -> FeatureMap {
        let isOutput = graph.outputs.contains
        /// Input `i` to overwrite: moved out when this step is its last reader (no copy).
        func take(_ i: Int) -> FeatureMap {
            guard trace == nil, plan.lastRead[i] == s, !isOutput(i) else { return values[i]! }
            defer { values[i] = nil }
            return values[i]!
        }
        let node = graph.nodes[n]
        let name = node.name
        let first = node.inputs[0]
        switch (node.operation, layers[n]) {
        case let (_, .conv(conv)):
            let x = values[first]!
            let voxels = conv.outputSides([x.depth, x.height, x.width]).reduce(1, *)
            return try clock.step(name, flops: conv.flops(voxels: voxels) * Double(x.batch)) {
                let y = try conv.forward(x, threads: threads)
                trace?.convInputsByNode[n] = [.map(x)]
                return y
            }
        case let (_, .convTranspose(t)):
            let x = values[first]!
            let flops = 2 * Double(x.batch * x.spatialCount * t.taps) * Double(t.inChannels * t.outChannels)
            return try clock.step(name, flops: flops) { try t.forward(x, threads: threads) }
        case let (_, .batchNorm(layer)):
            return try clock.step(name) {
                if let trace {
                    let (out, stats) = try layer.applied(values[first]!, mode: bn, threads: threads)
                    trace.statisticsByNode[n] = stats
                    return out
                }
                var y = take(first)
                try layer.apply(&y, mode: bn, threads: threads)
                return y
            }
        case let (_, .instanceNorm(layer)):
            return try clock.step(name) { try layer.forward(values[first]!) }
        case let (_, .dense(d)):
            let x = values[first]!
            return try clock.step(name, flops: 2 * Double(x.batch * d.inFeatures * d.outFeatures)) {
                try FeatureMap(shape: [x.batch, d.outFeatures, 1, 1, 1], data: d.forward(x.data, batch: x.batch))
            }
        case (.maxPool, _):
            return try clock.step(name) { try Resampling.maxPool2(values[first]!, threads: threads) }
        case (.upsampleNearest, _):
            return try clock.step(name) { try Resampling.upsampleNearest2(values[first]!, threads: threads) }
        case (.concat, _):
            return try clock.step(name) { try FeatureMap.concatenated(node.inputs.map { values[$0]! }) }
        case (.globalAveragePool, _):
            let x = values[first]!
            return try clock.step(name) { try FeatureMap(shape: [x.batch, x.channels, 1, 1, 1], data: GlobalAveragePool.forward(x)) }
        case (.relu, _):
            return clock.step(name) { var y = take(first); Activations.relu(&y); return y }
        case let (.leakyReLU(slope), _):
            return clock.step(name) { var y = take(first); Activations.leakyReLU(&y, slope: slope); return y }
        case (.sigmoid, _):
            return clock.step(name) { var y = take(first); Activations.sigmoid(&y); return y }
        case (.softmax, _):
            return clock.step(name) { var y = take(first); Activations.softmaxChannels(&y); return y }
        default:
            throw RuntimeError.badInput(reason: "\(name): operation \(node.operation) has no runtime op")
        }
    }
}
