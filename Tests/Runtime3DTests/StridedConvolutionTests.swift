import Foundation
import Runtime3D
import XCTest

/// The general convolution path (any kernel, stride, zero padding; nnU-Net's kernel 3, padding
/// 1, stride 2 downsampling) and bias-less convolutions: forward against a float64 reference
/// written from PyTorch's Conv3d definition, backward against central differences (h = 1e-4) of
/// that reference's loss sum(r * y). Tolerances as ConvolutionBackwardTests (float32 GEMMs,
/// gradients relative to the tensor's largest entry): forward 5e-5 absolute, gradients 4e-6.
final class StridedConvolutionTests: XCTestCase {
    /// Cross-correlation with stride and padding, weight (out, in, k, k, k).
    static func reference(_ x: Grid, _ w: [Double], _ b: [Double], out: Int, k: Int, stride s: Int, padding p: Int) -> Grid {
        let (n, cin) = (x.shape[0], x.shape[1])
        let o = x.shape[2...].map { ($0 + 2 * p - k) / s + 1 }
        var y = Grid(zeros: [n, out] + o)
        for sample in 0..<n { for oc in 0..<out { for zd in 0..<o[0] { for zh in 0..<o[1] { for zw in 0..<o[2] {
            var acc = b[oc]
            for ic in 0..<cin { for a in 0..<k { for bb in 0..<k { for c in 0..<k {
                let (id, ih, iw) = (zd * s - p + a, zh * s - p + bb, zw * s - p + c)
                guard id >= 0, id < x.shape[2], ih >= 0, ih < x.shape[3], iw >= 0, iw < x.shape[4] else { continue }
                acc += w[(((oc * cin + ic) * k + a) * k + bb) * k + c] * x.data[x.index(sample, ic, id, ih, iw)]
            } } } }
            y.data[y.index(sample, oc, zd, zh, zw)] = acc
        } } } } }
        return y
    }

    private func check(input shape: [Int], out: Int, kernel k: Int, stride s: Int, padding p: Int, bias: Bool, seed: UInt64,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try randomMap(shape, seed: seed)
        var r = SeededValues(seed: seed + 1)
        let w = r.array(out * shape[1] * k * k * k, scale: 0.5)
        let b = bias ? r.array(out) : [Float](repeating: 0, count: out)
        for tuning in [ConvolutionTuning.default, ConvolutionTuning(preciseMaxMultiplyAdds: Int.max)] {
            let conv = try Conv3D(weight: w, bias: b, outChannels: out, inChannels: shape[1], kernel: k, stride: s, padding: p, tuning: tuning)
            let y = try conv.forward(x)
            let (wd, bd) = (w.map(Double.init), b.map(Double.init))
            let expected = Self.reference(Grid(x), wd, bd, out: out, k: k, stride: s, padding: p)
            XCTAssertEqual(y.shape, expected.shape, file: file, line: line)
            XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected.data.map(Float.init)), 5e-5, "forward", file: file, line: line)

            let rr = seededDoubles(y.data.count, seed: seed + 2)
            let dY = try FeatureMap(shape: y.shape, data: rr.map(Float.init))
            let g = try conv.backward([.map(x)], outputGradient: dY)
            let xd = Grid(x)
            func loss(_ xv: [Double], _ wv: [Double], _ bv: [Double]) -> Double {
                Reference.dot(Self.reference(Grid(shape: xd.shape, data: xv), wv, bv, out: out, k: k, stride: s, padding: p), rr)
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

    /// nnU-Net's downsampling: kernel 3, padding 1, stride 2 (even and odd sides).
    func testStrideTwoPaddingOne() throws {
        try check(input: [2, 3, 8, 6, 4], out: 4, kernel: 3, stride: 2, padding: 1, bias: false, seed: 10)
        try check(input: [1, 2, 5, 7, 3], out: 3, kernel: 3, stride: 2, padding: 1, bias: true, seed: 20)
    }

    /// Other kernels, strides and paddings: valid 3x3x3, 2x2x2 stride 2, 1x1x1 stride 2.
    func testOtherGeometries() throws {
        try check(input: [1, 2, 5, 4, 6], out: 3, kernel: 3, stride: 1, padding: 0, bias: true, seed: 30)
        try check(input: [2, 2, 4, 4, 6], out: 2, kernel: 2, stride: 2, padding: 0, bias: true, seed: 40)
        try check(input: [1, 3, 4, 5, 6], out: 2, kernel: 1, stride: 2, padding: 0, bias: false, seed: 50)
    }

    /// The stride-1 "same" path is untouched and agrees with the general one on the same layer.
    func testSamePaddingStrideOneMatchesTheReference() throws {
        try check(input: [1, 2, 4, 4, 4], out: 2, kernel: 3, stride: 1, padding: 1, bias: false, seed: 60)
    }

    func testRejectsPaddingAsLargeAsTheKernel() {
        XCTAssertThrowsError(try Conv3D(weight: [Float](repeating: 0, count: 27), bias: [0], outChannels: 1, inChannels: 1, kernel: 3,
                                        stride: 2, padding: 3))
    }
}
