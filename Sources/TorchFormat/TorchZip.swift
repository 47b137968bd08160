import Foundation
import Tensors
import ZIPFoundation
import ZipPreflight

/// The zip container of `torch.save` (torch >= 1.6): `<root>/data.pkl`, `<root>/data/<key>`,
/// `<root>/version`, `<root>/byteorder`. Sizes come from the central directory (torch's local
/// headers hold zeros); the root folder is the prefix of the first entry.
enum TorchZip {
    /// Largest `data.pkl` we read (the full Genesis checkpoint's is well under 1 MiB).
    static let maxPickleBytes = 256 << 20
    static let maxSmallRecord = 64

    static func load(_ path: String) throws -> (PValue, StorageSource) {
        let archive: Archive
        do { archive = try ZipPreflight.open(path) } catch {
            throw TorchError.notTorch(file: path, reason: "\(error)")
        }
        // One pass over the central directory (ZIPFoundation's subscript walks it from the start
        // on every lookup). A repeated name is refused: readers disagree on which copy counts
        // (ZIPFoundation's subscript takes the first, Python's zipfile the last).
        var entries: [String: Entry] = [:]
        var first: Entry?
        for e in archive {
            if first == nil { first = e }
            guard entries[e.path] == nil else {
                throw TorchError.malformed(file: path, key: e.path, expected: "one zip entry per name", found: "the name twice")
            }
            entries[e.path] = e
        }
        guard let first else { throw TorchError.notTorch(file: path, reason: "empty zip archive") }
        guard let slash = first.path.firstIndex(of: "/"), slash != first.path.startIndex else {
            throw TorchError.notTorch(file: path, reason: "first zip entry '\(first.path)' is not inside a root folder")
        }
        let root = String(first.path[..<slash])
        guard entries["\(root)/version"] != nil || entries["\(root)/.data/version"] != nil else {
            throw TorchError.malformed(file: path, key: "\(root)/version", expected: "a version record", found: "none")
        }
        if let order = entries["\(root)/byteorder"] {
            let text = String(decoding: try member(archive, order, cap: maxSmallRecord, file: path), as: UTF8.self)
            guard text == "little" else {
                throw TorchError.malformed(file: path, key: "\(root)/byteorder", expected: "little", found: String(text.prefix(20)))
            }
        }
        guard let pklEntry = entries["\(root)/data.pkl"] else {
            throw TorchError.malformed(file: path, key: "\(root)/data.pkl", expected: "the pickle record", found: "none")
        }
        let pickle = try member(archive, pklEntry, cap: maxPickleBytes, file: path)
        let registry = StorageRegistry(file: path, legacy: false)
        var vm = PickleVM(file: path, data: pickle)
        vm.persistentLoad = registry.load
        let value = try vm.run()
        let storages = ZipStorages(archive: archive, entries: entries, root: root, file: path)
        try storages.prefetch(registry.order.map { registry.byKey[$0]! })
        return (value, storages)
    }

    /// One entry's bytes, refusing more than `cap` before and while extracting; CRC checked.
    static func member(_ archive: Archive, _ entry: Entry, cap: Int, file: String, exact: Int? = nil, checkCRC: Bool = true) throws -> [UInt8] {
        let declared = entry.uncompressedSize
        guard declared <= UInt64(cap) else {
            throw TorchError.limitExceeded(file: file, what: "zip entry \(entry.path) size", limit: cap, found: Int(clamping: declared))
        }
        if let exact, declared != UInt64(exact) {
            throw TorchError.storage(file: file, key: entry.path, expected: "\(exact) bytes", found: "\(declared) bytes")
        }
        let size = Int(declared)
        var filled = 0
        let out = try UnzeroedBytes.make(size) { dst in
            do {
                // CRC-32 checked below with zlib: ZIPFoundation's own is a byte-wise Swift loop on
                // Linux, a quarter of a full-size conversion's time.
                _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: true) { chunk in
                    guard filled + chunk.count <= size else {
                        throw TorchError.malformed(file: file, key: entry.path, expected: "at most the \(declared) bytes its zip header declares",
                                                   found: "more (stopped there: a zip bomb or a damaged entry)")
                    }
                    chunk.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: dst[filled..<(filled + chunk.count)]))
                    filled += chunk.count
                }
            } catch let e as TorchError { throw e } catch {
                throw TorchError.malformed(file: file, key: entry.path, expected: "an intact zip entry", found: "\(error)")
            }
            guard filled == size else {
                throw TorchError.truncated(file: file, location: "zip entry \(entry.path)", needed: size, available: filled)
            }
        }
        if checkCRC { try verifyCRC(out, entry, file: file) }
        return out
    }

    static func verifyCRC(_ bytes: [UInt8], _ entry: Entry, file: String) throws {
        let crc = CRC32.of(bytes)
        guard crc == entry.checksum else {
            throw TorchError.malformed(file: file, key: entry.path, expected: String(format: "CRC-32 %08x", entry.checksum), found: String(format: "%08x", crc))
        }
    }

    /// Writes a torch zip (stored, 64-byte aligned entries) atomically, in torch's record
    /// order: `data.pkl`, `byteorder`, `data/<key>`, `version`.
    static func write(pickle: [UInt8], storages: [(key: String, bytes: [UInt8])], root: String, to path: String) throws {
        var zip = StoredZipWriter(file: path)
        try zip.add("\(root)/data.pkl", pickle)
        try zip.add("\(root)/byteorder", Array("little".utf8))
        let crcs = storages.concurrentMap { CRC32.of($0.bytes) }
        for (s, crc) in Swift.zip(storages, crcs) { try zip.add("\(root)/data/\(s.key)", s.bytes, crc: crc) }
        try zip.add("\(root)/version", Array("3\n".utf8))
        do { try zip.write(to: path) } catch let e as FileError {
            throw TorchError.cannotWrite(file: path, key: "file", reason: "\(e)")
        }
    }
}

