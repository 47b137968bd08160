import GenesisModel
import ONNXFormat
import Tensors

/// BatchNorm in an exported graph: ONNX `BatchNormalization` with the file's running statistics
/// (`inference`), or the batch's own statistics computed in the graph (`batch`: ReduceMean over
/// batch and space, the biased variance, as `model.train()` BatchNorm and the official
/// `ContBatchNorm3d` normalise).
public enum ONNXBatchNorm: String, Sendable, CaseIterable {
    case inference, batch

    /// What the network's official code predicts with: the batch's statistics for the PyTorch
    /// Genesis U-Net (`ContBatchNorm3d`), the running ones otherwise (and for networks without BatchNorm).
    public static func official(_ network: any NetworkArchitecture) -> ONNXBatchNorm { network.officialBatchStatistics == true ? .batch : .inference }
}

/// A `NetworkDescription` with its weights as an ONNX graph: one ONNX node (or a few, for
/// BatchNorm with batch statistics) per description node, every weight an initializer under its
/// canonical name, batch and spatial axes symbolic (`batch`, `depth`, `height`, `width`). The
/// operators it writes are exactly `ONNXExport.operators` (the runtime's interpreter runs those).
public enum ONNXExport {
    public static let defaultOpset = 17
    /// Opsets written: 13 (Softmax over one axis, Resize without `roi`) through 22.
    public static let opsets = 13...22
    /// Every operator an exported graph may hold.
    public static let operators: Set<String> = [
        "Conv", "ConvTranspose", "BatchNormalization", "InstanceNormalization", "Relu", "LeakyRelu", "MaxPool", "Resize", "Concat",
        "GlobalAveragePool", "Flatten", "Gemm", "Reshape", "Sigmoid", "Softmax", "ReduceMean", "Sub", "Mul", "Add", "Div", "Sqrt",
    ]
    /// Initializers that are graph constants, not weights (left out when a file is read back).
    public static let constantPrefix = "genesis_onnx."
    public static let inputName = "input"
    public static let outputName = "output"

    /// The IR version ONNX pairs with an opset (onnx/helper.py VERSION_TABLE).
    public static func irVersion(opset: Int) -> Int {
        switch opset {
        case ...14: return 7
        case 15...18: return 8
        case 19...20: return 9
        default: return 10
        }
    }

