import CBLAS
import CPreciseGEMM

/// The runtime's one single-precision matrix product, row-major as `cblas_sgemm`:
/// C = alpha op(A) op(B) + beta C.
///
/// `precise: false` is OpenBLAS's sgemm, whose float32 accumulation order depends on the kernel
/// OpenBLAS picks for the CPU (Haswell, Zen, SkylakeX, Sandybridge ...): the same call rounds
/// differently from one CPU to the next. `precise: true` computes each element in Double, as
/// beta C + the products in ascending k, by plain loops (`genesis_precise_gemm`, in C; not
/// OpenBLAS's dgemm, whose order also follows the CPU), and rounds once: the same bits on every x86-64 CPU, within
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
        // op(A) (alpha folded in; alpha * a is exact for the alpha of 1 the runtime passes) as
        // m x k and op(B) as k x n, dense, in Double.
        var a64 = [Double](repeating: 0, count: m * k), b64 = [Double](repeating: 0, count: k * n)
        genesis_widen(a, m, k, lda, transA ? 1 : 0, Double(alpha), &a64)
        genesis_widen(b, k, n, ldb, transB ? 1 : 0, 1, &b64)
        var row = [Double](repeating: 0, count: n)
        genesis_precise_gemm(m, n, k, a64, b64, beta, c, ldc, &row)
    }
}
