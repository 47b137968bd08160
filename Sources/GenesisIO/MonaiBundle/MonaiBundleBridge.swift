import Foundation
import GenesisModel
import Tensors
import TorchFormat

/// MONAI bundles (a directory, `--format monai-bundle`) <-> payloads. Written: `configs/`
/// (metadata.json, inference.json: `MonaiBundleSpec`), `scripts/genesis_unet.py` (the network
/// module), `models/model.pt` (its state dict, bare, as MONAI's CheckpointLoader loads it with
/// strict=True), `docs/README.md` and `LICENSE` (the text the caller gives: `WriteOptions.licence`;
/// a bundle is never written without one). Read: `models/model.pt` through the PyTorch bridge,
/// with the BatchNorm epsilon and provenance `configs/metadata.json` records. The Genesis U-Net
/// only, in the PyTorch layout (a Keras source gains its exact identity up-convolutions).
struct MonaiBundleBridge: FormatBridge {
    var kind: FormatKind { .monaiBundle }
    var extensions: [String] { kind.extensions }
    var containers: [FormatKind.Container] { [.directory] }
    var summary: String { "MONAI bundle directory (configs, scripts/genesis_unet.py, models/model.pt; the Genesis U-Net, --license)" }
    func variant(for source: Variant) -> Variant { .torch }
    func carriesOptimizer(_ options: WriteOptions) -> Bool { false }

    static let modelPath = "models/model.pt"
    static let metadataPath = "configs/metadata.json"
    /// metadata.json is a few kilobytes; anything far larger is not one.
    static let maxMetadataBytes = 1 << 20

