import Dispatch

extension Array {
    /// `map` over all cores, results in order. For independent, heavy elements (tensor
    /// transposes); `transform` must be safe to call concurrently.
    public func concurrentMap<T>(_ transform: (Element) -> T) -> [T] {
        guard count > 1 else { return map(transform) }
        var results = [T?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            withoutActuallyEscaping(transform) { f in
                self.withUnsafeBufferPointer { input in
                    DispatchQueue.concurrentPerform(iterations: count) { i in (base + i).pointee = f(input[i]) }
                }
            }
        }
        return results.map { $0! }
    }
}
