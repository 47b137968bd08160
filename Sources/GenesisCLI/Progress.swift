import Foundation

/// A progress bar on stderr with rate and ETA, for long work; silent when stderr is not a
/// terminal or when JSON was asked for.
final class Progress {
    private let total: Double
    private let label: String
    private let enabled: Bool
    private var done = 0.0
    private let start = Date()
    private var lastDraw = Date.distantPast

    init(total: Double, label: String, enabled: Bool = true) {
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    func advance(by amount: Double) {
        done += amount
        guard enabled, Date().timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = Date()
        draw()
    }

    func finish() {
        guard enabled else { return }
        done = total
        draw()
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw() {
        let fraction = min(1, done / total)
        let elapsed = Date().timeIntervalSince(start)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let rate = elapsed > 0 ? done / elapsed / 1e9 : 0
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let line = String(format: "\r%@ [%@] %3.0f%%  %.1f GFLOP/s  %.1fs elapsed, ETA %.1fs", label, bar, fraction * 100, rate, elapsed, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
