import SystemZlib

/// zlib's CRC-32 (the zip checksum), over arbitrarily large buffers.
enum CRC32 {
    static func of(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buf in
            var crc = crc32(0, nil, 0)
            var offset = 0
            while offset < buf.count {
                let n = min(buf.count - offset, Int(UInt32.max >> 1))
                crc = crc32(crc, buf.baseAddress! + offset, UInt32(n))
                offset += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}
