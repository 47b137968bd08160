import GenesisModel
import Runtime3D
import Tensors
import XCTest

/// The classification model's forward (by hand: pooling and the head) and backward (central
/// differences of its own loss along seeded unit directions, evaluated in Double from float32
/// forwards; h = 1e-3, tolerance 2% of the directional derivative + 1e-4) for the head and the
/// encoder's last block. Deeper blocks run the ops whose backward Runtime3D checks against a
/// float64 network; at base 1 on 16^3 cubes their loss is too kinked (max-pool and ReLU
/// decisions flip within h) for float32 differences to mean anything there.
final class EncoderClassifierTests: XCTestCase {
    let arch = Architecture(variant: .keras, baseFilters: 1, labels: 1)

    func model(classes: Int, store: TensorStore) throws -> EncoderClassifier {
        try EncoderClassifier(network: GenesisNetwork(architecture: arch, weights: store, bnEpsilon: 1e-3, algorithm: .im2col), weights: store)
    }

    func storeWithHead(classes: Int, seed: UInt64) -> TensorStore {
        var s = seededStore(arch, seed: seed)
        var r = SeededValues(seed: seed + 1)
        for (name, shape) in EncoderClassifier.headShapes(baseFilters: 1, classes: classes).sorted(by: { $0.key < $1.key }) {
            s[name] = Tensor(shape: shape, floats: r.array(shape.reduce(1, *), scale: 0.3))
        }
        return s
    }

    func testPoolingAndDenseByHand() throws {
        // Two channels of 2 voxels: means 2 and -1.
        let x = try FeatureMap(shape: [1, 2, 1, 1, 2], data: [1, 3, -2, 0])
        XCTAssertEqual(GlobalAveragePool.forward(x), [2, -1])
        let g = try GlobalAveragePool.backward([4, -2], shape: x.shape)
        XCTAssertEqual(g.data, [2, 2, -1, -1])
        // y = W x + b with W = [[1, 2], [0, -1]], b = [0.5, 0]: x = (2, -1) -> (0.5, 1).
        let d = try Dense(weight: [1, 2, 0, -1], bias: [0.5, 0], inFeatures: 2, outFeatures: 2)
        XCTAssertEqual(d.forward([2, -1], batch: 1), [0.5, 1])
        let b = d.backward(input: [2, -1], outputGradient: [1, 3], batch: 1)
        XCTAssertEqual(b.weight, [2, -1, 6, -3])   // dY^T x
        XCTAssertEqual(b.bias, [1, 3])
        XCTAssertEqual(b.input, [1, -1])           // dY W
    }

    func lossAndGradient(_ m: EncoderClassifier, _ x: FeatureMap, _ y: [Float], bn: BatchNormMode) throws -> (Double, TensorStore?) {
        let trace = EncoderClassifier.Trace()
        let p = try m.forward(x, bn: bn, trace: trace)
        // Cross-entropy on the softmax (or BCE on the sigmoid), mean over samples.
        var loss = 0.0
        var d = [Float](repeating: 0, count: p.data.count)
        let n = Double(p.batch)
        for i in p.data.indices {
            let pi = Double(p.data[i]), yi = Double(y[i])
            if m.classes == 1 {
                loss -= (yi * log(pi) + (1 - yi) * log(1 - pi)) / n
                d[i] = Float((-yi / pi + (1 - yi) / (1 - pi)) / n)
            } else if yi > 0 {
                loss -= yi * log(pi) / n
                d[i] = Float(-yi / pi / n)
            }
        }
        return (loss, try m.backward(trace: trace, outputGradient: FeatureMap(shape: p.shape, data: d)))
    }

    func testBackwardMatchesCentralDifferences() throws {
        for (classes, bn) in [(1, BatchNormMode.batch), (3, .batch), (3, .inference)] {
            let store = storeWithHead(classes: classes, seed: 21)
            let x = try randomMap([2, 1, 16, 16, 16], seed: 5)
            let y: [Float] = classes == 1 ? [1, 0] : [0, 1, 0, 1, 0, 0]
            let (_, grads) = try lossAndGradient(try model(classes: classes, store: store), x, y, bn: bn)
            let g = try XCTUnwrap(grads)
            for name in ["head.fc2.weight", "head.fc2.bias", "head.fc1.weight", "head.fc1.bias", "down_tr512.ops.1.conv1.weight", "down_tr512.ops.1.bn1.weight", "down_tr512.ops.1.bn1.bias"] {
                let t = try XCTUnwrap(store[name])
                var r = SeededValues(seed: 99)
                let raw = r.array(t.elementCount)
                let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let dir = raw.map { $0 / norm }   // unit length: h moves every weight by far less than h
                let analytic = zip(g[name]!.floats(), dir).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                func shifted(_ h: Float) throws -> Double {
                    var s = store
                    s[name] = Tensor(shape: t.shape, floats: zip(t.floats(), dir).map { $0 + h * $1 })
                    return try lossAndGradient(try model(classes: classes, store: s), x, y, bn: bn).0
                }
                let h: Float = 1e-3
                let numeric = (try shifted(h) - shifted(-h)) / (2 * Double(h))
                XCTAssertEqual(analytic, numeric, accuracy: 0.02 * abs(numeric) + 1e-4, "\(classes) classes, \(bn), \(name)")
            }
        }
    }
}