/// Storage records of an open torch zip, read once each, sizes checked against the pickle.
final class ZipStorages: StorageSource {
    let archive: Archive
    /// Entries by path (see `TorchZip.load`).
    let entries: [String: Entry]
    let root: String
    let file: String
    private var cache: [String: [UInt8]] = [:]

    init(archive: Archive, entries: [String: Entry], root: String, file: String) {
        self.archive = archive
        self.entries = entries
        self.root = root
        self.file = file
    }

    func bytes(_ ref: StorageRef) throws -> [UInt8] {
        if let b = cache[ref.key] { return b }
        let (entry, b) = try Self.extract(ref, from: archive, entries: entries, root: root, file: file)
        cache[ref.key] = b
        unchecked.append((entry, b))
        return b
    }

    /// One storage record's bytes, size checked against the pickle, CRC left for `finish()`.
    static func extract(_ ref: StorageRef, from archive: Archive, entries: [String: Entry], root: String, file: String) throws -> (Entry, [UInt8]) {
        let expected = try Limits.byteCount([ref.numel], ref.dtype, what: "storage \(ref.key)")
        guard let entry = entries["\(root)/data/\(ref.key)"] else {
            throw TorchError.storage(file: file, key: ref.key, expected: "a record \(root)/data/\(ref.key)", found: "none")
        }
        return (entry, try TorchZip.member(archive, entry, cap: Limits.maxTensorBytes, file: file, exact: expected, checkCRC: false))
    }

    /// Extracts every storage the pickle names, on two cores (each half through its own
    /// archive handle: an `Archive` reads through one file position), into the cache.
    func prefetch(_ refs: [StorageRef]) throws {
        guard refs.count > 1 else { return }
        // Halves of equal bytes, not of equal counts (a few storages hold most of the data).
        let total = refs.reduce(0.0) { $0 + Double($1.numel) }
        var running = 0.0
        let split = refs.firstIndex { running += Double($0.numel); return running >= total / 2 }.map { $0 + 1 } ?? refs.count / 2
        let cut = min(max(split, 1), refs.count - 1)
        let halves = [Array(refs[..<cut]), Array(refs[cut...])]
        let (root, file, entries) = (self.root, self.file, self.entries)
        let results = halves.concurrentMap { part -> Result<[(StorageRef, Entry, [UInt8])], Error> in
            Result {
                let a: Archive
                do { a = try ZipPreflight.open(file) } catch {
                    throw TorchError.notTorch(file: file, reason: "\(error)")
                }
                return try part.map { ref in
                    let (entry, bytes) = try ZipStorages.extract(ref, from: a, entries: entries, root: root, file: file)
                    return (ref, entry, bytes)
                }
            }
        }
        for r in results {
            for (ref, entry, bytes) in try r.get() where cache[ref.key] == nil {
                cache[ref.key] = bytes
                unchecked.append((entry, bytes))
            }
        }
    }

    /// Storage CRC-32s, verified together on all cores once the pickle is read.
    private var unchecked: [(entry: Entry, bytes: [UInt8])] = []

    func finish() throws {
        let file = self.file
        let failures = unchecked.concurrentMap { item -> Error? in
            do { try TorchZip.verifyCRC(item.bytes, item.entry, file: file); return nil } catch { return error }
        }
        unchecked = []
        if let first = failures.compactMap({ $0 }).first { throw first }
    }
}
