#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif
import Tensors

/// A float32 `.npy` written slice by slice, so that a large output never sits in memory whole:
/// the header first, then the values in C order as they are produced. Everything goes to a
/// temporary file beside the target; `commit()` checks that exactly the shape's values arrived,
/// fsyncs and renames it into place (and fsyncs the directory). Until then the target is
/// untouched; `discard()` (or deinit without commit) removes the temporary file.
public final class NPYStreamWriter {
    public let path: String
    public let shape: [Int]
    /// Where the file lands: `path`, or a symlink's target (`FileIO.resolvedOutput`).
    private let target: String
    private let temporary: String
    private var fd: Int32
    private var valuesWritten = 0
    private let valuesExpected: Int

    public init(path: String, shape: [Int]) throws {
        self.path = path
        self.shape = shape
        let bytes = try Limits.byteCount(shape, .float32, what: "output \(path)")
        valuesExpected = bytes / 4
        do { target = try FileIO.resolvedOutput(path) } catch { throw Self.failure(path, "\(error)") }
        FileIO.removeStaleTemporaries(beside: target)
        temporary = FileIO.temporaryPath(beside: target)
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw Self.failure(path, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        do { try write(NPYHeader.encode(dtype: .float32, shape: shape)) } catch { discard(); throw error }
    }

    deinit { if fd >= 0 { discard() } }

    /// Appends values (C order, continuing where the last call stopped).
    public func append(_ values: [Float]) throws {
        guard valuesWritten + values.count <= valuesExpected else {
            throw Self.failure(path, "\(valuesWritten + values.count) values for shape \(shape), which holds \(valuesExpected)")
        }
        try values.withUnsafeBytes { try write($0) }
        valuesWritten += values.count
    }

    /// Moves the finished file into place.
    public func commit() throws {
        guard valuesWritten == valuesExpected else {
            discard()
            throw Self.failure(path, "\(valuesWritten) of \(valuesExpected) values written")
        }
        let synced = fsync(fd) == 0
        close(fd)
        fd = -1
        guard synced, rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            FileIO.removeTemporary(temporary)
            throw Self.failure(path, reason)
        }
        FileIO.renamedTemporary(temporary)
        FileIO.syncDirectory(of: target)
    }

    /// Removes the temporary file; the target stays as it was.
    public func discard() {
        if fd >= 0 { close(fd) }
        fd = -1
        FileIO.removeTemporary(temporary)
    }

    private func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    private func write(_ raw: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < raw.count {
            let n = systemWrite(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw Self.failure(path, String(cString: strerror(errno))) }
            done += n
        }
    }

    private static func failure(_ path: String, _ reason: String) -> VolumeError {
        VolumeError(file: path, what: "write", expected: "a writable path", found: reason)
    }
}
