import GenesisModel
import KerasFormat
import Tensors

/// A model file read and mapped onto the Genesis network.
public struct LoadedModel: Sendable {
    public let path: String
    public let format: FormatKind
    /// Human description of the container, e.g. "Keras 2 model save (keras 2.2.4, tensorflow)".
    public let formatDescription: String
    public let mapped: MappedTensors
    public let detected: Detection.Result?
    /// What a Keras file lists (layers, weights, optimizer entries in saved order), for Keras
    /// files; the Keras-layout tensors themselves are not kept.
    public let kerasListing: KerasListing?
    /// Input shape without batch (C, D, H, W) when the file records it.
    public let inputShape: [Int]?
    /// Optimizer state mapped onto canonical parameters, when the file has it and it maps.
    public let optimizer: OptimizerState?
    /// BatchNorm epsilon recorded in the file (native checkpoints), else nil (framework default).
    public var bnEpsilon: Float?
    /// Training epoch recorded in the file.
    public var epoch: Int?
    /// Versions and details for `inspect`.
    public var versions: [String: String] = [:]

    public init(path: String, format: FormatKind, formatDescription: String, mapped: MappedTensors, detected: Detection.Result?,
                kerasListing: KerasListing?, inputShape: [Int]?, optimizer: OptimizerState?, bnEpsilon: Float? = nil, epoch: Int? = nil,
                versions: [String: String] = [:]) {
        self.path = path
        self.format = format
        self.formatDescription = formatDescription
        self.mapped = mapped
        self.detected = detected
        self.kerasListing = kerasListing
        self.inputShape = inputShape
        self.optimizer = optimizer
        self.bnEpsilon = bnEpsilon
        self.epoch = epoch
        self.versions = versions
    }

    /// BatchNorm epsilon to run this model with: recorded, else the variant's framework default.
    public var effectiveBNEpsilon: Float? { bnEpsilon ?? detected?.architecture.variant.defaultBNEpsilon }

    /// Detected architecture or a `notGenesis` error naming the file.
    public func architecture() throws -> Architecture {
        guard let d = detected else {
            throw GenesisIOError.notGenesis(file: path, reason: Detection.analyze(mapped).verdict)
        }
        return d.architecture
    }
}

public enum ModelLoader {
    /// Picks the format: the file's first bytes decide the container; the extension (or
    /// `override`) decides between formats that share one.
    public static func resolveFormat(_ path: String, override: FormatKind? = nil) throws -> FormatKind {
        let prefix = try FileIO.readPrefix(path, count: 16)
        let container = FormatKind.sniff(prefix)
        let byName = override ?? FormatKind.fromExtension(path)
        switch container {
        case .hdf5:
            if let f = byName, f != .kerasH5, f != .keras3Weights {
                throw GenesisIOError.formatMismatch(file: path, asked: f.rawValue, found: "HDF5")
            }
            return byName ?? .kerasH5
        case .zip:
            if let f = byName, f != .keras3Zip, f != .torch {
                throw GenesisIOError.formatMismatch(file: path, asked: f.rawValue, found: "a zip archive")
            }
            return byName ?? .torch
        case .torchLegacy:
            if let f = byName, f != .torch { throw GenesisIOError.formatMismatch(file: path, asked: f.rawValue, found: "a legacy PyTorch pickle") }
            return .torch
        case .safetensors:
            if let f = byName, f != .safetensors, f != .native {
                throw GenesisIOError.formatMismatch(file: path, asked: f.rawValue, found: "safetensors")
            }
            return byName ?? .safetensors
        case .unknown:
            let size = (try? FileIO.size(of: path)) ?? 0
            throw GenesisIOError.unknownFormat(file: path, reason: size == 0 ? "the file is empty" : "its first bytes match no supported format (HDF5, zip, PyTorch pickle, safetensors)")
        }
    }

    /// Reads any supported file and maps its tensors onto the network.
    /// `verifyChecksums: false` is for read-backs that compare every tensor byte with what was
    /// just written (stronger than the container's CRC-32 or SHA-256, which it skips).
    public static func load(_ path: String, format: FormatKind? = nil, verifyChecksums: Bool = true) throws -> LoadedModel {
        let kind = try resolveFormat(path, override: format)
        switch kind {
        case .kerasH5, .keras3Weights, .keras3Zip:
            let k = try KerasReader.read(path)
            let mapped = KerasBridge.mapped(k)
            var input: [Int]?
            // The recorded input (batch axis dropped) when it is a usable cube shape: 4 positive
            // sides whose float32 cube fits the tensor cap; anything else is treated as absent.
            if let recorded = k.config?.inputShape, recorded.count == 4, case let s = recorded.compactMap({ $0 }), s.count == 4,
               s.allSatisfy({ $0 >= 1 }),
               (try? Limits.byteCount(s, .float32)) != nil {
                input = s
            }
            let detected = Detection.detect(mapped)
            var optimizer: OptimizerState?
            if let arch = detected?.architecture {
                let trainable = arch.tensors.filter { $0.role.isTrainable }
                optimizer = KerasOptimizerBridge.state(k, trainable: trainable.map(\.name),
                                                       shapes: Dictionary(uniqueKeysWithValues: trainable.map { ($0.name, $0.shape) }))
            }
            return LoadedModel(path: path, format: kind, formatDescription: describe(k), mapped: mapped,
                               detected: detected, kerasListing: KerasListing(k), inputShape: input, optimizer: optimizer)
        case .native:
            return try NativeBridge.load(path, verifyChecksum: verifyChecksums)
        case .safetensors:
            return try SafeTensorsBridge.load(path, verifyChecksum: verifyChecksums)
        case .torch:
            return try TorchBridge.load(path, verifyChecksums: verifyChecksums)
        }
    }

    static func describe(_ k: KerasModelFile) -> String {
        let what: String
        switch k.layout {
        case .fullSave: what = "Keras 2 HDF5 model save"
        case .weightsOnly: what = "Keras 2 HDF5 weights (save_weights)"
        case .keras3Weights: what = "Keras 3 .weights.h5"
        case .keras3Archive: what = "Keras 3 .keras archive"
        }
        let details = [k.kerasVersion.map { "keras \($0)" }, k.backend].compactMap { $0 }
        return details.isEmpty ? what : "\(what) (\(details.joined(separator: ", ")))"
    }
}
