import GenesisModel
import KerasFormat
import Tensors

/// Writes canonical Genesis tensors in any supported format.
public enum ModelWriter {
    public static func write(_ store: TensorStore, architecture: Architecture, to path: String, format: FormatKind) throws {
        switch format {
        case .kerasH5:
            try KerasWriter.writeWeights(try KerasBridge.kerasLayers(store, architecture: architecture), to: path)
        default:
            throw GenesisIOError.cannotWrite(file: path, reason: "writing \(format.rawValue) is not available yet")
        }
    }
}