    /// Whether `path` is a directory (or a link to one): only a bundle may be.
    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    /// Whether a directory holds a bundle's two files.
    static func isBundle(_ dir: String) -> Bool {
        var st = stat()
        return lstat(dir + "/" + metadataPath, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
            && lstat(dir + "/" + modelPath, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    func load(_ path: String, verifyChecksums: Bool) throws -> LoadedModel {
        let meta = try Self.metadata(path)
        let inner = try TorchBridge().load(path + "/" + Self.modelPath, verifyChecksums: verifyChecksums)
        let genesis = meta["genesis"] as? [String: Any] ?? [:]
        var description = "MONAI bundle"
        if let v = meta["version"] as? String { description += " \(v)" }
        if let m = meta["monai_version"] as? String { description += " (monai \(m))" }
        description += "; \(Self.modelPath): \(inner.formatDescription)"
        if let mode = genesis["bn_mode"] as? String { description += "; BatchNorm \(mode)" }
        var versions = inner.versions
        for (k, v) in genesis { if let s = v as? String { versions["bundle_" + k] = s } else if let n = v as? NSNumber { versions["bundle_" + k] = n.stringValue } }
        for k in ["version", "monai_version", "pytorch_version", "numpy_version"] { if let s = meta[k] as? String { versions["bundle_" + k] = s } }
        var loaded = LoadedModel(path: path, format: .monaiBundle, formatDescription: description, mapped: inner.fileMapping, detected: inner.detected,
                                 kerasListing: nil, inputShape: nil, optimizer: nil,
                                 bnEpsilon: (genesis["bn_epsilon"] as? NSNumber).map { Float($0.doubleValue) }, versions: versions,
                                 writer: genesis["writer"] as? String ?? inner.writer)
        loaded.head = inner.head
        loaded.annotations = inner.annotations
        return loaded
    }

    /// `configs/metadata.json`, capped before it is parsed; one error naming the file otherwise.
    static func metadata(_ dir: String) throws -> [String: Any] {
        let p = dir + "/" + metadataPath
        let bytes: [UInt8]
        do { bytes = try FileIO.read(p, cap: maxMetadataBytes) } catch { throw GenesisIOError.notGenesis(file: dir, reason: "\(metadataPath): \(error)") }
        guard let o = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw GenesisIOError.notGenesis(file: dir, reason: "\(metadataPath) is not a JSON object (a MONAI bundle's metadata)")
        }
        return o
    }

    func write(_ p: ModelPayload, to path: String, options: WriteOptions) throws {
        guard let licence = options.licence, !licence.isEmpty else {
            throw GenesisIOError.cannotWrite(file: path, reason: "a MONAI bundle needs the weights' licence (LICENSE); give --license FILE (genesis does not guess one)")
        }
        if ClassifierHead.classes(in: p.weights, baseFilters: p.architecture.baseFilters) != nil {
            throw GenesisIOError.cannotWrite(file: path, reason: "a MONAI bundle holds the Genesis U-Net; this model carries a classification head (convert it to .pt or .onnx instead)")
        }
        let expected = Set(p.architecture.tensors.map(\.name))
        if let extra = p.weights.names.first(where: { !expected.contains($0) }) {
            throw GenesisIOError.cannotWrite(file: path, reason: "a MONAI bundle holds the Genesis U-Net alone; this model also has \(extra) (a head: add --trunk-only)")
        }
        let trainedIn = p.annotations[Converter.sourceFormatKey]
        let keras = trainedIn.flatMap { FormatKind(rawValue: $0)?.framework } == .keras
        let bn = options.onnxBatchNorm ?? (keras ? .inference : .batch)
        let spec = MonaiBundleSpec(labels: p.architecture.labels, baseFilters: p.architecture.baseFilters, batchStatistics: bn == .batch,
                                   bnEpsilon: p.bnEpsilonDecimal, sourceFile: p.provenance.map { URL(fileURLWithPath: $0.sourceFile).lastPathComponent },
                                   sourceSHA256: p.provenance?.sourceSHA256, sourceFormat: p.provenance?.sourceFormat, trainedIn: trainedIn)
        do {
            for d in ["", "/configs", "/models", "/scripts", "/docs"] {
                guard mkdir(path + d, 0o755) == 0 else { throw GenesisIOError.cannotWrite(file: path + d, reason: String(cString: strerror(errno))) }
            }
            try Self.writeJSON(spec.metadata(bundleVersion: GenesisWriter.version), to: path + "/" + Self.metadataPath)
            try Self.writeJSON(spec.inference, to: path + "/configs/inference.json")
            try Self.writeText(MonaiBundleNetworkModule.source, to: path + "/scripts/" + MonaiBundleNetworkModule.fileName)
            try Self.writeText("", to: path + "/scripts/__init__.py")
            try Self.writeText(spec.readme(licenceSummary: options.licenceSummary ?? "The weights' licence is in `LICENSE`."), to: path + "/docs/README.md")
            try Self.writeText(licence.hasSuffix("\n") ? licence : licence + "\n", to: path + "/LICENSE")
            let checkpoint = TorchCheckpoint(epoch: nil, stateDict: p.weights, optimizer: nil, format: .zip, otherKeys: [], stateDictKey: nil, extras: [])
            try TorchWriter.write(checkpoint, to: path + "/" + Self.modelPath, modulePrefix: false)
        } catch let e as GenesisIOError {
            throw e
        } catch {
            throw GenesisIOError.cannotWrite(file: path, reason: "\(error)")
        }
    }

    static func writeJSON(_ object: [String: Any], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try FileIO.write(Array(data) + [0x0A], to: path)
    }

    static func writeText(_ text: String, to path: String) throws {
        try FileIO.write(Array(text.utf8), to: path)
    }
}

extension ModelLoader {
    /// The file whose bytes identify a model (its SHA-256, its zoo match): the file itself, or a
    /// MONAI bundle's `models/model.pt`.
    public static func identifyingFile(_ path: String) -> String {
        MonaiBundleBridge.isDirectory(path) && MonaiBundleBridge.isBundle(path) ? path + "/" + MonaiBundleBridge.modelPath : path
    }
}
