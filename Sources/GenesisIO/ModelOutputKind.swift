import Tensors

extension OutputKind {
    /// A model file of one format, for `OutputGuard`: its extensions, and an existing file
    /// recognised by its container (an HDF5 file for Keras .h5, a zip for PyTorch .pt, ...).
    public static func model(_ kind: FormatKind) -> OutputKind {
        let bridge = FormatRegistry.bridge(kind)
        let containers = bridge.containers
        return OutputKind(name: "a \(kind.rawValue) model (\(bridge.extensions.joined(separator: ", ")))", extensions: bridge.extensions) {
            containers.contains(FormatKind.sniff($0))
        }
    }

    /// A training checkpoint: any model format genesis writes (the format follows the name).
    public static var checkpoint: OutputKind {
        let writable = FormatRegistry.writable
        return OutputKind(name: "a model checkpoint (\(writable.flatMap(\.extensions).joined(separator: ", ")))",
                          extensions: writable.flatMap(\.extensions)) { prefix in
            writable.contains { $0.containers.contains(FormatKind.sniff(prefix)) }
        }
    }
}
