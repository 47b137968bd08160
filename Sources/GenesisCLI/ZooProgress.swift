import Foundation
import GenesisKit

/// A download's progress on stderr through the house `Progress` (bar with MB, MB/s and ETA on
/// a terminal, a plain line every few seconds otherwise), and its notes as `genesis:` lines.
final class ZooProgress: DownloadObserver {
    private let file: String
    private let quiet: Bool
    private var progress: ProgressMeter?
    private var last: Int64 = 0
    private var total: Int64?

    init(file: String, quiet: Bool) {
        self.file = file
        self.quiet = quiet
    }

    func started(url: String, offset: Int64, total: Int64?) {
        // A resumed or restarted transfer: the old bar's line ends here, not at a false 100%.
        if progress != nil, !quiet, isatty(STDERR_FILENO) == 1 { FileHandle.standardError.write(Data("\n".utf8)) }
        self.total = total
        last = offset
        let remaining = total.map { max(1, $0 - offset) } ?? 1
        progress = ProgressMeter(label: "fetch \(file)", totalWork: Double(remaining), totalItems: 1,
                            units: .init(item: "file", rateLabel: "MB/s", rateScale: 1e6), enabled: !quiet)
        progress?.detail = detail(offset)
    }

    func advanced(to bytes: Int64) {
        guard let p = progress else { return }
        p.detail = detail(bytes)
        p.advance(work: Double(bytes - last))
        last = bytes
    }

    func note(_ message: String) { CLIOutput.warn(message) }

    func finish() {
        progress?.detail = detail(last)
        progress?.finish()
        progress = nil
    }

    private func detail(_ bytes: Int64) -> String {
        let mb = String(format: "%.1f", Double(bytes) / 1e6)
        return total.map { "\(mb) of \(String(format: "%.1f", Double($0) / 1e6)) MB" } ?? "\(mb) MB"
    }
}
