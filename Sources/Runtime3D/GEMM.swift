import CBLAS

/// The runtime's one single-precision matrix product, row-major as `cblas_sgemm`:
/// C = alpha op(A) op(B) + beta C.
///
/// `precise: false` is OpenBLAS's sgemm, whose float32 accumulation order depends on the kernel
/// OpenBLAS picks for the CPU (Haswell, Zen, SkylakeX, Sandybridge ...): the same call rounds
/// differently from one CPU to the next. `precise: true` computes each element in Double, as
/// beta C + the products in ascending k, by plain loops of this file (not OpenBLAS's dgemm, whose
/// order also follows the CPU), and rounds once: the same bits on every x86-64 CPU, within
/// about k * 1e-16 (relative) of the exact value. Convolutions run precisely below
/// `ConvolutionTuning.preciseMaxMultiplyAdds`, where the ReLU and max-pool decisions of a small
/// network would otherwise flip with the CPU.
enum GEMM {
    static func multiply(precise: Bool, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                         alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard precise else {
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        // op(A) as m x k and op(B) as k x n, dense, in Double.
        let a64 = widened(a, rows: m, columns: k, leading: lda, transposed: transA)
        let b64 = widened(b, rows: k, columns: n, leading: ldb, transposed: transB)
        var row = [Double](repeating: 0, count: n)
        a64.withUnsafeBufferPointer { ap in
            b64.withUnsafeBufferPointer { bp in
                row.withUnsafeMutableBufferPointer { rp in
                    let (av, bv, acc) = (ap.baseAddress!, bp.baseAddress!, rp.baseAddress!)
                    for i in 0..<m {
                        let out = c + i * ldc
                        for j in 0..<n { acc[j] = beta == 0 ? 0 : Double(beta) * Double(out[j]) }
                        for p in 0..<k {
                            let x = Double(alpha) * av[i * k + p], from = bv + p * n
                            for j in 0..<n { acc[j] += x * from[j] }
                        }
                        for j in 0..<n { out[j] = Float(acc[j]) }
                    }
                }
            }
        }
    }

    /// The rows x columns matrix stored at `p` with leading dimension `leading` (transposed:
    /// stored as columns x rows), as a dense row-major Double matrix.
    private static func widened(_ p: UnsafePointer<Float>, rows: Int, columns: Int, leading: Int, transposed: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: rows * columns)
        for i in 0..<rows {
            for j in 0..<columns { out[i * columns + j] = Double(transposed ? p[j * leading + i] : p[i * leading + j]) }
        }
        return out
    }
}
