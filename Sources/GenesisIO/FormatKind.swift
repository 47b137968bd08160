@_exported import FormatNames
import Tensors

/// The name of every file format the tool reads or writes (`--format` values): the one table in
/// `FormatNames` (`FormatName`). What each one does lives in its bridge (`FormatRegistry.all`);
/// this target adds how a file's first bytes are recognised.
public typealias FormatKind = FormatName

extension FormatName {
    /// The format an output path asks for by its extension.
    public static func fromExtension(_ path: String) -> FormatKind? { FormatRegistry.fromExtension(path) }

    /// The container a file's first bytes show.
    public enum Container: String, Sendable, CaseIterable {
        case hdf5, zip, torchLegacy = "torch-legacy", safetensors, onnx, directory, unknown

        /// As an error message says it: "its bytes are HDF5".
        public var description: String {
            switch self {
            case .hdf5: return "HDF5"
            case .zip: return "a zip archive"
            case .torchLegacy: return "a legacy PyTorch pickle"
            case .safetensors: return "safetensors"
            case .onnx: return "an ONNX model (protobuf)"
            case .directory: return "a directory (a MONAI bundle has configs/metadata.json and models/model.pt)"
            case .unknown: return "no supported format"
            }
        }

        /// The containers genesis reads, as the loader's error lists them: "HDF5, zip, ...".
        public static var supportedList: String {
            allCases.filter { $0 != .unknown }.map { $0 == .torchLegacy ? "PyTorch pickle" : $0 == .hdf5 ? "HDF5" : $0 == .onnx ? "ONNX" : $0 == .directory ? "MONAI bundle directory" : $0.rawValue }
                .joined(separator: ", ")
        }
    }

    public static func sniff(_ prefix: [UInt8]) -> Container {
        let hdf5: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        if prefix.count >= 8, Array(prefix[0..<8]) == hdf5 { return .hdf5 }
        if prefix.count >= 4, Array(prefix[0..<4]) == [0x50, 0x4B, 0x03, 0x04] { return .zip }
        if prefix.count >= 3, prefix[0] == 0x80, prefix[1] == 0x02, prefix[2] == 0x8A { return .torchLegacy }
        if prefix.count >= 9, prefix[8] == UInt8(ascii: "{") {
            let n = prefix[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            if n >= 2, n <= 100_000_000 { return .safetensors }
        }
        // An ONNX ModelProto as protobuf serialises it, fields in number order: ir_version
        // (field 1, varint, 3...10), then producer_name (2), producer_version (3), domain (4),
        // model_version (5), doc_string (6), graph (7) or opset_import (8).
        if prefix.count >= 3, prefix[0] == 0x08, (3...10).contains(prefix[1]), [0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42].contains(prefix[2]) {
            return .onnx
        }
        return .unknown
    }
}
