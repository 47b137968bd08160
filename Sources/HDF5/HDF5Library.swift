import CHDF5
import Foundation

/// Process-wide libhdf5 set-up. Every call into HDF5 goes through `H5Lib.run`, which holds one
/// lock (Debian's build is thread-safe, others often are not) and silences HDF5's automatic
/// error printing on the calling thread (the switch is per thread).
enum H5Lib {
    private static let lock = NSRecursiveLock()
    private static let opened: Bool = { H5open() >= 0 }()

    static func run<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        _ = opened
        shim_errors_silence()
        return try body()
    }

    /// libhdf5's current error stack as one line, then cleared.
    static func errorStack() -> String {
        var buf = [CChar](repeating: 0, count: 1024)
        shim_errors_describe(&buf, buf.count)
        return String(cString: buf)
    }

    static var defaultPL: hid_t { hid_t(H5P_DEFAULT) }

    /// libhdf5's version, e.g. "1.10.8".
    static var version: String {
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0
        H5get_libversion(&a, &b, &c)
        return "\(a).\(b).\(c)"
    }
}

/// The libhdf5 version this process uses.
public var hdf5LibraryVersion: String { H5Lib.run { H5Lib.version } }
