import GenesisModel
import HDF5
import Tensors

/// The training-step references of the fixtures (fixtures/README.md): `before/` and `after/`
/// under canonical names and layouts, and the schemas/numerics.md tolerance of a step.
public struct TrainingReference {
    public let input: Tensor
    public let target: Tensor
    public let loss: Double
    public let before: TensorStore
    public let after: TensorStore

    /// `keras`: groups of Keras layers (`after/depth_0_conv/kernel:0`, Keras layouts); else flat
    /// PyTorch keys (`after/down_tr64.ops.0.conv1.weight`).
    public init(_ path: String, keras: Bool) throws {
        let root = try H5File.open(path).root()
        input = try root.readFloat32("input")
        target = try root.readFloat32("target")
        loss = Double(try root.readFloat32("train_step_loss").floats()[0])
        before = try Self.group(root.group("before"), keras: keras)
        after = try Self.group(root.group("after"), keras: keras)
    }

    static func group(_ g: H5Group, keras: Bool) throws -> TensorStore {
        guard keras else {
            var s = TensorStore()
            for name in try g.memberNames() { s[name] = try g.readTensor(name) }
            return s
        }
        var layers: [SourceLayer] = []
        for layer in try g.memberNames() {
            let lg = try g.group(layer)
            layers.append(SourceLayer(name: layer, className: nil, weights: try lg.memberNames().map { (layer + "/" + $0, try lg.readTensor($0)) }))
        }
        return Mapping.fromKeras(layers, naming: .keras2).store
    }

    /// The largest |ours - after| / (1e-5 + 1e-3 |after - before|) over every float32 tensor
    /// of `after` (<= 1 passes), the tensors compared, and the names missing from `ours`.
    public func toleranceUse(_ ours: TensorStore) -> (worst: Double, compared: Int, missing: [String]) {
        var worst = 0.0, compared = 0
        var missing: [String] = []
        for (name, t) in after.entries {
            guard t.dtype == .float32 else {
                // Integer state (num_batches_tracked): the official ContBatchNorm3d never moves it.
                if ours[name]?.int64s() != t.int64s() { missing.append(name + " (integer state differs)") }
                continue
            }
            guard let o = ours[name]?.floats(), let b = before[name]?.floats() else { missing.append(name); continue }
            let a = t.floats()
            for i in a.indices { worst = max(worst, Double(abs(o[i] - a[i])) / (1e-5 + 1e-3 * Double(abs(a[i] - b[i])))) }
            compared += 1
        }
        return (worst, compared, missing)
    }
}
