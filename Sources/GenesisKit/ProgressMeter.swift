import Foundation

/// Progress of long work on stderr: on a terminal a bar redrawn in place, with counts, rate
/// and ETA; otherwise (a log file, a pipe) a plain line every `interval` seconds, so a job that
/// runs for minutes is never silent and a short one prints nothing. Off when JSON was asked for.
///
/// `GENESIS_PROGRESS_INTERVAL` (seconds) overrides the plain-line interval (tests use 0).
public final class ProgressMeter {
    /// What is counted beside the work (cubes, steps) and the work itself (e.g. FLOP).
    public struct Units {
        public var item: String
        public var rateLabel: String
        /// Work units per rate unit (1e9 for GFLOP/s).
        public var rateScale: Double
        public init(item: String, rateLabel: String, rateScale: Double) {
            self.item = item
            self.rateLabel = rateLabel
            self.rateScale = rateScale
        }
    }

    private let label: String
    private let totalWork: Double
    private let totalItems: Int
    private let units: Units
    private let terminal: Bool
    private let enabled: Bool
    private let interval: Double
    private let start = Date()
    private var work = 0.0
    private var items = 0
    private var lastDraw = Date.distantPast
    private var lastPlain: Date
    private var printedPlain = false
    /// Shown after the counts, e.g. "loss 0.0123".
    public var detail = ""

    public init(label: String, totalWork: Double, totalItems: Int, units: Units, enabled: Bool = true) {
        self.label = label
        self.totalWork = max(totalWork, 1)
        self.totalItems = totalItems
        self.units = units
        self.enabled = enabled
        terminal = isatty(STDERR_FILENO) == 1
        let env = ProcessInfo.processInfo.environment["GENESIS_PROGRESS_INTERVAL"].flatMap(Double.init)
        interval = max(0, env ?? 5)
        lastPlain = start
    }

    /// Work done since the last call (e.g. FLOP of a finished layer).
    public func advance(work amount: Double) {
        work += amount
        report()
    }

    /// Items finished in total (e.g. cubes written).
    public func finished(items n: Int) {
        items = n
        report()
    }

    public func finish() {
        guard enabled else { return }
        work = totalWork
        items = totalItems
        if terminal {
            FileHandle.standardError.write(Data(("\r" + line(bar: true) + "\n").utf8))
        } else if printedPlain || Date().timeIntervalSince(start) >= interval {
            FileHandle.standardError.write(Data((line(bar: false) + "\n").utf8))
        }
    }

    private func report() {
        guard enabled else { return }
        let now = Date()
        if terminal {
            guard now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            FileHandle.standardError.write(Data(("\r" + line(bar: true)).utf8))
        } else if now.timeIntervalSince(lastPlain) >= interval {
            lastPlain = now
            printedPlain = true
            FileHandle.standardError.write(Data((line(bar: false) + "\n").utf8))
        }
    }

    /// "forward [#####.....]  40%  2/5 cubes  41.2 GFLOP/s  3.1 s elapsed, ETA 4.6 s"
    public func line(bar: Bool) -> String {
        let fraction = min(1, work / totalWork)
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? work / elapsed / units.rateScale : 0
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        var parts = [label]
        if bar {
            let width = 30, filled = Int(fraction * Double(width))
            parts[0] += " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
        } else {
            parts[0] += ":"
        }
        parts.append(String(format: "%3.0f%%", fraction * 100))
        parts.append("\(items)/\(totalItems) \(units.item)")
        parts.append(String(format: rate < 10 ? "%.2f %@" : "%.1f %@", rate, units.rateLabel))
        if !detail.isEmpty { parts.append(detail) }
        parts.append(String(format: "%.1f s elapsed, ETA %.1f s", elapsed, eta))
        return parts.joined(separator: "  ")
    }
}
