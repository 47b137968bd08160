import Crypto

/// SHA-256 digests as lowercase hex.
public enum Checksum {
    public static func sha256Hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var h = SHA256()
        if let done = bytes.withContiguousStorageIfAvailable({ h.update(bufferPointer: UnsafeRawBufferPointer($0)) }) {
            _ = done
        } else {
            h.update(data: Array(bytes))
        }
        return h.finalize().map { String(format2: $0) }.joined()
    }

    /// Streams a file through SHA-256 in 1 MiB pieces.
    public static func sha256Hex(fileAt path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var h = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 { throw FileError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            buf.withUnsafeBytes { h.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return h.finalize().map { String(format2: $0) }.joined()
    }
}

extension Tensor {
    /// SHA-256 of the tensor's little-endian bytes.
    public var sha256: String { Checksum.sha256Hex(bytes) }
}

extension String {
    /// Two lowercase hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self.init([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
