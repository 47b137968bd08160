/// A small, strict JSON parser (RFC 8259) that keeps object members in order and rejects
/// duplicate keys at every level. Foundation's `JSONSerialization` silently merges duplicates,
/// which would let two headers that other readers see differently pass as one.
public indirect enum JSONValue: Equatable, Sendable {
    case object([JSONMember])
    case array([JSONValue])
    case string(String)
    /// The number's literal text, as written (exact, no rounding).
    case number(String)
    case bool(Bool)
    case null

    /// The value as a non-negative integer that fits `Int`, if it is written as one
    /// (no sign, fraction or exponent), as Rust's `usize` deserialisation demands.
    public var nonNegativeInt: Int? {
        guard case let .number(text) = self, !text.isEmpty else { return nil }
        var v = 0
        for c in text.utf8 {
            guard c >= 0x30, c <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(c - 0x30))
            guard !o1, !o2 else { return nil }
            v = s
        }
        return v
    }

    /// A short description of the value's kind, for error messages.
    public var kindName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case let .number(t): return "the number \(t)"
        case let .bool(b): return "\(b)"
        case .null: return "null"
        }
    }
}

public struct JSONMember: Equatable, Sendable {
    public let key: String
    public let value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

public struct StrictJSONError: Error, Equatable, CustomStringConvertible {
    /// Byte offset in the parsed text.
    public let offset: Int
    public let reason: String
    /// Set when the error is a duplicate key: the key and the path of the object holding it.
    public let duplicateKey: String?
    public let objectPath: String
    /// Set when an object had more than `maxMembers` members.
    public var overMemberCap = false

    public var description: String { "byte \(offset): \(reason)" }
}

public enum StrictJSON {
    /// Deepest nesting accepted (serde_json's default limit is 128).
    public static let maxDepth = 64

    /// Parses one JSON value; only JSON whitespace may follow it. `maxMembers` caps the members
    /// of every object and `maxItems` the items of every array, checked while parsing (before a
    /// header of 800,000 entries has been built); the error names the cap.
    public static func parse(_ bytes: [UInt8], maxMembers: Int = .max, maxItems: Int = .max) throws -> JSONValue {
        var p = Parser(b: bytes, maxMembers: maxMembers, maxItems: maxItems)
        p.skipSpace()
        let v = try p.value(depth: 0, path: [])
        p.skipSpace()
        guard p.i == bytes.count else { throw p.fail("unexpected characters after the JSON value") }
        return v
    }
}

private struct Parser {
    let b: [UInt8]
    let maxMembers: Int
    let maxItems: Int
    var i = 0

    func fail(_ reason: String, duplicate: String? = nil, path: [String] = []) -> StrictJSONError {
        StrictJSONError(offset: i, reason: reason, duplicateKey: duplicate,
                        objectPath: path.isEmpty ? "the top-level object" : "object \"" + path.joined(separator: "/") + "\"")
    }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    mutating func value(depth: Int, path: [String]) throws -> JSONValue {
        guard depth <= StrictJSON.maxDepth else { throw fail("nesting deeper than \(StrictJSON.maxDepth)") }
        guard i < b.count else { throw fail("unexpected end of text") }
        switch b[i] {
        case UInt8(ascii: "{"): return try object(depth: depth, path: path)
        case UInt8(ascii: "["): return try array(depth: depth, path: path)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), 0x30...0x39: return .number(try number())
        default: throw fail("unexpected character \(String(format2hex: b[i]))")
        }
    }

    mutating func object(depth: Int, path: [String]) throws -> JSONValue {
        i += 1
        var members: [JSONMember] = []
        var seen = Set<[UInt8]>()
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object([]) }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyStart = i
            let key = try string()
            // Compare raw bytes: Swift's String equality would merge canonically equivalent keys.
            guard seen.insert(Array(key.utf8)).inserted else {
                i = keyStart
                throw fail("duplicate key \"\(key)\"", duplicate: key, path: path)
            }
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
            i += 1
            skipSpace()
            guard members.count < maxMembers else {
                i = keyStart
                var e = fail("more than \(maxMembers) members in one object (the cap on members)", path: path)
                e.overMemberCap = true
                throw e
            }
            let v = try value(depth: depth + 1, path: path + [key])
            members.append(JSONMember(key: key, value: v))
            skipSpace()
            guard i < b.count else { throw fail("unterminated object") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw fail("expected ',' or '}' in an object")
        }
    }

    mutating func array(depth: Int, path: [String]) throws -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array([]) }
        while true {
            skipSpace()
            guard items.count < maxItems else { throw fail("more than \(maxItems) items in one array (the cap on items)") }
            items.append(try value(depth: depth + 1, path: path))
            skipSpace()
            guard i < b.count else { throw fail("unterminated array") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw fail("expected ',' or ']' in an array")
        }
    }

    mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard b.count - i >= w.count, Array(b[i..<(i + w.count)]) == w else { throw fail("invalid literal") }
        i += w.count
    }

    mutating func number() throws -> String {
        let start = i
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, (0x30...0x39).contains(b[i]) else { throw fail("invalid number") }
        if b[i] == 0x30 { i += 1 } else { digits() }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard i < b.count, (0x30...0x39).contains(b[i]) else { throw fail("invalid number: digits must follow '.'") }
            digits()
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, (0x30...0x39).contains(b[i]) else { throw fail("invalid number: exponent without digits") }
            digits()
        }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    mutating func digits() { while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 } }

    mutating func string() throws -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character \(String(format2hex: c)) in a string") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { throw fail("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard b.count - i >= 2, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw fail("lone leading surrogate in \\u escape")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid trailing surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("lone trailing surrogate in \\u escape")
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default: throw fail("invalid escape \\\(Character(Unicode.Scalar(e)))")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }

    mutating func hex4() throws -> UInt32 {
        guard b.count - i >= 4 else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}

/// Writes JSON strings the way serde_json does: `"` and `\` escaped, control characters as
/// `\n`, `\t`, ... or `\u00XX`, everything else (non-ASCII included) as raw UTF-8.
enum JSONWriter {
    static func quoted(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20:
                let d = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [d[Int(c >> 4)], d[Int(c & 15)]]
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
