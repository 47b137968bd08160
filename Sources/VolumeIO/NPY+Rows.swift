import Foundation
import Tensors

extension NPY {
    /// The header of a `.npy` file, checked against the file size (nothing else is read).
    /// Fortran order is refused unless `allowFortranOrder`.
    public static func header(_ path: String, allowFortranOrder: Bool = false) throws -> NPYHeader {
        let size: Int
        let prefix: [UInt8]
        do {
            size = try FileIO.size(of: path)
            prefix = try FileIO.readPrefix(path, count: min(size, 12 + NPYHeader.maxHeaderBytes))
        } catch {
            throw VolumeError(file: path, what: "file", expected: "a readable .npy file", found: "\(error)")
        }
        let h = try NPYHeader.parse(prefix, file: path, allowFortranOrder: allowFortranOrder)
        guard size - h.dataOffset == h.dataBytes else {
            throw VolumeError(file: path, what: "data size", expected: "\(h.dataBytes) bytes for shape \(h.shape) of \(h.dtype.rawValue)", found: "\(size - h.dataOffset) bytes")
        }
        return h
    }

    /// Rows `rows` (indices along the first axis, ascending and distinct) of a `.npy` file, as
    /// one array of shape (rows.count, ...): only those rows are read (one rank of a
    /// data-parallel run reads its own shard of the cube files).
    public static func readRows(_ path: String, rows: [Int]) throws -> Tensor {
        let h = try header(path)
        guard let n = h.shape.first else {
            throw VolumeError(file: path, what: "shape", expected: "an array with a first axis", found: "a scalar")
        }
        guard zip(rows, rows.dropFirst()).allSatisfy({ $0 < $1 }), rows.allSatisfy({ $0 >= 0 && $0 < n }) else {
            throw VolumeError(file: path, what: "rows", expected: "ascending distinct rows in 0..<\(n)", found: "\(rows.prefix(8))")
        }
        let rowBytes = n == 0 ? 0 : h.dataBytes / n
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw VolumeError(file: path, what: "file", expected: "a readable .npy file", found: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: rows.count * rowBytes)
        try bytes.withUnsafeMutableBytes { out in
            var i = 0
            while i < rows.count {
                var j = i + 1
                while j < rows.count, rows[j] == rows[j - 1] + 1 { j += 1 }   // a run of consecutive rows: one read
                let length = (j - i) * rowBytes
                var done = 0
                while done < length {
                    let got = pread(fd, out.baseAddress! + i * rowBytes + done, length - done, off_t(h.dataOffset + rows[i] * rowBytes + done))
                    guard got > 0 else {
                        throw VolumeError(file: path, what: "data", expected: "\(length) bytes at row \(rows[i])", found: got < 0 ? String(cString: strerror(errno)) : "end of file")
                    }
                    done += got
                }
                i = j
            }
        }
        return try Tensor(dtype: h.dtype, shape: [rows.count] + Array(h.shape.dropFirst()), bytes: bytes, name: path)
    }
}

extension VolumeBatch {
    /// Rows `rows` of a `.npy` of cubes as a network input (see `NPY.readRows`).
    public static func readNPYRows(_ path: String, rows: [Int], window: IntensityWindow? = nil) throws -> Tensor {
        try networkInput(NPY.readRows(path, rows: rows), file: path, window: window)
    }
}
