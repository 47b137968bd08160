import Foundation
import GenesisModel
import Runtime3D
import Tensors
import XCTest

/// Per-axis kernels, strides and paddings (nnU-Net's [1, 2, 2] pool: a stride (1, 2, 2)
/// convolution down, a kernel = stride (1, 2, 2) transposed convolution up): forward against
/// float64 references written from PyTorch's Conv3d / ConvTranspose3d definitions, backward
/// against central differences of those references' loss sum(r * y). Both ops are linear in
/// input, weight and bias, so the differences are exact up to float64 rounding; tolerances as
/// StridedConvolutionTests (float32 storage: forward 5e-5 absolute, gradients 4e-6 of the
/// gradient's largest entry).
final class AnisotropicConvolutionTests: XCTestCase {
    /// Cross-correlation, weight (out, in, kd, kh, kw), per-axis stride and padding.
    static func conv(_ x: Grid, _ w: [Double], _ b: [Double], out: Int, k: [Int], s: [Int], p: [Int]) -> Grid {
        let (n, cin) = (x.shape[0], x.shape[1])
        let o: [Int] = (0..<3).map { (a: Int) -> Int in (x.shape[2 + a] + 2 * p[a] - k[a]) / s[a] + 1 }
        var y = Grid(zeros: [n, out] + o)
        for sample in 0..<n { for oc in 0..<out { for zd in 0..<o[0] { for zh in 0..<o[1] { for zw in 0..<o[2] {
            var acc = b[oc]
            for ic in 0..<cin { for a in 0..<k[0] { for bb in 0..<k[1] { for c in 0..<k[2] {
                let id: Int = zd * s[0] - p[0] + a
                let ih: Int = zh * s[1] - p[1] + bb
                let iw: Int = zw * s[2] - p[2] + c
                guard id >= 0, id < x.shape[2], ih >= 0, ih < x.shape[3], iw >= 0, iw < x.shape[4] else { continue }
                let wi: Int = (((oc * cin + ic) * k[0] + a) * k[1] + bb) * k[2] + c
                acc += w[wi] * x.data[x.index(sample, ic, id, ih, iw)]
            } } } }
            y.data[y.index(sample, oc, zd, zh, zw)] = acc
        } } } } }
        return y
    }

    /// Transposed convolution with kernel = stride k per axis, no padding, weight (in, out, kd, kh, kw):
    /// out[o, kd d + a, kh h + b, kw w + c] = bias[o] + sum_i x[i, d, h, w] W[i, o, a, b, c].
    static func convTranspose(_ x: Grid, _ w: [Double], _ b: [Double], out: Int, k: [Int]) -> Grid {
        let (n, cin) = (x.shape[0], x.shape[1])
        let o = (0..<3).map { x.shape[2 + $0] * k[$0] }
        var y = Grid(zeros: [n, out] + o)
        for s in 0..<n { for oc in 0..<out { for zd in 0..<o[0] { for zh in 0..<o[1] { for zw in 0..<o[2] {
            let (a, bb, c) = (zd % k[0], zh % k[1], zw % k[2])
            var acc = b[oc]
            for i in 0..<cin {
                let wi: Int = (((i * out + oc) * k[0] + a) * k[1] + bb) * k[2] + c
                acc += x.data[x.index(s, i, zd / k[0], zh / k[1], zw / k[2])] * w[wi]
            }
            y.data[y.index(s, oc, zd, zh, zw)] = acc
        } } } } }
        return y
    }

    private func checkConv(input shape: [Int], out: Int, kernel k: [Int], stride s: [Int], padding p: [Int], bias: Bool, seed: UInt64,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try randomMap(shape, seed: seed)
        var r = SeededValues(seed: seed + 1)
        let w = r.array(out * shape[1] * k.reduce(1, *), scale: 0.5)
        let b = bias ? r.array(out) : [Float](repeating: 0, count: out)
        for tuning in [ConvolutionTuning.default, ConvolutionTuning(preciseMaxMultiplyAdds: Int.max)] {
            let conv = try Conv3D(weight: w, bias: b, outChannels: out, inChannels: shape[1], kernelSize: k, strides: s, paddings: p, tuning: tuning)
            XCTAssertEqual(conv.weightShape, [out, shape[1]] + k, file: file, line: line)
            let y = try conv.forward(x)
            let (wd, bd) = (w.map(Double.init), b.map(Double.init))
            let expected = Self.conv(Grid(x), wd, bd, out: out, k: k, s: s, p: p)
            XCTAssertEqual(y.shape, expected.shape, file: file, line: line)
            XCTAssertEqual(Array(y.shape[2...]), ConvolutionSpec(inChannels: shape[1], outChannels: out, kernelSize: k, strides: s, paddings: p)
                .outputSides(Array(shape[2...])), "description's output sides", file: file, line: line)
            XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected.data.map(Float.init)), 5e-5, "forward", file: file, line: line)

