/// Errors building or running the network: shapes that do not fit, tensors that are missing.
public enum RuntimeError: Error, CustomStringConvertible, Equatable {
    case badInput(reason: String)

    public var description: String {
        switch self {
        case let .badInput(r): return "input: \(r)"
        }
    }
}
