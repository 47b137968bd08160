/// Axis permutation of a dense tensor: moves bits, never rounds them.
extension Tensor {
    /// `permuted(axes)` has shape `shape[axes[i]]` at position i, like numpy's `transpose(axes)`.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank && Set(axes) == Set(0..<rank), "bad permutation \(axes) for rank \(rank)")
        if axes == Array(0..<rank) { return self }
        let newShape = axes.map { shape[$0] }
        var srcStrides = [Int](repeating: 1, count: rank)  // in elements
        for i in stride(from: rank - 2, through: 0, by: -1) { srcStrides[i] = srcStrides[i + 1] * shape[i + 1] }
        // Output axes in order with their source strides; neighbours that are contiguous in the
        // source too merge into one longer axis (Keras kD,kH,kW -> one axis of 27).
        var dims: [(size: Int, stride: Int)] = []
        for a in axes {
            if let last = dims.last, last.stride == srcStrides[a] * shape[a] {
                dims[dims.count - 1] = (last.size * shape[a], srcStrides[a])
            } else {
                dims.append((shape[a], srcStrides[a]))
            }
        }
        let out = UnzeroedBytes.make(bytes.count) { dst in
            bytes.withUnsafeBytes { src in
                switch dtype.byteSize {
                case 1: Self.gather(src.bindMemory(to: UInt8.self), dst.bindMemory(to: UInt8.self), dims)
                case 2: Self.gather(src.bindMemory(to: UInt16.self), dst.bindMemory(to: UInt16.self), dims)
                case 4: Self.gather(src.bindMemory(to: UInt32.self), dst.bindMemory(to: UInt32.self), dims)
                default: Self.gather(src.bindMemory(to: UInt64.self), dst.bindMemory(to: UInt64.self), dims)
                }
            }
        }
        return try! Tensor(dtype: dtype, shape: newShape, bytes: out)
    }

    /// Writes `dst` in order, reading `src` at the strided positions; the innermost axis is a
    /// plain strided loop, the outer ones a multi-index with a running source offset.
    private static func gather<T>(_ src: UnsafeBufferPointer<T>, _ dst: UnsafeMutableBufferPointer<T>, _ dims: [(size: Int, stride: Int)]) {
        guard let innermost = dims.last, !dst.isEmpty else { return }
        if dims.count == 3, innermost.stride != 1, let contiguous = dims.firstIndex(where: { $0.stride == 1 }) {
            return transpose3(src, dst, dims, sourceContiguous: contiguous)
        }
        let outer = Array(dims.dropLast())
        let outerCount = outer.reduce(1) { $0 * $1.size }
        var index = [Int](repeating: 0, count: outer.count)
        var base = 0, o = 0
        for _ in 0..<outerCount {
            var s = base
            for _ in 0..<innermost.size {
                dst[o] = src[s]
                o += 1
                s += innermost.stride
            }
            var k = outer.count - 1
            while k >= 0 {
                index[k] += 1
                base += outer[k].stride
                if index[k] < outer[k].size { break }
                base -= outer[k].stride * outer[k].size
                index[k] = 0
                k -= 1
            }
        }
    }

    /// Three axes where the source-contiguous axis `c` is not the output's innermost (the Keras
    /// kernel layouts (27, in, out) <-> (out, in, 27)). The axis contiguous in neither array is
    /// walked outermost, then axis `c` in blocks of 16: each block reads one cache line of floats
    /// from each of the `n2` source rows (rows that stream as the blocks advance) and completes
    /// 16 short output rows while they are still in L1.
    private static func transpose3<T>(_ src: UnsafeBufferPointer<T>, _ dst: UnsafeMutableBufferPointer<T>,
                                      _ dims: [(size: Int, stride: Int)], sourceContiguous c: Int) {
        let block = 16
        let other = 1 - c
        let dstStrides = [dims[1].size * dims[2].size, dims[2].size, 1]
        let (nc, n2, s2) = (dims[c].size, dims[2].size, dims[2].stride)
        let (so, dOther, dc) = (dims[other].stride, dstStrides[other], dstStrides[c])
        guard let s = src.baseAddress, let d = dst.baseAddress else { return }
        for x in 0..<dims[other].size {
            for b in stride(from: 0, to: nc, by: block) {
                let count = min(block, nc - b)
                var srcRow = x * so + b
                var dstRow = x * dOther + b * dc
                for _ in 0..<n2 {
                    var sOff = srcRow, dOff = dstRow
                    for _ in 0..<count {
                        d[dOff] = s[sOff]
                        sOff += 1
                        dOff += dc
                    }
                    srcRow += s2
                    dstRow += 1
                }
            }
        }
    }
}
