/// Errors of the tensor model itself: sizes that overflow or exceed a cap, and values that
/// do not fit the requested type.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case sizeOverflow(shape: [Int], dtype: DType)
    case negativeDimension(shape: [Int])
    case tooLarge(what: String, bytes: Int, cap: Int)
    case byteCountMismatch(name: String, expected: Int, found: Int)
    case unsupportedConversion(name: String, from: DType, to: DType)

    public var description: String {
        switch self {
        case let .sizeOverflow(shape, dtype):
            return "tensor of shape \(shape) and dtype \(dtype.rawValue) overflows a 64-bit size"
        case let .negativeDimension(shape):
            return "tensor shape \(shape) has a negative dimension"
        case let .tooLarge(what, bytes, cap):
            return "\(what): \(bytes) bytes exceeds the cap of \(cap) bytes"
        case let .byteCountMismatch(name, expected, found):
            return "tensor \(name): expected \(expected) bytes, found \(found)"
        case let .unsupportedConversion(name, from, to):
            return "tensor \(name): cannot convert \(from.rawValue) to \(to.rawValue)"
        }
    }
}

/// Caps applied before any allocation driven by file contents.
public enum Limits {
    /// Largest single tensor we allocate: 4 GiB (the official model's largest is 28 MiB).
    public static let maxTensorBytes = 4 << 30
    /// Largest rank accepted from a file.
    public static let maxRank = 16

    /// Element count of `shape`, with overflow and negativity checked.
    public static func elementCount(_ shape: [Int]) throws -> Int {
        var n = 1
        for d in shape {
            guard d >= 0 else { throw TensorError.negativeDimension(shape: shape) }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { throw TensorError.sizeOverflow(shape: shape, dtype: .uint8) }
            n = p
        }
        return n
    }

    /// Byte count of a tensor, checked against overflow and `maxTensorBytes`.
    public static func byteCount(_ shape: [Int], _ dtype: DType, what: String = "tensor") throws -> Int {
        let n = try elementCount(shape)
        let (b, o) = n.multipliedReportingOverflow(by: dtype.byteSize)
        guard !o else { throw TensorError.sizeOverflow(shape: shape, dtype: dtype) }
        guard b <= maxTensorBytes else { throw TensorError.tooLarge(what: what, bytes: b, cap: maxTensorBytes) }
        return b
    }
}
