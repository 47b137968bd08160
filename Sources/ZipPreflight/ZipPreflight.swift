import Foundation
import ZIPFoundation

/// Why a zip archive is refused before ZIPFoundation reads it.
public struct ZipPreflightError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public var description: String { reason }
}

/// A bounded check of a zip archive's end records and central directory, run before
/// ZIPFoundation opens it. ZIPFoundation 0.9.20 converts 64-bit offsets and sizes from ZIP64
/// fields to `off_t` and adds them unchecked, so a hostile ZIP64 field traps the process (found
/// by the `zip` fuzz target: a central-directory entry whose ZIP64 local-header offset is over
/// 2^63), and it scans the whole file backwards, four bytes at a time, for an end record. The
/// archives this tool reads (`torch.save`, Keras 3 `.keras`) are far below 4 GiB, where
/// neither writer gives an entry ZIP64 fields (torch.save does write a ZIP64 end record, whose
/// two values are checked against the file's size), so ZIP64 entries are refused: every
/// offset and size left is 32-bit and fits `off_t`.
///
/// The walk repeats ZIPFoundation's own (the end record nearest the end of the file, the ZIP64
/// end record when it would take it, the directory offset and entry count, records one after
/// another, the extra-field blocks as `scanForZIP64Field` steps through them) and refuses what
/// it would treat as a ZIP64 entry: version 4.5 needed, or a ZIP64 extra block. Any record that
/// does not fit the file is refused too. Reads at most the last 64 KiB and the central
/// directory once.
public enum ZipPreflight {
    static let endRecordSignature: UInt32 = 0x0605_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let zip64RecordSignature: UInt32 = 0x0606_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let endRecordSize = 22
    static let centralSize = 46
    static let localHeaderSize = 30

    /// Opens `path` read-only with ZIPFoundation after the check.
    public static func open(_ path: String) throws -> Archive {
        try check(path)
        do { return try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw ZipPreflightError(reason: "not a readable zip archive (\(error))")
        }
    }

    public static func check(_ path: String) throws {
        let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ZipPreflightError(reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ZipPreflightError(reason: "cannot stat") }
        try check(size: Int(st.st_size)) { offset, count in
            var out = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let got = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
                if got < 0, errno == EINTR { continue }
                guard got > 0 else { return nil }
                done += got
            }
            return out
        }
    }

    /// The check on an archive of `size` bytes read through `read(offset, count)` (nil: short).
    public static func check(size: Int, read: (Int, Int) -> [UInt8]?) throws {
        func fail(_ r: String) -> ZipPreflightError { ZipPreflightError(reason: r) }
        guard size >= endRecordSize else { throw fail("\(size) bytes: too short for a zip archive") }
        let tailStart = max(0, size - endRecordSize - 0xFFFF)
        guard let tail = read(tailStart, size - tailStart) else { throw fail("cannot read the end of the archive") }
        // The end record nearest the end, as ZIPFoundation's backward scan finds it.
        var end: Int?
        var i = tail.count - endRecordSize
        while i >= 0 {
            if u32(tail, i) == endRecordSignature { end = i; break }
            i -= 1
        }
        guard let e = end else { throw fail("no end-of-central-directory record in the last 64 KiB") }
        let eocd = tailStart + e
        // A ZIP64 end record (torch.save always writes one) replaces the entry count and the
        // directory offset when ZIPFoundation would take it: a locator at eocd - 20 and a
        // record at eocd - 76 with its signature and version 4.5. Its 64-bit values must fit.
        var count = Int(u16(tail, e + 10)), directory = Int(u32(tail, e + 16))
        if eocd > 20, eocd - 20 > 56, let locator = read(eocd - 20, 20), u32(locator, 0) == zip64LocatorSignature,
           let record = read(eocd - 76, 56), u32(record, 0) == zip64RecordSignature, u16(record, 14) >= 45 {
            let count64 = u64(record, 32), directory64 = u64(record, 48)
            guard count64 <= UInt64(size / centralSize), directory64 <= UInt64(size) else {
                throw fail("the ZIP64 end record claims \(count64) entries at \(directory64) in a \(size)-byte archive")
            }
            count = Int(count64)
            directory = Int(directory64)
        }
        var at = directory
        for n in 0..<count {
            guard at <= eocd - centralSize, let record = read(at, centralSize), u32(record, 0) == centralSignature else {
                throw fail("central-directory entry \(n) at \(at) is not inside the directory")
            }
            let version = UInt8(truncatingIfNeeded: u16(record, 6))
            let (nameLength, extraLength, commentLength) = (Int(u16(record, 28)), Int(u16(record, 30)), Int(u16(record, 32)))
            let next = at + centralSize + nameLength + extraLength + commentLength
            guard next <= eocd else { throw fail("central-directory entry \(n) runs past the directory") }
            guard version < 45 else { throw fail("central-directory entry \(n) needs ZIP64 (version \(version))") }
            if extraLength > 0 {
                guard let extra = read(at + centralSize + nameLength, extraLength) else { throw fail("cannot read entry \(n)'s extra field") }
                if hasZIP64Block(extra) { throw fail("central-directory entry \(n) has a ZIP64 extra field") }
            }
            let offset = Int(u32(record, 42)), compressed = Int(u32(record, 20))
            guard offset <= size - localHeaderSize, compressed <= size else {
                throw fail("central-directory entry \(n): local header at \(offset), \(compressed) bytes, in a \(size)-byte archive")
            }
            at = next
        }
    }

    /// ZIPFoundation's `scanForZIP64Field` walk: blocks of (id, size, data) while a header fits.
    static func hasZIP64Block(_ data: [UInt8]) -> Bool {
        var offset = 0
        while offset < data.count - 4 {
            let id = u16(data, offset), length = Int(u16(data, offset + 2))
            let next = offset + 4 + length
            guard next <= data.count else { return false }
            if id == 0x0001 { return true }
            offset = next
        }
        return false
    }

    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(u16(b, i)) | UInt32(u16(b, i + 2)) << 16 }
    static func u64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(u32(b, i)) | UInt64(u32(b, i + 4)) << 32 }
}
