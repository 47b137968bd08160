import Tensors

/// A safetensors file in memory: its tensors in data-offset order and its `__metadata__`.
public struct SafeTensorsFile: Sendable, Equatable {
    /// Tensors in the order of their data offsets (file order); `tensors.metadata == metadata`.
    public var tensors: TensorStore
    /// The `__metadata__` map (empty when the file has none).
    public var metadata: [String: String]
    /// The header length N (the data buffer starts at `8 + headerLength`).
    public var headerLength: Int

    public init(tensors: TensorStore, metadata: [String: String], headerLength: Int) {
        self.tensors = tensors
        self.metadata = metadata
        self.headerLength = headerLength
    }
}

/// safetensors reading and writing (schemas/formats.md, "safetensors"), validated as the Rust reference does.
///
/// Where we are stricter than safetensors 0.8 (checked with the Python package, which accepts
/// all four): the header must start with `{` (0.8 accepts a leading space); duplicate keys are
/// refused at every level (0.8 keeps the last, so a duplicate `__metadata__` key passes); an
/// entry field other than dtype/shape/data_offsets is refused (serde ignores it); two tensor
/// names that differ only in Unicode normalisation are refused (a Swift `String` key cannot
/// hold both). Everything 0.8 refuses, we refuse.
public enum SafeTensors {
    /// `MAX_HEADER_SIZE` of the reference implementation.
    public static let maxHeaderBytes = 100_000_000
    /// Most tensors one header may list (ours: the full network with Adam slots, about 350;
    /// large language models: a few thousand per shard). Checked while the header is parsed:
    /// 800,000 empty tensors once took 20 s and 1.47 GB before any check.
    public static let maxTensors = 16_384
    /// Most items in one header array (shapes are capped at `Limits.maxRank`, offsets hold two).
    static let maxHeaderArrayItems = 64

