#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether two paths name the same file: device and inode after following symlinks, so a
/// second name, a symlink or a hard link to a file all count as that file.
public enum FileIdentity {
    public static func same(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }  // a path that does not exist is no file yet
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
