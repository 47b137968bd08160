/// What a file is, from its first bytes, in a user's terms ("an HDF5 file", "a NumPy array
/// (.npy)"): for messages that refuse a file of the wrong kind, and for the output guard.
public enum FileKind {
    /// Enough of a file to tell every kind below (NIfTI-1 keeps its magic at byte 344).
    public static let prefixBytes = 352

    public static func describe(path: String) -> String? {
        guard let prefix = try? FileIO.readPrefix(path, count: prefixBytes) else { return nil }
        return describe(prefix: prefix)
    }

    public static func describe(prefix p: [UInt8]) -> String {
        func starts(_ magic: [UInt8]) -> Bool { p.count >= magic.count && Array(p[0..<magic.count]) == magic }
        if p.isEmpty { return "an empty file" }
        if isNPY(p) { return "a NumPy array (.npy)" }
        if starts([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) { return "an HDF5 file (a Keras model, .h5)" }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return "a zip archive (a PyTorch .pt, a Keras .keras or a NumPy .npz)" }
        if starts([0x80, 0x02]) { return "a Python pickle (a legacy PyTorch file)" }
        if starts([0x1F, 0x8B]) { return "a gzip file (e.g. a .nii.gz scan)" }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "a PNG image" }
        if isNIfTI(p) { return "a NIfTI scan (.nii)" }
        if isSafeTensors(p) { return "a safetensors file (.safetensors or .genesis)" }
        if starts(Array("ObjectType".utf8)) || starts(Array("NDims".utf8)) { return "a MetaImage scan (.mhd, .mha)" }
        if p.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20...0x7E).contains($0) || $0 >= 0x80 }) { return "a text file" }
        return "a file of no kind genesis knows"
    }

    public static func isNPY(_ p: [UInt8]) -> Bool {
        p.count >= 6 && Array(p[0..<6]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    }

    public static func isPNG(_ p: [UInt8]) -> Bool {
        p.count >= 8 && Array(p[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    }

    /// NIfTI-1 or -2, plain (a header size of 348 or 540 and the magic) or gzip-compressed.
    public static func isNIfTI(_ p: [UInt8]) -> Bool {
        if p.count >= 2, p[0] == 0x1F, p[1] == 0x8B { return true }
        if p.count >= 348, [Array("n+1\0".utf8), Array("ni1\0".utf8)].contains(Array(p[344..<348])) { return true }
        return p.count >= 8 && [Array("n+2\0".utf8), Array("ni2\0".utf8)].contains(Array(p[4..<8]))
    }

    /// An 8-byte little-endian header length, then a JSON object.
    public static func isSafeTensors(_ p: [UInt8]) -> Bool {
        guard p.count >= 9, p[8] == UInt8(ascii: "{") else { return false }
        let n = p[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return n >= 2 && n <= 100_000_000
    }
}
