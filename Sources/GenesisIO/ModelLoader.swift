import GenesisModel
import HDF5Sandbox
import Tensors

/// A model file read and mapped onto the Genesis network.
public struct LoadedModel: Sendable {
    public let path: String
    public let format: FormatKind
    /// Human description of the container, e.g. "Keras 2 model save (keras 2.2.4, tensorflow)".
    public let formatDescription: String
    /// The tensors under the names of the network family they were recognised as (the Genesis
    /// U-Net's when none: what the format mapped).
    public let mapped: MappedTensors
    /// The Models Genesis 3D U-Net the tensors are, when they are one.
    public let detected: Detection.Result?
    /// The network the tensors are, of whichever family (`NetworkFamilies`): the Genesis U-Net
    /// of `detected`, else the first other family that recognises them; nil when none does.
    public let recognised: DetectedNetwork?
    /// The tensors as the file's format mapped them (onto the Genesis U-Net's names), which every
    /// family maps from (`mapped(as:)`).
    public let fileMapping: MappedTensors
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
    /// The program that wrote the file, when the file says (`genesis_writer`, `created_by`).
    public var writer: String?
    /// What a `.genesis` file records of its origin (nil for other formats).
    public var recorded: RecordedProvenance?
    /// A classification head the file carries beside the network (`ClassifierHead.names`,
    /// canonical PyTorch layout), complete and of shapes that fit the network; else empty.
    /// Its optimizer state, when the file has one, is in `optimizer` under the same names.
    public var head = TensorStore()
    /// A Models Genesis sibling's head (Semantic Genesis, TransVW, SuPreM: `SiblingNetworks`),
    /// when the file is one: `mapped` then holds the sibling's trunk alone.
    public var sibling: SiblingHead?
    /// Why the file is not a whole Genesis network when the reader can tell more than detection
    /// (a Keras classifier without the decoder Genesis keeps beside it).
    public var detectionNote: String?
    /// The file's `genesis_*` string entries (`GenesisWriter.annotationPrefix`), e.g. a training
    /// run's progress under `genesis_run`.
    public var annotations: [String: String] = [:]

    public init(path: String, format: FormatKind, formatDescription: String, mapped: MappedTensors, detected: Detection.Result?,
                kerasListing: KerasListing?, inputShape: [Int]?, optimizer: OptimizerState?, bnEpsilon: Float? = nil, epoch: Int? = nil,
                versions: [String: String] = [:], writer: String? = nil, recorded: RecordedProvenance? = nil) {
        self.path = path
        self.format = format
        self.formatDescription = formatDescription
        self.detected = detected
        fileMapping = mapped
        // The formats map every file onto the Genesis U-Net's names; a file that is not one is
        // offered to the other families, which map its tensors anew.
        if let d = detected {
            self.mapped = mapped
            recognised = DetectedNetwork(architecture: d.architecture, evidence: d.evidence)
        } else if let (m, match) = NetworkFamilies.recognise(mapped), let a = match.architecture {
            self.mapped = m
            recognised = DetectedNetwork(architecture: a, evidence: match.evidence)
        } else {
            self.mapped = mapped
            recognised = nil
        }
        self.kerasListing = kerasListing
        self.inputShape = inputShape
        self.optimizer = optimizer
        self.bnEpsilon = bnEpsilon
        self.epoch = epoch
        self.versions = versions
        self.writer = writer
        self.recorded = recorded
    }

    /// BatchNorm epsilon to run this model with: recorded, else the variant's framework default.
    public var effectiveBNEpsilon: Float? { bnEpsilon ?? detected?.architecture.variant.defaultBNEpsilon }

    /// The Models Genesis U-Net the tensors are, else an error naming the file: `otherNetwork`
    /// when they are a network of another family (which the caller does not take), else
    /// `notGenesis` with why they are no network genesis knows.
    public func architecture() throws -> Architecture {
        guard let d = detected else {
            if let r = recognised { throw GenesisIOError.otherNetwork(file: path, network: r.architecture.description) }
            throw notRecognised()
        }
        return d.architecture
    }

