import Foundation
import Tensors
import ZIPFoundation

/// One member of a `.keras` zip, extracted with two hard stops: the size its central directory
/// declares and a cap. A deflate stream that inflates past the declared size is refused at that
/// byte, not after inflating all of it (a member declaring a few bytes and inflating to 3 GiB
/// once cost 3.14 GB of memory before "larger than declared"); the CRC-32 is checked at the end.
enum KerasArchiveMember {
    /// Streams `entry` to `sink` in chunks of at most 1 MiB; returns the byte count.
    @discardableResult
    static func extract(_ archive: Archive, _ entry: Entry, cap: Int, file: String, into sink: (Data) throws -> Void) throws -> Int {
        let name = entry.path
        let declared = entry.uncompressedSize
        guard declared <= UInt64(cap) else {
            throw KerasError.malformed(file: file, location: name,
                                       reason: "declares \(declared) bytes, more than the cap of \(cap) bytes on this archive member")
        }
        let size = Int(declared)
        var filled = 0
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: false) { chunk in
                guard chunk.count <= size - filled else {
                    throw KerasError.malformed(file: file, location: name,
                                               reason: "inflates past the \(size) bytes its zip header declares (stopped there: a zip bomb or a damaged entry)")
                }
                filled += chunk.count
                try sink(chunk)
            }
        } catch let e as KerasError { throw e } catch {
            throw KerasError.malformed(file: file, location: name, reason: "cannot extract: \(error)")
        }
        guard filled == size else {
            throw KerasError.malformed(file: file, location: name, reason: "inflates to \(filled) bytes, its zip header declares \(size)")
        }
        return filled
    }

    /// The member's bytes in memory (small members: `config.json`, `metadata.json`).
    static func bytes(_ archive: Archive, _ entry: Entry, cap: Int, file: String) throws -> Data {
        var out = Data()
        try extract(archive, entry, cap: cap, file: file) { out.append($0) }
        return out
    }

    /// The member streamed into a new private file at `path` (created exclusively, mode 0600);
    /// the file is removed again when extraction fails.
    static func write(_ archive: Archive, _ entry: Entry, cap: Int, file: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw KerasError.malformed(file: file, location: entry.path, reason: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(path) }
        }
        try extract(archive, entry, cap: cap, file: file) { chunk in
            try chunk.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                var done = 0
                while done < raw.count {
                    let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else {
                        throw KerasError.malformed(file: file, location: entry.path, reason: "cannot write \(path): \(String(cString: strerror(errno)))")
                    }
                    done += n
                }
            }
        }
        ok = true
    }
}
