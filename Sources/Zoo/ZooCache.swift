import Foundation
import Tensors

/// The cache under `$GENESIS_HOME` (default `~/.cache/genesis`), content-addressed as the
/// Hugging Face hub cache is:
///
///     blobs/<sha256>               a complete file whose SHA-256 is its name
///     blobs/<sha256>.incomplete    a transfer under way (or cut: the next fetch resumes it)
///     locks/<sha256>.lock          flock'd by the one process filling that blob
///     models/<name>/<file>         a symlink to ../../blobs/<sha256>
///
/// A blob enters `blobs/` only by a rename after its size and hash were checked, so a reader
/// never sees a partial or wrong file under a hash's name.
public struct ZooCache: Sendable {
    public let home: String

    public init(home: String) { self.home = home }

    /// `$GENESIS_HOME`, else `$HOME/.cache/genesis`.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> ZooCache {
        if let h = environment["GENESIS_HOME"], !h.isEmpty { return ZooCache(home: h) }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return ZooCache(home: home + "/.cache/genesis")
    }

    public var blobsDirectory: String { home + "/blobs" }
    public var locksDirectory: String { home + "/locks" }
    public var modelsDirectory: String { home + "/models" }

    public func blobPath(_ sha: String) -> String { blobsDirectory + "/" + sha }
    public func partialPath(_ sha: String) -> String { blobPath(sha) + ".incomplete" }
    public func lockPath(_ sha: String) -> String { locksDirectory + "/" + sha + ".lock" }
    public func namePath(model: String, file: String) -> String { modelsDirectory + "/" + model + "/" + file }

    public func hasBlob(_ sha: String) -> Bool {
        var st = stat()
        return lstat(blobPath(sha), &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    public func blobSize(_ sha: String) -> Int64? {
        var st = stat()
        guard lstat(blobPath(sha), &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    func makeDirectories() throws {
        for d in [home, blobsDirectory, locksDirectory, modelsDirectory] {
            do { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) } catch {
                throw ZooError.cache(path: d, reason: "cannot create the cache directory: \(error.localizedDescription)")
            }
        }
    }

    /// What `ensureBlob` did.
    public enum Outcome: String, Sendable {
        case alreadyCached = "already_cached"
        case completedByAnotherProcess = "completed_by_another_process"
        case stored
    }

    /// Makes `blobs/<sha>` exist: under the blob's lock, `fill` writes (or resumes) the partial
    /// file; its size and SHA-256 are then checked and it is renamed into place. A wrong size or
    /// hash removes the partial file and throws, leaving nothing behind.
    public func ensureBlob(sha: String, size: Int64?, source: String, onWait: () -> Void,
                           fill: (_ partial: String) throws -> Void) throws -> Outcome {
        if hasBlob(sha) { return .alreadyCached }
        try makeDirectories()
        let lock = try FileLock.acquire(lockPath(sha), onWait: onWait)
        defer { lock.release() }
        if hasBlob(sha) { return .completedByAnotherProcess }
        let partial = partialPath(sha)
        try fill(partial)
        var st = stat()
        guard lstat(partial, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw ZooError.cache(path: partial, reason: "the partial file vanished or is not a regular file") }
        if let size, Int64(st.st_size) != size {
            unlink(partial)
            throw ZooError.sizeMismatch(source: source, expected: size, found: Int64(st.st_size))
        }
        let found: String
        do { found = try Checksum.sha256Hex(fileAt: partial) } catch { throw ZooError.cache(path: partial, reason: "\(error)") }
        guard found == sha else {
            unlink(partial)
            throw ZooError.hashMismatch(source: source, expected: sha, found: found)
        }
        let fd = open(partial, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); close(fd) }
        guard rename(partial, blobPath(sha)) == 0 else {
            throw ZooError.cache(path: blobPath(sha), reason: "cannot rename the checked file into place: \(String(cString: strerror(errno)))")
        }
        FileIO.syncDirectory(of: blobPath(sha))
        return .stored
    }

    /// Points `models/<model>/<file>` at a blob (a relative symlink, replaced atomically).
    public func link(model: String, file: String, sha: String) throws {
        try makeDirectories()
        let dir = modelsDirectory + "/" + model
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw ZooError.cache(path: dir, reason: "cannot create: \(error.localizedDescription)")
        }
        let target = namePath(model: model, file: file)
        let tmp = dir + "/.\(file).link-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard symlink("../../blobs/" + sha, tmp) == 0 else {
            throw ZooError.cache(path: tmp, reason: "cannot create a symlink: \(String(cString: strerror(errno)))")
        }
        guard rename(tmp, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw ZooError.cache(path: target, reason: "cannot rename the link into place: \(reason)")
        }
    }

    /// A cached model: its names and the blobs they point at.
    public struct CachedFile: Sendable, Equatable {
        public let file: String
        public let sha256: String
        /// `models/<name>/<file>`.
        public let path: String
        /// Nil when the blob is missing (removed by hand).
        public let size: Int64?
    }

    public func cachedFiles(model: String) -> [CachedFile] {
        let dir = modelsDirectory + "/" + model
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.filter(ZooNames.isSafeFileName).sorted().compactMap { name in
            let p = dir + "/" + name
            guard let dest = try? FileManager.default.destinationOfSymbolicLink(atPath: p) else { return nil }
            let sha = String(dest.split(separator: "/").last ?? "")
            guard ZooNames.isSHA256(sha) else { return nil }
            return CachedFile(file: name, sha256: sha, path: p, size: blobSize(sha))
        }
    }

    public func cachedModelNames() -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: modelsDirectory) else { return [] }
        return names.filter { ZooNames.isName($0) && !cachedFiles(model: $0).isEmpty }.sorted()
    }

    /// Every complete blob's hash (names that are 64 hex digits), and every partial transfer.
    public func blobHashes() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: blobsDirectory)) ?? []).filter(ZooNames.isSHA256).sorted()
    }

    public func partialFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: blobsDirectory)) ?? []).filter { $0.hasSuffix(".incomplete") }.sorted()
    }

    /// Removes a model's names, then every blob no other name points at (under its lock).
    /// Returns the removed blobs' hashes.
    @discardableResult
    public func remove(model: String) throws -> [String] {
        let files = cachedFiles(model: model)
        guard !files.isEmpty else { throw ZooError.notCached(name: model) }
        let dir = modelsDirectory + "/" + model
        for f in files { unlink(f.path) }
        rmdir(dir)
        let stillUsed = Set(cachedModelNames().flatMap { cachedFiles(model: $0).map(\.sha256) })
        var removed: [String] = []
        for sha in Set(files.map(\.sha256)).sorted() where !stillUsed.contains(sha) {
            let lock = try FileLock.acquire(lockPath(sha), onWait: {})
            if unlink(blobPath(sha)) == 0 { removed.append(sha) }
            unlink(partialPath(sha))
            lock.release()
        }
        return removed
    }
}
