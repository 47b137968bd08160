/// Every naming the network's tensors go by, as tables: the official PyTorch module paths
/// (canonical), Keras 2 layer/weight names, Keras 3 class-keyed groups. Layout changes are
/// tables too: Keras stores convolution kernels (kD,kH,kW,in,out) and transposed-convolution
/// kernels (kD,kH,kW,out,in); PyTorch (out,in,kD,kH,kW) and (in,out,kD,kH,kW): one permutation.
public enum NameMaps {
    /// Per role: the PyTorch suffix after the module path, and the Keras weight name.
    public static let roles: [(role: TensorRole, torch: String, keras: String)] = [
        (.convWeight, "weight", "kernel"),
        (.convBias, "bias", "bias"),
        (.bnGamma, "weight", "gamma"),
        (.bnBeta, "bias", "beta"),
        (.bnMean, "running_mean", "moving_mean"),
        (.bnVariance, "running_var", "moving_variance"),
        (.bnCount, "num_batches_tracked", ""),
        (.upWeight, "weight", "kernel"),
        (.upBias, "bias", "bias"),
    ]

    /// Weight order inside a Keras layer (`layer.weights`), by layer kind.
    public static let kerasConvOrder: [TensorRole] = [.convWeight, .convBias]
    public static let kerasBNOrder: [TensorRole] = [.bnGamma, .bnBeta, .bnMean, .bnVariance]
    public static let kerasUpOrder: [TensorRole] = [.upWeight, .upBias]

    /// Axes taking a Keras 5-D kernel to the canonical layout (numpy `transpose`), and back.
    public static let kerasToCanonicalAxes = [4, 3, 0, 1, 2]
    public static let canonicalToKerasAxes = [2, 3, 4, 1, 0]

    /// The prefix `nn.DataParallel` adds to every PyTorch key.
    public static let dataParallelPrefix = "module."

    /// Keras 3 group keys (`to_snake_case(ClassName)` + `_k`) by layer kind.
    public static let keras3ConvClass = "conv3d"
    public static let keras3UpClass = "conv3d_transpose"
    public static let keras3BNClass = "batch_normalization"

    public static func torchSuffix(_ role: TensorRole) -> String { roles.first { $0.role == role }!.torch }
    public static func kerasWeight(_ role: TensorRole) -> String { roles.first { $0.role == role }!.keras }

    /// Keras 2 layer of a tensor: `depth_{i}_conv` / `depth_{i}_bn`; nil for the final
    /// convolution and up-convolutions, whose names Keras generated (find them by position).
    public static func kerasLayer(of spec: TensorSpec) -> String? {
        guard let b = spec.block, b < 14 else { return nil }
        switch spec.role {
        case .convWeight, .convBias: return "depth_\(b)_conv"
        case .bnGamma, .bnBeta, .bnMean, .bnVariance: return "depth_\(b)_bn"
        default: return nil
        }
    }

    /// Shape of a canonical tensor as Keras stores it.
    public static func kerasShape(of spec: TensorSpec) -> [Int] {
        spec.shape.count == 5 ? canonicalToKerasAxes.map { spec.shape[$0] } : spec.shape
    }

    /// Parses `depth_{i}_conv` / `depth_{i}_bn` into (block, isBN).
    public static func parseKerasBlockLayer(_ name: String) -> (block: Int, isBN: Bool)? {
        guard name.hasPrefix("depth_") else { return nil }
        let rest = name.dropFirst("depth_".count)
        let isBN: Bool
        let digits: Substring
        if rest.hasSuffix("_conv") { isBN = false; digits = rest.dropLast(5) }
        else if rest.hasSuffix("_bn") { isBN = true; digits = rest.dropLast(3) }
        else { return nil }
        guard let i = Int(digits), i >= 0, i < 14, String(i) == digits else { return nil }
        return (i, isBN)
    }

    /// The variable part of a Keras weight name: `depth_0_conv/kernel:0` -> `kernel`,
    /// `sgd/x_momentum` unchanged if it has no slash.
    public static func kerasVariable(_ weightName: String) -> String {
        var s = Substring(weightName)
        if let slash = s.lastIndex(of: "/") { s = s[s.index(after: slash)...] }
        if let colon = s.lastIndex(of: ":"), Int(s[s.index(after: colon)...]) != nil { s = s[..<colon] }
        return String(s)
    }
}
