import Crypto
import FormatNames
import Foundation
import SafeTensors
import Tensors

/// A `.genesis` checkpoint (schemas/native-checkpoint.md): canonical weights, optimizer slots
/// and self-describing metadata in a safetensors container.
public struct NativeCheckpoint: Equatable, Sendable {
    public static let formatName = FormatName.native.rawValue
    /// The version this code writes; it reads every 1.x.
    public static let currentVersion = FormatVersion(major: 1, minor: 0)
    public static let slotPrefix = "optimizer/"

    /// Weights under canonical names (no `/` in a name).
    public var weights: TensorStore
    /// Optimizer state under its full tensor names: `optimizer/<weight>/<slot>` or `optimizer/<counter>`.
    public var optimizerSlots: TensorStore
    public var metadata: NativeMetadata

    public init(weights: TensorStore, optimizerSlots: TensorStore = TensorStore(), metadata: NativeMetadata) {
        self.weights = weights
        self.optimizerSlots = optimizerSlots
        self.metadata = metadata
    }

    // MARK: Reading

    /// `verifyChecksum: false` is for a caller that compares every byte against what it wrote
    /// itself (a stronger check than the digest); everyone else keeps it on.
    public static func read(_ path: String, verifyChecksum: Bool = true) throws -> NativeCheckpoint {
        let f: SafeTensorsFile
        do { f = try SafeTensors.read(path) } catch let e as SafeTensorsError { throw NativeCheckpointError.safeTensors(e) }
        return try decode(f, file: path, verifyChecksum: verifyChecksum)
    }

    public static func read(bytes: [UInt8], file: String = "<memory>") throws -> NativeCheckpoint {
        let f: SafeTensorsFile
        do { f = try SafeTensors.read(bytes: bytes, file: file) } catch let e as SafeTensorsError { throw NativeCheckpointError.safeTensors(e) }
        return try decode(f, file: file)
    }

    /// Interprets a validated safetensors file as a checkpoint (reader checklist, section 7).
    public static func decode(_ f: SafeTensorsFile, file: String, verifyChecksum: Bool = true) throws -> NativeCheckpoint {
        guard let format = f.metadata["format"], format == formatName else {
            throw NativeCheckpointError.notGenesis(file: file, found: f.metadata["format"])
        }
        guard let versionText = f.metadata["format_version"] else {
            throw NativeCheckpointError.missingMetadata(file: file, key: "format_version")
        }
        guard let version = FormatVersion(versionText), version.major >= 1 else {
            throw NativeCheckpointError.badVersion(file: file, found: versionText)
        }
        // Refuse a newer MAJOR before trying to understand its document.
        guard version.major <= currentVersion.major else {
            throw NativeCheckpointError.unsupportedVersion(file: file, found: versionText, supported: "\(currentVersion.major).x")
        }
        guard let document = f.metadata["genesis"] else {
            throw NativeCheckpointError.missingMetadata(file: file, key: "genesis")
        }
        let metadata = try decodeDocument(document, file: file)
        guard metadata.formatVersion == version else {
            throw NativeCheckpointError.badMetadata(file: file, field: "format_version",
                                                    reason: "\"\(metadata.formatVersion)\" differs from __metadata__ \"\(versionText)\"")
        }

        var weights = TensorStore()
        var slots = TensorStore()
        for (name, t) in f.tensors.entries {
            if name.hasPrefix(slotPrefix) { slots[name] = t } else { weights[name] = t }
        }
        let checkpoint = NativeCheckpoint(weights: weights, optimizerSlots: slots, metadata: metadata)
        try checkpoint.validate(file: file)

        // The data buffer is the tensors' bytes in offset order, which is `f.tensors`' order.
        guard verifyChecksum else { return checkpoint }
        let digest = sha256(f.tensors.entries.map(\.tensor))
        guard digest == metadata.dataSHA256 else {
            throw NativeCheckpointError.checksumMismatch(file: file, expected: metadata.dataSHA256, found: digest)
        }
        return checkpoint
    }

    /// Largest `genesis` metadata document (ours are a few kilobytes); it is parsed twice.
    public static let maxDocumentBytes = 16 << 20

    static func decodeDocument(_ document: String, file: String) throws -> NativeMetadata {
        guard document.utf8.count <= maxDocumentBytes else {
            throw NativeCheckpointError.badMetadata(file: file, field: "genesis",
                                                    reason: "\(document.utf8.count) bytes, more than the cap of \(maxDocumentBytes) bytes on the metadata document")
        }
        do { _ = try StrictJSON.parse(Array(document.utf8)) } catch let e as StrictJSONError {
            if let key = e.duplicateKey {
                throw NativeCheckpointError.badMetadata(file: file, field: "genesis", reason: "duplicate key \"\(key)\" in \(e.objectPath)")
            }
            throw NativeCheckpointError.badMetadata(file: file, field: "genesis", reason: "not valid JSON: \(e)")
        }
        do {
            return try JSONDecoder().decode(NativeMetadata.self, from: Data(document.utf8))
        } catch let e as DecodingError {
            throw NativeCheckpointError.badMetadata(file: file, field: Self.path(of: e), reason: Self.reason(of: e))
        }
    }

    // MARK: Writing

    /// Writes the checkpoint atomically, at the current format version, with a fresh checksum.
    public func write(to path: String) throws {
        let (store, meta) = try prepared(file: path)
        do { try SafeTensors.write(store, metadata: meta, to: path) } catch let e as SafeTensorsError {
            throw NativeCheckpointError.safeTensors(e)
        }
    }

    /// The bytes `write` would write.
    public func serialized() throws -> [UInt8] {
        let (store, meta) = try prepared(file: "<memory>")
        do { return try SafeTensors.serialize(store, metadata: meta) } catch let e as SafeTensorsError {
            throw NativeCheckpointError.safeTensors(e)
        }
    }

    /// All tensors in one store and the `__metadata__` map, checksum computed in layout order.
    func prepared(file: String) throws -> (TensorStore, [String: String]) {
        var meta = metadata
        meta.format = Self.formatName
        meta.formatVersion = Self.currentVersion
        meta.dataSHA256 = String(repeating: "0", count: 64)  // placeholder, so validation sees a well-formed digest
        var copy = self
        copy.metadata = meta
        try copy.validate(file: file)

        var all = TensorStore()
        for (n, t) in weights.entries { all[n] = t }
        for (n, t) in optimizerSlots.entries { all[n] = t }
        meta.dataSHA256 = Self.sha256(SafeTensors.layoutOrder(all).map { all[$0]! })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let document = String(decoding: try encoder.encode(meta), as: UTF8.self)
        return (all, ["format": Self.formatName, "format_version": Self.currentVersion.description, "genesis": document])
    }

    static func sha256(_ tensors: [Tensor]) -> String {
        var h = SHA256()
        for t in tensors { t.bytes.withUnsafeBytes { h.update(bufferPointer: $0) } }
        let digits = Array("0123456789abcdef")
        return String(h.finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    static func path(of e: DecodingError) -> String {
        let path: [CodingKey]
        switch e {
        case let .keyNotFound(k, c): path = c.codingPath + [k]
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c): path = c.codingPath
        @unknown default: return "genesis"
        }
        let s = path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return s.isEmpty ? "genesis" : s
    }

    static func reason(of e: DecodingError) -> String {
        switch e {
        case .keyNotFound: return "required field is missing"
        case let .typeMismatch(t, c): return "expected \(t): \(c.debugDescription)"
        case let .valueNotFound(t, _): return "expected \(t), found null"
        case let .dataCorrupted(c): return c.debugDescription
        @unknown default: return "\(e)"
        }
    }
}