    /// The graph of `network` with `weights` (every tensor of `weights` becomes an initializer,
    /// also those the graph does not read, such as running statistics under `--bn batch`).
    /// Throws `GenesisIOError.cannotWrite` naming `file` (the file the graph is for).
    public static func model(network: NetworkDescription, weights: TensorStore, bn: ONNXBatchNorm, bnEpsilon: Float, opset: Int,
                             graphName: String, metadata: [(key: String, value: String)], file: String) throws -> ONNXModel {
        func Failure(reason: String) -> GenesisIOError { .cannotWrite(file: file, reason: reason) }
        guard opsets.contains(opset) else { throw Failure(reason: "--opset \(opset): genesis writes opsets \(opsets.lowerBound) to \(opsets.upperBound)") }
        var nodes: [ONNXModel.Node] = []
        var constants = TensorStore()
        var names = [String](repeating: "", count: network.nodes.count)
        var flat = [Bool](repeating: false, count: network.nodes.count)
        let live = network.reachesOutput
        func weight(_ name: String) throws -> String {
            guard weights.contains(name) else { throw Failure(reason: "the weights have no \(name)") }
            return name
        }
        func constant(_ name: String, _ t: Tensor) -> String {
            let n = constantPrefix + name
            if !constants.contains(n) { constants[n] = t }
            return n
        }
        func int64s(_ v: [Int]) -> Tensor { try! Tensor(dtype: .int64, shape: [v.count], bytes: v.map { Int64($0) }.withUnsafeBytes { Array($0) }) }
        func reduceMean(_ x: String, _ out: String, _ node: String) {
            let axes = [0, 2, 3, 4]
            if opset >= 18 {
                nodes.append(.init("ReduceMean", name: node, inputs: [x, constant("bn_axes", int64s(axes))], outputs: [out], attributes: ["keepdims": .int(1)]))
            } else {
                nodes.append(.init("ReduceMean", name: node, inputs: [x], outputs: [out], attributes: ["axes": .ints(axes), "keepdims": .int(1)]))
            }
        }

        for (i, node) in network.nodes.enumerated() where live[i] {
            let safe = node.name.replacingOccurrences(of: " ", with: "_")
            let out = safe
            names[i] = out
            let x = node.inputs.first.map { names[$0] } ?? ""
            let xFlat = node.inputs.first.map { flat[$0] } ?? false
            flat[i] = xFlat
            switch node.operation {
            case .input:
                names[i] = inputName
            case let .conv(c):
                nodes.append(.init("Conv", name: safe, inputs: [x, try weight(node.name + ".weight")] + (c.bias ? [try weight(node.name + ".bias")] : []),
                                   outputs: [out], attributes: ["kernel_shape": .ints(c.kernelSize), "strides": .ints(c.strides),
                                                                "pads": .ints(c.paddings + c.paddings), "dilations": .ints([1, 1, 1]), "group": .int(1)]))
            case let .convTranspose(c):
                nodes.append(.init("ConvTranspose", name: safe, inputs: [x, try weight(node.name + ".weight")] + (c.bias ? [try weight(node.name + ".bias")] : []),
                                   outputs: [out], attributes: ["kernel_shape": .ints(c.kernelSize), "strides": .ints(c.strides),
                                                                "pads": .ints(c.paddings + c.paddings), "dilations": .ints([1, 1, 1]), "group": .int(1)]))
            case .batchNorm:
                let gamma = try weight(node.name + ".weight"), beta = try weight(node.name + ".bias")
                switch bn {
                case .inference:
                    nodes.append(.init("BatchNormalization", name: safe,
                                       inputs: [x, gamma, beta, try weight(node.name + ".running_mean"), try weight(node.name + ".running_var")],
                                       outputs: [out], attributes: ["epsilon": .float(bnEpsilon)]))
                case .batch:
                    let p = safe + "/"
                    reduceMean(x, p + "mean", p + "mean")
                    nodes.append(.init("Sub", name: p + "centered", inputs: [x, p + "mean"], outputs: [p + "centered"]))
                    nodes.append(.init("Mul", name: p + "square", inputs: [p + "centered", p + "centered"], outputs: [p + "square"]))
                    reduceMean(p + "square", p + "variance", p + "variance")
                    let eps = constant("bn_epsilon", Tensor(shape: [], floats: [bnEpsilon]))
                    nodes.append(.init("Add", name: p + "variance_eps", inputs: [p + "variance", eps], outputs: [p + "variance_eps"]))
                    nodes.append(.init("Sqrt", name: p + "std", inputs: [p + "variance_eps"], outputs: [p + "std"]))
                    nodes.append(.init("Div", name: p + "normalised", inputs: [p + "centered", p + "std"], outputs: [p + "normalised"]))
                    let channelShape = constant("channel_shape", int64s([-1, 1, 1, 1]))
                    nodes.append(.init("Reshape", name: p + "gamma", inputs: [gamma, channelShape], outputs: [p + "gamma"]))
                    nodes.append(.init("Reshape", name: p + "beta", inputs: [beta, channelShape], outputs: [p + "beta"]))
                    nodes.append(.init("Mul", name: p + "scaled", inputs: [p + "normalised", p + "gamma"], outputs: [p + "scaled"]))
                    nodes.append(.init("Add", name: safe, inputs: [p + "scaled", p + "beta"], outputs: [out]))
                }
            case let .instanceNorm(ch, affine, eps):
                let scale = affine ? try weight(node.name + ".weight") : constant("ones_\(ch)", Tensor(shape: [ch], floats: [Float](repeating: 1, count: ch)))
                let shift = affine ? try weight(node.name + ".bias") : constant("zeros_\(ch)", Tensor(shape: [ch], floats: [Float](repeating: 0, count: ch)))
                nodes.append(.init("InstanceNormalization", name: safe, inputs: [x, scale, shift], outputs: [out], attributes: ["epsilon": .float(eps)]))
            case .relu:
                nodes.append(.init("Relu", name: safe, inputs: [x], outputs: [out]))
            case let .leakyReLU(slope):
                nodes.append(.init("LeakyRelu", name: safe, inputs: [x], outputs: [out], attributes: ["alpha": .float(slope)]))
            case let .maxPool(size):
                nodes.append(.init("MaxPool", name: safe, inputs: [x], outputs: [out],
                                   attributes: ["kernel_shape": .ints([size, size, size]), "strides": .ints([size, size, size])]))
            case let .upsampleNearest(f):
                let scales = constant("scales_\(f)", Tensor(shape: [5], floats: [1, 1, Float(f), Float(f), Float(f)]))
                nodes.append(.init("Resize", name: safe, inputs: [x, "", scales], outputs: [out],
                                   attributes: ["mode": .string("nearest"), "coordinate_transformation_mode": .string("asymmetric"),
                                                "nearest_mode": .string("floor")]))
            case .concat:
                nodes.append(.init("Concat", name: safe, inputs: node.inputs.map { names[$0] }, outputs: [out], attributes: ["axis": .int(1)]))
            case .globalAveragePool:
                nodes.append(.init("GlobalAveragePool", name: safe, inputs: [x], outputs: [out]))
            case .dense:
                var a = x
                if !xFlat {
                    a = safe + "/flat"
                    nodes.append(.init("Flatten", name: a, inputs: [x], outputs: [a], attributes: ["axis": .int(1)]))
                }
                nodes.append(.init("Gemm", name: safe, inputs: [a, try weight(node.name + ".weight"), try weight(node.name + ".bias")], outputs: [out],
                                   attributes: ["transB": .int(1)]))
                flat[i] = true
            case .sigmoid:
                nodes.append(.init("Sigmoid", name: safe, inputs: [x], outputs: [out]))
            case .softmax:
                nodes.append(.init("Softmax", name: safe, inputs: [x], outputs: [out], attributes: ["axis": .int(1)]))
            }
        }
        // The returned nodes under `output` (`output_1`, ... for more): a 2-D result (N, K) of
        // the classifier goes back to (N, K, 1, 1, 1), as the runtime returns it.
        var outputs: [ONNXModel.ValueInfo] = []
        let spatial: [ONNXModel.Dimension] = [.symbolic("depth"), .symbolic("height"), .symbolic("width")]
        for (k, o) in (network.outputs.isEmpty ? [network.nodes.count - 1] : network.outputs).enumerated() {
            let name = k == 0 ? outputName : "\(outputName)_\(k)"
            let channels = Self.outputChannels(network, o)
            if flat[o] {
                nodes.append(.init("Reshape", name: name, inputs: [names[o], constant("output_shape", int64s([0, -1, 1, 1, 1]))], outputs: [name]))
                outputs.append(.init(name: name, dims: [.symbolic("batch"), .fixed(channels), .fixed(1), .fixed(1), .fixed(1)]))
            } else {
                let last = nodes.lastIndex { $0.outputs == [names[o]] }!
                nodes[last].outputs = [name]
                for j in nodes.indices { nodes[j].inputs = nodes[j].inputs.map { $0 == names[o] ? name : $0 } }
                let dims: [ONNXModel.Dimension] = network.nodes[o].operation == .globalAveragePool ? [.fixed(1), .fixed(1), .fixed(1)] : spatial
                outputs.append(.init(name: name, dims: [.symbolic("batch"), .fixed(channels)] + dims))
            }
        }
        var initializers = weights
        for (n, t) in constants.entries { initializers[n] = t }
        return ONNXModel(irVersion: irVersion(opset: opset), opset: opset, producerName: "genesis", producerVersion: GenesisWriter.version,
                         graphName: graphName, nodes: nodes, initializers: initializers,
                         inputs: [.init(name: inputName, dims: [.symbolic("batch"), .fixed(network.inputChannels)] + spatial)],
                         outputs: outputs, metadata: metadata)
    }