            let rr = seededDoubles(y.data.count, seed: seed + 2)
            let g = try conv.backward([.map(x)], outputGradient: try FeatureMap(shape: y.shape, data: rr.map(Float.init)))
            let xd = Grid(x)
            func loss(_ xv: [Double], _ wv: [Double], _ bv: [Double]) -> Double {
                Reference.dot(Self.conv(Grid(shape: xd.shape, data: xv), wv, bv, out: out, k: k, s: s, p: p), rr)
            }
            let xi = sampleIndices(xd.data.count, 24, seed: seed + 3)
            let dx = xi.map { i in Reference.centralDifference(xd.data, i) { loss($0, wd, bd) } }
            XCTAssertLessThanOrEqual(relativeError(xi.map { Double(g.inputs[0].data[$0]) }, dx), 4e-6, "input gradient", file: file, line: line)
            let wi = sampleIndices(wd.count, 24, seed: seed + 4)
            let dw = wi.map { i in Reference.centralDifference(wd, i) { loss(xd.data, $0, bd) } }
            XCTAssertLessThanOrEqual(relativeError(wi.map { Double(g.weight[$0]) }, dw), 4e-6, "weight gradient", file: file, line: line)
            let db = (0..<out).map { i in Reference.centralDifference(bd, i) { loss(xd.data, wd, $0) } }
            XCTAssertLessThanOrEqual(relativeError(g.bias.map(Double.init), db), 4e-6, "bias gradient", file: file, line: line)
        }
    }

    /// nnU-Net Genesis's last pool: kernel 3, padding 1, stride (1, 2, 2), on even and odd sides.
    func testStrideOneTwoTwo() throws {
        try checkConv(input: [2, 3, 4, 6, 8], out: 4, kernel: [3, 3, 3], stride: [1, 2, 2], padding: [1, 1, 1], bias: true, seed: 110)
        try checkConv(input: [1, 2, 3, 5, 7], out: 3, kernel: [3, 3, 3], stride: [1, 2, 2], padding: [1, 1, 1], bias: false, seed: 120)
    }

    /// Kernels, strides and paddings that differ on every axis (nnU-Net plans use kernels such
    /// as [1, 3, 3] for thick-slice data).
    func testAnisotropicKernelsStridesAndPaddings() throws {
        try checkConv(input: [1, 2, 4, 6, 5], out: 3, kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1], bias: true, seed: 130)
        try checkConv(input: [2, 2, 6, 5, 4], out: 2, kernel: [3, 2, 1], stride: [2, 1, 3], padding: [1, 0, 0], bias: true, seed: 140)
    }

    private func checkTransposed(input shape: [Int], out: Int, kernel k: [Int], bias: Bool, seed: UInt64,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try randomMap(shape, seed: seed)
        var r = SeededValues(seed: seed + 1)
        let w = r.array(shape[1] * out * k.reduce(1, *), scale: 0.5)
        let b = bias ? r.array(out) : [Float](repeating: 0, count: out)
        for (tile, precise) in [(1 << 20, 0), (5, Int.max)] {
            let t = try ConvTranspose3D(weight: w, bias: b, inChannels: shape[1], outChannels: out, kernelSize: k,
                                        tileFloats: tile, preciseMaxMultiplyAdds: precise)
            let y = try t.forward(x, threads: 3)
            let (wd, bd) = (w.map(Double.init), b.map(Double.init))
            let expected = Self.convTranspose(Grid(x), wd, bd, out: out, k: k)
            XCTAssertEqual(y.shape, expected.shape, file: file, line: line)
            XCTAssertEqual(Array(y.shape[2...]), ConvolutionSpec(inChannels: shape[1], outChannels: out, kernelSize: k, strides: k, paddings: [0, 0, 0])
                .transposedOutputSides(Array(shape[2...])), "description's output sides", file: file, line: line)
            XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected.data.map(Float.init)), 5e-5, "forward", file: file, line: line)

            let rr = seededDoubles(y.data.count, seed: seed + 2)
            let g = try t.backward(input: x, outputGradient: try FeatureMap(shape: y.shape, data: rr.map(Float.init)), threads: 3)
            let xd = Grid(x)
            func loss(_ xv: [Double], _ wv: [Double], _ bv: [Double]) -> Double {
                Reference.dot(Self.convTranspose(Grid(shape: xd.shape, data: xv), wv, bv, out: out, k: k), rr)
            }
            let xi = sampleIndices(xd.data.count, 24, seed: seed + 3)
            let dx = xi.map { i in Reference.centralDifference(xd.data, i) { loss($0, wd, bd) } }
            XCTAssertLessThanOrEqual(relativeError(xi.map { Double(g.input.data[$0]) }, dx), 4e-6, "input gradient", file: file, line: line)
            let dw = wd.indices.map { i in Reference.centralDifference(wd, i) { loss(xd.data, $0, bd) } }
            XCTAssertLessThanOrEqual(relativeError(g.weight.map(Double.init), dw), 4e-6, "weight gradient", file: file, line: line)
            let db = (0..<out).map { i in Reference.centralDifference(bd, i) { loss(xd.data, wd, $0) } }
            XCTAssertLessThanOrEqual(relativeError(g.bias.map(Double.init), db), 4e-6, "bias gradient", file: file, line: line)
        }
    }

    /// nnU-Net Genesis's first up-convolution: kernel = stride (1, 2, 2), no bias; and other
    /// per-axis kernels, with tiles of one row and of the whole sample.
    func testTransposedKernelOneTwoTwo() throws {
        try checkTransposed(input: [2, 3, 2, 3, 4], out: 2, kernel: [1, 2, 2], bias: false, seed: 150)
        try checkTransposed(input: [1, 2, 3, 2, 3], out: 3, kernel: [2, 1, 3], bias: true, seed: 160)
        try checkTransposed(input: [2, 2, 2, 2, 3], out: 2, kernel: [2, 2, 2], bias: true, seed: 170)
    }

    /// A hand-worked (1, 2, 2) transposed convolution: one input voxel per channel, each writing
    /// its own 1x2x2 block of W[i, o, 0, b, c] x + bias.
    func testTransposedOneTwoTwoByHand() throws {
        // x: 1 sample, 2 channels, 1 x 1 x 2 (values 1, 2 in channel 0; 10, 20 in channel 1).
        let x = try FeatureMap(shape: [1, 2, 1, 1, 2], data: [1, 2, 10, 20])
        // W (2, 1, 1, 2, 2): channel 0's taps 1, 2, 3, 4; channel 1's 0.5 each.
        let t = try ConvTranspose3D(weight: [1, 2, 3, 4, 0.5, 0.5, 0.5, 0.5], bias: [100], inChannels: 2, outChannels: 1, kernelSize: [1, 2, 2])
        let y = try t.forward(x)
        XCTAssertEqual(y.shape, [1, 1, 1, 2, 4])
        // Row h = 0: taps (0, 0), (0, 1) of voxel w = 0 then of w = 1; row h = 1: taps (1, 0), (1, 1).
        // Voxel w = 0: x = (1, 10): tap j -> 100 + W0[j] + 5. Voxel w = 1: x = (2, 20): 100 + 2 W0[j] + 10.
        XCTAssertEqual(y.data, [106, 107, 112, 114, 108, 109, 116, 118])
    }

    /// A network description's transposed convolution must have kernel = stride and no padding.
    func testDescriptionRejectsOverlappingTransposedConvolutions() {
        var net = NetworkDescription(inputChannels: 1)
        net.outputs = [net.add("up", .convTranspose(ConvolutionSpec(inChannels: 1, outChannels: 1, kernelSize: [1, 2, 2], strides: [1, 1, 2],
                                                                    paddings: [0, 0, 0], bias: false)), [0])]
        var store = TensorStore()
        store["up.weight"] = Tensor(shape: [1, 1, 1, 2, 2], floats: [1, 1, 1, 1])
        XCTAssertThrowsError(try Network(net, weights: store, options: NetworkOptions(bnEpsilon: 1e-5, bnArithmetic: .pytorch)))
    }
}
