import GenesisModel
import HDF5Sandbox

/// One file format, end to end: how a file asks for it (extensions), what its first bytes show
/// (containers), how it reads into canonical tensors, how it is described, and how a payload is
/// written in it. Every `FormatKind` has exactly one bridge, listed in `FormatRegistry.all`;
/// the loader, the writer, `--format` and the help text read that table and nothing else.
public protocol FormatBridge: Sendable {
    var kind: FormatKind { get }
    /// Lower-case endings of file names that ask for this format (`.h5`); across all bridges the
    /// longest matching ending wins (`.weights.h5` over `.h5`).
    var extensions: [String] { get }
    /// The containers its files' first bytes may show.
    var containers: [FormatKind.Container] { get }
    /// One line for help text, e.g. "Keras 2 HDF5 (model.save, save_weights)".
    var summary: String { get }
    /// Whether `write` can write this format.
    var canWrite: Bool { get }
    /// Reads a file (its container already checked) and maps it onto the network.
    func load(_ path: String, verifyChecksums: Bool) throws -> LoadedModel
    /// The same, with libhdf5 where `hdf5` says (formats that are not HDF5 ignore it).
    func load(_ path: String, verifyChecksums: Bool, hdf5: HDF5Isolation) throws -> LoadedModel
    /// Writes a payload whose architecture is already `variant(for:)` of the source's.
    func write(_ payload: ModelPayload, to path: String, options: WriteOptions) throws
    /// The variant this format stores, given the source's.
    func variant(for source: Variant) -> Variant
    /// Whether a write with these options stores optimizer state.
    func carriesOptimizer(_ options: WriteOptions) -> Bool
    /// The convention written optimizer state must follow (nil: the source's is kept).
    var optimizerConvention: OptimizerState.Convention? { get }
}

extension FormatBridge {
    public func load(_ path: String, verifyChecksums: Bool, hdf5: HDF5Isolation) throws -> LoadedModel {
        try load(path, verifyChecksums: verifyChecksums)
    }
    public var canWrite: Bool { true }
    public func variant(for source: Variant) -> Variant { source }
    public var optimizerConvention: OptimizerState.Convention? { nil }
}

/// Who wrote a file: recorded by every writer (Keras root attribute `genesis_writer`,
/// safetensors metadata `genesis_writer`, PyTorch top-level key `genesis_writer`, `.genesis`
/// provenance `created_by`) and shown by `inspect`.
public enum GenesisWriter {
    /// The release version: equal to the repository's VERSION file, the one place it is set
    /// (BuildInfoTests keep them equal; the Makefile and scripts/dist.sh read VERSION).
    public static let version = "0.1.0"
    public static let name = "genesis \(version)"
    /// The key or attribute name used in Keras, PyTorch and safetensors files.
    public static let key = "genesis_writer"
    /// Other string entries named `genesis_*` are annotations (e.g. `genesis_run`, a training
    /// run's progress): kept by every format, as Keras root attributes, PyTorch top-level string
    /// keys, safetensors metadata and the `.genesis` metadata's `annotations`.
    public static let annotationPrefix = "genesis_"

    /// The `genesis_*` entries of a file's string entries, the writer's own left out.
    static func annotations(_ entries: [(String, String)]) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in entries where k.hasPrefix(annotationPrefix) && k != key { out[k] = v }
        return out
    }
}
