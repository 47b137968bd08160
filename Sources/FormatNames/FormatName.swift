/// The names genesis gives the file formats it reads and writes, and the frameworks whose
/// conventions a file's tensors follow: the one table every other list is made from or tested
/// against (GenesisIO's `FormatKind` is this type; the zoo's manifest decoder and
/// `schemas/zoo-manifest.schema.json`, `schemas/native-checkpoint.*`, the README's format table,
/// the loader's errors, training checkpoints). A target of its own so that `Zoo`, which imports no
/// format, reads the same table. `FormatNamesTests` and the tests named in each row keep the rest equal.
public enum FormatName: String, Sendable, CaseIterable, Codable {
    /// Keras 2 legacy HDF5: `model.save` and `save_weights`, every Keras 2 generation.
    case kerasH5 = "keras-h5"
    /// Keras 3 `.weights.h5` (`layers/<class key>/vars/<i>`).
    case keras3Weights = "keras3-weights"
    /// Keras 3 `.keras` archive (a zip holding `model.weights.h5`).
    case keras3Zip = "keras"
    /// PyTorch `torch.save`: the zip format (torch >= 1.6) and the legacy pickle stream.
    case torch = "pt"
    /// safetensors.
    case safetensors = "safetensors"
    /// The native checkpoint (`schemas/native-checkpoint.md`): safetensors with a metadata document.
    case native = "genesis"
    /// ONNX: a graph of the network (written by `convert`, read back for its weights and metadata).
    case onnx = "onnx"
    /// A MONAI bundle: a directory (configs, scripts, models/model.pt), asked for by `--format`.
    case monaiBundle = "monai-bundle"

    /// The file endings that ask for the format, the usual one first.
    public var extensions: [String] {
        switch self {
        case .kerasH5: return [".h5", ".hdf5"]
        case .keras3Weights: return [".weights.h5"]
        case .keras3Zip: return [".keras"]
        case .torch: return [".pt", ".pth", ".ckpt"]
        case .safetensors: return [".safetensors"]
        case .native: return [".genesis"]
        case .onnx: return [".onnx"]
        case .monaiBundle: return []
        }
    }

    /// What a person calls it (help, the README's table).
    public var title: String {
        switch self {
        case .kerasH5: return "Keras 2 HDF5"
        case .keras3Weights: return "Keras 3 weights"
        case .keras3Zip: return "Keras 3 archive"
        case .torch: return "PyTorch"
        case .safetensors: return "safetensors"
        case .native: return "native checkpoint"
        case .onnx: return "ONNX"
        case .monaiBundle: return "MONAI bundle"
        }
    }

    /// The framework whose conventions (BatchNorm epsilon and momentum, optimizer slots) a file of
    /// this format follows; nil for the formats that record it themselves or not at all.
    public var framework: FrameworkName? {
        switch self {
        case .kerasH5, .keras3Weights, .keras3Zip: return .keras
        case .torch, .monaiBundle: return .torch
        case .safetensors, .native, .onnx: return nil
        }
    }

    /// Every `--format` value, in table order, for messages: "keras-h5, keras3-weights, ...".
    public static var list: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// The two frameworks whose conventions genesis keeps apart: the network variant
/// (`keras`: nearest up-sampling; `torch`: up-convolutions), the optimizer and BatchNorm
/// conventions of `.genesis` files, `architecture.variant` of zoo manifests.
public enum FrameworkName: String, Sendable, CaseIterable, Codable {
    case keras, torch

    /// The format a training run of this framework checkpoints to, besides `.genesis`.
    public var checkpointFormat: FormatName { self == .keras ? .kerasH5 : .torch }

    /// "keras or torch", for messages.
    public static var list: String { allCases.map(\.rawValue).joined(separator: " or ") }
}
