#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on a lock file, held until `release()` (or until the process dies: the
/// kernel drops a dead process's flock, so a crashed fetch never blocks the next one).
public final class FileLock {
    private var fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock, calling `onWait` once first when another process holds it.
    public static func acquire(_ path: String, onWait: () -> Void) throws -> FileLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ZooError.cache(path: path, reason: "cannot open the lock file: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return FileLock(fd: fd) }
        guard errno == EWOULDBLOCK else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ZooError.cache(path: path, reason: "cannot lock: \(reason)")
        }
        onWait()
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw ZooError.cache(path: path, reason: "cannot lock: \(reason)")
            }
        }
        return FileLock(fd: fd)
    }

    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}
