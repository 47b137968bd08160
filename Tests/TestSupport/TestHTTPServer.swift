import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 file server on 127.0.0.1 (port 0: the kernel picks a free one) for the zoo's
/// download tests: POSIX sockets, one thread accepting and one per connection, every response
/// `Connection: close`. It serves `files` by path and can misbehave on purpose (`Mode`).
/// It records every request's path and Range header. Stops in `stop()` or at deinit.
public final class TestHTTPServer: @unchecked Sendable {
    public enum Mode: Sendable, Equatable {
        /// 200, or 206 for `Range: bytes=N-`.
        case normal
        /// The first `times` responses promise the whole length and close after `bytes` body bytes.
        case cut(after: Int, times: Int)
        /// Always 200 with the whole body, whatever the Range header says.
        case noRanges
        /// 404 for every path.
        case notFound
        /// Ranges honoured, the body sent `chunk` bytes at a time with `delay` seconds between.
        case slow(chunk: Int, delay: Double)
    }

    public struct Request: Sendable, Equatable {
        public let path: String
        public let range: String?

        public init(path: String, range: String?) {
            self.path = path
            self.range = range
        }
    }

    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var files: [String: [UInt8]]
    /// Path -> path on this server it answers 302 Found to (as the Hugging Face hub redirects to its CDN).
    private let redirects: [String: String]
    private var mode: Mode
    private var cutsLeft = 0
    private var log: [Request] = []
    private var stopped = false

    public init(files: [String: [UInt8]], mode: Mode = .normal, redirects: [String: String] = [:]) throws {
        self.files = files
        self.redirects = redirects
        self.mode = mode
        if case let .cut(_, times) = mode { cutsLeft = times }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw ServerError("bind/listen: \(String(cString: strerror(errno)))") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        listener = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func url(_ path: String) -> String { baseURL + path }

    public func setMode(_ m: Mode) {
        lock.lock(); defer { lock.unlock() }
        mode = m
        if case let .cut(_, times) = m { cutsLeft = times }
    }

    public var requests: [Request] {
        lock.lock(); defer { lock.unlock() }
        return log
    }

    public func stop() {
        lock.lock()
        let was = stopped
        stopped = true
        lock.unlock()
        if !was {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    private func acceptLoop() {
        while true {
            let c = accept(listener, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            Thread.detachNewThread { [self] in
                handle(c)
                close(c)
            }
        }
    }

    private func handle(_ c: Int32) {
        guard let request = readHead(c) else { return }
        let lines = request.components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2 else { return }
        let path = String(parts[1])
        let range = lines.dropFirst().first { $0.lowercased().hasPrefix("range:") }.map { String($0.dropFirst(6)).trimmingCharacters(in: .whitespaces) }
        lock.lock()
        log.append(Request(path: path, range: range))
        let m = mode
        let body = files[path]
        var cutAt: Int?
        if case let .cut(after, _) = m, cutsLeft > 0, redirects[path] == nil { cutsLeft -= 1; cutAt = after }
        lock.unlock()

        if let target = redirects[path] {
            send(c, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:\(port)\(target)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", [])
            return
        }
        guard m != .notFound, let body else {
            let text = Array("not found\n".utf8)
            send(c, "HTTP/1.1 404 Not Found\r\nContent-Length: \(text.count)\r\nConnection: close\r\n\r\n", text)
            return
        }
        var start = 0
        if m != .noRanges, let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let n = Int(range.dropFirst(6).dropLast()) {
            guard n < body.count else {
                send(c, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */\(body.count)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", [])
                return
            }
            start = n
        }
        let slice = Array(body[start...])
        var head = start > 0 ? "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes \(start)-\(body.count - 1)/\(body.count)\r\n" : "HTTP/1.1 200 OK\r\n"
        if m != .noRanges { head += "Accept-Ranges: bytes\r\n" }
        head += "Content-Type: application/octet-stream\r\nContent-Length: \(slice.count)\r\nConnection: close\r\n\r\n"
        if let cutAt {
            send(c, head, Array(slice.prefix(cutAt)))
        } else if case let .slow(chunk, delay) = m {
            send(c, head, [])
            var i = 0
            while i < slice.count {
                guard sendAll(c, Array(slice[i..<min(slice.count, i + chunk)])) else { return }
                i += chunk
                Thread.sleep(forTimeInterval: delay)
            }
        } else {
            send(c, head, slice)
        }
    }

    private func readHead(_ c: Int32) -> String? {
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while data.count < 16384 {
            let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { return nil }
            data += buf[0..<n]
            if let s = String(bytes: data, encoding: .utf8), let r = s.range(of: "\r\n\r\n") { return String(s[..<r.lowerBound]) }
        }
        return nil
    }

    private func send(_ c: Int32, _ head: String, _ body: [UInt8]) {
        if sendAll(c, Array(head.utf8)) { _ = sendAll(c, body) }
    }

    private func sendAll(_ c: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(c, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    public struct ServerError: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }
}
