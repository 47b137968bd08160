import Tensors

/// A MetaImage (ITK MetaIO) text header: `Key = Value` lines up to `ElementDataFile`, which
/// must come last. Bounded: at most `maxHeaderBytes` and `maxLines`; values checked as parsed.
struct MetaImageHeader: Sendable {
    static let maxHeaderBytes = 1 << 16
    static let maxLines = 512
    /// Keys a header may start with (used to recognise a header under another name).
    static let keys = ["ObjectType", "NDims", "ObjectSubType", "Comment", "DimSize"]

    var dims: [Int]
    var type: StoredType
    var spacing: [Double]
    var origin: [Double]
    /// Row-major 3x3: column c is the world (LPS) direction of index axis c.
    var direction: [Double]
    var msb: Bool
    var compressed: Bool
    var compressedSize: Int?
    /// Bytes to skip in the data file before the voxels; nil for HeaderSize = -1 (data at the end).
    var dataSkip: Int?
    /// nil for LOCAL (the data follows the header in the same file).
    var dataFile: String?
    /// Where the data starts in the header's own file (LOCAL).
    var headerLength: Int

    static func parse(_ bytes: [UInt8], file: String) throws -> MetaImageHeader {
        func fail(_ what: String, _ expected: String, _ found: String) -> VolumeError {
            VolumeError(file: file, what: what, expected: expected, found: found)
        }
        var fields: [String: String] = [:]
        var position = 0, lines = 0
        var dataFileValue: String?
        while dataFileValue == nil {
            guard position < bytes.count else {
                throw fail("header", "an ElementDataFile line within \(maxHeaderBytes) bytes", "end of header after \(lines) lines")
            }
            lines += 1
            guard lines <= maxLines else { throw fail("header", "at most \(maxLines) lines before ElementDataFile", "more") }
            let end = bytes[position...].firstIndex(of: 0x0A) ?? bytes.count
            var line = bytes[position..<end]
            position = min(end + 1, bytes.count)
            if line.last == 0x0D { line = line.dropLast() }
            guard let text = String(validating: line, as: UTF8.self), !text.contains(where: { $0.isASCII && $0.asciiValue! < 32 && $0 != "\t" }) else {
                throw fail("header line \(lines)", "text", "binary bytes (is this a MetaImage header?)")
            }
            if text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let eq = text.firstIndex(of: "=") else { throw fail("header line \(lines)", "Key = Value", "'\(text.prefix(60))'") }
            let key = text[..<eq].trimmingCharacters(in: .whitespaces)
            let value = text[text.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard fields[key] == nil else { throw fail("header", "\(key) once", "twice") }
            fields[key] = value
            if key == "ElementDataFile" { dataFileValue = value }
        }
        let f = Fields(values: fields, file: file)

        if let object = fields["ObjectType"], object != "Image" { throw fail("ObjectType", "Image", object) }
        let ndims = try f.int("NDims")
        guard ndims == 3 || ndims == 4 else { throw fail("NDims", "3 or 4", "\(ndims)") }
        let dims = try f.ints("DimSize", count: ndims)
        guard dims.allSatisfy({ $0 >= 1 }) else { throw fail("DimSize", "positive sizes", dims.map(String.init).joined(separator: " ")) }
        guard let typeName = fields["ElementType"] else { throw fail("ElementType", "a MET_ type", "none") }
        guard let type = StoredType(metaImage: typeName) else {
            throw fail("ElementType", "MET_UCHAR, MET_CHAR, MET_SHORT, MET_USHORT, MET_INT, MET_UINT, MET_LONG_LONG, MET_ULONG_LONG, MET_FLOAT or MET_DOUBLE", typeName)
        }
        if let channels = fields["ElementNumberOfChannels"], channels != "1" {
            throw fail("ElementNumberOfChannels", "1", channels)
        }
        if let binary = fields["BinaryData"], try !f.bool("BinaryData", binary) {
            throw fail("BinaryData", "True (ASCII voxel data is not read)", binary)
        }
        let spacing = try f.doubles(["ElementSpacing", "ElementSize"], count: ndims) ?? Array(repeating: 1, count: ndims)
        guard spacing.allSatisfy({ $0.isFinite }) else { throw fail("ElementSpacing", "finite values", "\(spacing)") }
        let origin = try f.doubles(["Offset", "Origin", "Position"], count: ndims) ?? Array(repeating: 0, count: ndims)
        let matrix = try f.doubles(["TransformMatrix", "Rotation", "Orientation"], count: ndims * ndims)
        // ITK's MetaImageIO: axis c's direction is TransformMatrix[c*N ..< c*N+N] (a column).
        var direction = [Double](repeating: 0, count: 9)
        for r in 0..<3 { for c in 0..<3 { direction[r * 3 + c] = matrix.map { $0[c * ndims + r] } ?? (r == c ? 1 : 0) } }
        guard origin.allSatisfy({ $0.isFinite }), direction.allSatisfy({ $0.isFinite }) else {
            throw fail("geometry", "finite Offset and TransformMatrix", "non-finite values")
        }
        let msbField = ["BinaryDataByteOrderMSB", "ElementByteOrderMSB"].first { fields[$0] != nil }
        let msb = try msbField.map { try f.bool($0, fields[$0]!) } ?? false
        let compressed = try fields["CompressedData"].map { try f.bool("CompressedData", $0) } ?? false
        let compressedSize = try fields["CompressedDataSize"].map { _ in try f.int("CompressedDataSize") }
        if let c = compressedSize, c < 0 { throw fail("CompressedDataSize", "a size >= 0", "\(c)") }
        let headerSize = try fields["HeaderSize"].map { _ in try f.int("HeaderSize") } ?? 0
        guard headerSize >= -1 else { throw fail("HeaderSize", "-1 or a size >= 0", "\(headerSize)") }
        guard !(compressed && headerSize == -1) else { throw fail("HeaderSize", "a size >= 0 for compressed data", "-1") }

        let name = dataFileValue!
        var dataFile: String?
        if name != "LOCAL" {
            guard !name.isEmpty, !name.hasPrefix("LIST"), !name.contains("%"), !name.contains(" ") else {
                throw fail("ElementDataFile", "LOCAL or one data file name (file lists and patterns are not read)", "'\(name)'")
            }
            guard !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
                throw fail("ElementDataFile", "a name inside the header's folder (no absolute path, no ..)", "'\(name)'")
            }
            dataFile = name
        }
        return MetaImageHeader(dims: dims, type: type, spacing: Array(spacing.prefix(3)), origin: Array(origin.prefix(3)),
                               direction: direction, msb: msb, compressed: compressed, compressedSize: compressedSize,
                               dataSkip: headerSize == -1 ? nil : headerSize, dataFile: dataFile, headerLength: position)
    }

