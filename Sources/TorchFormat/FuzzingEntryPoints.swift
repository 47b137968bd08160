import Tensors

/// The pickle machine on bytes, for the fuzz targets (Sources/FuzzTargets): `TorchReader` only
/// reaches it through a zip or a legacy file, which costs the fuzzer most of its executions.
@_spi(Fuzzing) public enum TorchFuzzing {
    /// Largest zero-filled storage handed to the interpreter (a fuzzed pickle may name any size).
    public static let maxStorageBytes = 1 << 20

    /// Runs `pickle` as a zip checkpoint's `data.pkl` and interprets the result as
    /// `TorchReader.read` does, every storage it names zero-filled.
    public static func readPickle(_ pickle: [UInt8], file: String = "<fuzz>") throws -> TorchCheckpoint {
        let registry = StorageRegistry(file: file, legacy: false)
        var vm = PickleVM(file: file, data: pickle)
        vm.persistentLoad = registry.load
        let root = try vm.run()
        return try Interpreter(file: file, storages: ZeroStorages(file: file)).checkpoint(root, format: .zip)
    }
}

/// Storages of the right size, all zeros, capped at `TorchFuzzing.maxStorageBytes`.
private final class ZeroStorages: StorageSource {
    let file: String

    init(file: String) { self.file = file }

    func bytes(_ ref: StorageRef) throws -> [UInt8] {
        let (n, overflow) = ref.numel.multipliedReportingOverflow(by: ref.dtype.byteSize)
        guard !overflow, n <= TorchFuzzing.maxStorageBytes else {
            throw TorchError.limitExceeded(file: file, what: "zero-filled storage \(ref.key) (fuzzing)", limit: TorchFuzzing.maxStorageBytes,
                                           found: overflow ? Int.max : n)
        }
        return [UInt8](repeating: 0, count: n)
    }
}
