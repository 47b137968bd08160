import Foundation
import Tensors

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

    /// Control characters from file contents or names escaped (`\r`, `\x1b`, `\0`), so a message
    /// cannot move the cursor, recolour or overwrite the terminal; newlines kept when asked.
    static func terminalSafe(_ s: String, keepNewlines: Bool = false) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u.value {
            case 0x0A where keepNewlines: out.append("\n")
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x00: out += "\\0"
            case 0x01...0x1F, 0x7F, 0x80...0x9F: out += String(format: "\\x%02x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

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

    /// Optional values become JSON null; nested dictionaries and arrays are cleaned too.
    static func sanitize(_ v: Any?) -> Any {
        switch v {
        case nil: return NSNull()
        case let d as [String: Any?]: return d.mapValues { sanitize($0) }
        case let d as [String: Any]: return d.mapValues { sanitize($0) }
        case let a as [Any?]: return a.map { sanitize($0) }
        case let a as [Any]: return a.map { sanitize($0) }
        case let f as Float: return f.isFinite ? Double(f) : NSNull()
        case let d as Double: return d.isFinite ? d : NSNull()
        case let some?: return some
        }
    }

    /// 16320257 -> "16,320,257".
    static func grouped(_ n: Int) -> String {
        let s = String(n.magnitude)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + String(out.reversed())
    }

    static func shape(_ s: [Int]) -> String { "(" + s.map(String.init).joined(separator: ",") + ")" }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