    private struct Fields {
        let values: [String: String]
        let file: String

        func fail(_ key: String, _ expected: String) -> VolumeError {
            VolumeError(file: file, what: key, expected: expected, found: values[key].map { "'\($0.prefix(80))'" } ?? "none")
        }

        func int(_ key: String) throws -> Int {
            guard let v = values[key], let n = Int(v), n.magnitude < 1 << 40 else { throw fail(key, "an integer") }
            return n
        }

        func ints(_ key: String, count: Int) throws -> [Int] {
            guard let v = values[key] else { throw fail(key, "\(count) integers") }
            let parts = v.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { Int($0) }
            guard parts.count == count, parts.allSatisfy({ $0 != nil && $0!.magnitude < 1 << 40 }) else { throw fail(key, "\(count) integers") }
            return parts.map { $0! }
        }

        /// The first of `keys` present, as `count` numbers; nil when none is present.
        func doubles(_ keys: [String], count: Int) throws -> [Double]? {
            guard let key = keys.first(where: { values[$0] != nil }) else { return nil }
            let parts = values[key]!.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { Double($0) }
            guard parts.count == count, parts.allSatisfy({ $0 != nil }) else { throw fail(key, "\(count) numbers") }
            return parts.map { $0! }
        }

        func bool(_ key: String, _ v: String) throws -> Bool {
            switch v.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw fail(key, "True or False")
            }
        }
    }
}
