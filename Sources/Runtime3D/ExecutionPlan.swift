import GenesisModel

/// The executor's decisions for one description, made once when the network is built:
/// which nodes run fused into a convolution step and which run as ops of their own.
///
/// - A concatenation whose every reader is a stride-1 3x3x3 convolution is not materialised:
///   the convolutions read its parts in place (`ConvInput` parts, no concatenated copy).
/// - A 2x nearest upsampling whose every reader is such a convolution or such a concatenation
///   is read through by the convolution (`.upsampled(x)`: no 8x larger copy).
/// - A convolution read only by a BatchNorm, itself read only by a ReLU, runs as one step with
///   BatchNorm and ReLU fused into one pass (`BatchNorm.apply(..., relu: true)`), in place when
///   the forward is not traced.
/// - A node whose output reaches no network output is not run (`NetworkDescription
///   .reachesOutput`).
/// The op order and arithmetic are those of the unfused ops (schemas/numerics.md).
struct ExecutionPlan: Sendable {
    /// One input part of a fused convolution: a node's output, or a node's output read as its
    /// 2x nearest upsampling.
    enum Part: Sendable, Equatable {
        case map(Int)
        case upsampled(Int)
        var node: Int { switch self { case let .map(n), let .upsampled(n): return n } }
    }

    enum Step: Sendable {
        /// Convolution `conv` on the channel concatenation of `parts`, then BatchNorm `norm`
        /// and ReLU `relu` when fused.
        case convolution(conv: Int, norm: Int?, relu: Int?, parts: [Part])
        /// Node `node` on its own.
        case op(Int)

        /// The node whose output the step produces.
        var output: Int {
            switch self {
            case let .convolution(conv, norm, relu, _): return relu ?? norm ?? conv
            case let .op(n): return n
            }
        }
    }

    let steps: [Step]
    /// Per node: the last step reading its output (nil: none). The untraced forward frees an
    /// output after it, and may overwrite it in place at it.
    let lastRead: [Int?]

    init(_ graph: NetworkDescription) {
        let nodes = graph.nodes
        let readers = nodes.indices.map { graph.consumers(of: $0) }
        func readsInPlace(_ reader: Int) -> Bool {
            if case let .conv(c) = nodes[reader].operation { return c.kernelSize == [3, 3, 3] && c.strides == [1, 1, 1] && c.paddings == [1, 1, 1] }
            return false
        }
        var absorbed = Set<Int>()
        for (i, node) in nodes.enumerated() where node.operation == .concat {
            if !readers[i].isEmpty, readers[i].allSatisfy(readsInPlace) { absorbed.insert(i) }
        }
        for (i, node) in nodes.enumerated() where node.operation == .upsampleNearest(factor: 2) {
            if !readers[i].isEmpty, readers[i].allSatisfy({ readsInPlace($0) || absorbed.contains($0) }) { absorbed.insert(i) }
        }
        func part(_ n: Int) -> Part { absorbed.contains(n) ? .upsampled(nodes[n].inputs[0]) : .map(n) }
        var fused = Set<Int>()
        var steps: [Step] = []
        let live = graph.reachesOutput
        for (i, node) in nodes.enumerated() where i > 0 && live[i] && !absorbed.contains(i) && !fused.contains(i) {
            guard case .conv = node.operation else { steps.append(.op(i)); continue }
            let parts = node.inputs.flatMap { n in
                absorbed.contains(n) && nodes[n].operation == .concat ? nodes[n].inputs.map(part) : [part(n)]
            }
            var norm: Int?, relu: Int?
            if readers[i].count == 1, case .batchNorm = nodes[readers[i][0]].operation, !graph.outputs.contains(i) {
                norm = readers[i][0]
                fused.insert(norm!)
                if let b = norm, readers[b].count == 1, nodes[readers[b][0]].operation == .relu, !graph.outputs.contains(b) {
                    relu = readers[b][0]
                    fused.insert(relu!)
                }
            }
            steps.append(.convolution(conv: i, norm: norm, relu: relu, parts: parts))
        }
        self.steps = steps
        var last = [Int?](repeating: nil, count: nodes.count)
        for (s, step) in steps.enumerated() {
            for n in Self.reads(step, nodes) { last[n] = s }
        }
        lastRead = last
    }

    /// The nodes whose outputs a step reads.
    static func reads(_ step: Step, _ nodes: [NetworkDescription.Node]) -> [Int] {
        switch step {
        case let .convolution(_, _, _, parts): return parts.map(\.node)
        case let .op(n): return nodes[n].inputs
        }
    }
}
