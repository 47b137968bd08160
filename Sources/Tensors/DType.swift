/// Element types that weight files hold. Raw bytes are always little-endian.
public enum DType: String, Sendable, Codable, CaseIterable {
    case float16, bfloat16, float32, float64
    case int8, uint8, int16, int32, int64, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .int8, .uint8: return 1
        case .float16, .bfloat16, .int16: return 2
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: return true
        default: return false
        }
    }

    /// numpy's spelling (`<f4`, `<i8`, ...), as h5py and `.npy` headers show it.
    public var numpyDescriptor: String {
        switch self {
        case .float16: return "<f2"
        case .bfloat16: return "<V2"
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .int16: return "<i2"
        case .int32: return "<i4"
        case .int64: return "<i8"
        case .bool: return "|b1"
        }
    }

    /// The safetensors dtype string (`F32`, `I64`, ...).
    public var safetensorsCode: String {
        switch self {
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float32: return "F32"
        case .float64: return "F64"
        case .int8: return "I8"
        case .uint8: return "U8"
        case .int16: return "I16"
        case .int32: return "I32"
        case .int64: return "I64"
        case .bool: return "BOOL"
        }
    }

    public init?(safetensorsCode: String) {
        guard let t = DType.allCases.first(where: { $0.safetensorsCode == safetensorsCode }) else { return nil }
        self = t
    }
}
