import Foundation
import GenesisKit

/// Printing for every command: human text, or one JSON object with `--json`; errors as one line
/// on stderr (and a JSON object on stdout with `--json`), exit 2.
enum CLIOutput {
    static var jsonRequested: Bool { CommandLine.arguments.contains("--json") }

    static func json(_ object: [String: Any?]) {
        let clean = sanitize(object)
        let data = try! JSONSerialization.data(withJSONObject: clean, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func line(_ s: String = "") { print(s) }

    static func warn(_ s: String) { FileHandle.standardError.write(Data("genesis: \(terminalSafe(s))\n".utf8)) }

    static func terminalSafe(_ s: String, keepNewlines: Bool = false) -> String { TextFormat.terminalSafe(s, keepNewlines: keepNewlines) }

    static func fail(message: String, usage: Bool) -> Never {
        // The readers cut each quoted value to ~200 characters; this caps whatever else a message holds.
        let message = Quoted.clip(message, limit: 2000)
        let oneLine = usage ? terminalSafe(message, keepNewlines: true) : terminalSafe(message.replacingOccurrences(of: "\n", with: " "))
        FileHandle.standardError.write(Data("genesis: error: \(oneLine)\n".utf8))
        if jsonRequested {
            json(["error": oneLine.components(separatedBy: "\n").first ?? oneLine, "exit_code": 2])
        }
        exit(2)
    }

    /// A usage error whose first line says it all: the parser's "Help:" line for the option at
    /// fault is folded into the first line ("Missing expected argument '--out <out>' (--out
    /// <out>: Output .npy file.)"); the usage block follows for those who want it.
    static func selfSufficientUsage(_ message: String) -> String {
        var lines = message.components(separatedBy: "\n")
        guard lines.count > 1, lines[1].hasPrefix("Help:") else { return message }
        let help = lines.remove(at: 1).dropFirst("Help:".count).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        if let colon = help.range(of: "> ") ?? help.range(of: " ") {
            lines[0] += " (\(help[..<colon.lowerBound])\(help[colon].hasPrefix(">") ? ">" : ""): \(help[colon.upperBound...]))"
        } else {
            lines[0] += " (\(help))"
        }
        return lines.joined(separator: "\n")
    }

    static func sanitize(_ v: Any?) -> Any { TextFormat.jsonSafe(v) }
    static func grouped(_ n: Int) -> String { TextFormat.grouped(n) }
    static func shape(_ s: [Int]) -> String { TextFormat.shape(s) }
    static func megabytes(_ bytes: Int) -> String { TextFormat.megabytes(bytes) }
}
