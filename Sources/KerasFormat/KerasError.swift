/// Errors reading or writing Keras files; each names the file and, where known, the layer and
/// tensor, with what was expected and what was found.
public enum KerasError: Error, CustomStringConvertible, Equatable {
    case notKeras(file: String, reason: String)
    case malformed(file: String, location: String, reason: String)
    case badConfig(file: String, reason: String)

    public var description: String {
        switch self {
        case let .notKeras(f, r): return "\(f): not a Keras weights file: \(r)"
        case let .malformed(f, l, r): return "\(f): \(l): \(r)"
        case let .badConfig(f, r): return "\(f): model_config: \(r)"
        }
    }
}
