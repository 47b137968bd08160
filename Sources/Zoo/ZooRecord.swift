import Foundation
import Tensors

/// What the first fetch of a file found when its manifest publishes no SHA-256:
/// `records/<model>/<file>.json` in the cache. Later fetches and `zoo verify` check the file
/// against it (trust on first use), and `inspect`/`verify` recognise the file by it.
public struct ZooRecord: Sendable, Equatable {
    public let sha256: String
    public let size: Int64
    /// The address (or local file) it came from.
    public let source: String
    /// When it was recorded (ISO 8601, UTC).
    public let recorded: String

    public init(sha256: String, size: Int64, source: String, recorded: String) {
        self.sha256 = sha256
        self.size = size
        self.source = source
        self.recorded = recorded
    }

    static let maxBytes = 8 << 10

    var json: [String: Any] { ["sha256": sha256, "size": size, "source": source, "recorded": recorded] }

    /// Parses a record file's bytes (capped, every field checked): nil when it is not one.
    static func parse(_ data: [UInt8]) -> ZooRecord? {
        guard data.count <= maxBytes,
              let o = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
              let sha = o["sha256"] as? String, ZooNames.isSHA256(sha),
              let size = (o["size"] as? NSNumber)?.int64Value, size >= 1, size <= ManifestDecoder.maxFileSize,
              let source = o["source"] as? String, source.utf8.count <= 4096,
              let recorded = o["recorded"] as? String, recorded.utf8.count <= 64 else { return nil }
        return ZooRecord(sha256: sha, size: size, source: source, recorded: recorded)
    }
}

/// The hash a cached file must have, and where that hash comes from.
public struct ExpectedHash: Sendable, Equatable {
    public enum Source: String, Sendable {
        /// In the manifest.
        case published
        /// Found by the first fetch and recorded in the cache (the manifest publishes none).
        case recorded
    }
    public let sha256: String
    public let size: Int64?
    public let source: Source
}

extension ZooCache {
    public var recordsDirectory: String { home + "/records" }

    public func recordPath(model: String, file: String) -> String { recordsDirectory + "/" + model + "/" + file + ".json" }

    /// The record of a file, if its first fetch made one. A record that cannot be read as one
    /// throws (a damaged cache is said, not ignored).
    public func record(model: String, file: String) throws -> ZooRecord? {
        let p = recordPath(model: model, file: file)
        var st = stat()
        guard lstat(p, &st) == 0 else { return nil }
        guard st.st_mode & S_IFMT == S_IFREG, st.st_size <= ZooRecord.maxBytes else {
            throw ZooError.cache(path: p, reason: "not a hash record (a regular file of at most \(ZooRecord.maxBytes) bytes); remove it and fetch again")
        }
        let bytes: [UInt8]
        do { bytes = try FileIO.read(p, cap: ZooRecord.maxBytes) } catch { throw ZooError.cache(path: p, reason: "\(error)") }
        guard let r = ZooRecord.parse(bytes) else {
            throw ZooError.cache(path: p, reason: "not a hash record (sha256, size, source, recorded); remove it and fetch again")
        }
        return r
    }

    /// The hash (and size) a file of a model must have: the manifest's, else the recorded one;
    /// nil for a file whose hash is not published and that was never fetched.
    public func expected(_ f: ManifestFile, model: String) throws -> ExpectedHash? {
        if let sha = f.sha256 { return ExpectedHash(sha256: sha, size: f.size, source: .published) }
        return try record(model: model, file: f.name).map { ExpectedHash(sha256: $0.sha256, size: $0.size, source: .recorded) }
    }

    /// Writes a record beside nothing half-written: temporary file, fsync, rename.
    func write(_ r: ZooRecord, model: String, file: String) throws {
        let dir = recordsDirectory + "/" + model
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw ZooError.cache(path: dir, reason: "cannot create: \(error.localizedDescription)")
        }
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: r.json, options: [.sortedKeys, .prettyPrinted]) } catch {
            throw ZooError.cache(path: dir, reason: "cannot encode the record: \(error)")
        }
        let target = recordPath(model: model, file: file)
        do { try FileIO.write(Array(data) + [0x0a], to: target) } catch {
            throw ZooError.cache(path: target, reason: "cannot write the record: \(error)")
        }
    }

    /// `ensureBlob` for a file whose hash is not known beforehand: under a lock named after the
    /// model and file, `fill` writes `blobs/unpublished-<model>-<file>.incomplete` (resumable like
    /// any partial file), its size is checked when the manifest gives one, its SHA-256 is
    /// computed, and it is renamed to `blobs/<sha256>`; the record is written last.
    public func ensureUnpublishedBlob(model: String, file: String, size: Int64?, source: String, onWait: () -> Void,
                                      fill: (_ partial: String) throws -> Void) throws -> (record: ZooRecord, outcome: Outcome) {
        try makeDirectories()
        let key = "unpublished-\(model)-\(file)"
        let lock = try FileLock.acquire(locksDirectory + "/" + key + ".lock", onWait: onWait)
        defer { lock.release() }
        if let r = try record(model: model, file: file), hasBlob(r.sha256) { return (r, .completedByAnotherProcess) }
        let partial = blobsDirectory + "/" + key + ".incomplete"
        try fill(partial)
        var st = stat()
        guard lstat(partial, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw ZooError.cache(path: partial, reason: "the partial file vanished or is not a regular file") }
        if let size, Int64(st.st_size) != size {
            unlink(partial)
            throw ZooError.sizeMismatch(source: source, expected: size, found: Int64(st.st_size))
        }
        let found: String
        do { found = try Checksum.sha256Hex(fileAt: partial) } catch { throw ZooError.cache(path: partial, reason: "\(error)") }
        let fd = open(partial, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); close(fd) }
        if hasBlob(found) {
            unlink(partial)
        } else {
            guard rename(partial, blobPath(found)) == 0 else {
                throw ZooError.cache(path: blobPath(found), reason: "cannot rename the file into place: \(String(cString: strerror(errno)))")
            }
            FileIO.syncDirectory(of: blobPath(found))
        }
        let r = ZooRecord(sha256: found, size: Int64(st.st_size), source: source, recorded: ISO8601DateFormatter().string(from: Date()))
        try write(r, model: model, file: file)
        return (r, .stored)
    }
}