    /// The tensors under `family`'s names: `mapped` for the family they were recognised as, else
    /// as that family maps the file (nil when the file's naming is not one its files use).
    public func mapped(as family: NetworkFamilyName) -> MappedTensors? {
        if family == (recognised?.architecture.family ?? .modelsGenesisUNet3D) { return mapped }
        return NetworkFamilies.family(family).map(fileMapping)
    }

    /// The network the tensors are, of any family, else a `notGenesis` error naming the file.
    public func networkArchitecture() throws -> any NetworkArchitecture {
        guard let r = recognised else { throw notRecognised() }
        return r.architecture
    }

    private func notRecognised() -> GenesisIOError {
        .notGenesis(file: path, reason: [detectionNote, NetworkFamilies.verdict(mapped)].compactMap { $0 }.joined(separator: "; "))
    }
}

/// What a `.genesis` file records about where its weights came from (schema sections 4.1-4.3).
public struct RecordedProvenance: Sendable, Equatable {
    public var sourceFile: String?
    public var sourceSHA256: String?
    public var sourceFormat: String?
    public var sourceFormatVersion: String?
    public var conversion: [String]
    public var createdBy: String?
    public var bnEpsilon: Double
    public var bnMomentum: Double
    public var bnMomentumConvention: String
    public var epoch: Int?
    public var step: Int?
    /// SHA-256 of the tensor data, as the file records it.
    public var dataSHA256: String
}

public enum ModelLoader {
    /// Picks the format: the file's first bytes decide the container; the extension (or
    /// `override`) decides between formats that share one (FormatRegistry).
    public static func resolveFormat(_ path: String, override: FormatKind? = nil) throws -> FormatKind {
        if MonaiBundleBridge.isDirectory(path) {
            guard MonaiBundleBridge.isBundle(path) else {
                throw GenesisIOError.unknownFormat(file: path, reason: "a directory that is not a MONAI bundle (no \(MonaiBundleBridge.metadataPath) and \(MonaiBundleBridge.modelPath))")
            }
            if let asked = override, asked != .monaiBundle {
                throw GenesisIOError.formatMismatch(file: path, asked: asked.rawValue, found: FormatKind.Container.directory.description)
            }
            return .monaiBundle
        }
        let prefix = try FileIO.readPrefix(path, count: 16)
        let container = FormatKind.sniff(prefix)
        guard container != .unknown, let fallback = FormatRegistry.defaultFormat(for: container) else {
            let size = (try? FileIO.size(of: path)) ?? 0
            throw GenesisIOError.unknownFormat(file: path, reason: size == 0 ? "the file is empty" : "its first bytes match no supported format (\(FormatKind.Container.supportedList))")
        }
        guard let asked = override ?? FormatKind.fromExtension(path) else { return fallback }
        guard FormatRegistry.bridge(asked).containers.contains(container) else {
            throw GenesisIOError.formatMismatch(file: path, asked: asked.rawValue, found: container.description)
        }
        return asked
    }

    /// Reads any supported file and maps its tensors onto the network.
    /// `verifyChecksums: false` is for read-backs that compare every tensor byte with what was
    /// just written (stronger than the container's CRC-32 or SHA-256, which it skips).
    /// `hdf5`: where libhdf5 reads an HDF5 file; by default in a sandboxed child process
    /// (`HDF5Isolation.standard`), in this process only for a named reason.
    public static func load(_ path: String, format: FormatKind? = nil, verifyChecksums: Bool = true,
                            hdf5: HDF5Isolation = .standard) throws -> LoadedModel {
        let kind = try resolveFormat(path, override: format)
        return try FormatRegistry.bridge(kind).load(path, verifyChecksums: verifyChecksums, hdf5: hdf5)
    }
}
