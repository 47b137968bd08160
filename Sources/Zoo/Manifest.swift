/// One model of the zoo, as its manifest `zoo/NAME.json` describes it (the JSON Schema is
/// `schemas/zoo-manifest.schema.json`; `ManifestDecoder` checks every field).
public struct Manifest: Sendable, Equatable {
    public static let schemaVersion = 1

    public var name: String
    public var description: String
    public var files: [ManifestFile]
    public var architecture: ModelArchitecture
    /// Without the batch axis, e.g. [1, 64, 64, 32]; `inputAxes` says what each axis is.
    public var inputShape: [Int]
    public var inputAxes: [String]
    /// Modality ("ct", "mri") -> how to bring a volume into the network's range.
    public var preprocessing: [String: Preprocessing]
    public var preprocessingNote: String?
    public var licence: Licence
    public var citation: Citation
    public var source: Source
    public var notes: [String]
}

/// One file of a model: fetched from `url`, or copied from `path` (relative to the manifest's
/// directory, for files shipped in the repository); `size` and `sha256` are checked either way.
/// A file whose authors publish no SHA-256 has `sha256` nil and `hashNote` saying so (and
/// `size` nil when no exact size is published either): its first fetch records what it found
/// (`ZooRecord`), and later fetches and `zoo verify` check against that record.
public struct ManifestFile: Sendable, Equatable {
    public var name: String
    public var url: String?
    public var path: String?
    public var size: Int64?
    public var sha256: String?
    /// Why there is no `sha256` (or `size`): what the hosting page publishes instead.
    public var hashNote: String?
    /// A `--format` value of genesis (keras-h5, pt, ...).
    public var format: String

    public init(name: String, url: String?, path: String?, size: Int64?, sha256: String?, hashNote: String? = nil, format: String) {
        self.name = name
        self.url = url
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.hashNote = hashNote
        self.format = format
    }

    /// Whether the manifest gives the file's SHA-256 (else a fetch records the one it finds).
    public var hashPublished: Bool { sha256 != nil }
}

public struct ModelArchitecture: Sendable, Equatable {
    /// A `NetworkFamilyName` for the networks genesis verifies ("models-genesis-unet3d",
    /// "nnunet-v1-generic-unet"), else what the file holds.
    public var family: String
    public var variant: String?
    public var baseFilters: Int?
    public var labels: Int?
    /// Whether `genesis verify` can check the file against this architecture.
    public var verifiable: Bool
    public var note: String?

    public static let genesisFamily = "models-genesis-unet3d"
}

public struct Preprocessing: Sendable, Equatable {
    public var clip: [Double]
    public var unit: String?
    public var scaleTo: [Double]
}

public struct Licence: Sendable, Equatable {
    /// What the page the file is downloaded from says (e.g. "apache-2.0").
    public var hostingPage: String
    /// What the code repository's LICENSE file says.
    public var codeRepository: String
    public var note: String
}

public struct Citation: Sendable, Equatable {
    public var text: String
    public var bibtex: [String]
    public var doi: [String]
}

public struct Source: Sendable, Equatable {
    public var hosting: String
    public var code: String?
    public var readme: String?
}

extension Manifest {
    /// The file of this model with that name, if any.
    public func file(named n: String) -> ManifestFile? { files.first { $0.name == n } }
}
