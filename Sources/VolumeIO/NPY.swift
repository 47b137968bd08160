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
        let size: Int
        let prefix: [UInt8]
        do {
            size = try FileIO.size(of: path)
            prefix = try FileIO.readPrefix(path, count: min(size, 12 + NPYHeader.maxHeaderBytes))
        } catch {
            throw VolumeError(file: path, what: "file", expected: "a readable .npy file", found: "\(error)")
        }
        let h = try NPYHeader.parse(prefix, file: path)
        guard size - h.dataOffset == h.dataBytes else {
            throw VolumeError(file: path, what: "data size", expected: "\(h.dataBytes) bytes for shape \(h.shape) of \(h.dtype.rawValue)", found: "\(size - h.dataOffset) bytes")
        }
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, cap: h.dataOffset + h.dataBytes) } catch {
            throw VolumeError(file: path, what: "file", expected: "\(h.dataOffset + h.dataBytes) readable bytes", found: "\(error)")
        }
        return try decode(bytes, file: path)
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
