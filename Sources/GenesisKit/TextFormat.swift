import Foundation
import Tensors

/// How the workflows put values into text: shapes, grouped counts, sizes, names from files made
/// safe for a terminal, and values made JSON-safe.
public enum TextFormat {
    /// Control characters from file contents or names escaped (`\r`, `\x1b`, `\0`), so a message
    /// cannot move the cursor, recolour or overwrite the terminal; newlines kept when asked.
    public static func terminalSafe(_ s: String, keepNewlines: Bool = false) -> String {
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

    /// Optional values become JSON null; non-finite numbers null; nested dictionaries and arrays cleaned too.
    public static func jsonSafe(_ v: Any?) -> Any {
        switch v {
        case nil: return NSNull()
        case let d as [String: Any?]: return d.mapValues { jsonSafe($0) }
        case let d as [String: Any]: return d.mapValues { jsonSafe($0) }
        case let a as [Any?]: return a.map { jsonSafe($0) }
        case let a as [Any]: return a.map { jsonSafe($0) }
        case let f as Float: return f.isFinite ? Double(f) : NSNull()
        case let d as Double: return d.isFinite ? d : NSNull()
        case let some?: return some
        }
    }

    /// 16320257 -> "16,320,257".
    public static func grouped(_ n: Int) -> String {
        let s = String(n.magnitude)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + String(out.reversed())
    }

    /// [64, 64, 32] -> "(64,64,32)".
    public static func shape(_ s: [Int]) -> String { "(" + s.map(String.init).joined(separator: ",") + ")" }

    public static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
