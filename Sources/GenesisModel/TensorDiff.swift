import Tensors

/// Tensor-by-tensor comparison of two canonical stores.
public struct TensorDiff: Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let shapeA: [Int]
        public let shapeB: [Int]
        public let dtypeA: DType
        public let dtypeB: DType
        /// Max |a - b| over elements (infinite when shapes differ or only one side is NaN).
        public let maxAbs: Double
        /// maxAbs / max |a| (the difference relative to the tensor's scale); 0 when both are 0.
        public let maxRel: Double
        /// Same dtype, shape and bytes.
        public let bitIdentical: Bool
    }

    public let entries: [Entry]
    /// Tensors only in A / only in B.
    public let onlyInA: [String]
    public let onlyInB: [String]
    /// Of those, tensors whose value the other side implies (identity up-convolution, zero
    /// bias) or that carry no weight (PyTorch's BN counters).
    public let implied: [String]

    public var maxAbs: Double { entries.map(\.maxAbs).max() ?? 0 }

    /// Tensors only in A / only in B that nothing explains (not implied): really missing.
    public var missingFromB: [String] { onlyInA.filter { !implied.contains($0) } }
    public var missingFromA: [String] { onlyInB.filter { !implied.contains($0) } }
    /// Implied tensors only in A (implied by B's variant) / only in B (implied by A's).
    public var impliedOnlyInA: [String] { onlyInA.filter { implied.contains($0) } }
    public var impliedOnlyInB: [String] { onlyInB.filter { implied.contains($0) } }
    /// Every compared tensor within tolerance (missing tensors aside).
    public func valuesWithin(_ tolerance: Double) -> Bool { entries.allSatisfy { $0.maxAbs <= tolerance } }

    /// Within tolerance: no missing or extra tensor (other than implied ones) and every
    /// max |a - b| <= tolerance.
    public func within(_ tolerance: Double) -> Bool {
        let unexplained = Set(onlyInA + onlyInB).subtracting(implied)
        return unexplained.isEmpty && entries.allSatisfy { $0.maxAbs <= tolerance }
    }

    public static func compare(_ a: TensorStore, _ b: TensorStore) -> TensorDiff {
        var entries: [Entry] = []
        for name in a.names {
            guard let tb = b[name] else { continue }
            entries.append(compare(name, a[name]!, tb))
        }
        let onlyA = a.names.filter { !b.contains($0) }
        let onlyB = b.names.filter { !a.contains($0) }
        var implied: [String] = []
        for (name, store) in onlyA.map({ ($0, a) }) + onlyB.map({ ($0, b) }) where isImplied(name, in: store) { implied.append(name) }
        return TensorDiff(entries: entries, onlyInA: onlyA, onlyInB: onlyB, implied: implied)
    }

    static func compare(_ name: String, _ a: Tensor, _ b: Tensor) -> Entry {
        guard a.shape == b.shape else {
            return Entry(name: name, shapeA: a.shape, shapeB: b.shape, dtypeA: a.dtype, dtypeB: b.dtype, maxAbs: .infinity, maxRel: .infinity, bitIdentical: false)
        }
        let identical = a.dtype == b.dtype && a.bytes.count == b.bytes.count && a.bytes.withUnsafeBytes { x in
            b.bytes.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
        if identical {
            return Entry(name: name, shapeA: a.shape, shapeB: b.shape, dtypeA: a.dtype, dtypeB: b.dtype, maxAbs: 0, maxRel: 0, bitIdentical: true)
        }
        let x = a.floats(), y = b.floats()
        var maxAbs = 0.0, scale = 0.0
        for i in 0..<x.count {
            let (u, v) = (Double(x[i]), Double(y[i]))
            if u.isNaN || v.isNaN {
                if u.isNaN != v.isNaN { maxAbs = .infinity }
                continue
            }
            if u == v { scale = max(scale, abs(u)); continue }  // equal infinities too
            maxAbs = max(maxAbs, abs(u - v))
            scale = max(scale, abs(u))
        }
        let rel = maxAbs == 0 ? 0 : (scale == 0 ? .infinity : maxAbs / scale)
        return Entry(name: name, shapeA: a.shape, shapeB: b.shape, dtypeA: a.dtype, dtypeB: b.dtype, maxAbs: maxAbs, maxRel: rel, bitIdentical: false)
    }

    /// Up-convolutions at identity and zero up biases are what the keras variant implies; BN
    /// counters are PyTorch bookkeeping with no effect on the network, absent from Keras.
    static func isImplied(_ name: String, in s: TensorStore) -> Bool {
        guard let t = s[name] else { return false }
        // The network's BN counters (not a sibling head's: `clc_out.bn1.num_batches_tracked`).
        if name.hasSuffix(".num_batches_tracked") { return Mapping.knownCanonicalNames.contains(name) }
        for module in Layout.upsamplerModules {
            if name == module + ".weight" { return VariantConversion.isIdentity(weight: t, bias: nil) }
            if name == module + ".bias" { return t.floats().allSatisfy { $0 == 0 } }
        }
        return false
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
