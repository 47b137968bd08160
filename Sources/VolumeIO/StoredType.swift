internal import CNIfTI

/// The voxel types a scan may store, by their NIfTI and MetaImage names.
enum StoredType: Sendable {
    case uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64

    var bytes: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64: return 8
        }
    }

    /// numpy's name ("int16", ...).
    var name: String { "\(self)" }

    init?(niftiCode: Int32) {
        switch niftiCode {
        case Int32(DT_UINT8): self = .uint8
        case Int32(DT_INT8): self = .int8
        case Int32(DT_INT16): self = .int16
        case Int32(DT_UINT16): self = .uint16
        case Int32(DT_INT32): self = .int32
        case Int32(DT_UINT32): self = .uint32
        case Int32(DT_INT64): self = .int64
        case Int32(DT_UINT64): self = .uint64
        case Int32(DT_FLOAT32): self = .float32
        case Int32(DT_FLOAT64): self = .float64
        default: return nil
        }
    }

    /// MetaImage `ElementType` values (MET_LONG_LONG and friends included).
    init?(metaImage: String) {
        switch metaImage {
        case "MET_UCHAR": self = .uint8
        case "MET_CHAR": self = .int8
        case "MET_SHORT": self = .int16
        case "MET_USHORT": self = .uint16
        case "MET_INT", "MET_LONG": self = .int32
        case "MET_UINT", "MET_ULONG": self = .uint32
        case "MET_LONG_LONG": self = .int64
        case "MET_ULONG_LONG": self = .uint64
        case "MET_FLOAT": self = .float32
        case "MET_DOUBLE": self = .float64
        default: return nil
        }
    }
}

/// Stored voxels to float32: optional byte swap, then (for NIfTI) v * slope + inter in float64.
enum VoxelDecoding {
    static func floats(_ raw: UnsafeRawBufferPointer, type: StoredType, swapBytes: Bool, scaling: NIfTIScaling) -> [Float] {
        let n = raw.count / type.bytes
        return [Float](unsafeUninitializedCapacity: n) { out, count in
            func fill<T>(_: T.Type, _ convert: (T) -> Double) {
                for i in 0..<n {
                    var v = raw.loadUnaligned(fromByteOffset: i * type.bytes, as: T.self)
                    if swapBytes { v = swapped(v) }
                    let d = convert(v)
                    out[i] = scaling.isIdentity ? Float(d) : Float(d * scaling.slope + scaling.intercept)
                }
            }
            switch type {
            case .uint8: fill(UInt8.self) { Double($0) }
            case .int8: fill(Int8.self) { Double($0) }
            case .int16: fill(Int16.self) { Double($0) }
            case .uint16: fill(UInt16.self) { Double($0) }
            case .int32: fill(Int32.self) { Double($0) }
            case .uint32: fill(UInt32.self) { Double($0) }
            case .int64: fill(Int64.self) { Double($0) }
            case .uint64: fill(UInt64.self) { Double($0) }
            case .float32:
                if !swapBytes && scaling.isIdentity {
                    for i in 0..<n { out[i] = raw.loadUnaligned(fromByteOffset: i * 4, as: Float.self) }
                } else {
                    fill(UInt32.self) { Double(Float(bitPattern: $0)) }
                }
            case .float64: fill(UInt64.self) { Double(bitPattern: $0) }
            }
            count = n
        }
    }

    @inline(__always)
    static func swapped<T>(_ v: T) -> T {
        var x = v
        withUnsafeMutableBytes(of: &x) { b in
            var lo = 0, hi = b.count - 1
            while lo < hi { b.swapAt(lo, hi); lo += 1; hi -= 1 }
        }
        return x
    }
}
