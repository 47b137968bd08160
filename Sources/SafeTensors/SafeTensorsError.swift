/// Errors reading or writing safetensors files.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case malformed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .malformed(f, r): return "\(f): \(r)"
        }
    }
}
