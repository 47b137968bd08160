/// The formats, one line each. Order matters twice: it is the order of `--format` values and
/// help text, and where several formats share a container (zip: PyTorch and `.keras`; HDF5:
/// Keras 2 and Keras 3 weights; safetensors: plain and `.genesis`), the first listed is the one
/// assumed when neither the extension nor `--format` names another.
public enum FormatRegistry {
    public static let all: [any FormatBridge] = [
        KerasBridge(.kerasH5),
        TorchBridge(),
        SafeTensorsBridge(),
        NativeBridge(),
        KerasBridge(.keras3Weights),
        KerasBridge(.keras3Zip),
        ONNXBridge(),
        MonaiBundleBridge(),
    ]

    /// The bridge of a format (every `FormatKind` has one: a test checks it).
    public static func bridge(_ kind: FormatKind) -> any FormatBridge {
        guard let b = all.first(where: { $0.kind == kind }) else { preconditionFailure("no bridge for \(kind.rawValue) in FormatRegistry.all") }
        return b
    }

    /// The formats `convert` and `init` can write, in table order.
    public static var writable: [any FormatBridge] { all.filter(\.canWrite) }

    /// The format a path asks for by its ending (longest matching ending across all formats).
    public static func fromExtension(_ path: String) -> FormatKind? {
        let p = path.lowercased()
        var best: (kind: FormatKind, length: Int)?
        for b in all {
            for e in b.extensions where p.hasSuffix(e) && e.count > (best?.length ?? 0) { best = (b.kind, e.count) }
        }
        return best?.kind
    }

    /// The format assumed for a container when nothing else says.
    public static func defaultFormat(for container: FormatKind.Container) -> FormatKind? {
        all.first { $0.containers.contains(container) }?.kind
    }

    /// "keras-h5 (.h5, .hdf5), pt (.pt, .pth, .ckpt), ..., monai-bundle (a directory)" for help
    /// and error text; a format without an ending is a directory.
    public static func describe(_ bridges: [any FormatBridge]) -> String {
        bridges.map { "\($0.kind.rawValue) (\(endings($0)))" }.joined(separator: ", ")
    }

    /// ".h5, .hdf5", or "a directory" for a format without an ending (a MONAI bundle).
    public static func endings(_ bridge: any FormatBridge) -> String {
        bridge.extensions.isEmpty ? "a directory" : bridge.extensions.joined(separator: ", ")
    }
}
