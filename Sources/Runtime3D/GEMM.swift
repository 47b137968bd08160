import CBLAS

/// The runtime's one single-precision matrix product, row-major as `cblas_sgemm`:
/// C = alpha op(A) op(B) + beta C.
///
/// `precise: false` is OpenBLAS's sgemm, whose float32 accumulation order depends on the kernel
/// OpenBLAS picks for the CPU (Haswell, Zen, SkylakeX, Sandybridge ...): the same call rounds
/// differently from one CPU to the next. `precise: true` converts the operands to Double, calls
/// dgemm and rounds each element of C once: the result is the float32 rounding of a value within
/// about k * 1e-16 (relative) of the exact one, so it is the same on every CPU except where the
/// exact value lies within that distance of a rounding boundary (odds about 1e-9 per element).
/// Convolutions run precisely below `ConvolutionTuning.preciseMaxMultiplyAdds`, where the ReLU
/// and max-pool decisions of a small network would otherwise flip with the CPU.
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
        // Stored shapes of A and B as the caller's row-major views (before op()).
        let (aRows, aCols) = transA ? (k, m) : (m, k)
        let (bRows, bCols) = transB ? (n, k) : (k, n)
        let a64 = widened(a, rows: aRows, columns: aCols, leading: lda)
        let b64 = widened(b, rows: bRows, columns: bCols, leading: ldb)
        var c64 = beta == 0 ? [Double](repeating: 0, count: m * n) : widened(UnsafePointer(c), rows: m, columns: n, leading: ldc)
        c64.withUnsafeMutableBufferPointer { cp in
            cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), Double(alpha), a64, Int32(max(1, aCols)), b64, Int32(max(1, bCols)),
                        Double(beta), cp.baseAddress!, Int32(n))
            for i in 0..<m {
                let row = c + i * ldc, from = cp.baseAddress! + i * n
                for j in 0..<n { row[j] = Float(from[j]) }
            }
        }
    }

    /// A rows x columns block with leading dimension `leading`, as a dense Double matrix.
    private static func widened(_ p: UnsafePointer<Float>, rows: Int, columns: Int, leading: Int) -> [Double] {
        [Double](unsafeUninitializedCapacity: max(1, rows * columns)) { out, count in
            for i in 0..<rows {
                let row = p + i * leading
                for j in 0..<columns { out[i * columns + j] = Double(row[j]) }
            }
            count = max(1, rows * columns)
            if rows * columns == 0 { out[0] = 0 }
        }
    }
}
