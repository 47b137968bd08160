/// Errors building or running the network: shapes that do not fit, tensors that are missing,
/// sizes that overflow or exceed a cap.
public enum RuntimeError: Error, CustomStringConvertible, Equatable {
    /// An input that the network or an op cannot take (rank, channels, divisibility).
    case badInput(reason: String)
    /// A weight the architecture needs is not in the store.
    case missingTensor(name: String, expectedShape: [Int])
    /// A weight has the wrong shape.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// A weight is not a floating-point tensor.
    case badDType(name: String, found: String)
    /// A buffer size overflows or exceeds `Limits.maxTensorBytes`.
    case tooLarge(what: String, shape: [Int])

    public var description: String {
        switch self {
        case let .badInput(r): return "input: \(r)"
        case let .missingTensor(n, s): return "weights: tensor \(n) (shape \(s)) is missing"
        case let .shapeMismatch(n, e, f): return "weights: tensor \(n) has shape \(f), expected \(e)"
        case let .badDType(n, f): return "weights: tensor \(n) has dtype \(f), expected a floating-point type"
        case let .tooLarge(w, s): return "\(w): shape \(s) is too large to allocate"
        }
    }
}
