import Foundation
import GenesisIO
import GenesisModel
import Runtime3D
import Tensors
import Training
import VolumeIO

/// Labels, heads and the partial-loading report of `genesis finetune`.
public enum FinetuneSupport {
    /// What was taken from the model, what is new and what is left out, each with why.
    public struct LoadingReport {
        public var loaded: [String] = []
        public var new: [(tensor: String, why: String)] = []
        public var skipped: [(tensor: String, why: String)] = []

        public var json: [String: Any] {
            ["loaded": loaded, "new": new.map { ["tensor": $0.tensor, "why": $0.why] },
             "skipped": skipped.map { ["tensor": $0.tensor, "why": $0.why] }]
        }

        public var lines: [String] {
            var out = ["loaded \(loaded.count) tensors from the model"]
            let newWhy = Dictionary(grouping: new, by: \.why)
            for (why, items) in newWhy.sorted(by: { $0.key < $1.key }) { out.append("new: \(items.map(\.tensor).joined(separator: ", ")) (\(why))") }
            let skippedWhy = Dictionary(grouping: skipped, by: \.why)
            for (why, items) in skippedWhy.sorted(by: { $0.key < $1.key }) {
                out.append("not trained: \(items.count) tensors (\(why))" + (items.count <= 4 ? ": " + items.map(\.tensor).joined(separator: ", ") : ""))
            }
            return out
        }
    }

    /// Segmentation targets (N, K, D, H, W) from a label array: (N, K, D, H, W) as is; (N, D, H, W)
    /// a binary mask (K = 1) or class indices 0..<K (one-hot).
    public static func segmentationTargets(_ t: Tensor, classes: Int?, file: String) throws -> (targets: Tensor, classes: Int) {
        let v = try finiteLabels(t, file: file)
        switch t.rank {
        case 5:
            if let k = classes, k != t.shape[1] { throw WorkflowError(subject: file, message: "labels have \(t.shape[1]) channels, --classes says \(k)") }
            return (Tensor(shape: t.shape, floats: v), t.shape[1])
        case 4:
            let k = classes ?? inferredClasses(v)
            guard v.allSatisfy({ $0 >= 0 && $0 == $0.rounded() && Int($0) < max(k, 2) }) else {
                throw WorkflowError(subject: file, message: "labels must be class indices 0..<\(max(k, 2)) (or a 0/1 mask), found values outside")
            }
            if k == 1 { return (Tensor(shape: [t.shape[0], 1] + t.shape[1...], floats: v), 1) }
            let n = t.shape[0], s = t.elementCount / n
            var out = [Float](repeating: 0, count: n * k * s)
            for i in 0..<n { for j in 0..<s { out[(i * k + Int(v[i * s + j])) * s + j] = 1 } }
            return (Tensor(shape: [n, k] + t.shape[1...], floats: out), k)
        default:
            throw WorkflowError(subject: file, message: "segmentation labels must be (N, D, H, W) or (N, K, D, H, W), found \(t.shape)")
        }
    }

    /// Classification targets (N, K, 1, 1, 1): (N,) 0/1 labels (K = 1) or class indices; (N, K) one-hot.
    public static func classificationTargets(_ t: Tensor, classes: Int?, file: String) throws -> (targets: Tensor, classes: Int) {
        let v = try finiteLabels(t, file: file)
        switch t.rank {
        case 2:
            return (Tensor(shape: [t.shape[0], t.shape[1], 1, 1, 1], floats: v), t.shape[1])
        case 1:
            let k = classes ?? inferredClasses(v)
            guard v.allSatisfy({ $0 >= 0 && $0 == $0.rounded() && Int($0) < max(k, 2) }) else {
                throw WorkflowError(subject: file, message: "labels must be class indices 0..<\(max(k, 2)) (or 0/1), found values outside")
            }
            if k == 1 { return (Tensor(shape: [t.shape[0], 1, 1, 1, 1], floats: v), 1) }
            var out = [Float](repeating: 0, count: t.shape[0] * k)
            for i in 0..<t.shape[0] { out[i * k + Int(v[i])] = 1 }
            return (Tensor(shape: [t.shape[0], k, 1, 1, 1], floats: out), k)
        default:
            throw WorkflowError(subject: file, message: "classification labels must be (N,) or (N, K), found \(t.shape)")
        }
    }

    /// The class count class indices give: their largest value + 1, or 1 for a 0/1 mask.
    public static func inferredClasses(_ v: [Float]) -> Int {
        let maxLabel = Int(v.max() ?? 0)
        return maxLabel <= 1 ? 1 : maxLabel + 1
    }

    /// Label values, refused when one is NaN or Inf or a class index past `Architecture.maxLabels`.
    public static func finiteLabels(_ t: Tensor, file: String) throws -> [Float] {
        let v = t.floats()
        if let i = v.firstIndex(where: { !$0.isFinite }) { throw WorkflowError(subject: file, message: "label \(i) is \(v[i]): labels must be finite") }
        if let m = v.max(), m >= Float(Architecture.maxLabels) {
            throw WorkflowError(subject: file, message: "a label is \(m): class indices must be below \(Architecture.maxLabels)")
        }
        return v
    }

    /// Seeded initial values of a new layer as its framework initialises it: Keras glorot
    /// uniform kernels and zero biases; PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    public static func initialise(_ shape: [Int], bias: Bool, fanIn: Int, fanOut: Int, framework: Framework, rng: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        let limit: Double
        if framework == .keras {
            if bias { return Tensor(shape: shape, floats: [Float](repeating: 0, count: n)) }
            limit = (6 / Double(fanIn + fanOut)).squareRoot()
        } else {
            limit = 1 / Double(fanIn).squareRoot()
        }
        return Tensor(shape: shape, floats: (0..<n).map { _ in Float((Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1) * limit) })
    }

    /// The classification head a file carries (`LoadedModel.head`: complete, canonical layout,
    /// whatever the format: `.genesis` and `.pt` `head.*` tensors, a Keras classifier's Dense layers).
    public static func headTensors(_ loaded: LoadedModel) -> TensorStore { loaded.head }
}
