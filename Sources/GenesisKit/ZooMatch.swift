import Foundation
import Tensors
import Zoo

/// A file's SHA-256 and the zoo manifest entry it is, for `inspect`, `verify` and `zoo import`
/// (`sha256` and `zoo_match` in their JSON; "this is the official Genesis_Chest_CT.h5").
public struct ZooMatch {
    public let sha256: String
    public let size: Int64
    public let match: ManifestCatalog.Match?
    /// Why the file was not matched when the catalog could not be read (the caller says it).
    public var warning: String?

    /// Hashes the file (streamed) and looks it up; a catalog that cannot be read counts as no
    /// match, with `warning` saying why.
    public static func of(file path: String) throws -> ZooMatch {
        let file = ModelLoader.identifyingFile(path)
        let size = Int64(try FileIO.size(of: file))
        let sha = try Checksum.sha256Hex(fileAt: file)
        do {
            return ZooMatch(sha256: sha, size: size, match: try ZooContext.catalog().match(sha256: sha, size: size, cache: ZooContext.cache), warning: nil)
        } catch {
            return ZooMatch(sha256: sha, size: size, match: nil, warning: "the zoo manifests could not be read (\(error)); not matched against them")
        }
    }

    public static func json(_ m: ManifestCatalog.Match) -> [String: Any?] {
        ["model": m.manifest.name, "file": m.file.name, "format": m.file.format, "url": m.file.url,
         "verifiable": m.manifest.architecture.verifiable, "hash_source": m.hashSource.rawValue]
    }

    public var jsonValue: [String: Any?]? { match.map(Self.json) }

    /// "sha256: 2d40… (this is the official Genesis_Chest_CT.h5, zoo model genesis-chest-ct-keras)".
    public var line: String {
        guard let m = match else { return "sha256: \(sha256) (matches no zoo manifest)" }
        // "Official" only for a file its manifest gets from somewhere (a url); a file shipped in the
        // repository (the default model) is the project's own.
        let what = m.file.url == nil ? "the shipped" : "the official"
        let recorded = m.hashSource == .recorded ? "; by the hash recorded at its first fetch, as none is published" : ""
        return "sha256: \(sha256) (this is \(what) \(m.file.name), zoo model \(m.manifest.name)\(recorded))"
    }
}
