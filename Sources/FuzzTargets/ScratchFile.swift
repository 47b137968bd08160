import Foundation

/// One file the `zip` target rewrites with each input (the torch reader takes a path). It lives
/// in /dev/shm when there is one, so that each execution costs a write to memory, not to disk.
public final class ScratchFile: @unchecked Sendable {
    public let path: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A fresh name for this process; nothing is created until the first `replace`.
    public init(directory: String? = nil) {
        let dir = directory ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        path = "\(dir)/genesis-fuzz-\(getpid()).bin"
    }

    /// Makes the file hold exactly `bytes`.
    public func replace(with bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): errno \(errno)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { throw Failure(description: "cannot write \(path): errno \(errno)") }
            done += n
        }
    }

    public func remove() { unlink(path) }

    deinit { unlink(path) }
}
