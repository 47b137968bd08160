/// The layout of the shared memory through which the reader process hands back its result.
/// Little-endian throughout; the writer is the child, the reader the parent, which checks every
/// length, count and offset against the region before use (the child is not trusted).
///
///     header (64 bytes): magic "GNSBX001", status u32, 0 u32, meta offset u64, meta length u64,
///                        data offset u64, data length u64, 16 bytes 0
///     meta:  the result's records (`ResultWriter` / `ResultReader`)
///     data:  tensor bytes, each at a 64-byte aligned offset inside the data section
enum ResultLayout {
    static let magic: [UInt8] = Array("GNSBX001".utf8)
    static let headerSize = 64
    static let alignment = 64
    /// Largest metadata section accepted (names, configs, attributes; the official model has ~20 KB).
    static let maxMetaBytes = 64 << 20

    enum Status: UInt32 {
        case ok = 0
        /// The reader threw: meta holds one string, its message.
        case rejected = 1
        /// A test hook's report (meta holds one string).
        case testReport = 2
    }

    static func aligned(_ n: Int) -> Int? {
        let (s, o) = n.addingReportingOverflow(alignment - 1)
        return o ? nil : s & ~(alignment - 1)
    }
}

/// Builds the metadata section: integers, strings and optionals, each length-prefixed.
struct ResultWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    mutating func count(_ n: Int) { u32(UInt32(n)) }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        u32(UInt32(u.count))
        bytes += u
    }
    mutating func optional<T>(_ v: T?, _ body: (inout ResultWriter, T) -> Void) {
        if let v { u8(1); body(&self, v) } else { u8(0) }
    }
}

/// Reads the metadata section with every read bounds-checked; counts are capped by what the
/// remaining bytes could hold, so a hostile count cannot make us allocate.
struct ResultReader {
    let base: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ base: UnsafeRawBufferPointer) { self.base = base }

    var remaining: Int { base.count - offset }

    struct Malformed: Error { let reason: String }

    private mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw Malformed(reason: "\(what) needs \(n) bytes at offset \(offset), \(remaining) left") }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + n)])
    }

    mutating func u8(_ what: String) throws -> UInt8 { try take(1, what)[0] }
    mutating func u32(_ what: String) throws -> UInt32 {
        let b = try take(4, what)
        return b.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }
    mutating func u64(_ what: String) throws -> UInt64 {
        let b = try take(8, what)
        return b.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
    /// A non-negative integer (sizes, offsets, dimensions).
    mutating func size(_ what: String) throws -> Int {
        let v = try u64(what)
        guard v <= UInt64(Int.max) else { throw Malformed(reason: "\(what) is \(v), out of range") }
        return Int(v)
    }
    mutating func int(_ what: String) throws -> Int { Int(Int64(bitPattern: try u64(what))) }
    /// A count of records of at least `minRecord` bytes each.
    mutating func count(_ what: String, minRecord: Int) throws -> Int {
        let n = Int(try u32(what))
        guard n <= remaining / max(1, minRecord) else { throw Malformed(reason: "\(what) \(n) cannot fit in the \(remaining) bytes left") }
        return n
    }
    mutating func string(_ what: String) throws -> String {
        let n = Int(try u32(what + " length"))
        return String(decoding: try take(n, what), as: UTF8.self)
    }
    mutating func optional<T>(_ what: String, _ body: (inout ResultReader) throws -> T) throws -> T? {
        switch try u8(what) {
        case 0: return nil
        case 1: return try body(&self)
        case let f: throw Malformed(reason: "\(what): presence flag \(f)")
        }
    }
}
