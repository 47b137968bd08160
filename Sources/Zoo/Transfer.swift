import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request of a download: the response's status and lengths checked in
/// `didReceive response` (before any body byte is kept), then the body appended to the partial
/// file chunk by chunk. Runs synchronously; the delegate's queue is serial.
final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Outcome {
        case complete
        case cut(reason: String, received: Int64)
        case restartFromZero(String)
        case unreachable(String)
        case failed(ZooError)
    }

    private let url: String
    private let partial: String
    private let offset: Int64
    private let expectedSize: Int64?
    private let cap: Int64
    private weak var observer: DownloadObserver?
    private let done = DispatchSemaphore(value: 0)
    private var fd: Int32 = -1
    private var written: Int64 = 0
    /// Where the body's first byte lands in the file (offset for 206, 0 for 200).
    private var base: Int64 = 0
    /// Bytes this response promises (Content-Length), when it says.
    private var promised: Int64?
    private var responded = false
    private var outcome: Outcome?

    init(url: String, partial: String, offset: Int64, expectedSize: Int64?, cap: Int64, observer: DownloadObserver?) {
        self.url = url
        self.partial = partial
        self.offset = offset
        self.expectedSize = expectedSize
        self.cap = cap
        self.observer = observer
    }

    func run(request: URLRequest, idleTimeout: TimeInterval) -> Outcome {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = idleTimeout
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: config, delegate: self, delegateQueue: queue)
        session.dataTask(with: request).resume()
        done.wait()
        session.finishTasksAndInvalidate()
        if fd >= 0 { close(fd); fd = -1 }
        return outcome ?? .complete
    }

    /// Stops the task with this outcome (the first one set wins).
    private func stop(_ o: Outcome, _ task: URLSessionTask?) {
        if outcome == nil { outcome = o }
        task?.cancel()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        responded = true
        guard let http = response as? HTTPURLResponse else {
            stop(.failed(.transfer(url: url, reason: "not an HTTP response")), nil)
            return completionHandler(.cancel)
        }
        let length = (http.value(forHTTPHeaderField: "Content-Length")).flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        switch http.statusCode {
        case 206 where offset > 0:
            guard let range = http.value(forHTTPHeaderField: "Content-Range"), let (start, total) = Self.parseContentRange(range), start == offset else {
                stop(.restartFromZero("the server answered the Range request with a different range"), nil)
                return completionHandler(.cancel)
            }
            if let e = expectedSize, let total, total != e {
                stop(.failed(.sizeMismatch(source: url, expected: e, found: total)), nil)
                return completionHandler(.cancel)
            }
            base = offset
            promised = length
        case 200:
            if offset > 0 { observer?.note("the server ignored the Range request (it answered 200, not 206): restarting from zero") }
            if let e = expectedSize, let length, length != e {
                stop(.failed(.sizeMismatch(source: url, expected: e, found: length)), nil)
                return completionHandler(.cancel)
            }
            base = 0
            promised = length
        case 416 where offset > 0:
            stop(.restartFromZero("the server refused the range bytes=\(offset)- (HTTP 416)"), nil)
            return completionHandler(.cancel)
        case 404:
            stop(.failed(.notFound(url: url)), nil)
            return completionHandler(.cancel)
        default:
            stop(.failed(.httpStatus(url: url, status: http.statusCode)), nil)
            return completionHandler(.cancel)
        }
        if let promised, base + promised > (expectedSize ?? cap) {
            stop(.failed(.tooLarge(source: url, bytes: base + promised, cap: expectedSize ?? cap)), nil)
            return completionHandler(.cancel)
        }
        // Never through a symlink, never into a device or FIFO planted in the cache.
        fd = open(partial, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, ftruncate(fd, off_t(base)) == 0, lseek(fd, off_t(base), SEEK_SET) == off_t(base) else {
            stop(.failed(.cache(path: partial, reason: "cannot write: \(String(cString: strerror(errno)))")), nil)
            return completionHandler(.cancel)
        }
        observer?.started(url: url, offset: base, total: expectedSize ?? promised.map { base + $0 })
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard outcome == nil, fd >= 0 else { return }
        let limit = expectedSize ?? cap
        guard base + written + Int64(data.count) <= limit else {
            return stop(.failed(expectedSize != nil ? .sizeMismatch(source: url, expected: limit, found: base + written + Int64(data.count))
                                                  : .tooLarge(source: url, bytes: base + written + Int64(data.count), cap: cap)), dataTask)
        }
        let ok: Bool = data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        guard ok else {
            let e = errno
            let err: ZooError = e == ENOSPC || e == EDQUOT ? .diskFull(path: partial, written: base + written)
                                                          : .cache(path: partial, reason: "cannot write: \(String(cString: strerror(e)))")
            return stop(.failed(err), dataTask)
        }
        written += Int64(data.count)
        observer?.advanced(to: base + written)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        defer { done.signal() }
        if outcome != nil { return }
        if let error {
            let code = (error as? URLError)?.code.rawValue ?? (error as NSError).code
            let reason = (error as NSError).localizedDescription
            // Name resolution or connection failed before any response: the host is out of reach.
            if !responded, [-1003, -1004, -1006, -1009, -1001].contains(code) {
                outcome = .unreachable(reason)
            } else {
                outcome = .cut(reason: reason, received: written)
            }
            return
        }
        if let promised, written < promised {
            outcome = .cut(reason: "the server closed the connection after \(written) of \(promised) bytes", received: written)
        } else if let e = expectedSize, base + written < e {
            outcome = .cut(reason: "the body ended at byte \(base + written) of \(e)", received: written)
        } else {
            outcome = .complete
        }
    }

    /// "bytes 100-999/1000" -> (100, 1000); "bytes 100-999/*" -> (100, nil).
    static func parseContentRange(_ s: String) -> (Int64, Int64?)? {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard t.lowercased().hasPrefix("bytes ") else { return nil }
        let spec = t.dropFirst(6)
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let dash = parts[0].firstIndex(of: "-"), let start = Int64(parts[0][..<dash]) else { return nil }
        return (start, parts[1] == "*" ? nil : Int64(parts[1]))
    }
}
