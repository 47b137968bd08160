/// Errors reading or writing volumes (.npy and friends).
public enum VolumeError: Error, CustomStringConvertible, Equatable {
    case malformed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .malformed(f, r): return "\(f): \(r)"
        }
    }
}
