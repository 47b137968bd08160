import GenesisModel
import Tensors

/// Writes a payload in any supported format, through the format's bridge. The payload's
/// architecture must already be the variant the format holds (`Converter` takes care of that).
public enum ModelWriter {
    public static func write(_ p: ModelPayload, to path: String, format: FormatKind, options: WriteOptions = WriteOptions()) throws {
        let bridge = FormatRegistry.bridge(format)
        guard bridge.canWrite else {
            throw GenesisIOError.cannotWrite(file: path, reason: "writing \(format.rawValue) is not available; writable: \(FormatRegistry.writable.map(\.kind.rawValue).joined(separator: ", "))")
        }
        try bridge.write(p, to: path, options: options)
    }

    /// Whether a write in this format with these options stores optimizer state.
    public static func carriesOptimizer(_ format: FormatKind, options: WriteOptions) -> Bool {
        FormatRegistry.bridge(format).carriesOptimizer(options)
    }

    /// The variant a format stores: Keras 2 HDF5 holds the official Keras network (UpSampling3D),
    /// PyTorch the official PyTorch one (ConvTranspose3d); the others keep the source's.
    public static func variant(for format: FormatKind, source: Variant) -> Variant {
        FormatRegistry.bridge(format).variant(for: source)
    }
}
