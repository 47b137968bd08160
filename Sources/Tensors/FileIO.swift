import Foundation

/// Whole-file reads with a cap, and atomic writes (temporary file beside the target, then
/// rename), shared by every format.
public enum FileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case tooLarge(path: String, bytes: Int, cap: Int)
    /// Not a regular file (FIFO, device, socket, directory): refused before anything opens it.
    case notRegular(path: String, kind: String)

    public var description: String {
        switch self {
        case let .cannotOpen(p, r): return "\(p): cannot open: \(r)"
        case let .cannotRead(p, r): return "\(p): cannot read: \(r)"
        case let .cannotWrite(p, r): return "\(p): cannot write: \(r)"
        case let .tooLarge(p, b, c): return "\(p): \(b) bytes is larger than the cap of \(c) bytes"
        case let .notRegular(p, k): return "\(p): is \(k), not a regular file"
        }
    }
}

public enum FileIO {
    /// Largest file read whole into memory: 16 GiB.
    public static let maxFileBytes = 16 << 30

    public static func size(of path: String) throws -> Int {
        Int(try regularFileStatus(path).st_size)
    }

    /// The status of a regular file (symlinks followed), refusing FIFOs, devices, sockets and
    /// directories before anything opens them (opening a FIFO blocks until a writer comes).
    public static func regularFileStatus(_ path: String) throws -> stat {
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        if let kind = specialKind(st.st_mode) { throw FileError.notRegular(path: path, kind: kind) }
        return st
    }

    /// "a FIFO", "a directory", ... for modes that are not a regular file's; nil for a regular file.
    static func specialKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        default: return "a special file"
        }
    }

    /// Where a write to `path` lands: `path` itself, or for a symlink the file it points to (as
    /// `cp` writes through a link, atomically beside the target). An existing target that is
    /// not a regular file (device, FIFO, socket, directory) is refused, whoever runs the tool.
    public static func resolvedOutput(_ path: String) throws -> String {
        var target = path
        for _ in 0..<40 {
            var lst = stat()
            guard lstat(target, &lst) == 0 else { return target }   // absent: written fresh
            guard lst.st_mode & S_IFMT == S_IFLNK else {
                if let kind = specialKind(lst.st_mode) { throw FileError.notRegular(path: path, kind: kind) }
                return target
            }
            var buf = [CChar](repeating: 0, count: 4097)
            let n = readlink(target, &buf, 4096)
            guard n > 0 else { throw FileError.cannotWrite(path: path, reason: "cannot read the symlink") }
            let link = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if link.hasPrefix("/") {
                target = link
            } else {
                let dir = target.lastIndex(of: "/").map { String(target[...$0]) } ?? ""
                target = dir + link
            }
        }
        throw FileError.cannotWrite(path: path, reason: "too many levels of symbolic links")
    }

    /// fsync of the directory that holds a file's name (after a rename).
    public static func syncDirectory(of file: String) {
        let dir = file.lastIndex(of: "/").map { String(file[...$0]) } ?? "."
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// Reads a whole file, refusing one larger than `cap`.
    public static func read(_ path: String, cap: Int = maxFileBytes) throws -> [UInt8] {
        _ = try regularFileStatus(path)
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
        _ = try regularFileStatus(path)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { Foundation_read(fd, $0.baseAddress!, count) }
        guard n >= 0 else { throw FileError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        return Array(out[0..<n])
    }

    /// A fresh temporary path beside `path` (same directory, so a rename is atomic), ending in
    /// `suffix`, registered with `TemporaryFiles` so that SIGINT/SIGTERM removes it; a writer
    /// calls `renamedTemporary` or `removeTemporary` when it is done with it.
    public static func temporaryPath(beside path: String, suffix: String = "") -> String {
        let dir: String
        let base: String
        if let slash = path.lastIndex(of: "/") {
            dir = String(path[...slash])
            base = String(path[path.index(after: slash)...])
        } else {
            dir = ""
            base = path
        }
        let tmp = "\(dir).\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))\(suffix)"
        TemporaryFiles.register(tmp)
        return tmp
    }

    /// A temporary that was renamed into place: no longer removed on a signal.
    public static func renamedTemporary(_ tmp: String) {
        TemporaryFiles.release(tmp)
    }

    /// Removes a temporary (a failed or abandoned write): a file, or a directory a writer of
    /// directories (a MONAI bundle) filled.
    public static func removeTemporary(_ tmp: String) {
        var st = stat()
        if lstat(tmp, &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
            try? FileManager.default.removeItem(atPath: tmp)
        } else {
            unlink(tmp)
        }
        TemporaryFiles.release(tmp)
    }

    /// Removes the temporary files that earlier writers of `path` left when they were killed
    /// (SIGKILL between create and rename): regular files named as `temporaryPath` names them,
    /// whose process no longer exists on this machine and that nobody touched for a minute.
    /// A live writer's file, or anything else in the directory, is never touched. A name may
    /// end in an extension after the number (`.out.nii.gz.tmp-PID-N.nii.gz`: libnifti needs one).
    public static func removeStaleTemporaries(beside path: String) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let prefix = ".\(base).tmp-"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
        let now = time(nil)
        for name in entries where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count).split(separator: "-", maxSplits: 1)
            let number = rest.count == 2 ? rest[1].prefix { $0 != "." } : ""
            guard rest.count == 2, let pid = Int32(rest[0]), pid > 0, UInt32(number) != nil else { continue }
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            var st = stat()
            guard lstat(dir + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, now - st.st_mtim.tv_sec > 60 else { continue }
            unlink(dir + name)
        }
    }

    /// Writes through `produce(tempPath)` and renames onto `path` (a symlink's target, see
    /// `resolvedOutput`), with the file and its directory synced to disk; on failure the
    /// temporary file is removed and the target is untouched.
    public static func atomicWrite(to path: String, _ produce: (String) throws -> Void) throws {
        let target = try resolvedOutput(path)
        removeStaleTemporaries(beside: target)
        let tmp = temporaryPath(beside: target)
        do {
            try produce(tmp)
            // A replaced file keeps its permissions (a chmod 600 checkpoint stays 600).
            var existing = stat()
            if stat(target, &existing) == 0 { _ = chmod(tmp, existing.st_mode & 0o7777) }
            let fd = open(tmp, O_RDONLY)
            if fd >= 0 { _ = fsync(fd); close(fd) }
            guard rename(tmp, target) == 0 else {
                throw FileError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            renamedTemporary(tmp)
            syncDirectory(of: target)
        } catch {
            removeTemporary(tmp)
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