    /// Channels of node `i`'s output.
    static func outputChannels(_ net: NetworkDescription, _ i: Int) -> Int {
        switch net.nodes[i].operation {
        case let .input(c): return c
        case let .conv(c), let .convTranspose(c): return c.outChannels
        case let .batchNorm(c, _), let .instanceNorm(c, _, _): return c
        case let .dense(_, o): return o
        case .concat: return net.nodes[i].inputs.map { outputChannels(net, $0) }.reduce(0, +)
        default: return outputChannels(net, net.nodes[i].inputs[0])
        }
    }

    /// Metadata every exported graph records (`genesis_*` keys; schemas/formats.md "ONNX").
    /// `genesis_bn_mode` is `none` for a network without BatchNorm (nnU-Net Genesis), whatever `bn` says.
    public static func metadata(network: any NetworkArchitecture, classes: Int?, bn: ONNXBatchNorm, bnEpsilon: Float, sourceSHA256: String?,
                                sourceFile: String?, sourceFormat: String?, annotations: [String: String]) -> [(key: String, value: String)] {
        let family = NetworkFamilies.family(network.family)
        let window = family.inputWindows.first { $0.name == family.defaultScanWindow }
        let convention = window.map { "\($0.summary) (genesis run --window \($0.name))" }
            ?? "CT in HU clipped to [-1000, 1000] and scaled to [0, 1] (genesis run --window ct), as the official cubes"
        let range = window.map { "standardised: (clip(HU, \($0.low), \($0.high)) - \($0.mean)) / \($0.std)" } ?? "[0, 1]"
        var m: [(key: String, value: String)] = [
            (GenesisWriter.key, GenesisWriter.name),
            ("genesis_family", network.family.rawValue),
            ("genesis_variant", network.variantName),
            ("genesis_base_filters", String(network.baseFilters)),
            ("genesis_labels", String(network.labels)),
        ]
        if let k = classes { m.append(("genesis_classes", String(k))) }
        m += [
            ("genesis_bn_mode", network.officialBatchStatistics == nil ? "none" : bn.rawValue),
            ("genesis_bn_epsilon", "\(bnEpsilon)"),
            ("genesis_input_window", window?.name ?? "ct"),
            ("genesis_input_convention", convention),
            ("genesis_input_range", range),
            ("genesis_input_layout", "NCDHW float32 (batch, channel, rows, cols, slices)"),
            ("genesis_spatial_multiples", network.spatialMultiples.map(String.init).joined(separator: ",")),
            ("genesis_source_sha256", sourceSHA256 ?? ""),
        ]
        if let f = sourceFile { m.append(("genesis_source_file", f)) }
        if let f = sourceFormat { m.append(("genesis_source_format_read", f)) }
        for (k, v) in annotations.sorted(by: { $0.key < $1.key }) where !m.contains(where: { $0.key == k }) { m.append((k, v)) }
        return m
    }

    /// The metadata keys `metadata` writes itself (the rest of a file's `genesis_*` keys are annotations).
    public static let structuralKeys: Set<String> = [
        GenesisWriter.key, "genesis_family", "genesis_variant", "genesis_base_filters", "genesis_labels", "genesis_classes", "genesis_bn_mode",
        "genesis_bn_epsilon", "genesis_input_window", "genesis_input_convention", "genesis_input_range", "genesis_input_layout",
        "genesis_spatial_multiples", "genesis_source_sha256", "genesis_source_file", "genesis_source_format_read",
    ]
}
