import Foundation
import GenesisIO
import GenesisModel
import ONNXFormat
import Runtime3D
import Tensors

/// Runs an ONNX graph genesis wrote, node by node, on this runtime: exactly the operators
/// `ONNXExport.operators` lists, with the attributes the exporter sets (anything else is an
/// error naming the node). Convolutions run on the runtime's `Conv3D` and `ConvTranspose3D`
/// (im2col GEMM by default, as conversion proofs run); every other operator follows the ONNX
/// operator specification directly (sums in float64). It proves an export: `convert` reads
/// the written file back and runs it against the source network (`ProvenConversion`).
public struct ONNXInterpreter: Sendable {
    public let model: ONNXModel
    public let file: String
    let algorithm: Conv3D.Algorithm

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let file: String
        public let node: String
        public let reason: String
        public var description: String { "\(file): ONNX node \(node): \(reason)" }
    }

    /// A value of the graph: float32, or int64 (shapes, axes).
    struct Value {
        var shape: [Int]
        var floats: [Float]
        var ints: [Int64]? = nil
        var count: Int { shape.reduce(1, *) }
    }

    public init(_ model: ONNXModel, file: String, algorithm: Conv3D.Algorithm = .im2col) throws {
        self.model = model
        self.file = file
        self.algorithm = algorithm
        for n in model.nodes where !ONNXExport.operators.contains(n.opType) {
            throw Failure(file: file, node: n.name, reason: "operator \(n.opType) is not one genesis writes (\(ONNXExport.operators.sorted().joined(separator: ", ")))")
        }
        guard model.inputs.count == 1, !model.outputs.isEmpty else {
            throw Failure(file: file, node: "graph", reason: "expected one input and an output, found \(model.inputs.count) inputs and \(model.outputs.count) outputs")
        }
    }

    /// Reads and checks a file (`ONNXModel.read`) and the operators of its graph.
    public init(path: String, algorithm: Conv3D.Algorithm = .im2col) throws {
        try self.init(try ONNXModel.read(path), file: path, algorithm: algorithm)
    }

    /// The graph's first output for input `x` (N, C, D, H, W).
    public func run(_ x: Tensor) throws -> Tensor {
        var env: [String: Value] = [:]
        for (name, t) in model.initializers.entries {
            env[name] = t.dtype == .int64 ? Value(shape: t.shape, floats: [], ints: t.int64s()) : Value(shape: t.shape, floats: t.floats())
        }
        let input = model.inputs[0]
        guard x.rank == input.dims.count else {
            throw Failure(file: file, node: input.name, reason: "input of rank \(x.rank), the graph takes rank \(input.dims.count)")
        }
        for (a, d) in input.dims.enumerated() { if case let .fixed(n) = d, n != x.shape[a] { throw Failure(file: file, node: input.name, reason: "input axis \(a) is \(x.shape[a]), the graph takes \(n)") } }
        env[input.name] = Value(shape: x.shape, floats: x.floats())
        for node in model.nodes {
            let outs = try step(node, env)
            for (name, v) in zip(node.outputs, outs) { env[name] = v }
        }
        guard let y = env[model.outputs[0].name] else { throw Failure(file: file, node: model.outputs[0].name, reason: "no node computes the output") }
        return Tensor(shape: y.shape, floats: y.floats)
    }

    private func fail(_ n: ONNXModel.Node, _ reason: String) -> Failure { Failure(file: file, node: n.name.isEmpty ? n.opType : n.name, reason: reason) }

    private func step(_ n: ONNXModel.Node, _ env: [String: Value]) throws -> [Value] {
        func input(_ i: Int) throws -> Value {
            guard i < n.inputs.count, let v = env[n.inputs[i]] else { throw fail(n, "input \(i) (\(i < n.inputs.count ? n.inputs[i] : "none")) is not computed before it") }
            return v
        }
        func map5(_ v: Value) throws -> FeatureMap {
            guard v.shape.count == 5 else { throw fail(n, "expected a rank-5 (N, C, D, H, W) input, found shape \(v.shape)") }
            return try FeatureMap(shape: v.shape, data: v.floats, what: n.name)
        }
        func value(_ m: FeatureMap) -> Value { Value(shape: m.shape, floats: m.data) }
        let x = try input(0)
        switch n.opType {
        case "Conv", "ConvTranspose":
            let w = try input(1)
            let bias = n.inputs.count > 2 ? try input(2).floats : [Float](repeating: 0, count: n.opType == "Conv" ? w.shape[0] : w.shape[1])
            let kernel = n.ints("kernel_shape") ?? Array(w.shape.dropFirst(2)), strides = n.ints("strides") ?? [1, 1, 1]
            let pads = n.ints("pads") ?? [0, 0, 0, 0, 0, 0]
            guard w.shape.count == 5, kernel == Array(w.shape.dropFirst(2)), strides.count == 3, pads.count == 6, Array(pads[0..<3]) == Array(pads[3...]),
                  (n.int("group") ?? 1) == 1, (n.ints("dilations") ?? [1, 1, 1]) == [1, 1, 1] else {
                throw fail(n, "kernel \(kernel), strides \(strides), pads \(pads), weight \(w.shape): not a 3-D convolution genesis writes")
            }
            if n.opType == "Conv" {
                let conv = try Conv3D(weight: w.floats, bias: bias, outChannels: w.shape[0], inChannels: w.shape[1], kernelSize: kernel, strides: strides,
                                      paddings: Array(pads[0..<3]), algorithm: algorithm)
                return [value(try conv.forward(try map5(x)))]
            }
            guard kernel == strides, pads.allSatisfy({ $0 == 0 }) else { throw fail(n, "ConvTranspose with kernel \(kernel) and strides \(strides), pads \(pads): genesis writes kernel = stride, no padding") }
            let up = try ConvTranspose3D(weight: w.floats, bias: bias, inChannels: w.shape[0], outChannels: w.shape[1], kernelSize: kernel)
            return [value(try up.forward(try map5(x)))]
        case "BatchNormalization":
            let (g, b, m, v) = (try input(1).floats, try input(2).floats, try input(3).floats, try input(4).floats)
            let eps = Double(n.float("epsilon") ?? 1e-5)
            guard (n.int("training_mode") ?? 0) == 0 else { throw fail(n, "training_mode 1: genesis writes batch statistics as ReduceMean nodes") }
            let c = x.shape.count >= 2 ? x.shape[1] : 0
            guard g.count == c, b.count == c, m.count == c, v.count == c else { throw fail(n, "\(c) channels, parameters of \(g.count), \(b.count), \(m.count), \(v.count)") }
            let scale = (0..<c).map { Double(g[$0]) / (Double(v[$0]) + eps).squareRoot() }
            return [perChannel(x) { ch, value in Float((Double(value) - Double(m[ch])) * scale[ch] + Double(b[ch])) }]
        case "InstanceNormalization":
            let (g, b) = (try input(1).floats, try input(2).floats)
            let eps = Double(n.float("epsilon") ?? 1e-5)
            guard x.shape.count >= 3, g.count == x.shape[1], b.count == x.shape[1] else { throw fail(n, "input \(x.shape), scale \(g.count), bias \(b.count)") }
            let c = x.shape[1], plane = x.shape.dropFirst(2).reduce(1, *)
            var y = x.floats
            for s in 0..<(x.shape[0] * c) {
                let base = s * plane
                var sum = 0.0
                for i in 0..<plane { sum += Double(x.floats[base + i]) }
                let mean = sum / Double(plane)
                var sq = 0.0
                for i in 0..<plane { let d = Double(x.floats[base + i]) - mean; sq += d * d }
                let inv = 1 / (sq / Double(plane) + eps).squareRoot()
                let ch = s % c
                for i in 0..<plane { y[base + i] = Float((Double(x.floats[base + i]) - mean) * inv * Double(g[ch]) + Double(b[ch])) }
            }
            return [Value(shape: x.shape, floats: y)]
        case "Relu": return [Value(shape: x.shape, floats: x.floats.map { $0.isNaN || $0 > 0 ? $0 : 0 })]
        case "LeakyRelu":
            let a = n.float("alpha") ?? 0.01
            return [Value(shape: x.shape, floats: x.floats.map { $0 >= 0 || $0.isNaN ? $0 : $0 * a })]
        case "Sigmoid": return [Value(shape: x.shape, floats: x.floats.map { Float(1 / (1 + exp(-Double($0)))) })]
        case "Sqrt": return [Value(shape: x.shape, floats: x.floats.map { $0.squareRoot() })]
        case "Softmax":
            guard (n.int("axis") ?? -1) == 1, x.shape.count >= 2 else { throw fail(n, "Softmax over axis \(n.int("axis") ?? -1) of \(x.shape): genesis writes axis 1") }
            let c = x.shape[1], inner = x.shape.dropFirst(2).reduce(1, *)
            var y = x.floats
            for s in 0..<x.shape[0] {
                for i in 0..<inner {
                    let idx = (0..<c).map { s * c * inner + $0 * inner + i }
                    let mx = idx.map { Double(x.floats[$0]) }.max() ?? 0
                    let e = idx.map { exp(Double(x.floats[$0]) - mx) }
                    let total = e.reduce(0, +)
                    for (k, j) in idx.enumerated() { y[j] = Float(e[k] / total) }
                }
            }
            return [Value(shape: x.shape, floats: y)]
        case "MaxPool":
            let k = n.ints("kernel_shape") ?? [], s = n.ints("strides") ?? k
            guard k.count == 3, k == s, (n.ints("pads") ?? [0, 0, 0, 0, 0, 0]).allSatisfy({ $0 == 0 }), x.shape.count == 5 else {
                throw fail(n, "MaxPool kernel \(k), strides \(s) on \(x.shape): genesis writes kernel = stride, no padding, 3-D")
            }
            let (N, C, D, H, W) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
            let (od, oh, ow) = (D / k[0], H / k[1], W / k[2])
            var y = [Float](repeating: 0, count: N * C * od * oh * ow)
            for nc in 0..<(N * C) {
                for d in 0..<od { for h in 0..<oh { for w in 0..<ow {
                    var m = -Float.infinity
                    for a in 0..<k[0] { for b in 0..<k[1] { for e in 0..<k[2] {
                        let v = x.floats[((nc * D + d * k[0] + a) * H + h * k[1] + b) * W + w * k[2] + e]
                        if v > m || v.isNaN { m = v }
                    } } }
                    y[((nc * od + d) * oh + h) * ow + w] = m
                } } }
            }
            return [Value(shape: [N, C, od, oh, ow], floats: y)]
        case "Resize":
            let scales = try input(2).floats
            guard n.string("mode") == "nearest", n.string("coordinate_transformation_mode") == "asymmetric", n.string("nearest_mode") == "floor",
                  x.shape.count == 5, scales.count == 5, scales[0] == 1, scales[1] == 1, scales[2...].allSatisfy({ $0 >= 1 && $0 == $0.rounded() && $0 <= 64 }) else {
                throw fail(n, "Resize \(n.string("mode") ?? "?") with scales \(scales) on \(x.shape): genesis writes nearest, asymmetric, floor, whole spatial factors")
            }
            let f = scales[2...].map { Int($0) }
            let (N, C, D, H, W) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
            let (od, oh, ow) = (D * f[0], H * f[1], W * f[2])
            var y = [Float](repeating: 0, count: N * C * od * oh * ow)
            for nc in 0..<(N * C) { for d in 0..<od { for h in 0..<oh { for w in 0..<ow {
                y[((nc * od + d) * oh + h) * ow + w] = x.floats[((nc * D + d / f[0]) * H + h / f[1]) * W + w / f[2]]
            } } } }
            return [Value(shape: [N, C, od, oh, ow], floats: y)]
        case "Concat":
            guard n.int("axis") == 1 else { throw fail(n, "Concat over axis \(n.int("axis") ?? 0): genesis writes axis 1") }
            let parts = try (0..<n.inputs.count).map(input)
            guard parts.allSatisfy({ $0.shape.count == x.shape.count && $0.shape[0] == x.shape[0] && Array($0.shape.dropFirst(2)) == Array(x.shape.dropFirst(2)) }) else {
                throw fail(n, "inputs of shapes \(parts.map(\.shape)) do not concatenate on the channels")
            }
            let inner = x.shape.dropFirst(2).reduce(1, *)
            var y: [Float] = []
            y.reserveCapacity(parts.reduce(0) { $0 + $1.count })
            for s in 0..<x.shape[0] { for p in parts { let len = p.shape[1] * inner; y += p.floats[(s * len)..<((s + 1) * len)] } }
            return [Value(shape: [x.shape[0], parts.reduce(0) { $0 + $1.shape[1] }] + x.shape.dropFirst(2), floats: y)]
        case "GlobalAveragePool":
            guard x.shape.count >= 3 else { throw fail(n, "input \(x.shape)") }
            let inner = x.shape.dropFirst(2).reduce(1, *)
            let y = (0..<(x.shape[0] * x.shape[1])).map { s in Float(x.floats[(s * inner)..<((s + 1) * inner)].reduce(0.0) { $0 + Double($1) } / Double(inner)) }
            return [Value(shape: Array(x.shape.prefix(2)) + [Int](repeating: 1, count: x.shape.count - 2), floats: y)]
        case "Flatten":
            guard (n.int("axis") ?? 1) == 1, !x.shape.isEmpty else { throw fail(n, "Flatten at axis \(n.int("axis") ?? 1)") }
            return [Value(shape: [x.shape[0], x.count / max(1, x.shape[0])], floats: x.floats)]
        case "Gemm":
            let w = try input(1), b = try input(2)
            guard x.shape.count == 2, w.shape.count == 2, n.int("transB") == 1, (n.int("transA") ?? 0) == 0, w.shape[1] == x.shape[1],
                  b.count == w.shape[0], (n.float("alpha") ?? 1) == 1, (n.float("beta") ?? 1) == 1 else {
                throw fail(n, "Gemm of \(x.shape) by \(w.shape)ᵀ plus \(b.shape): genesis writes A (N, in), B (out, in) transposed, C (out)")
            }
            let (rows, k, cols) = (x.shape[0], x.shape[1], w.shape[0])
            var y = [Float](repeating: 0, count: rows * cols)
            for r in 0..<rows { for c in 0..<cols {
                var s = Double(b.floats[c])
                for i in 0..<k { s += Double(x.floats[r * k + i]) * Double(w.floats[c * k + i]) }
                y[r * cols + c] = Float(s)
            } }
            return [Value(shape: [rows, cols], floats: y)]
        case "Reshape":
            guard let spec = try input(1).ints, spec.count <= 8 else { throw fail(n, "the shape input is not int64") }
            var shape = spec.enumerated().map { i, d in d == 0 && i < x.shape.count ? x.shape[i] : Int(d) }
            if let free = shape.firstIndex(of: -1) {
                let known = shape.enumerated().filter { $0.offset != free }.reduce(1) { $0 * $1.element }
                shape[free] = known > 0 ? x.count / known : 0
            }
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == x.count else { throw fail(n, "cannot reshape \(x.shape) to \(spec)") }
            return [Value(shape: shape, floats: x.floats)]
        case "ReduceMean":
            var axes = n.ints("axes") ?? []
            if n.inputs.count > 1 { axes = (try input(1).ints ?? []).map { Int($0) } }
            guard axes == [0, 2, 3, 4], x.shape.count == 5, (n.int("keepdims") ?? 1) == 1 else {
                throw fail(n, "ReduceMean over axes \(axes) of \(x.shape): genesis writes axes 0, 2, 3, 4 of a rank-5 value, kept")
            }
            let (N, C) = (x.shape[0], x.shape[1]), inner = x.shape.dropFirst(2).reduce(1, *)
            var y = [Float](repeating: 0, count: C)
            for c in 0..<C {
                var s = 0.0
                for b in 0..<N { let base = (b * C + c) * inner; for i in 0..<inner { s += Double(x.floats[base + i]) } }
                y[c] = Float(s / Double(N * inner))
            }
            return [Value(shape: [1, C, 1, 1, 1], floats: y)]
        case "Add", "Sub", "Mul", "Div":
            let b = try input(1)
            let op: (Float, Float) -> Float
            switch n.opType {
            case "Add": op = (+)
            case "Sub": op = (-)
            case "Mul": op = (*)
            default: op = (/)
            }
            return [try broadcast(x, b, op, n)]
        default:
            throw fail(n, "operator \(n.opType) is not one genesis writes")
        }
    }

    /// `f(channel, value)` over every value of an (N, C, ...) value.
    private func perChannel(_ x: Value, _ f: (Int, Float) -> Float) -> Value {
        let c = x.shape[1], inner = x.shape.dropFirst(2).reduce(1, *)
        var y = x.floats
        for i in 0..<y.count { y[i] = f((i / inner) % c, y[i]) }
        return Value(shape: x.shape, floats: y)
    }

    /// NumPy broadcasting of two float values (ONNX's multidirectional broadcasting).
    private func broadcast(_ a: Value, _ b: Value, _ op: (Float, Float) -> Float, _ n: ONNXModel.Node) throws -> Value {
        if a.shape == b.shape { return Value(shape: a.shape, floats: zip(a.floats, b.floats).map(op)) }
        let rank = max(a.shape.count, b.shape.count)
        let sa = [Int](repeating: 1, count: rank - a.shape.count) + a.shape, sb = [Int](repeating: 1, count: rank - b.shape.count) + b.shape
        var shape: [Int] = []
        for i in 0..<rank {
            guard sa[i] == sb[i] || sa[i] == 1 || sb[i] == 1 else { throw fail(n, "shapes \(a.shape) and \(b.shape) do not broadcast") }
            shape.append(max(sa[i], sb[i]))
        }
        func strides(_ s: [Int]) -> [Int] {
            var st = [Int](repeating: 0, count: rank), acc = 1
            for i in (0..<rank).reversed() { st[i] = s[i] == 1 ? 0 : acc; acc *= s[i] }
            return st
        }
        let (ta, tb) = (strides(sa), strides(sb))
        let total = shape.reduce(1, *)
        // The last axis runs innermost; the offsets of the others are recomputed per row.
        let last = shape[rank - 1]
        var y = [Float](repeating: 0, count: total)
        var index = [Int](repeating: 0, count: rank)
        var row = 0
        while row * last < total {
            var oa = 0, ob = 0
            for i in 0..<(rank - 1) { oa += index[i] * ta[i]; ob += index[i] * tb[i] }
            let base = row * last
            for j in 0..<last { y[base + j] = op(a.floats[oa + j * ta[rank - 1]], b.floats[ob + j * tb[rank - 1]]) }
            row += 1
            var k = rank - 2
            while k >= 0 { index[k] += 1; if index[k] < shape[k] { break }; index[k] = 0; k -= 1 }
        }
        return Value(shape: shape, floats: y)
    }
}
