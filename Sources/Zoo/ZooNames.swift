import Foundation

/// What a model name, a file name, a relative path and a hash may look like: nothing that can
/// climb out of the cache (`..`, `/`), nothing a terminal would act on.
public enum ZooNames {
    /// Letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 100 characters.
    public static func isName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, s.unicodeScalars.count <= 100, isAlnum(first) else { return false }
        return s.unicodeScalars.allSatisfy { isAlnum($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    /// A file name stored under a model's directory: a name as above (so never `.` or `..`).
    public static func isSafeFileName(_ s: String) -> Bool { isName(s) }

    /// `zoo/default.h5`-style paths: relative parts that are each a safe name.
    public static func isSafeRelativePath(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.count <= 16 && parts.allSatisfy { isName(String($0)) }
    }

    public static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// A name for a file fetched by address: its last path component, made safe.
    public static func fromURL(_ url: String) -> String? {
        guard let p = ZooURL.parse(url) else { return nil }
        let last = p.path.split(separator: "/").last.map(String.init) ?? ""
        let cleaned = String(last.unicodeScalars.map { isAlnum($0) || $0 == "." || $0 == "_" || $0 == "-" ? Character($0) : "_" })
        let trimmed = cleaned.drop { !($0.isLetter || $0.isNumber) }
        return isName(String(trimmed)) ? String(trimmed) : nil
    }

    private static func isAlnum(_ u: Unicode.Scalar) -> Bool {
        (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9")
    }
}

/// An http(s) address split into what the downloader and `--mirror` need.
public struct ZooURL: Sendable, Equatable {
    public var scheme: String
    /// Host, with `:port` when one is given.
    public var authority: String
    public var host: String
    /// From the first `/` on, query included ("/" when there is none).
    public var path: String

    public static func parse(_ s: String) -> ZooURL? {
        guard s.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else { return nil }
        let lower = s.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        let rest = s.dropFirst(scheme.count + 3)
        let slash = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = String(rest[..<slash])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var path = String(rest[slash...])
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        var host = authority
        if host.hasPrefix("[") { host = String(host.prefix { $0 != "]" }.dropFirst()) } else if let c = host.lastIndex(of: ":") { host = String(host[..<c]) }
        guard URL(string: s) != nil else { return nil }
        return ZooURL(scheme: scheme, authority: authority, host: host, path: path)
    }

    public var string: String { "\(scheme)://\(authority)\(path)" }

    /// The same file on another host: the mirror's scheme, host and path prefix, then this path
    /// (`--mirror http://127.0.0.1:8000/hf` turns `https://huggingface.co/A/B` into
    /// `http://127.0.0.1:8000/hf/A/B`).
    public func onMirror(_ mirror: ZooURL) -> ZooURL {
        var prefix = mirror.path
        while prefix.hasSuffix("/") { prefix.removeLast() }
        return ZooURL(scheme: mirror.scheme, authority: mirror.authority, host: mirror.host, path: prefix + path)
    }
}
