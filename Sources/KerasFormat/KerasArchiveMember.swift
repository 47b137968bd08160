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

    /// The member's bytes in memory (`config.json`, `metadata.json`, and `model.weights.h5`, which
    /// libhdf5 then opens in memory); room is made for the declared size, never past the cap.
    static func bytes(_ archive: Archive, _ entry: Entry, cap: Int, file: String) throws -> Data {
        var out = Data()
        out.reserveCapacity(Int(clamping: min(UInt64(max(cap, 0)), UInt64(entry.uncompressedSize))))
        try extract(archive, entry, cap: cap, file: file) { out.append($0) }
        return out
    }
}
