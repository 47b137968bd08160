/// An HDF5 failure: the file, the object path inside it, what we were doing, and libhdf5's own
/// error stack.
public struct HDF5Error: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let path: String
    public let operation: String
    public let detail: String

    public var description: String {
        let where_ = path.isEmpty ? file : "\(file): \(path)"
        return detail.isEmpty ? "\(where_): \(operation)" : "\(where_): \(operation) (\(detail))"
    }
}
