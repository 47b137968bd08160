import Tensors

/// `.npy` arrays: read any supported little-endian dtype (C order), write float32 and friends.
public enum NPY {
    /// Decodes a whole `.npy` file image.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws -> Tensor {
        let h = try NPYHeader.parse(bytes, file: file)
        let available = bytes.count - h.dataOffset
        guard available == h.dataBytes else {
            throw VolumeError(file: file, what: "data size", expected: "\(h.dataBytes) bytes for shape \(h.shape) of \(h.dtype.rawValue)", found: "\(available) bytes")
        }
        return try Tensor(dtype: h.dtype, shape: h.shape, bytes: Array(bytes[h.dataOffset...]), name: file)
    }

    /// Reads a `.npy` file; the header is checked against the file size before the data is read.
    public static func read(_ path: String) throws -> Tensor {
        try read(path, allowFortranOrder: false)
    }

    /// Reads a `.npy` in C or Fortran order (what nibabel's `get_fdata()` saves for a scan),
    /// returned in C order: a Fortran array's values are rearranged, its shape kept.
    public static func readAnyOrder(_ path: String) throws -> Tensor {
        try read(path, allowFortranOrder: true)
    }

    private static func read(_ path: String, allowFortranOrder: Bool) throws -> Tensor {
        let h = try header(path, allowFortranOrder: allowFortranOrder)
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, cap: h.dataOffset + h.dataBytes) } catch {
            throw VolumeError(file: path, what: "file", expected: "\(h.dataOffset + h.dataBytes) readable bytes", found: "\(error)")
        }
        let stored = Array(bytes[h.dataOffset...])
        let data = h.fortranOrder ? cOrder(fromFortran: stored, shape: h.shape, elementBytes: h.dtype.byteSize) : stored
        return try Tensor(dtype: h.dtype, shape: h.shape, bytes: data, name: path)
    }

    /// The bytes of a Fortran-order array (first axis fastest) in C order (last axis fastest).
    static func cOrder(fromFortran bytes: [UInt8], shape: [Int], elementBytes: Int) -> [UInt8] {
        guard shape.count > 1 else { return bytes }
        var out = [UInt8](repeating: 0, count: bytes.count)
        let count = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: shape.count)   // advanced in Fortran order
        var cStrides = [Int](repeating: 1, count: shape.count)
        for a in stride(from: shape.count - 2, through: 0, by: -1) { cStrides[a] = cStrides[a + 1] * shape[a + 1] }
        for f in 0..<count {
            var c = 0
            for a in 0..<shape.count { c += index[a] * cStrides[a] }
            for b in 0..<elementBytes { out[c * elementBytes + b] = bytes[f * elementBytes + b] }
            for a in 0..<shape.count {
                index[a] += 1
                if index[a] < shape[a] { break }
                index[a] = 0
            }
        }
        return out
    }

    /// The file image numpy's `np.save` would write (bfloat16 has no numpy dtype: refused).
    public static func encode(_ t: Tensor, file: String = "<memory>") throws -> [UInt8] {
        guard t.dtype != .bfloat16 else {
            throw VolumeError(file: file, what: "dtype", expected: "a dtype numpy has (float16/32/64, ints, bool)", found: "bfloat16")
        }
        return NPYHeader.encode(dtype: t.dtype, shape: t.shape) + t.bytes
    }

    /// Writes atomically.
    public static func write(_ t: Tensor, to path: String) throws {
        let image = try encode(t, file: path)
        do { try FileIO.write(image, to: path) } catch {
            throw VolumeError(file: path, what: "file", expected: "a writable path", found: "\(error)")
        }
    }
}
