import Foundation
import Tensors

/// The header of a `.npy` file (numpy format versions 1.0, 2.0, 3.0): dtype, order, shape and
/// where the data starts. Parsed strictly: exactly the keys numpy writes, a Python literal each.
public struct NPYHeader: Equatable, Sendable {
    public let dtype: DType
    public let shape: [Int]
    /// Byte offset of the first data byte.
    public let dataOffset: Int
    /// Data bytes the shape and dtype call for (overflow and `Limits.maxTensorBytes` checked).
    public let dataBytes: Int
    /// True for a Fortran-order array (first axis fastest); parsed only when allowed.
    public internal(set) var fortranOrder = false

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// Largest header accepted (numpy itself refuses more than 10,000 bytes by default).
    public static let maxHeaderBytes = 1 << 16

    /// Parses the header at the start of `bytes` (only the header need be present).
    public static func parse(_ bytes: [UInt8], file: String, allowFortranOrder: Bool = false) throws -> NPYHeader {
        func fail(_ what: String, _ expected: String, _ found: String) -> VolumeError {
            VolumeError(file: file, what: what, expected: expected, found: found)
        }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            // Said in the user's terms: what the file is instead ("an HDF5 file (a Keras model, .h5)").
            throw fail("magic", "a NumPy array (.npy, starting \\x93NUMPY)", bytes.count < 6 ? "\(bytes.count) bytes" : FileKind.describe(prefix: Array(bytes.prefix(FileKind.prefixBytes))))
        }
        let major = bytes[6]
        let lengthBytes: Int
        switch major {
        case 1: lengthBytes = 2
        case 2, 3: lengthBytes = 4
        default: throw fail("format version", "1.0, 2.0 or 3.0", "\(major).\(bytes[7])")
        }
        let start = 8 + lengthBytes
        guard bytes.count >= start else { throw fail("header length", "\(lengthBytes) bytes", "end of file") }
        var headerLength = 0
        for i in 0..<lengthBytes { headerLength |= Int(bytes[8 + i]) << (8 * i) }
        guard headerLength <= maxHeaderBytes else { throw fail("header length", "at most \(maxHeaderBytes) bytes", "\(headerLength)") }
        guard bytes.count >= start + headerLength else { throw fail("header", "\(headerLength) bytes", "end of file after \(bytes.count - start)") }
        guard let text = String(bytes: bytes[start..<(start + headerLength)], encoding: major == 3 ? .utf8 : .ascii) else {
            throw fail("header", major == 3 ? "UTF-8 text" : "ASCII text", "other bytes")
        }
        let dict = try NPYLiteral.parseDict(text, file: file)
        guard Set(dict.keys) == ["descr", "fortran_order", "shape"] else {
            throw fail("header keys", "descr, fortran_order, shape", dict.keys.sorted().joined(separator: ", "))
        }
        guard case let .string(descr)? = dict["descr"] else { throw fail("descr", "a dtype string", "\(dict["descr"]!)") }
        guard case let .bool(fortran)? = dict["fortran_order"] else { throw fail("fortran_order", "True or False", "\(dict["fortran_order"]!)") }
        guard !fortran || allowFortranOrder else {
            throw fail("fortran_order", "False (C order; re-save with np.ascontiguousarray)", "True")
        }
        guard case let .tuple(shape)? = dict["shape"] else { throw fail("shape", "a tuple of integers", "\(dict["shape"]!)") }
        guard shape.count <= Limits.maxRank else { throw fail("shape", "at most \(Limits.maxRank) dimensions", "\(shape.count)") }
        guard let dtype = dtype(descr) else {
            throw fail("descr", "little-endian or byte-sized float16/32/64, int8/16/32/64, uint8 or bool ('<f4', '|u1', ...)", "'\(descr)'")
        }
        let dataBytes: Int
        do { dataBytes = try Limits.byteCount(shape, dtype, what: "\(file) data") } catch {
            throw fail("shape", "a size under \(Limits.maxTensorBytes) bytes", "\(shape) of \(descr) (\(error))")
        }
        return NPYHeader(dtype: dtype, shape: shape, dataOffset: start + headerLength, dataBytes: dataBytes, fortranOrder: fortran)
    }

    /// The dtype of a numpy descriptor; nil for big-endian or unsupported types.
    static func dtype(_ descr: String) -> DType? {
        let aliases: [String: DType] = ["<f2": .float16, "<f4": .float32, "<f8": .float64,
                                        "|i1": .int8, "<i1": .int8, "|u1": .uint8, "<u1": .uint8,
                                        "<i2": .int16, "<i4": .int32, "<i8": .int64, "|b1": .bool, "<b1": .bool]
        return aliases[descr]
    }

    /// The header bytes numpy's `np.save` writes for this dtype and shape (byte-identical: the
    /// same 21-digit growth space after the dict and the same padding to a 64-byte boundary;
    /// version 1.0, or 2.0 when the header does not fit 65,535 bytes).
    public static func encode(dtype: DType, shape: [Int]) -> [UInt8] {
        let dims = shape.map(String.init)
        let tuple = shape.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var dict = "{'descr': '\(dtype.numpyDescriptor)', 'fortran_order': False, 'shape': \(tuple), }"
        if let first = dims.first { dict += String(repeating: " ", count: max(0, 21 - first.count)) }
        func wrapped(prefix: Int) -> String {
            let pad = 64 - (prefix + dict.utf8.count + 1) % 64
            return dict + String(repeating: " ", count: pad) + "\n"
        }
        let v1 = wrapped(prefix: 10)
        let v1Fits = v1.utf8.count < 65536
        let text = v1Fits ? v1 : wrapped(prefix: 12)
        let len = text.utf8.count
        var out = magic + [v1Fits ? 1 : 2, 0]
        out += v1Fits ? [UInt8(len & 0xff), UInt8(len >> 8)] : (0..<4).map { UInt8((len >> (8 * $0)) & 0xff) }
        return out + Array(text.utf8)
    }
}
