import GenesisModel
import HDF5
import KerasFormat
import Runtime3D
import Tensors
import TestSupport
import XCTest

/// SplitMix64: deterministic test values without Foundation's RNG.
struct SeededValues {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 24) * 2 - 1  // uniform in [-1, 1)
    }
    mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in next() * scale } }
}

func randomMap(_ shape: [Int], seed: UInt64) throws -> FeatureMap {
    var r = SeededValues(seed: seed)
    return try FeatureMap(shape: shape, data: r.array(shape.reduce(1, *)))
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var m: Float = 0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// A Keras fixture's weights in canonical names and layouts, and the architecture they fit
/// (base width from depth_0's filters, labels from the final convolution).
func kerasFixture(_ relative: String) throws -> (Architecture, TensorStore) {
    let file = try KerasReader.read(Fixtures.path(relative))
    let layers = file.weightedLayers.map {
        SourceLayer(name: $0.name, className: $0.className, weights: $0.weights.map { ($0.name, $0.tensor) })
    }
    let store = Mapping.fromKeras(layers, naming: .keras2).store
    let base = try XCTUnwrap(store["down_tr64.ops.0.conv1.weight"]).shape[0]
    let labels = try XCTUnwrap(store["out_tr.final_conv.weight"]).shape[0]
    return (Architecture(variant: .keras, baseFilters: base, labels: labels), store)
}

/// A seeded canonical store for any architecture: small weights, positive variances.
func seededStore(_ arch: Architecture, seed: UInt64) -> TensorStore {
    var r = SeededValues(seed: seed)
    var store = TensorStore()
    for spec in arch.tensors where spec.role != .bnCount {
        let n = spec.elementCount
        let values: [Float]
        switch spec.role {
        case .bnVariance: values = r.array(n).map { 0.5 + abs($0) }
        case .bnGamma: values = r.array(n).map { 1 + 0.2 * $0 }
        case .convWeight, .upWeight:
            let fanIn = spec.shape.dropFirst().reduce(1, *)
            values = r.array(n, scale: (3 / Float(fanIn)).squareRoot())
        default: values = r.array(n, scale: 0.1)
        }
        store[spec.name] = Tensor(shape: spec.shape, floats: values)
    }
    return store
}
