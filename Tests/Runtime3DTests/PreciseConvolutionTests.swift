@testable import Runtime3D
import XCTest

/// The precise path (`GEMM.multiply(precise: true)`, convolutions below
/// `ConvolutionTuning.preciseThreshold`): float64 products rounded once, so the result is the
/// float32 rounding of the exact value, whatever kernels OpenBLAS picked for this CPU. Checked
/// bit for bit against sums written here in Double, which round to the same float unless the
/// exact value lies within ~1e-16 relative of a rounding boundary (about 1e-9 per element).
final class PreciseConvolutionTests: XCTestCase {
    func testPreciseGEMMIsTheRoundedFloat64Product() {
        var r = SeededValues(seed: 31)
        for (transA, transB, beta) in [(false, false, Float(0)), (true, false, 1), (false, true, 1), (true, true, 0)] {
            let (m, n, k) = (7, 9, 300)
            let (lda, ldb, ldc) = ((transA ? m : k) + 3, (transB ? k : n) + 2, n + 5)
            let a = r.array((transA ? k : m) * lda), b = r.array((transB ? n : k) * ldb)
            var c = r.array(m * ldc)
            let c0 = c
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                GEMM.multiply(precise: true, transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, lda: lda,
                              b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc)
            } } }
            for i in 0..<m {
                for j in 0..<n {
                    var sum = Double(beta) * Double(c0[i * ldc + j])
                    for p in 0..<k {
                        let x = transA ? a[p * lda + i] : a[i * lda + p]
                        let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                        sum += Double(x) * Double(y)
                    }
                    XCTAssertEqual(c[i * ldc + j], Float(sum), "transA \(transA) transB \(transB) (\(i), \(j))")
                }
                // Beyond n the rows' padding is untouched.
                XCTAssertEqual(Array(c[(i * ldc + n)..<(i * ldc + ldc)]), Array(c0[(i * ldc + n)..<(i * ldc + ldc)]))
            }
        }
    }

    /// A convolution of the fixtures' size with the default tuning runs precisely, forward and
    /// backward alike: the output is each voxel's float64 sum rounded once, plus the bias in
    /// float32; with one thread (one accumulator, one chunk of rows) the weight gradient is each
    /// weight's float64 sum rounded once.
    func testSmallConvolutionsRunPrecisely() throws {
        let (cin, cout, d, h, w) = (4, 3, 4, 4, 8)
        let x = try randomMap([1, cin, d, h, w], seed: 41)
        var r = SeededValues(seed: 42)
        let weight = r.array(cout * cin * 27), bias = r.array(cout)
        let conv = try Conv3D(weight: weight, bias: bias, outChannels: cout, inChannels: cin, kernel: 3)
        XCTAssertEqual(conv.tuning, .default)
        XCTAssertTrue(conv.runsPrecisely(try ChannelSources([ConvInput.map(x)], op: "test")))
        let y = try conv.forward(x, threads: 1)
        func tap(_ c: Int, _ z: Int, _ yy: Int, _ xx: Int) -> Double {
            guard z >= 0, z < d, yy >= 0, yy < h, xx >= 0, xx < w else { return 0 }
            return Double(x.data[((c * d + z) * h + yy) * w + xx])
        }
        for o in 0..<cout { for z in 0..<d { for yy in 0..<h { for xx in 0..<w {
            var sum = 0.0
            for i in 0..<cin { for a in 0..<3 { for b in 0..<3 { for c in 0..<3 {
                sum += Double(weight[(o * cin + i) * 27 + a * 9 + b * 3 + c]) * tap(i, z + a - 1, yy + b - 1, xx + c - 1)
            } } } }
            XCTAssertEqual(y.data[((o * d + z) * h + yy) * w + xx], Float(sum) + bias[o], "(\(o), \(z), \(yy), \(xx))")
        } } } }
        let dY = try randomMap([1, cout, d, h, w], seed: 43)
        let g = try conv.backward([.map(x)], outputGradient: dY, threads: 1)
        for o in 0..<cout { for i in 0..<cin { for t in 0..<27 {
            var sum = 0.0
            for z in 0..<d { for yy in 0..<h { for xx in 0..<w {
                sum += Double(dY.data[((o * d + z) * h + yy) * w + xx]) * tap(i, z + t / 9 - 1, yy + t / 3 % 3 - 1, xx + t % 3 - 1)
            } } }
            XCTAssertEqual(g.weight[(o * cin + i) * 27 + t], Float(sum), "dW (\(o), \(i), \(t))")
        } } }
    }
}
