import Tensors

/// Copies a tensor out of its storage: contiguous views (any storage offset, shared storages)
/// by one slice, other non-negative strides element by element, every index checked.
enum TensorMaterializer {
    /// `storage` holds the whole root storage (`numel * elemSize` bytes, checked by the caller).
    static func tensor(_ r: TensorRef, storage: [UInt8], name: String, file: String) throws -> Tensor {
        let dtype = r.storage.dtype
        let es = dtype.byteSize
        let byteCount: Int
        do { byteCount = try Limits.byteCount(r.shape, dtype, what: "tensor \(name)") } catch {
            throw TorchError.unsupportedLayout(file: file, tensor: name, reason: "\(error)")
        }
        let n = byteCount / es
        if n == 0 { return try Tensor(dtype: dtype, shape: r.shape, bytes: [], name: name) }

        // The element range the storage (or legacy storage view) offers.
        let base = r.storage.view?.offset ?? 0
        let available = r.storage.view?.numel ?? r.storage.numel
        guard storage.count == r.storage.numel * es else {
            throw TorchError.storage(file: file, key: r.storage.key, expected: "\(r.storage.numel * es) bytes", found: "\(storage.count)")
        }
        guard !zip(r.shape, r.stride).contains(where: { $0 > 1 && $1 == 0 }) else {
            throw TorchError.unsupportedLayout(file: file, tensor: name, reason: "stride 0 on an axis of size > 1 (an expanded view, not saved data): size \(r.shape), stride \(r.stride)")
        }
        guard r.stride.allSatisfy({ $0 >= 0 }) else {
            throw TorchError.unsupportedLayout(file: file, tensor: name, reason: "negative stride \(r.stride)")
        }
        // Highest element index touched: offset + sum((size - 1) * stride), overflow-checked.
        var last = r.offset
        for (d, s) in zip(r.shape, r.stride) {
            let (p, o1) = (d - 1).multipliedReportingOverflow(by: s)
            let (q, o2) = last.addingReportingOverflow(p)
            guard !o1, !o2 else { throw TorchError.unsupportedLayout(file: file, tensor: name, reason: "stride \(r.stride) overflows") }
            last = q
        }
        guard last < available else {
            throw TorchError.unsupportedLayout(file: file, tensor: name,
                reason: "offset \(r.offset), size \(r.shape), stride \(r.stride) reach element \(last), the storage '\(r.storage.key)' has \(available)")
        }

        if isContiguous(r.shape, r.stride) {
            let start = (base + r.offset) * es
            // The whole storage (every state-dict tensor): share its buffer, no copy.
            let bytes = start == 0 && byteCount == storage.count ? storage : Array(storage[start..<(start + byteCount)])
            return try Tensor(dtype: dtype, shape: r.shape, bytes: bytes, name: name)
        }
        // Strided gather (e.g. a transposed view); last axis fastest, like C order.
        var out = [UInt8](repeating: 0, count: byteCount)
        var index = [Int](repeating: 0, count: r.shape.count)
        var src = r.offset
        storage.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { o in
                for k in 0..<n {
                    let from = (base + src) * es
                    for b in 0..<es { o[k * es + b] = s[from + b] }
                    var axis = r.shape.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        src += r.stride[axis]
                        if index[axis] < r.shape[axis] { break }
                        src -= r.stride[axis] * r.shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return try Tensor(dtype: dtype, shape: r.shape, bytes: out, name: name)
    }

    /// C-contiguous, ignoring the strides of axes of size 1 (torch does the same).
    static func isContiguous(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// C-contiguous strides for a shape (for the writer).
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= max(shape[i], 1)
        }
        return s
    }
}
