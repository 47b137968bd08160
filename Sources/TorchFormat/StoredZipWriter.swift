import Tensors

/// Writes a zip of stored (uncompressed) entries the way torch's own writer lays them out:
/// each payload 64-byte aligned through an `FB` extra field, CRC-32 from zlib. ZIPFoundation
/// reads these (and still reads every torch file); it writes through a byte-at-a-time CRC-32
/// on Linux, which cost a quarter of a full-size conversion, hence this small writer.
/// Entries are limited to 4 GiB each and 65,535 in all (no ZIP64): far above any Genesis file.
struct StoredZipWriter {
    private var chunks: [[UInt8]] = []
    private var central: [UInt8] = []
    private var offset = 0
    private var count = 0
    let file: String

    init(file: String) { self.file = file }

    static let alignment = 64
    static let maxEntryBytes = Int(UInt32.max) - 1

    /// Adds an entry; `crc` may be given when computed beforehand (on another core).
    mutating func add(_ name: String, _ bytes: [UInt8], crc given: UInt32? = nil) throws {
        let nameBytes = Array(name.utf8)
        guard bytes.count <= Self.maxEntryBytes, offset <= Self.maxEntryBytes, count < 65_535, nameBytes.count < 65_535 else {
            throw TorchError.cannotWrite(file: file, key: name, reason: "larger than a zip without ZIP64 holds (4 GiB per entry and offset)")
        }
        let crc = given ?? CRC32.of(bytes)
        // Local header (30 bytes) + name + extra, then data aligned to 64 bytes.
        let headerEnd = offset + 30 + nameBytes.count + 4
        let pad = (Self.alignment - headerEnd % Self.alignment) % Self.alignment
        var local: [UInt8] = []
        local.reserveCapacity(30 + nameBytes.count + 4 + pad)
        local.le32(0x0403_4B50)
        local.le16(20); local.le16(0x0800); local.le16(0)     // version, flags (UTF-8 names), stored
        local.le16(0); local.le16(0x21)                        // time, date: 1980-01-01
        local.le32(crc); local.le32(UInt32(bytes.count)); local.le32(UInt32(bytes.count))
        local.le16(UInt16(nameBytes.count)); local.le16(UInt16(4 + pad))
        local += nameBytes
        local.le16(0x4246); local.le16(UInt16(pad))            // "FB" extra field of padding
        local += [UInt8](repeating: UInt8(ascii: "Z"), count: pad)

        central.le32(0x0201_4B50)
        central.le16(0x031E); central.le16(20); central.le16(0x0800); central.le16(0)
        central.le16(0); central.le16(0x21)
        central.le32(crc); central.le32(UInt32(bytes.count)); central.le32(UInt32(bytes.count))
        central.le16(UInt16(nameBytes.count)); central.le16(0); central.le16(0)  // name, extra, comment
        central.le16(0); central.le16(0); central.le32(0o100644 << 16)         // disk, internal, external (rw-r--r--)
        central.le32(UInt32(offset))
        central += nameBytes

        chunks.append(local)
        chunks.append(bytes)
        offset += local.count + bytes.count
        count += 1
    }

    /// The central directory and end record, then every chunk written atomically to `path`.
    func write(to path: String) throws {
        guard offset + central.count <= Self.maxEntryBytes else {
            throw TorchError.cannotWrite(file: file, key: "zip central directory", reason: "archive larger than 4 GiB")
        }
        var end: [UInt8] = []
        end.le32(0x0605_4B50)
        end.le16(0); end.le16(0); end.le16(UInt16(count)); end.le16(UInt16(count))
        end.le32(UInt32(central.count)); end.le32(UInt32(offset)); end.le16(0)
        try FileIO.write(chunks: chunks + [central, end], to: path)
    }
}

private extension Array where Element == UInt8 {
    mutating func le16(_ v: UInt16) { append(UInt8(v & 0xFF)); append(UInt8(v >> 8)) }
    mutating func le32(_ v: UInt32) { for i in 0..<4 { append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
}
