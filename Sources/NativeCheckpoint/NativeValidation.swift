import FormatNames
import Tensors

extension NativeCheckpoint {
    static let conventions = Set(FrameworkName.allCases.map(\.rawValue))
    /// `architecture.variant`: the Genesis U-Net's (`keras`, `torch`) or nnU-Net Genesis (`nnunet`,
    /// whose file has no variant of its own: PyTorch conventions).
    static let variants = conventions.union(["nnunet"])
    /// Per-parameter slots that hold their weight's shape (spec section 5.2).
    static let shapedSlots: Set<String> = ["momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum", "m", "v", "vhat"]
    /// Per-parameter counters: int64 0-d.
    static let counterSlots: Set<String> = ["step"]

    /// Checks the metadata values and the tensor names (spec sections 4 and 5); the checksum is
    /// checked by the reader.
    func validate(file: String) throws {
        func bad(_ field: String, _ reason: String) -> NativeCheckpointError { .badMetadata(file: file, field: field, reason: reason) }
        let m = metadata
        guard m.format == Self.formatName else { throw bad("format", "\"\(m.format)\", expected \"genesis\"") }
        guard Self.isSHA256(m.dataSHA256) else { throw bad("data_sha256", "\"\(m.dataSHA256)\" is not 64 lowercase hex digits") }

        let a = m.architecture
        guard Self.variants.contains(a.variant) else { throw bad("architecture.variant", "\"\(a.variant)\", expected \"keras\", \"torch\" or \"nnunet\"") }
        guard a.baseWidth >= 1 else { throw bad("architecture.base_width", "\(a.baseWidth), expected >= 1") }
        guard a.labels >= 1 else { throw bad("architecture.labels", "\(a.labels), expected >= 1") }
        guard a.inputShape.count == 4, a.inputShape.allSatisfy({ $0 >= 1 }) else {
            throw bad("architecture.input_shape", "\(a.inputShape), expected 4 positive integers [channels, rows, cols, depth]")
        }
        guard (try? Limits.byteCount(a.inputShape, .float32)) != nil else {
            throw bad("architecture.input_shape", "\(a.inputShape): one float32 input cube of that shape exceeds the \(Limits.maxTensorBytes >> 30) GiB tensor cap")
        }
        guard a.bnEpsilon.isFinite, a.bnEpsilon > 0 else { throw bad("architecture.bn_epsilon", "\(a.bnEpsilon), expected > 0") }
        guard a.bnMomentum >= 0, a.bnMomentum <= 1 else { throw bad("architecture.bn_momentum", "\(a.bnMomentum), expected in [0, 1]") }
        guard Self.conventions.contains(a.bnMomentumConvention) else {
            throw bad("architecture.bn_momentum_convention", "\"\(a.bnMomentumConvention)\", expected \"keras\" or \"torch\"")
        }

        let p = m.provenance
        if let s = p.sourceSHA256, !Self.isSHA256(s) { throw bad("provenance.source_sha256", "\"\(s)\" is not 64 lowercase hex digits") }
        if let s = p.sourceFile, s.contains("/") { throw bad("provenance.source_file", "\"\(s)\" must be a base name without directories") }

        if let t = m.training {
            if let e = t.epoch, e < 0 { throw bad("training.epoch", "\(e), expected >= 0") }
            if let s = t.step, s < 0 { throw bad("training.step", "\(s), expected >= 0") }
            if let o = t.optimizer {
                guard !o.kind.isEmpty else { throw bad("training.optimizer.kind", "must not be empty") }
                guard Self.conventions.contains(o.convention) else {
                    throw bad("training.optimizer.convention", "\"\(o.convention)\", expected \"keras\" or \"torch\"")
                }
            }
        }
        if !optimizerSlots.isEmpty, m.training?.optimizer == nil {
            throw bad("training.optimizer", "required when the file holds optimizer slots (\(optimizerSlots.names[0]), ...)")
        }
        try validateNames(file: file)
    }

    func validateNames(file: String) throws {
        func bad(_ name: String, _ reason: String) -> NativeCheckpointError { .badTensorName(file: file, tensor: name, reason: reason) }
        for name in weights.names {
            guard !name.isEmpty else { throw bad(name, "weight names must not be empty") }
            guard !name.contains("/") else { throw bad(name, "weight names must not contain '/' (optimizer slots start with \"optimizer/\")") }
        }
        for (name, t) in optimizerSlots.entries {
            let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.first == "optimizer", parts.count == 2 || parts.count == 3 else {
                throw bad(name, "optimizer slots are named optimizer/<weight>/<slot> or optimizer/<counter>")
            }
            let slot = parts[parts.count - 1]
            guard !slot.isEmpty, slot.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }) else {
                throw bad(name, "slot name \"\(slot)\" must be one or more of a-z, 0-9, _")
            }
            let isCounter = parts.count == 2 || Self.counterSlots.contains(slot)
            if isCounter {
                guard t.dtype == .int64, t.shape.isEmpty else {
                    throw bad(name, "counters are int64 0-d tensors, found \(t.dtype.safetensorsCode) \(t.shape)")
                }
            }
            guard parts.count == 3 else { continue }
            guard let w = weights[parts[1]] else { throw bad(name, "slot of \"\(parts[1])\", which is not a weight in this file") }
            if Self.shapedSlots.contains(slot), t.shape != w.shape {
                throw NativeCheckpointError.shapeMismatch(file: file, tensor: name, expected: w.shape, found: t.shape)
            }
        }
    }

    static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
