import GenesisIO
import GenesisModel
import Tensors

/// Checkpoints of a run in the format of their extension: Keras `.h5` (full save), PyTorch
/// `.pt` (the official layout) or `.genesis`, each with the optimizer state in the run's
/// convention and the run's progress (`RunState`, annotation `genesis_run`), written
/// atomically (beside the target, then renamed) by the format writers.
public enum TrainingCheckpoint {
    public enum Failure: Error, CustomStringConvertible {
        case wrongFormat(file: String, framework: Framework, allowed: [String])
        case notAResumable(file: String, reason: String)

        public var description: String {
            switch self {
            case let .wrongFormat(f, fw, allowed):
                return "\(f): a \(fw.rawValue)-variant run checkpoints to \(allowed.joined(separator: " or ")) (the format keeps the network and its optimizer convention exactly)"
            case let .notAResumable(f, r): return "\(f): cannot resume from it: \(r)"
            }
        }
    }

    /// Extensions a run of `framework` may write: its own framework's format, or `.genesis`.
    public static func allowedExtensions(_ framework: Framework) -> [String] {
        [FrameworkName(rawValue: framework.rawValue)!.checkpointFormat, .native].map { $0.extensions[0] }
    }

    /// Checks `path` before a run starts (so a long run does not fail at its first checkpoint).
    public static func format(for path: String, framework: Framework) throws -> FormatKind {
        let allowed = allowedExtensions(framework)
        guard let kind = FormatKind.fromExtension(path), allowed.contains(where: { path.lowercased().hasSuffix($0) }),
              kind == .native || kind == FrameworkName(rawValue: framework.rawValue)!.checkpointFormat else {
            throw Failure.wrongFormat(file: path, framework: framework, allowed: allowed)
        }
        return kind
    }

    /// Checks `path` for a run of `network`: the Genesis U-Net's formats by its framework; another
    /// family's network is written in PyTorch's format only (its own layout).
    public static func format(for path: String, network: any NetworkArchitecture) throws -> FormatKind {
        if network is Architecture { return try format(for: path, framework: network.conventions) }
        // PyTorch's extensions (the layout is the family's own: nnU-Net's `.model` files are such
        // torch.save checkpoints under another name).
        let allowed = FrameworkName.torch.checkpointFormat.extensions
        guard network.conventions == .torch, allowed.contains(where: { path.lowercased().hasSuffix($0) }) else {
            throw Failure.wrongFormat(file: path, framework: network.conventions, allowed: allowed)
        }
        return .torch
    }

    /// `modulePrefix`: PyTorch keys with `module.`, as the official `nn.DataParallel` file has them.
    /// `kerasLayerNames`: the Keras layer names of the file the run started from
    /// (`LoadedModel.kerasLayerNames`), kept by a Keras checkpoint.
    /// A network of another family than the Genesis U-Net is written in its own PyTorch layout
    /// (`NetworkCheckpoint`), its optimizer state keyed by position as PyTorch's.
    public static func write<Model: CheckpointableModel>(_ trainer: Model, run: RunState, to path: String, inputShape: [Int], modulePrefix: Bool = false,
                                                         kerasLayerNames: [String: String] = [:], annotations: [String: String] = [:]) throws {
        guard let arch = trainer.source as? Architecture else {
            _ = try format(for: path, network: trainer.source)
            let shapes = Dictionary(uniqueKeysWithValues: trainer.source.network.parameters.filter(\.trainable).map { ($0.name, $0.shape) })
            var notes = annotations
            notes[RunState.annotationKey] = try run.encoded()
            try NetworkCheckpoint.writeTorch(network: trainer.source, weights: trainer.weights, optimizer: trainer.optimizer.state(shapes: shapes),
                                             epoch: run.epoch, annotations: notes, to: path, modulePrefix: modulePrefix)
            return
        }
        let kind = try format(for: path, framework: trainer.framework)
        let shapes = Dictionary(uniqueKeysWithValues: arch.tensors.filter { $0.role.isTrainable }.map { ($0.name, $0.shape) })
            .merging(trainer.extraTrainableShapes) { a, _ in a }
        var p = ModelPayload(architecture: arch, weights: trainer.weights, optimizer: trainer.optimizer.state(shapes: shapes),
                             epoch: run.epoch, bnEpsilon: trainer.bnEpsilon, inputShape: inputShape)
        p.annotations = annotations
        p.kerasLayerNames = kerasLayerNames
        p.annotations[RunState.annotationKey] = try run.encoded()
        try ModelWriter.write(p, to: path, format: kind, options: WriteOptions(modulePrefix: modulePrefix))
    }

    /// The run a checkpoint holds: its weights, optimizer and progress.
    public static func resume(_ path: String) throws -> (loaded: LoadedModel, optimizer: Optimizer, run: RunState) {
        let loaded = try ModelLoader.load(path)
        guard let text = loaded.annotations[RunState.annotationKey] else {
            throw Failure.notAResumable(file: path, reason: "it records no training run (write checkpoints with genesis pretrain or finetune; use --init to start a new run from it)")
        }
        let run: RunState
        do { run = try RunState.decode(text) } catch {
            throw Failure.notAResumable(file: path, reason: "its \(RunState.annotationKey) record does not read: \(String(describing: error).prefix(200))")
        }
        guard let state = loaded.optimizer, let optimizer = Optimizer(state: state) else {
            throw Failure.notAResumable(file: path, reason: "it holds no optimizer state")
        }
        return (loaded, optimizer, run)
    }
}
