internal import SystemZlib
import Tensors

/// Reading through zlib's gz layer, which reads plain files unchanged.
enum GzipFile {
    /// The first `count` decompressed bytes (fewer when the stream ends or breaks first).
    static func prefix(_ path: String, count: Int) throws -> [UInt8] {
        do { _ = try FileIO.regularFileStatus(path) } catch {
            throw VolumeError(file: path, what: "file", expected: "a readable regular file", found: "\(error)")
        }
        guard let gz = gzopen(path, "rb") else {
            throw VolumeError(file: path, what: "file", expected: "a readable file", found: "cannot open it")
        }
        defer { gzclose(gz) }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { gzread(gz, $0.baseAddress! + done, UInt32(count - done)) }
            if n <= 0 { break }
            done += Int(n)
        }
        return Array(out[0..<done])
    }
}
