/// Uninitialised per-worker float buffers for one op call (im2col columns, GEMM tiles).
/// Every user writes before it reads, so nothing is zeroed.
final class Scratch: @unchecked Sendable {
    private var buffers: [UnsafeMutablePointer<Float>]
    let capacity: Int

    init(workers: Int, capacity: Int) {
        self.capacity = max(1, capacity)
        buffers = (0..<max(1, workers)).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: max(1, capacity)) }
    }

    deinit { buffers.forEach { $0.deallocate() } }

    func buffer(_ worker: Int) -> UnsafeMutablePointer<Float> { buffers[worker] }
}
