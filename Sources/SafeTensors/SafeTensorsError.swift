import Tensors

/// Errors reading or writing safetensors files. Every case names the file (or `<memory>`),
/// and, where one is concerned, the tensor, with what was expected and what was found.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened, read or written.
    case io(file: String, reason: String)
    /// The file ends before the part that `what` needs.
    case truncated(file: String, what: String, expected: Int, found: Int)
    /// The header length N exceeds `MAX_HEADER_SIZE`.
    case headerTooLarge(file: String, found: UInt64, cap: Int)
    case headerNotUTF8(file: String)
    /// The header's first byte is not `{` (`found` is that byte, nil for an empty header).
    case headerStart(file: String, found: UInt8?)
    /// The header is not valid JSON (or nests too deeply); `offset` is within the header.
    case invalidJSON(file: String, offset: Int, reason: String)
    /// The same key twice in one JSON object (`context` says which object).
    case duplicateKey(file: String, key: String, context: String)
    /// Two tensor names that are different bytes but equal Swift strings (Unicode canonical equivalence).
    case indistinguishableNames(file: String, first: String, second: String)
    /// `__metadata__` is not a string -> string map.
    case badMetadata(file: String, key: String?, found: String)
    /// A tensor entry is not `{"dtype": string, "shape": [uint...], "data_offsets": [uint, uint]}`.
    case badEntry(file: String, tensor: String, reason: String)
    /// A dtype string the safetensors specification does not define.
    case unknownDType(file: String, tensor: String, found: String)
    /// A dtype of the specification that genesis cannot hold in a `DType`.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A tensor does not start where the previous one ended (a gap or an overlap).
    case misplaced(file: String, tensor: String, expectedBegin: Int, foundBegin: Int)
    /// `end < begin`.
    case invertedOffsets(file: String, tensor: String, begin: Int, end: Int)
    /// `end - begin` differs from `numel * size`.
    case byteCountMismatch(file: String, tensor: String, expected: Int, found: Int)
    /// `numel * bits` overflows, or is not a whole number of bytes.
    case sizeOverflow(file: String, tensor: String, shape: [Int], dtype: String)
    case rankTooLarge(file: String, tensor: String, rank: Int, cap: Int)
    case tensorTooLarge(file: String, tensor: String, bytes: Int, cap: Int)
    /// The header lists more than `SafeTensors.maxTensors` tensors.
    case tooManyTensors(file: String, cap: Int)
    /// `8 + N + last_end` differs from the file length (trailing or missing bytes).
    case fileLengthMismatch(file: String, expected: Int, found: Int)
    /// The writer was given something it cannot write (e.g. a tensor named `__metadata__`).
    case invalidInput(file: String, tensor: String, reason: String)

    public var description: String {
        // Every value the file supplies (names, keys, reasons) is cut to ~200 characters.
        let q = { (s: String) in Quoted.clip(s) }
        switch self {
        case let .io(f, r): return "\(f): \(q(r))"
        case let .truncated(f, what, e, n):
            return "\(f): truncated: \(q(what)) needs \(e) bytes, the file has \(n)"
        case let .headerTooLarge(f, n, cap):
            return "\(f): header length \(n) exceeds the safetensors limit of \(cap) bytes"
        case let .headerNotUTF8(f): return "\(f): header is not valid UTF-8"
        case let .headerStart(f, b):
            let found = b.map { String(format2hex: $0) } ?? "an empty header"
            return "\(f): header must start with '{' (0x7b), found \(found)"
        case let .invalidJSON(f, o, r): return "\(f): header is not valid JSON at byte \(o): \(q(r))"
        case let .duplicateKey(f, k, c): return "\(f): duplicate key \"\(q(k))\" in \(q(c))"
        case let .indistinguishableNames(f, a, b):
            return "\(f): tensor names \"\(q(a))\" and \"\(q(b))\" differ only in Unicode normalisation; genesis cannot hold both"
        case let .badMetadata(f, k, found):
            if let k { return "\(f): __metadata__ value of \"\(q(k))\" must be a string, found \(found)" }
            return "\(f): __metadata__ must be an object of strings, found \(found)"
        case let .badEntry(f, t, r): return "\(f): tensor \"\(q(t))\": \(q(r))"
        case let .unknownDType(f, t, d): return "\(f): tensor \"\(q(t))\": unknown dtype \"\(q(d))\""
        case let .unsupportedDType(f, t, d):
            return "\(f): tensor \"\(q(t))\": dtype \(d) is valid safetensors but genesis cannot hold it"
        case let .misplaced(f, t, e, b):
            let kind = b > e ? "a gap of \(b - e) bytes" : "an overlap of \(e - b) bytes"
            return "\(f): tensor \"\(q(t))\": data starts at \(b), expected \(e) (\(kind))"
        case let .invertedOffsets(f, t, b, e): return "\(f): tensor \"\(q(t))\": data_offsets [\(b), \(e)] end before they begin"
        case let .byteCountMismatch(f, t, e, n):
            return "\(f): tensor \"\(q(t))\": shape and dtype need \(e) bytes, data_offsets give \(n)"
        case let .sizeOverflow(f, t, s, d):
            return "\(f): tensor \"\(q(t))\": shape \(s) of \(d) overflows or is not a whole number of bytes"
        case let .rankTooLarge(f, t, r, cap): return "\(f): tensor \"\(q(t))\": rank \(r) exceeds the cap of \(cap)"
        case let .tensorTooLarge(f, t, b, cap): return "\(f): tensor \"\(q(t))\": \(b) bytes exceeds the cap of \(cap) bytes"
        case let .tooManyTensors(f, cap):
            return "\(f): header lists more than \(cap) tensors (the cap on tensors per file)"
        case let .fileLengthMismatch(f, e, n):
            let kind = n > e ? "\(n - e) trailing bytes" : "\(e - n) bytes missing"
            return "\(f): file is \(n) bytes, header and offsets say \(e) (\(kind))"
        case let .invalidInput(f, t, r): return "\(f): tensor \"\(q(t))\": \(q(r))"
        }
    }
}

extension String {
    init(format2hex byte: UInt8) {
        let d = Array("0123456789abcdef")
        self = "0x" + String([d[Int(byte >> 4)], d[Int(byte & 15)]])
    }
}
