import Foundation

/// The files the path-taking targets rewrite with each input (the torch and MetaImage readers
/// take a path), in a folder of this process's own (a MetaImage header may name a data file
/// beside it: there is nothing else there to read). Under /dev/shm when there is one, so that
/// each execution costs a write to memory, not to disk.
public final class ScratchFile: @unchecked Sendable {
    public let directory: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A fresh folder name for this process; created on the first `write`.
    public init(parent: String? = nil) {
        let dir = parent ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        directory = "\(dir)/genesis-fuzz-\(getpid())"
    }

    /// Makes `directory/name` hold exactly `bytes`; returns its path.
    public func write(_ bytes: [UInt8], name: String) throws -> String {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw Failure(description: "cannot create \(directory): errno \(errno)")
        }
        let path = "\(directory)/\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): errno \(errno)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { throw Failure(description: "cannot write \(path): errno \(errno)") }
            done += n
        }
        return path
    }

    deinit {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] { unlink("\(directory)/\(name)") }
        rmdir(directory)
    }
}
