import Tensors

/// Moving weights between the keras and torch variants (schemas/genesis-architecture.md, "Variant conversion"):
/// keras -> torch adds identity up-convolutions (exact: an identity ConvTranspose3d with zero
/// bias is nearest upsampling); torch -> keras drops them, exact only when they are that identity.
public enum VariantConversion {
    public struct Result: Sendable {
        public let store: TensorStore
        public let architecture: Architecture
        /// What was done, in words, for reports and provenance.
        public let notes: [String]
        /// Up-convolutions that were not the identity and were dropped (lossy).
        public let droppedNonIdentity: [String]
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case lossy(tensors: [String])
        /// An nnU-Net v2 file whose transposed or segmentation convolutions have a nonzero bias,
        /// which nnU-Net v1's Generic_UNet (and so genesis's nnU-Net Genesis network) lacks.
        case nonzeroV2Biases(tensors: [String])
        public var description: String {
            switch self {
            case let .nonzeroV2Biases(t):
                return "\(t.count) v2-only bias\(t.count == 1 ? " is" : "es are") nonzero (\(t.prefix(3).joined(separator: ", "))\(t.count > 3 ? ", ..." : "")): nnU-Net v1's Generic_UNet has no such bias, so the network cannot be held exactly; pass --allow-lossy to drop them"
            case let .lossy(t):
                return "the up-convolutions \(t.joined(separator: ", ")) are not the identity: the keras variant (UpSampling3D) cannot hold them exactly; pass --allow-lossy to drop them and measure the deviation"
            }
        }
    }

    /// Whether an up-convolution is exactly nearest upsampling.
    public static func isIdentity(weight: Tensor, bias: Tensor?) -> Bool {
        guard weight.rank == 5, weight.shape[0] == weight.shape[1], weight.shape[2...] == [2, 2, 2] else { return false }
        guard weight.asFloat32() == Initialization.identityUpsampler(channels: weight.shape[0]) else { return false }
        return bias.map { $0.floats().allSatisfy { $0 == 0 } } ?? true
    }

    public static func convert(_ store: TensorStore, from arch: Architecture, to variant: Variant, allowLossy: Bool = false) throws -> Result {
        let target = Architecture(variant: variant, baseFilters: arch.baseFilters, labels: arch.labels)
        if variant == arch.variant { return Result(store: store, architecture: arch, notes: [], droppedNonIdentity: []) }
        var out = TensorStore()
        out.metadata = store.metadata
        var notes: [String] = []
        var dropped: [String] = []
        if variant == .torch {
            for spec in target.tensors {
                if let t = store[spec.name] { out[spec.name] = t; continue }
                switch spec.role {
                case .upWeight: out[spec.name] = Initialization.identityUpsampler(channels: spec.shape[0])
                case .upBias: out[spec.name] = Tensor(shape: spec.shape, floats: [Float](repeating: 0, count: spec.elementCount))
                case .bnCount: out[spec.name] = Tensor(scalarInt64: 0)
                default: continue  // missing in the source too: verification reports it
                }
            }
            notes.append("added the three up-convolutions as identity upsamplers with zero bias (exactly the keras variant's nearest upsampling)")
            notes.append("added num_batches_tracked = 0 to every BatchNorm")
        } else {
            for module in Layout.upsamplerModules {
                guard let w = store[module + ".weight"] else { continue }
                if !isIdentity(weight: w, bias: store[module + ".bias"]) { dropped.append(module) }
            }
            if !dropped.isEmpty && !allowLossy { throw Failure.lossy(tensors: dropped) }
            let keep = Set(target.tensors.map(\.name))
            for (n, t) in store.entries where keep.contains(n) { out[n] = t }
            notes.append(dropped.isEmpty
                ? "dropped the three up-convolutions: each was the identity, so UpSampling3D is exact"
                : "dropped non-identity up-convolutions \(dropped.joined(separator: ", ")) (lossy, --allow-lossy)")
            notes.append("dropped num_batches_tracked (Keras BatchNormalization has no counter)")
        }
        return Result(store: out, architecture: target, notes: notes, droppedNonIdentity: dropped)
    }

    /// The BatchNorm epsilon note: the stored tensors do not change, the framework default does.
    public static func epsilonNote(from: Variant, to: Variant) -> String? {
        guard from != to else { return nil }
        return "BatchNorm epsilon is not part of the weights: the \(from.rawValue) variant's framework uses \(from.defaultBNEpsilon), the \(to.rawValue) variant's \(to.defaultBNEpsilon); tensors are unchanged, so set eps=\(from.defaultBNEpsilon) in the target framework to reproduce the source exactly (.genesis files record it)"
    }
}
