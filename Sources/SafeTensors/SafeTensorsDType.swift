import Tensors

/// Every dtype the safetensors specification defines, in the order of the Rust `Dtype` enum
/// (increasing alignment), which the reference writer sorts by. Checked against safetensors
/// 0.8 output: BOOL < F4 < F6_E2M3 < F6_E3M2 < U8 < I8 < F8_E5M2 < F8_E4M3 < F8_E8M0
/// < F8_E4M3FNUZ < F8_E5M2FNUZ < I16 < U16 < F16 < BF16 < I32 < U32 < F32 < C64 < F64 < I64 < U64.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ
    case I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64

    /// Bits per element.
    public var bits: Int {
        switch self {
        case .F4: return 4
        case .F6_E2M3, .F6_E3M2: return 6
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3, .F8_E8M0, .F8_E4M3FNUZ, .F8_E5M2FNUZ: return 8
        case .I16, .U16, .F16, .BF16: return 16
        case .I32, .U32, .F32: return 32
        case .C64, .F64, .I64, .U64: return 64
        }
    }

    /// Position in the Rust enum: the writer lays out higher ranks first.
    public var alignmentRank: Int { Self.allCases.firstIndex(of: self)! }

    /// The genesis `DType` holding this dtype, or nil when there is none.
    public var dtype: DType? { DType(safetensorsCode: rawValue) }

    public init(_ dtype: DType) {
        // Every DType has a safetensors code that is one of the cases above.
        self = SafeTensorsDType(rawValue: dtype.safetensorsCode)!
    }

    /// Bytes of `count` elements, or nil on overflow or a sub-byte total not divisible by 8.
    public func byteCount(elements count: Int) -> Int? {
        let (b, o) = count.multipliedReportingOverflow(by: bits)
        guard !o, b % 8 == 0 else { return nil }
        return b / 8
    }
}
