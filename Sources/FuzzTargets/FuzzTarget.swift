import Foundation
@_spi(Fuzzing) import KerasFormat
import NativeCheckpoint
import ONNXFormat
import SafeTensors
@_spi(Fuzzing) import TorchFormat
import VolumeIO

/// One parser the project owns, fed arbitrary bytes. A run either accepts the input or refuses
/// it with the error type of the parser's own module; anything else (a trap, a foreign error
/// type) is a defect, and `check` turns a foreign error into a trap so that the fuzzer keeps it.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The pickle machine and the checkpoint interpreter on a `data.pkl` (storages zero-filled).
    case pickle
    /// `TorchReader.read` on a whole file: the zip index (ZIPFoundation's central directory,
    /// our entry checks), or the legacy format's five pickles and raw storages.
    case zip
    /// `SafeTensors.read(bytes:)`: the 8-byte length, the strict JSON header, the offsets.
    case safetensors
    /// The native metadata document (`__metadata__["genesis"]`) inside an otherwise valid
    /// `.genesis` file with no tensors.
    case native
    /// `NPY.decode`: the magic, the header dict literal, the data size.
    case npy
    /// The Keras `model_config` / `training_config` JSON parser.
    case kerasConfig = "keras-config"
    /// `VolumeFile.read` on a `.mha`: the MetaImage header parser, then the data after it (raw
    /// or zlib), at most `maxMetaImageVoxels` voxels.
    case metaimage
    /// `ONNXModel.decode`: the wire walk with its caps, protobuf decoding, the model's checks.
    case onnx
    /// `DataPickle.load`: the pickle machine's data profile (nnU-Net v1 plans `.pkl`: numpy
    /// arrays, scalars and dtypes, OrderedDict; every other global refused).
    case dataPickle = "data-pickle"

    /// The voxel cap of the MetaImage target (the readers' own default is 2^30).
    public static let maxMetaImageVoxels = 1 << 20

    /// What a run did with an input.
    public enum Outcome: Equatable, Sendable {
        case accepted
        /// Refused with the module's own error; its one-line description.
        case refused(String)
        /// Refused with an error of another type: a defect (the module leaked a foreign error).
        case foreignError(String)
    }

    /// Runs the parser on `data`. A trap inside the parser is not caught: it is the crash.
    public func run(_ data: [UInt8], scratch: ScratchFile) -> Outcome {
        do {
            switch self {
            case .pickle: _ = try TorchFuzzing.readPickle(data)
            case .zip: _ = try TorchReader.read(try scratch.write(data, name: "input.pt"))
            case .safetensors: _ = try SafeTensors.read(bytes: data, file: "<fuzz>")
            case .native: _ = try NativeCheckpoint.read(bytes: NativeEnvelope.wrap(data), file: "<fuzz>")
            case .npy: _ = try NPY.decode(data, file: "<fuzz>")
            case .kerasConfig: try KerasFuzzing.parseConfigs(String(decoding: data, as: UTF8.self))
            case .metaimage: _ = try VolumeFile.read(try scratch.write(data, name: "input.mha"), maxVoxels: Self.maxMetaImageVoxels)
            case .onnx: _ = try ONNXModel.decode(data, file: "<fuzz>")
            case .dataPickle: _ = try DataPickle.load(data, file: "<fuzz>")
            }
            return .accepted
        } catch let e as ScratchFile.Failure {
            fatalError("fuzz scratch file: \(e)")  // the harness, not the parser: stop loudly
        } catch {
            return isOwn(error) ? .refused(String(describing: error)) : .foreignError("\(type(of: error)): \(error)")
        }
    }

    /// Whether `error` is the parser module's own error type (the house rule: one per module).
    func isOwn(_ error: Error) -> Bool {
        switch self {
        case .pickle, .zip, .dataPickle: return error is TorchError
        case .safetensors: return error is SafeTensorsError
        case .native: return error is NativeCheckpointError
        case .npy, .metaimage: return error is VolumeError
        case .kerasConfig: return error is KerasError
        case .onnx: return error is ONNXError
        }
    }

    /// `run`, with a foreign error turned into a trap (what the fuzzer calls).
    public func check(_ data: [UInt8], scratch: ScratchFile) {
        if case let .foreignError(text) = run(data, scratch: scratch) {
            fatalError("\(rawValue): a foreign error escaped the parser: \(text)")
        }
    }

    /// Whether the target reads through a scratch file (the others work on the bytes).
    public var needsScratchFile: Bool { self == .zip || self == .metaimage }
}
