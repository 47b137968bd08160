import Foundation
import Tensors

/// Every manifest the tool knows, and where they came from: `GENESIS_ZOO` when set, else the
/// `zoo/` directory of the clone the binary was built in, else the copy compiled into the binary
/// (`EmbeddedManifests`, kept equal to zoo/*.json by a test).
public struct ManifestCatalog: Sendable {
    public struct Entry: Sendable {
        public let manifest: Manifest
        /// The manifest file, or "embedded:NAME.json".
        public let origin: String
        /// Where `files[].path` is relative to; nil for the embedded copy.
        public let baseDirectory: String?
    }

    /// One file of one model, as a hash look-up finds it.
    public struct Match: Sendable {
        public let manifest: Manifest
        public let file: ManifestFile
        /// Whether the hash matched is the manifest's or a record of the file's first fetch.
        public var hashSource: ExpectedHash.Source = .published
    }

    public let entries: [Entry]
    /// "GENESIS_ZOO=/dir", "/repo/zoo" or "embedded".
    public let origin: String

    public init(entries: [Entry], origin: String) throws {
        var seen: [String: String] = [:]
        for e in entries {
            if let first = seen[e.manifest.name] { throw ZooError.duplicateName(name: e.manifest.name, first: first, second: e.origin) }
            seen[e.manifest.name] = e.origin
        }
        self.entries = entries.sorted { $0.manifest.name < $1.manifest.name }
        self.origin = origin
    }

    public var names: [String] { entries.map(\.manifest.name) }

    public func entry(named name: String) -> Entry? { entries.first { $0.manifest.name == name } }

    /// The manifest file entry whose SHA-256 (and size, when given) is this file's; for files
    /// whose manifest publishes no hash, the one `cache` recorded at their first fetch.
    public func match(sha256: String, size: Int64? = nil, cache: ZooCache? = nil) -> Match? {
        for e in entries {
            for f in e.manifest.files where f.sha256 == sha256 && (size == nil || f.size == nil || size == f.size) {
                return Match(manifest: e.manifest, file: f)
            }
        }
        guard let cache else { return nil }
        for e in entries {
            for f in e.manifest.files where !f.hashPublished {
                if let r = try? cache.record(model: e.manifest.name, file: f.name), r.sha256 == sha256, size == nil || size == r.size {
                    return Match(manifest: e.manifest, file: f, hashSource: .recorded)
                }
            }
        }
        return nil
    }

    /// A model named NAME, or the model one of whose files is named NAME ("Genesis_Chest_CT.h5").
    public func resolve(_ name: String) -> Entry? {
        entry(named: name) ?? entries.first { $0.manifest.files.contains { $0.name == name } }
    }

    // MARK: - Loading

    /// The catalog this process uses (see the type's comment for the order).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment,
                                executable: String = CommandLine.arguments.first ?? "") throws -> ManifestCatalog {
        if let dir = environment["GENESIS_ZOO"], !dir.isEmpty {
            return try load(directory: dir, origin: "GENESIS_ZOO=\(dir)")
        }
        if let dir = repositoryZooDirectory(executable: executable) {
            return try load(directory: dir, origin: dir)
        }
        return try embedded()
    }

    public static func embedded() throws -> ManifestCatalog {
        let entries = try EmbeddedManifests.files.map { (file, text) in
            Entry(manifest: try ManifestDecoder.decode(Array(text.utf8), file: "embedded:\(file)"), origin: "embedded:\(file)", baseDirectory: nil)
        }
        return try ManifestCatalog(entries: entries, origin: "embedded")
    }

    /// Every `*.json` of a directory, each named after its model (`NAME.json`).
    public static func load(directory: String, origin: String) throws -> ManifestCatalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw ZooError.manifestDirectory(path: directory, reason: "not a readable directory")
        }
        guard names.count <= 1000 else { throw ZooError.manifestDirectory(path: directory, reason: "more than 1000 manifests") }
        let entries = try names.map { n -> Entry in
            let path = directory + "/" + n
            let bytes: [UInt8]
            do { bytes = try FileIO.read(path, cap: ManifestDecoder.maxManifestBytes) } catch {
                throw ZooError.badManifest(file: path, field: "(file)", message: "\(error)")
            }
            let m = try ManifestDecoder.decode(bytes, file: path)
            guard n == m.name + ".json" else {
                throw ZooError.badManifest(file: path, field: "name", message: "'\(m.name)' must be the file's name (\(m.name).json)")
            }
            return Entry(manifest: m, origin: path, baseDirectory: directory)
        }
        return try ManifestCatalog(entries: entries, origin: origin)
    }

    /// The `zoo/` of the genesis clone that holds the executable (`<repo>/.build/debug/genesis`):
    /// the first ancestor with `Package.swift`, `Sources/Zoo` and `zoo/`.
    public static func repositoryZooDirectory(executable: String) -> String? {
        guard !executable.isEmpty else { return nil }
        var url = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            let p = url.path
            if FileIO.exists(p + "/Package.swift"), FileIO.exists(p + "/Sources/Zoo"), FileIO.exists(p + "/zoo") { return p + "/zoo" }
            let parent = url.deletingLastPathComponent()
            if parent.path == p { break }
            url = parent
        }
        return nil
    }
}
