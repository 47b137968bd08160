import Foundation
import Tensors

/// Brings a model's files into the cache: from a file shipped beside the manifest (`path`),
/// else over HTTP(S) (`url`, or the same path on `mirror`), each checked by size and SHA-256
/// before it enters `blobs/`, then named under `models/<name>/`.
public struct ZooFetcher {
    public let cache: ZooCache
    public var downloader = Downloader()
    /// `--mirror` / `GENESIS_ZOO_MIRROR`: another host serving the same paths.
    public var mirror: ZooURL?

    public init(cache: ZooCache, mirror: ZooURL? = nil) {
        self.cache = cache
        self.mirror = mirror
    }

    /// One file's result.
    public struct Fetched: Sendable {
        public let file: String
        public let sha256: String
        public let size: Int64
        public let path: String
        public let outcome: ZooCache.Outcome
        /// The address or local file it came from (nil when it was already cached).
        public let from: String?
        /// Where the hash checked came from: the manifest, a record of an earlier fetch, or (for
        /// a file whose hash is not published, fetched the first time) this fetch, now recorded.
        public var hashSource: HashSource = .published
    }

    public enum HashSource: String, Sendable {
        case published, recorded, found
    }

    public func fetch(_ entry: ManifestCatalog.Entry, observer: DownloadObserver?) throws -> [Fetched] {
        try entry.manifest.files.map { try fetch(entry, file: $0, observer: observer) }
    }

    /// One file of a model. A file whose manifest publishes no SHA-256 is checked against the
    /// record of its first fetch; the first fetch records what it finds (`ZooRecord`).
    public func fetch(_ entry: ManifestCatalog.Entry, file f: ManifestFile, observer: DownloadObserver?) throws -> Fetched {
        let model = entry.manifest.name
        guard let expected = try cache.expected(f, model: model) else {
            var from: String?
            let (record, outcome) = try cache.ensureUnpublishedBlob(model: model, file: f.name, size: f.size, source: f.url ?? f.name, onWait: {
                observer?.note("another genesis process is fetching \(f.name): waiting for it")
            }) { partial in from = try fill(partial, entry: entry, file: f, expectedSize: f.size, observer: observer) }
            try cache.link(model: model, file: f.name, sha: record.sha256)
            return Fetched(file: f.name, sha256: record.sha256, size: record.size, path: cache.namePath(model: model, file: f.name),
                           outcome: outcome, from: from, hashSource: outcome == .stored ? .found : .recorded)
        }
        var from: String?
        let outcome = try cache.ensureBlob(sha: expected.sha256, size: expected.size, source: f.url ?? f.path ?? f.name, onWait: {
            observer?.note("another genesis process is fetching \(f.name) (it holds \(cache.lockPath(expected.sha256))): waiting for it")
        }) { partial in from = try fill(partial, entry: entry, file: f, expectedSize: expected.size, observer: observer) }
        try cache.link(model: model, file: f.name, sha: expected.sha256)
        return Fetched(file: f.name, sha256: expected.sha256, size: expected.size ?? cache.blobSize(expected.sha256) ?? 0,
                       path: cache.namePath(model: model, file: f.name), outcome: outcome, from: from,
                       hashSource: expected.source == .published ? .published : .recorded)
    }

    /// Writes a manifest file into `partial`: copied from beside the manifest, else downloaded.
    /// Returns where it came from.
    private func fill(_ partial: String, entry: ManifestCatalog.Entry, file f: ManifestFile, expectedSize: Int64?,
                      observer: DownloadObserver?) throws -> String {
        if let rel = f.path, let base = entry.baseDirectory, FileIO.exists(base + "/" + rel) {
            try Self.copy(base + "/" + rel, to: partial)
            return base + "/" + rel
        } else if let url = f.url {
            let address = mirror.flatMap { m in ZooURL.parse(url).map { $0.onMirror(m).string } } ?? url
            try downloader.download(address, to: partial, expectedSize: expectedSize, observer: observer)
            return address
        }
        let rel = f.path ?? f.name
        throw ZooError.localFile(path: rel, reason: entry.baseDirectory == nil
            ? "ships in the repository's zoo/ directory and has no url: run genesis from a clone, or set GENESIS_ZOO to that directory"
            : "is missing from \(entry.baseDirectory!) and the manifest gives no url")
    }

    /// Any file by address: `zoo fetch --url URL --sha256 HEX [--name NAME]`.
    public func fetch(url: String, sha256: String, size: Int64?, name: String, file: String, observer: DownloadObserver?) throws -> Fetched {
        let address = mirror.flatMap { m in ZooURL.parse(url).map { $0.onMirror(m).string } } ?? url
        let outcome = try cache.ensureBlob(sha: sha256, size: size, source: address, onWait: {
            observer?.note("another genesis process is fetching \(file) (it holds \(cache.lockPath(sha256))): waiting for it")
        }) { partial in
            try downloader.download(address, to: partial, expectedSize: size, observer: observer)
        }
        try cache.link(model: name, file: file, sha: sha256)
        return Fetched(file: file, sha256: sha256, size: cache.blobSize(sha256) ?? size ?? 0, path: cache.namePath(model: name, file: file),
                       outcome: outcome, from: outcome == .stored ? address : nil)
    }

    /// A local file into the cache (`zoo import`): copied to the partial file, checked, renamed.
    public func store(localFile path: String, sha256: String, size: Int64, name: String, file: String) throws -> Fetched {
        let outcome = try cache.ensureBlob(sha: sha256, size: size, source: path, onWait: {}) { partial in
            try Self.copy(path, to: partial)
        }
        try cache.link(model: name, file: file, sha: sha256)
        return Fetched(file: file, sha256: sha256, size: size, path: cache.namePath(model: name, file: file), outcome: outcome, from: path)
    }

    /// Streams a regular file into `dest` (replacing it) in 1 MiB pieces.
    static func copy(_ source: String, to dest: String) throws {
        do { _ = try FileIO.regularFileStatus(source) } catch { throw ZooError.localFile(path: source, reason: "\(error)") }
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw ZooError.localFile(path: source, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let output = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard output >= 0 else { throw ZooError.cache(path: dest, reason: "cannot write: \(String(cString: strerror(errno)))") }
        defer { close(output) }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let n = buf.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw ZooError.localFile(path: source, reason: "cannot read: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            var done = 0
            while done < n {
                let w = buf.withUnsafeBytes { write(output, $0.baseAddress! + done, n - done) }
                if w < 0, errno == EINTR { continue }
                guard w > 0 else {
                    if errno == ENOSPC || errno == EDQUOT { throw ZooError.diskFull(path: dest, written: total) }
                    throw ZooError.cache(path: dest, reason: "cannot write: \(String(cString: strerror(errno)))")
                }
                done += w
                total += Int64(w)
            }
        }
    }
}
