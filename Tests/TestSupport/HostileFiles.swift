import Foundation

/// Builders of hostile files for the reliability tests: zip archives written byte by byte (so a
/// header can declare any size), deflate streams that inflate far beyond their own size, and a
/// CRC-32 to make the rest of such an archive intact.
public enum HostileFiles {
    /// One zip member: `payload` is stored as is (method 0) or is already a raw deflate stream
    /// (method 8); `declaredSize` and `crc` are what the headers claim.
    public struct ZipMember {
        public var name: String
        public var method: UInt16
        public var payload: [UInt8]
        public var declaredSize: UInt32
        public var crc: UInt32
        /// The central record's extra field, version needed and local-header offset (nil: the true one).
        public var centralExtra: [UInt8] = []
        public var versionNeeded: UInt16 = 20
        public var declaredOffset: UInt32?

        /// A stored member with true size and CRC.
        public static func stored(_ name: String, _ bytes: [UInt8]) -> ZipMember {
            ZipMember(name: name, method: 0, payload: bytes, declaredSize: UInt32(bytes.count), crc: crc32(bytes))
        }

        /// A deflated member whose headers declare `declaredSize` bytes (and a CRC of nothing).
        public static func deflated(_ name: String, stream: [UInt8], declaredSize: UInt32) -> ZipMember {
            ZipMember(name: name, method: 8, payload: stream, declaredSize: declaredSize, crc: 0)
        }
    }

    /// A zip archive (local headers, central directory, end record) of `members`.
    public static func zip(_ members: [ZipMember]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: UInt16, _ b: inout [UInt8]) { b += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32, _ b: inout [UInt8]) { for k in 0..<4 { b.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) } }
        for m in members {
            let offset = UInt32(out.count)
            let name = Array(m.name.utf8)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(m.method, &out); u16(0, &out); u16(0x21, &out)
            u32(m.crc, &out); u32(UInt32(m.payload.count), &out); u32(m.declaredSize, &out)
            u16(UInt16(name.count), &out); u16(0, &out)
            out += name
            out += m.payload
            u32(0x0201_4B50, &central); u16(20, &central); u16(m.versionNeeded, &central); u16(0, &central); u16(m.method, &central)
            u16(0, &central); u16(0x21, &central)
            u32(m.crc, &central); u32(UInt32(m.payload.count), &central); u32(m.declaredSize, &central)
            u16(UInt16(name.count), &central); u16(UInt16(m.centralExtra.count), &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(m.declaredOffset ?? offset, &central)
            central += name
            central += m.centralExtra
        }
        let cdOffset = UInt32(out.count)
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out)
        u16(UInt16(members.count), &out); u16(UInt16(members.count), &out)
        u32(UInt32(central.count), &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }

    /// A raw deflate stream (one fixed-Huffman block) that inflates to `count` zero bytes: a
    /// literal zero, then "copy 258 bytes from distance 1" codes of 13 bits each, so 1 GiB of
    /// output costs about 6.6 MB of stream.
    public static func zeroBomb(inflatingTo count: Int) -> [UInt8] {
        precondition(count >= 1)
        var w = BitWriter()
        w.write(1, 1)  // BFINAL
        w.write(1, 2)  // BTYPE 01: fixed Huffman codes
        w.huffman(0x30, 8)  // literal 0
        var left = count - 1
        // Length code 285 (length 258, 8-bit code 11000101), then distance code 0 (5 bits):
        // one 13-bit pattern, reversed once here rather than per copy.
        let copy = BitWriter.reversed(0xC5, 8) | (BitWriter.reversed(0, 5) << 8)
        while left >= 258 {
            w.write(copy, 13)
            left -= 258
        }
        for _ in 0..<left { w.huffman(0x30, 8) }
        w.huffman(0, 7)  // end of block (code 256)
        w.flush()
        return w.bytes
    }

    /// Bits packed least significant first, as deflate packs them.
    struct BitWriter {
        var bytes: [UInt8] = []
        var acc: UInt64 = 0
        var n: UInt64 = 0

        mutating func write(_ value: UInt64, _ count: UInt64) {
            acc |= value << n
            n += count
            while n >= 8 {
                bytes.append(UInt8(acc & 0xFF))
                acc >>= 8
                n -= 8
            }
        }

        /// A Huffman code goes most significant bit first.
        mutating func huffman(_ code: UInt64, _ length: UInt64) { write(Self.reversed(code, length), length) }

        mutating func flush() {
            if n > 0 { bytes.append(UInt8(acc & 0xFF)) }
            acc = 0
            n = 0
        }

        static func reversed(_ code: UInt64, _ length: UInt64) -> UInt64 {
            var r: UInt64 = 0
            for k in 0..<length where code & (1 << k) != 0 { r |= 1 << (length - 1 - k) }
            return r
        }
    }

    /// CRC-32 (the zip and PNG polynomial).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
        }
        return ~c
    }
}
