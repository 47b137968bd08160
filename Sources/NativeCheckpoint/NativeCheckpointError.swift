import SafeTensors
import Tensors

/// Errors reading or writing `.genesis` checkpoints. Every case names the file (or `<memory>`).
public enum NativeCheckpointError: Error, CustomStringConvertible, Equatable {
    /// The container is not a valid safetensors file (or could not be read or written).
    case safeTensors(SafeTensorsError)
    /// `__metadata__.format` is not `genesis` (`found` nil when absent).
    case notGenesis(file: String, found: String?)
    case missingMetadata(file: String, key: String)
    /// `format_version` is not `MAJOR.MINOR` with MAJOR >= 1.
    case badVersion(file: String, found: String)
    /// A newer MAJOR version than this reader implements.
    case unsupportedVersion(file: String, found: String, supported: String)
    /// The `genesis` document is not valid JSON, does not decode, or holds an invalid value.
    case badMetadata(file: String, field: String, reason: String)
    case badTensorName(file: String, tensor: String, reason: String)
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    /// The SHA-256 of the data buffer differs from `data_sha256`.
    case checksumMismatch(file: String, expected: String, found: String)

    public var description: String {
        // Every value the file supplies (names, versions, reasons) is cut to ~200 characters.
        let q = { (s: String) in Quoted.clip(s) }
        switch self {
        case let .safeTensors(e): return e.description
        case let .notGenesis(f, found):
            return "\(f): not a genesis checkpoint: __metadata__ \"format\" is \(found.map { "\"\(q($0))\"" } ?? "absent"), expected \"genesis\""
        case let .missingMetadata(f, k): return "\(f): __metadata__ lacks the key \"\(k)\""
        case let .badVersion(f, v): return "\(f): format_version \"\(q(v))\" is not MAJOR.MINOR with MAJOR >= 1"
        case let .unsupportedVersion(f, v, s): return "\(f): file is format version \(q(v)); this genesis reads \(s)"
        case let .badMetadata(f, field, r): return "\(f): genesis metadata \(q(field)): \(q(r))"
        case let .badTensorName(f, t, r): return "\(f): tensor \"\(q(t))\": \(q(r))"
        case let .shapeMismatch(f, t, e, n): return "\(f): tensor \"\(q(t))\": expected shape \(e), found \(n)"
        case let .checksumMismatch(f, e, n):
            return "\(f): tensor data checksum mismatch: metadata says SHA-256 \(q(e)), data has \(n) (the file is corrupt)"
        }
    }
}
