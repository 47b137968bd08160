/// The Python literal subset a `.npy` header uses: a dict with string keys whose values are
/// strings, True/False, or tuples of non-negative integers.
enum NPYLiteral: Equatable, CustomStringConvertible {
    case string(String)
    case bool(Bool)
    case tuple([Int])

    var description: String {
        switch self {
        case let .string(s): return "'\(s)'"
        case let .bool(b): return b ? "True" : "False"
        case let .tuple(t): return "(" + t.map(String.init).joined(separator: ", ") + ")"
        }
    }

    /// Parses `{'k': v, ...}` followed only by spaces and one final newline.
    static func parseDict(_ text: String, file: String) throws -> [String: NPYLiteral] {
        var p = Parser(chars: Array(text.unicodeScalars), file: file)
        let d = try p.dict()
        p.skipSpaces()
        guard p.i == p.chars.count - 1, p.chars[p.i] == "\n" else {
            throw p.fail("the header to end with spaces and a newline after the dict")
        }
        return d
    }

    private struct Parser {
        let chars: [Unicode.Scalar]
        let file: String
        var i = 0

        init(chars: [Unicode.Scalar], file: String) {
            self.chars = chars
            self.file = file
        }

        func fail(_ expected: String) -> VolumeError {
            let rest = String(String.UnicodeScalarView(chars[min(i, chars.count)...].prefix(20)))
            return VolumeError(file: file, what: "header at character \(i)", expected: expected, found: rest.isEmpty ? "end of header" : "'\(rest)'")
        }

        mutating func skipSpaces() { while i < chars.count, chars[i] == " " { i += 1 } }

        mutating func expect(_ c: Unicode.Scalar) throws {
            skipSpaces()
            guard i < chars.count, chars[i] == c else { throw fail("'\(c)'") }
            i += 1
        }

        mutating func peek(_ c: Unicode.Scalar) -> Bool {
            skipSpaces()
            return i < chars.count && chars[i] == c
        }

        mutating func dict() throws -> [String: NPYLiteral] {
            try expect("{")
            var out: [String: NPYLiteral] = [:]
            while !peek("}") {
                let key = try string()
                guard out[key] == nil else { throw fail("no repeated key ('\(key)' twice)") }
                try expect(":")
                out[key] = try value()
                if peek(",") { i += 1 } else { break }
            }
            try expect("}")
            return out
        }

        mutating func string() throws -> String {
            skipSpaces()
            guard i < chars.count, chars[i] == "'" || chars[i] == "\"" else { throw fail("a quoted string") }
            let quote = chars[i]
            i += 1
            var s = String.UnicodeScalarView()
            while i < chars.count, chars[i] != quote {
                guard chars[i] != "\\" else { throw fail("a string without escapes") }
                s.append(chars[i]); i += 1
            }
            guard i < chars.count else { throw fail("a closing quote") }
            i += 1
            return String(s)
        }

        mutating func value() throws -> NPYLiteral {
            skipSpaces()
            guard i < chars.count else { throw fail("a value") }
            if chars[i] == "'" || chars[i] == "\"" { return .string(try string()) }
            if chars[i] == "(" { return .tuple(try tuple()) }
            for (word, v) in [("True", true), ("False", false)] {
                let w = Array(word.unicodeScalars)
                if i + w.count <= chars.count, Array(chars[i..<(i + w.count)]) == w { i += w.count; return .bool(v) }
            }
            throw fail("a string, True, False or a tuple")
        }

        mutating func tuple() throws -> [Int] {
            try expect("(")
            var out: [Int] = []
            while !peek(")") {
                skipSpaces()
                var digits = ""
                while i < chars.count, ("0"..."9").contains(chars[i]) { digits.unicodeScalars.append(chars[i]); i += 1 }
                guard !digits.isEmpty, digits.count <= 18, let v = Int(digits) else { throw fail("a non-negative integer below 10^18") }
                out.append(v)
                if peek(",") { i += 1 } else { break }
            }
            try expect(")")
            return out
        }
    }
}
