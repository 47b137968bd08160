/// Whole-file reads with a cap, and atomic writes (temporary file beside the target, then
/// rename), shared by every format.
public enum FileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case tooLarge(path: String, bytes: Int, cap: Int)

    public var description: String {
        switch self {
        case let .cannotOpen(p, r): return "\(p): cannot open: \(r)"
        case let .cannotRead(p, r): return "\(p): cannot read: \(r)"
        case let .cannotWrite(p, r): return "\(p): cannot write: \(r)"
        case let .tooLarge(p, b, c): return "\(p): \(b) bytes is larger than the cap of \(c) bytes"
        }
    }
}

public enum FileIO {
    /// Largest file read whole into memory: 16 GiB.
    public static let maxFileBytes = 16 << 30

    public static func size(of path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        return Int(st.st_size)
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// Reads a whole file, refusing one larger than `cap`.
    public static func read(_ path: String, cap: Int = maxFileBytes) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size <= cap else { throw FileError.tooLarge(path: path, bytes: size, cap: cap) }
        // Filled by pread whole (no zeroing pass); a short read throws, so no array is made.
        let out = try UnzeroedBytes.make(size) { buf in
            var done = 0
            while done < size {
                let n = pread(fd, buf.baseAddress! + done, size - done, off_t(done))
                if n < 0 { throw FileError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
                if n == 0 { throw FileError.cannotRead(path: path, reason: "file shrank while reading") }
                done += n
            }
        }
        return out
    }

    /// Reads the first `count` bytes (fewer if the file is shorter).
    public static func readPrefix(_ path: String, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { Foundation_read(fd, $0.baseAddress!, count) }
        guard n >= 0 else { throw FileError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        return Array(out[0..<n])
    }

    /// A fresh temporary path beside `path` (same directory, so a rename is atomic).
    public static func temporaryPath(beside path: String) -> String {
        let dir: String
        let base: String
        if let slash = path.lastIndex(of: "/") {
            dir = String(path[...slash])
            base = String(path[path.index(after: slash)...])
        } else {
            dir = ""
            base = path
        }
        return "\(dir).\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Writes through `produce(tempPath)` and renames onto `path`; on failure the temporary
    /// file is removed and the target is untouched.
    public static func atomicWrite(to path: String, _ produce: (String) throws -> Void) throws {
        let tmp = temporaryPath(beside: path)
        do {
            try produce(tmp)
            guard rename(tmp, path) == 0 else {
                throw FileError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
        } catch {
            unlink(tmp)
            throw error
        }
    }

    /// Writes bytes atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try atomicWrite(to: path) { tmp in try writeDirect(bytes, to: tmp) }
    }

    /// Writes a sequence of byte chunks atomically (no concatenated copy).
    public static func write(chunks: [[UInt8]], to path: String) throws {
        try atomicWrite(to: path) { tmp in
            let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw FileError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
            defer { close(fd) }
            for c in chunks { try writeAll(fd, c, path: path) }
        }
    }

    private static func writeDirect(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation_write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { throw FileError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
            done += n
        }
    }
}

#if canImport(Glibc)
import Glibc
private func Foundation_read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { Glibc.read(fd, p, n) }
private func Foundation_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Glibc.write(fd, p, n) }
#elseif canImport(Darwin)
import Darwin
private func Foundation_read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { Darwin.read(fd, p, n) }
private func Foundation_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Darwin.write(fd, p, n) }
#endif
