/// A dense, C-ordered tensor: a dtype, a shape and its little-endian bytes.
///
/// The bytes are kept exactly as a file held them, so conversions that only move data stay
/// bit-identical and checksums match any other reader's view.
public struct Tensor: Sendable, Equatable {
    public let dtype: DType
    public let shape: [Int]
    public private(set) var bytes: [UInt8]

    /// Wraps raw bytes; the count must equal the shape's element count times the element size.
    public init(dtype: DType, shape: [Int], bytes: [UInt8], name: String = "tensor") throws {
        let expected = try Limits.byteCount(shape, dtype, what: name)
        guard expected == bytes.count else {
            throw TensorError.byteCountMismatch(name: name, expected: expected, found: bytes.count)
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A float32 tensor from values; the count must match the shape.
    public init(shape: [Int], floats: [Float]) {
        precondition((try? Limits.elementCount(shape)) == floats.count, "shape \(shape) does not hold \(floats.count) values")
        self.dtype = .float32
        self.shape = shape
        self.bytes = floats.withUnsafeBytes { Array($0) }
    }

    /// A 0-d int64 tensor (counters such as `iterations` or `num_batches_tracked`).
    public init(scalarInt64 v: Int64) {
        self.dtype = .int64
        self.shape = []
        self.bytes = withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    public var elementCount: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    /// Values as float32 (f16, bf16, f64 and integers converted; f32 copied).
    public func floats() -> [Float] {
        let n = elementCount
        switch dtype {
        case .float32:
            return [Float](unsafeUninitializedCapacity: n) { buf, count in
                _ = bytes.withUnsafeBytes { memcpy(buf.baseAddress!, $0.baseAddress!, n * 4) }
                count = n
            }
        case .float64: return read(Double.self).map { Float($0) }
        case .float16: return read(UInt16.self).map { Float(Float16(bitPattern: $0)) }
        case .bfloat16: return read(UInt16.self).map { Float(bitPattern: UInt32($0) << 16) }
        case .int8: return bytes.map { Float(Int8(bitPattern: $0)) }
        case .uint8, .bool: return bytes.map { Float($0) }
        case .int16: return read(Int16.self).map { Float($0) }
        case .int32: return read(Int32.self).map { Float($0) }
        case .int64: return read(Int64.self).map { Float($0) }
        }
    }

    /// Values as Int64 for integer tensors; floats are truncated toward zero.
    public func int64s() -> [Int64] {
        switch dtype {
        case .int64: return read(Int64.self)
        case .int32: return read(Int32.self).map { Int64($0) }
        case .int16: return read(Int16.self).map { Int64($0) }
        case .int8: return bytes.map { Int64(Int8(bitPattern: $0)) }
        case .uint8, .bool: return bytes.map { Int64($0) }
        default: return floats().map { Int64(exactly: $0.rounded(.towardZero)) ?? ($0.isNaN ? 0 : ($0 > 0 ? .max : .min)) }
        }
    }

    /// This tensor with its values converted to float32 (identity when already float32).
    public func asFloat32() -> Tensor {
        dtype == .float32 ? self : Tensor(shape: shape, floats: floats())
    }

    /// The same bytes under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor? {
        guard (try? Limits.elementCount(newShape)) == elementCount else { return nil }
        return try? Tensor(dtype: dtype, shape: newShape, bytes: bytes)
    }

    private func read<T>(_: T.Type) -> [T] {
        let n = bytes.count / MemoryLayout<T>.size
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            _ = bytes.withUnsafeBytes { memcpy(buf.baseAddress!, $0.baseAddress!, n * MemoryLayout<T>.size) }
            count = n
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// A float32 tensor of every value times `factor` (other dtypes are converted first), in one
    /// vectorised pass into one new buffer.
    public func scaled(by factor: Float) -> Tensor {
        guard dtype == .float32 else { return asFloat32().scaled(by: factor) }
        let out = UnzeroedBytes.make(bytes.count) { buf in
            bytes.withUnsafeBytes { src in
                let s = src.bindMemory(to: Float.self), d = buf.bindMemory(to: Float.self)
                guard let sp = s.baseAddress, let dp = d.baseAddress else { return }
                for i in 0..<s.count { dp[i] = sp[i] * factor }
            }
        }
        return try! Tensor(dtype: .float32, shape: shape, bytes: out)
    }
}
