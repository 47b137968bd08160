import Foundation

/// Guards collectives against a dead or stuck peer: while a collective is under way, a thread
/// checks every half second how long it has waited; past `timeout` seconds it calls `expire`
/// (which prints why and aborts the whole job), so no rank hangs for ever. Open MPI itself ends
/// the job when a rank's process dies; this covers a rank that is alive but never arrives (a
/// deadlock, a stopped process, a peer on an unreachable host).
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var since: Date?
    private var what = ""
    let timeout: Double
    private let expire: @Sendable (_ what: String, _ seconds: Double) -> Void

    init(timeout: Double, expire: @escaping @Sendable (_ what: String, _ seconds: Double) -> Void) {
        self.timeout = timeout
        self.expire = expire
        let t = Thread { [weak self] in
            while let s = self {
                if let (what, waited) = s.overdue() { s.expire(what, waited); return }
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        t.name = "genesis-mpi-watchdog"
        t.start()
    }

    /// Runs `body` (a blocking collective) under the time-out.
    func guarded<T>(_ what: String, _ body: () throws -> T) rethrows -> T {
        lock.lock()
        let outer = since == nil
        if outer { since = Date(); self.what = what }
        lock.unlock()
        defer {
            if outer {
                lock.lock()
                since = nil
                lock.unlock()
            }
        }
        return try body()
    }

    private func overdue() -> (String, Double)? {
        lock.lock()
        defer { lock.unlock() }
        guard let since else { return nil }
        let waited = Date().timeIntervalSince(since)
        return waited > timeout ? (what, waited) : nil
    }
}
