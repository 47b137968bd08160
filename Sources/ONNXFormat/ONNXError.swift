/// Errors reading or writing ONNX files. Every case names the file and, where one is concerned,
/// the tensor, node or field, with what was expected and what was found: one line each.
public enum ONNXError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read or written.
    case io(file: String, reason: String)
    /// The bytes are not an ONNX `ModelProto` (protobuf decoding failed).
    case notProtobuf(file: String, reason: String)
    /// A field of the model does not hold what genesis writes and reads.
    case badField(file: String, field: String, expected: String, found: String)
    /// An initializer whose type, shape or data is not what it claims.
    case badTensor(file: String, tensor: String, expected: String, found: String)
    /// Counts or sizes over the reader's caps (checked before anything is allocated).
    case overCap(file: String, what: String, cap: Int, found: Int)
    /// A node of an operator, or an attribute of a type, that genesis does not write.
    case unsupported(file: String, node: String, expected: String, found: String)

    public var description: String {
        switch self {
        case let .io(f, r): return "\(f): \(r)"
        case let .notProtobuf(f, r): return "\(f): not an ONNX model (protobuf: \(r))"
        case let .badField(f, field, e, found): return "\(f): ONNX \(field): expected \(e), found \(found)"
        case let .badTensor(f, t, e, found): return "\(f): ONNX initializer \(t): expected \(e), found \(found)"
        case let .overCap(f, w, cap, found): return "\(f): ONNX \(w): \(found) is over the cap of \(cap)"
        case let .unsupported(f, n, e, found): return "\(f): ONNX node \(n): expected \(e), found \(found)"
        }
    }
}
