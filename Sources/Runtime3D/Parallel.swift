import CBLAS
import Foundation

/// Work split over a fixed number of threads. OpenBLAS runs single-threaded inside these
/// regions (each worker calls `cblas_sgemm` on its own chunk): on two cores this beats
/// OpenBLAS's own threading for the many mid-sized GEMMs of a 3D U-Net.
public enum Parallel {
    /// Threads to use when the caller does not say: every online core.
    public static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Pins OpenBLAS to one thread (our workers provide the parallelism). Idempotent.
    static func singleThreadedBLAS() {
        if shim_openblas_get_threads() != 1 { shim_openblas_set_threads(1) }
    }

    /// Workers used for `count` chunks: at most `threads`, at most `count`, at least 1.
    static func workers(_ count: Int, threads: Int) -> Int { max(1, min(threads, count)) }

    /// Runs `body(i, worker)` for every i in 0..<count on `workers(count, threads)` workers
    /// (worker in 0..<workers, for per-worker scratch). Worker w takes i = w, w + workers, ...
    /// in order: which items a worker handles, and so the order of any per-worker sums (the
    /// gradient accumulators), depends only on count and threads, never on timing. A training
    /// run is then bit-for-bit reproducible, and `--resume` continues it exactly.
    public static func forEach(_ count: Int, threads: Int, _ body: (_ index: Int, _ worker: Int) -> Void) {
        singleThreadedBLAS()
        let workers = workers(count, threads: threads)
        if workers <= 1 {
            for i in 0..<count { body(i, 0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < count {
                    body(i, w)
                    i += workers
                }
            }
        }
    }

    /// Splits 0..<total into `parts` contiguous ranges of nearly equal size.
    static func ranges(_ total: Int, parts: Int) -> [Range<Int>] {
        let p = max(1, min(parts, total))
        return (0..<p).map { i in (total * i / p)..<(total * (i + 1) / p) }
    }
}
