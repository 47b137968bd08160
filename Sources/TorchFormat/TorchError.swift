/// Errors reading or writing PyTorch checkpoints.
public enum TorchError: Error, CustomStringConvertible, Equatable {
    case malformed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .malformed(f, r): return "\(f): \(r)"
        }
    }
}
