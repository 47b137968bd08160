import Tensors

/// Errors reading or writing Keras files; each names the file and, where known, the layer and
/// tensor, with what was expected and what was found.
public enum KerasError: Error, CustomStringConvertible, Equatable {
    case notKeras(file: String, reason: String)
    case malformed(file: String, location: String, reason: String)
    case badConfig(file: String, reason: String)

    public var description: String {
        // Every value the file supplies (layer names, reasons) is cut to ~200 characters.
        let q = { (s: String) in Quoted.clip(s) }
        switch self {
        case let .notKeras(f, r): return "\(f): not a Keras weights file: \(q(r))"
        case let .malformed(f, l, r): return "\(f): \(q(l)): \(q(r))"
        case let .badConfig(f, r): return "\(f): model_config: \(q(r))"
        }
    }
}