    /// Reads and validates a whole file.
    public static func read(_ path: String) throws -> SafeTensorsFile {
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path) } catch let e as FileError { throw SafeTensorsError(path, e) }
        return try read(bytes: bytes, file: path)
    }

    /// Validates and decodes the bytes of a whole file; `file` names it in errors.
    public static func read(bytes: [UInt8], file: String = "<memory>") throws -> SafeTensorsFile {
        let (headerLength, metadata, entries) = try parseHeader(bytes, file: file)
        let dataStart = 8 + headerLength
        var store = TensorStore()
        for e in entries {
            guard let dtype = e.dtype.dtype else {
                throw SafeTensorsError.unsupportedDType(file: file, tensor: e.name, dtype: e.dtype.rawValue)
            }
            let count = e.end - e.begin
            guard count <= Limits.maxTensorBytes else {
                throw SafeTensorsError.tensorTooLarge(file: file, tensor: e.name, bytes: count, cap: Limits.maxTensorBytes)
            }
            let tensor: Tensor
            do {
                tensor = try Tensor(dtype: dtype, shape: e.shape,
                                    bytes: Array(bytes[(dataStart + e.begin)..<(dataStart + e.end)]), name: e.name)
            } catch {
                throw SafeTensorsError.badEntry(file: file, tensor: e.name, reason: "\(error)")
            }
            if store.contains(e.name) {
                let first = store.names.first { $0 == e.name } ?? e.name
                throw SafeTensorsError.indistinguishableNames(file: file, first: first, second: e.name)
            }
            store[e.name] = tensor
        }
        store.metadata = metadata
        return SafeTensorsFile(tensors: store, metadata: metadata, headerLength: headerLength)
    }

    /// One tensor's header entry, validated.
    struct Entry {
        let name: String
        let dtype: SafeTensorsDType
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    /// Parses and validates the header against the whole file's bytes; entries in offset order.
    static func parseHeader(_ bytes: [UInt8], file: String) throws -> (Int, [String: String], [Entry]) {
        guard bytes.count >= 8 else {
            throw SafeTensorsError.truncated(file: file, what: "the header length", expected: 8, found: bytes.count)
        }
        var n64: UInt64 = 0
        for k in 0..<8 { n64 |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard n64 <= UInt64(maxHeaderBytes) else {
            throw SafeTensorsError.headerTooLarge(file: file, found: n64, cap: maxHeaderBytes)
        }
        let n = Int(n64)
        let headerEnd = 8 + n
        guard bytes.count >= headerEnd else {
            throw SafeTensorsError.truncated(file: file, what: "the header", expected: headerEnd, found: bytes.count)
        }
        let header = Array(bytes[8..<headerEnd])
        guard String(validating: header, as: UTF8.self) != nil else { throw SafeTensorsError.headerNotUTF8(file: file) }
        guard header.first == UInt8(ascii: "{") else { throw SafeTensorsError.headerStart(file: file, found: header.first) }

        let json: JSONValue
        do {
            json = try StrictJSON.parse(header, maxMembers: maxTensors + 1, maxItems: maxHeaderArrayItems)  // + __metadata__
        } catch let e as StrictJSONError {
            if e.overMemberCap, e.objectPath == "the top-level object" {
                throw SafeTensorsError.tooManyTensors(file: file, cap: maxTensors)
            }
            if let key = e.duplicateKey { throw SafeTensorsError.duplicateKey(file: file, key: key, context: "the header's " + e.objectPath) }
            throw SafeTensorsError.invalidJSON(file: file, offset: e.offset, reason: e.reason)
        }
        guard case let .object(members) = json else {
            throw SafeTensorsError.invalidJSON(file: file, offset: 0, reason: "the header is not a JSON object")
        }

        // The parser stopped at maxTensors + 1 members; one of them may be __metadata__.
        guard members.count - (members.contains { $0.key == "__metadata__" } ? 1 : 0) <= maxTensors else {
            throw SafeTensorsError.tooManyTensors(file: file, cap: maxTensors)
        }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for m in members {
            if m.key == "__metadata__" {
                metadata = try parseMetadata(m.value, file: file)
            } else {
                entries.append(try parseEntry(m.key, m.value, file: file))
            }
        }
        // Rust sorts by (begin, end); names break ties between zero-size tensors, for a stable order.
        entries.sort { a, b in
            if a.begin != b.begin { return a.begin < b.begin }
            if a.end != b.end { return a.end < b.end }
            return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }
        var expectedBegin = 0
        for e in entries {
            guard e.begin == expectedBegin else {
                throw SafeTensorsError.misplaced(file: file, tensor: e.name, expectedBegin: expectedBegin, foundBegin: e.begin)
            }
            guard e.end >= e.begin else {
                throw SafeTensorsError.invertedOffsets(file: file, tensor: e.name, begin: e.begin, end: e.end)
            }
            guard let numel = checkedProduct(e.shape), let size = e.dtype.byteCount(elements: numel) else {
                throw SafeTensorsError.sizeOverflow(file: file, tensor: e.name, shape: e.shape, dtype: e.dtype.rawValue)
            }
            guard e.end - e.begin == size else {
                throw SafeTensorsError.byteCountMismatch(file: file, tensor: e.name, expected: size, found: e.end - e.begin)
            }
            expectedBegin = e.end
        }
        let (total, overflow) = headerEnd.addingReportingOverflow(expectedBegin)
        guard !overflow, total == bytes.count else {
            throw SafeTensorsError.fileLengthMismatch(file: file, expected: overflow ? Int.max : total, found: bytes.count)
        }
        return (n, metadata, entries)
    }

    static func parseMetadata(_ value: JSONValue, file: String) throws -> [String: String] {
        switch value {
        case .null:
            return [:]  // serde reads `null` as an absent Option
        case let .object(members):
            var out: [String: String] = [:]
            for m in members {
                guard case let .string(s) = m.value else {
                    throw SafeTensorsError.badMetadata(file: file, key: m.key, found: m.value.kindName)
                }
                guard out[m.key] == nil else {
                    throw SafeTensorsError.duplicateKey(file: file, key: m.key,
                                                        context: "__metadata__ (keys equal under Unicode normalisation)")
                }
                out[m.key] = s
            }
            return out
        default:
            throw SafeTensorsError.badMetadata(file: file, key: nil, found: value.kindName)
        }
    }

    static func parseEntry(_ name: String, _ value: JSONValue, file: String) throws -> Entry {
        func bad(_ reason: String) -> SafeTensorsError { .badEntry(file: file, tensor: name, reason: reason) }
        guard case let .object(fields) = value else { throw bad("entry must be an object, found \(value.kindName)") }
        var dtypeText: String?
        var shape: [Int]?
        var offsets: [Int]?
        for f in fields {
            switch f.key {
            case "dtype":
                guard case let .string(s) = f.value else { throw bad("dtype must be a string, found \(f.value.kindName)") }
                dtypeText = s
            case "shape":
                guard case let .array(items) = f.value else { throw bad("shape must be an array, found \(f.value.kindName)") }
                guard items.count <= Limits.maxRank else {
                    throw SafeTensorsError.rankTooLarge(file: file, tensor: name, rank: items.count, cap: Limits.maxRank)
                }
                shape = try items.map { v in
                    guard let d = v.nonNegativeInt else { throw bad("shape must hold non-negative integers, found \(v.kindName)") }
                    return d
                }
            case "data_offsets":
                guard case let .array(items) = f.value, items.count == 2 else {
                    throw bad("data_offsets must be an array of two integers, found \(f.value.kindName)")
                }
                offsets = try items.map { v in
                    guard let d = v.nonNegativeInt else { throw bad("data_offsets must hold non-negative integers, found \(v.kindName)") }
                    return d
                }
            default:
                // serde would ignore it; we refuse a field that might change how the bytes read.
                throw bad("unknown field \"\(f.key)\" (expected dtype, shape, data_offsets)")
            }
        }
        guard let dtypeText else { throw bad("missing field \"dtype\"") }
        guard let shape else { throw bad("missing field \"shape\"") }
        guard let offsets else { throw bad("missing field \"data_offsets\"") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeText) else {
            throw SafeTensorsError.unknownDType(file: file, tensor: name, found: dtypeText)
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    static func checkedProduct(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = p
        }
        return n
    }
}

extension SafeTensorsError {
    /// A file-level I/O failure, keeping the underlying reason.
    init(_ path: String, _ e: FileError) {
        switch e {
        case let .cannotOpen(_, r): self = .io(file: path, reason: "cannot open: \(r)")
        case let .cannotRead(_, r): self = .io(file: path, reason: "cannot read: \(r)")
        case let .cannotWrite(_, r): self = .io(file: path, reason: "cannot write: \(r)")
        case let .tooLarge(_, b, c): self = .io(file: path, reason: "\(b) bytes is larger than the cap of \(c) bytes")
        case let .notRegular(_, k): self = .io(file: path, reason: "is \(k), not a regular file")
        }
    }
}
