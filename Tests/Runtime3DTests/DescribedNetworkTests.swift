import GenesisModel
import Runtime3D
import Tensors
import XCTest

/// A network that is only a description: a two-level nnU-Net-like U-Net (bias-less 3x3x3
/// convolutions, InstanceNorm, LeakyReLU(0.01), a stride-2 convolution down, a bias-less 2x2x2
/// transposed convolution up, concatenation with the skip, softmax) with a deep-supervision
/// second output at the bottom. The executor runs and differentiates it with no code of its own.
final class DescribedNetworkTests: XCTestCase {
    static func miniUNet() -> NetworkDescription {
        var net = NetworkDescription(inputChannels: 1)
        func block(_ name: String, _ input: Int, _ cin: Int, _ cout: Int, stride: Int = 1) -> Int {
            let c = net.add(name + ".conv", .conv(ConvolutionSpec(inChannels: cin, outChannels: cout, kernel: 3, stride: stride, padding: 1, bias: false)), [input])
            let n = net.add(name + ".norm", .instanceNorm(channels: cout, affine: true, epsilon: 1e-5), [c])
            return net.add(name + ".lrelu", .leakyReLU(slope: 0.01), [n])
        }
        let skip = block("enc0", 0, 1, 3)
        let bottom = block("enc1", skip, 3, 4, stride: 2)
        let up = net.add("up", .convTranspose(ConvolutionSpec(inChannels: 4, outChannels: 3, kernel: 2, stride: 2, padding: 0, bias: false)), [bottom])
        let joined = net.add("cat", .concat, [up, skip])
        let dec = block("dec0", joined, 6, 3)
        let seg = net.add("seg0", .conv(ConvolutionSpec(inChannels: 3, outChannels: 2, kernel: 1, bias: false)), [dec])
        let deep = net.add("seg1", .conv(ConvolutionSpec(inChannels: 4, outChannels: 2, kernel: 1)), [bottom])
        net.outputs = [net.add("softmax0", .softmax, [seg]), net.add("softmax1", .softmax, [deep])]
        return net
    }

    static func weights(_ net: NetworkDescription, seed: UInt64) -> TensorStore {
        var r = SeededValues(seed: seed)
        var s = TensorStore()
        for p in net.parameters { s[p.name] = Tensor(shape: p.shape, floats: r.array(p.elementCount, scale: 0.5).map { p.name.hasSuffix("norm.weight") ? 1 + $0 : $0 }) }
        return s
    }

    let options = NetworkOptions(bnEpsilon: 1e-5, bnArithmetic: .pytorch, tuning: ConvolutionTuning(preciseMaxMultiplyAdds: Int.max))

    func testParametersAreNamedByTheDescription() {
        let names = Self.miniUNet().parameters.map(\.name)
        XCTAssertEqual(names, ["enc0.conv.weight", "enc0.norm.weight", "enc0.norm.bias", "enc1.conv.weight", "enc1.norm.weight", "enc1.norm.bias",
                               "up.weight", "dec0.conv.weight", "dec0.norm.weight", "dec0.norm.bias", "seg0.weight", "seg1.weight", "seg1.bias"])
        XCTAssertEqual(Self.miniUNet().spatialMultiple, 2)
    }

    func testBindingNamesMissingAndMisshapenTensors() {
        let net = Self.miniUNet()
        var store = Self.weights(net, seed: 1)
        store["up.weight"] = nil
        XCTAssertThrowsError(try Network(net, weights: store, options: options)) { e in
            XCTAssertEqual(e as? RuntimeError, .missingTensor(name: "up.weight", expectedShape: [4, 3, 2, 2, 2]))
        }
        store["up.weight"] = Tensor(shape: [3, 4, 2, 2, 2], floats: [Float](repeating: 0, count: 96))
        XCTAssertThrowsError(try Network(net, weights: store, options: options)) { e in
            XCTAssertEqual(e as? RuntimeError, .shapeMismatch(name: "up.weight", expected: [4, 3, 2, 2, 2], found: [3, 4, 2, 2, 2]))
        }
    }

    /// Every trainable tensor's gradient along a seeded direction v against the central difference
    /// (L(w + h v) - L(w - h v)) / 2h of the network's own forward (float64 GEMMs), h = 1e-3,
    /// L = sum r0 y0 + sum r1 y1 over both outputs. Tolerance 1e-2 of max(1, |difference|):
    /// float32 storage rounds L by about 1e-7 of its terms' sum, which h = 1e-3 scales to a few
    /// 1e-3 absolute. Measured: within 2e-3 relative for every tensor whose directional gradient
    /// exceeds 0.1; enc0.conv's is ~1e-3 (InstanceNorm right after it makes the layer nearly
    /// scale-invariant) and differs by 4e-3 absolute, at the noise of the difference.
    func testGradientsOfBothOutputsMatchFiniteDifferences() throws {
        let net = Self.miniUNet()
        let store = Self.weights(net, seed: 2)
        let x = try randomMap([2, 1, 4, 6, 8], seed: 3)
        let network = try Network(net, weights: store, options: options)
        let trace = ForwardTrace()
        let ys = try network.forwardOutputs(x, bn: .batch, trace: trace)
        XCTAssertEqual(ys.map(\.shape), [[2, 2, 4, 6, 8], [2, 2, 2, 3, 4]])
        let rs = ys.enumerated().map { i, y in seededDoubles(y.data.count, seed: 10 + UInt64(i)) }
        let g = try network.backward(trace: trace, outputGradients: try zip(ys, rs).map { try FeatureMap(shape: $0.shape, data: $1.map(Float.init)) })
        XCTAssertEqual(g.tensors.names, net.parameters.filter(\.trainable).map(\.name))
        func loss(_ s: TensorStore) throws -> Double {
            let out = try Network(net, weights: s, options: options).forwardOutputs(x, bn: .batch)
            return zip(out, rs).reduce(0.0) { acc, p in acc + zip(p.0.data, p.1).reduce(0.0) { $0 + Double($1.0) * $1.1 } }
        }
        let h: Float = 1e-3
        for (k, spec) in net.parameters.enumerated() where spec.trainable {
            let v = seededDoubles(spec.elementCount, seed: 100 + UInt64(k)).map(Float.init)
            let w = store[spec.name]!.floats()
            var plus = store, minus = store
            plus[spec.name] = Tensor(shape: spec.shape, floats: zip(w, v).map { $0 + h * $1 })
            minus[spec.name] = Tensor(shape: spec.shape, floats: zip(w, v).map { $0 - h * $1 })
            let numeric = (try loss(plus) - loss(minus)) / (2 * Double(h))
            let analytic = zip(g.tensors[spec.name]!.floats(), v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            print("gradient check \(spec.name): analytic \(analytic), numeric \(numeric)")
            XCTAssertEqual(analytic, numeric, accuracy: 1e-2 * max(1, abs(numeric)), spec.name)
        }
    }
}
