/// Axis permutation of a dense tensor: moves bits, never rounds them.
extension Tensor {
    /// `permuted(axes)` has shape `shape[axes[i]]` at position i, like numpy's `transpose(axes)`.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank && Set(axes) == Set(0..<rank), "bad permutation \(axes) for rank \(rank)")
        if axes == Array(0..<rank) { return self }
        let newShape = axes.map { shape[$0] }
        // Strides of the source, in elements.
        var srcStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { srcStrides[i] = srcStrides[i + 1] * shape[i + 1] }
        let permStrides = axes.map { srcStrides[$0] }
        let es = dtype.byteSize
        let n = elementCount
        var out = [UInt8](repeating: 0, count: bytes.count)
        var index = [Int](repeating: 0, count: rank)
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                var srcOffset = 0
                for o in 0..<n {
                    memcpy(dst.baseAddress! + o * es, src.baseAddress! + srcOffset * es, es)
                    // Advance the output multi-index (last axis fastest), tracking the source offset.
                    var k = rank - 1
                    while k >= 0 {
                        index[k] += 1
                        srcOffset += permStrides[k]
                        if index[k] < newShape[k] { break }
                        srcOffset -= permStrides[k] * newShape[k]
                        index[k] = 0
                        k -= 1
                    }
                }
            }
        }
        return try! Tensor(dtype: dtype, shape: newShape, bytes: out)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
