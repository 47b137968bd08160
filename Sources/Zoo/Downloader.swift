import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What a download tells the one who waits for it: where it starts, how far it got, and the
/// notes worth a line on stderr (a resume, a server that ignored the Range header).
public protocol DownloadObserver: AnyObject {
    func started(url: String, offset: Int64, total: Int64?)
    func advanced(to bytes: Int64)
    func note(_ message: String)
}

/// HTTP(S) downloads into a partial file with FoundationNetworking's URLSession (libcurl on
/// Linux): the body streams from a data task's delegate to the file, never whole in memory. A
/// partial file left by a cut transfer is resumed with `Range: bytes=N-`; a server that answers
/// 200 instead of 206 is restarted from zero, and says so.
public struct Downloader: Sendable {
    /// Tries of one download when the transfer is cut (each resumes where the last stopped).
    public var attempts = 3
    /// Seconds without a byte before the transfer counts as cut.
    public var idleTimeout: TimeInterval = 60

    public init() {}

    /// Fills `partial` with the body of `url`. `expectedSize` (the manifest's) is checked
    /// against the server's lengths before the body is taken; without it `cap` bounds the body.
    public func download(_ url: String, to partial: String, expectedSize: Int64?, cap: Int64 = ManifestDecoder.maxFileSize,
                         observer: DownloadObserver?) throws {
        guard let parsed = ZooURL.parse(url), let u = URL(string: url) else {
            throw ZooError.badArgument(subject: url, message: "not an http:// or https:// address")
        }
        var attempt = 0
        var restarts = 0
        while true {
            attempt += 1
            var lst = stat()
            if lstat(partial, &lst) == 0, lst.st_mode & S_IFMT != S_IFREG {
                throw ZooError.cache(path: partial, reason: "is not a regular file (a symlink or special file in the cache): remove it and fetch again")
            }
            var offset = Self.fileSize(partial) ?? 0
            if let e = expectedSize, offset > e {
                observer?.note("the partial file holds \(offset) bytes, more than the \(e) expected: starting again from zero")
                try Self.truncate(partial)
                offset = 0
            }
            if let e = expectedSize, offset == e, offset > 0 { return }  // complete: the hash check decides
            if offset > 0 { observer?.note("resuming \(url) at byte \(offset)\(expectedSize.map { " of \($0)" } ?? "")") }
            let transfer = Transfer(url: url, partial: partial, offset: offset, expectedSize: expectedSize, cap: cap, observer: observer)
            let outcome = transfer.run(request: request(u, offset: offset), idleTimeout: idleTimeout)
            switch outcome {
            case .complete:
                return
            case .restartFromZero(let why):
                restarts += 1
                guard restarts <= 2 else { throw ZooError.transfer(url: url, reason: why) }
                observer?.note(why + ": restarting from zero")
                try Self.truncate(partial)
                attempt -= 1
            case .failed(let error):
                throw error
            case .cut(let reason, let received):
                let got = Self.fileSize(partial) ?? 0
                if received > 0, attempt < attempts {
                    observer?.note("the transfer was cut at byte \(got) (\(reason)): resuming")
                    continue
                }
                if got == 0 { throw ZooError.transfer(url: url, reason: reason) }
                throw ZooError.transferCut(url: url, received: got, expected: expectedSize, partial: partial)
            case .unreachable(let reason):
                throw ZooError.unreachable(host: parsed.host, url: url, reason: reason)
            }
        }
    }

    private func request(_ u: URL, offset: Int64) -> URLRequest {
        var r = URLRequest(url: u)
        r.setValue("genesis", forHTTPHeaderField: "User-Agent")
        r.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if offset > 0 { r.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        return r
    }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        return lstat(path, &st) == 0 ? Int64(st.st_size) : nil
    }

    static func truncate(_ path: String) throws {
        if fileSize(path) != nil, Foundation.truncate(path, 0) != 0 {
            throw ZooError.cache(path: path, reason: "cannot truncate: \(String(cString: strerror(errno)))")
        }
    }
}
