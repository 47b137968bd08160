/// Every refusal of the zoo: a bad manifest, a failed download, a corrupt blob, a cache that
/// cannot be written. Each case carries what it is about (file, URL, model name) and, where
/// there is one, what was expected and what was found; the description is one line.
public enum ZooError: Error, CustomStringConvertible, Equatable {
    /// A manifest that is not valid: `field` is a JSON path such as `files[0].sha256`.
    case badManifest(file: String, field: String, message: String)
    case duplicateName(name: String, first: String, second: String)
    case manifestDirectory(path: String, reason: String)
    case unknownModel(name: String, known: [String])
    case badArgument(subject: String, message: String)

    /// Name resolution or connection failed: no network, or nothing listening.
    case unreachable(host: String, url: String, reason: String)
    case notFound(url: String)
    case httpStatus(url: String, status: Int)
    case transferCut(url: String, received: Int64, expected: Int64?, partial: String)
    case transfer(url: String, reason: String)
    /// The server's length (or the bytes it sent) disagree with the manifest's size.
    case sizeMismatch(source: String, expected: Int64, found: Int64)
    case hashMismatch(source: String, expected: String, found: String)
    case tooLarge(source: String, bytes: Int64, cap: Int64)

    case diskFull(path: String, written: Int64)
    case cache(path: String, reason: String)
    case localFile(path: String, reason: String)
    case notCached(name: String)

    public var description: String {
        switch self {
        case let .badManifest(f, field, m): return "\(f): \(field): \(m)"
        case let .duplicateName(n, a, b): return "model name '\(n)' is given by both \(a) and \(b)"
        case let .manifestDirectory(p, r): return "\(p): cannot read the manifest directory: \(r)"
        case let .unknownModel(n, known):
            return "no zoo model named '\(n)' (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")); `genesis zoo list` shows them)"
        case let .badArgument(s, m): return "\(s): \(m)"
        case let .unreachable(h, u, r): return "cannot reach \(h) (no network, or nothing listening) fetching \(u): \(r)"
        case let .notFound(u): return "\(u): not found on the server (HTTP 404)"
        case let .httpStatus(u, s): return "\(u): the server answered HTTP \(s)"
        case let .transferCut(u, got, exp, partial):
            let of = exp.map { " of \($0)" } ?? ""
            return "\(u): the transfer was cut after \(got)\(of) bytes; the partial file \(partial) is kept: run the same command again to resume"
        case let .transfer(u, r): return "\(u): transfer failed: \(r)"
        case let .sizeMismatch(s, e, f): return "\(s): expected \(e) bytes, found \(f); nothing was stored"
        case let .hashMismatch(s, e, f): return "\(s): SHA-256 mismatch: expected \(e), found \(f); nothing was stored"
        case let .tooLarge(s, b, c): return "\(s): \(b) bytes is more than the cap of \(c) bytes"
        case let .diskFull(p, w): return "\(p): disk full after \(w) bytes (free some space; the partial file is kept and a rerun resumes)"
        case let .cache(p, r): return "\(p): \(r)"
        case let .localFile(p, r): return "\(p): \(r)"
        case let .notCached(n): return "'\(n)' is not in the cache (fetch it: genesis zoo fetch \(n))"
        }
    }
}
