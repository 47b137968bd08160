#if canImport(Glibc)
import Glibc
#endif
import Tensors

/// Writes a float32 NIfTI-1 (.nii or .nii.gz) slab by slab along k (each slab: all i,j for
/// some k, i fastest), so a big output never sits in memory whole; atomic: nothing at `path`
/// until finish(). The file is written by libnifti under a temporary name beside the target
/// (a symlink's target, `FileIO.resolvedOutput`), fsynced, renamed into place and its
/// directory synced; an unfinished writer removes its temporary file. For a 4-D shape the
/// slabs run along k for t = 0, then t = 1, and so on.
public final class NIfTISlabWriter {
    public let path: String
    public let shape: [Int]
    private let target: String
    private let temporary: String
    private let stream: NIfTIStream
    private let plane: Int
    private var done = false

    public init(path: String, shape: [Int], geometry: VolumeGeometry, description: String = "") throws {
        self.path = path
        self.shape = shape
        let suffix = try NIfTIStream.suffix(of: path)
        do { target = try FileIO.resolvedOutput(path) } catch {
            throw VolumeError(file: path, what: "output", expected: "a regular file or a new name", found: "\(error)")
        }
        FileIO.removeStaleTemporaries(beside: target)
        temporary = FileIO.temporaryPath(beside: target, suffix: suffix)
        do {
            stream = try NIfTIStream(file: temporary, reportAs: path, shape: shape, geometry: geometry, description: description)
        } catch {
            FileIO.removeTemporary(temporary)   // libnifti may have created it before failing; deinit does not run
            throw error
        }
        plane = shape[0] * shape[1]
    }

    deinit {
        if !done { FileIO.removeTemporary(temporary) }
    }

    /// count = shape[0]*shape[1]*slices.
    public func append(_ slab: UnsafeBufferPointer<Float>) throws {
        guard !done else { throw VolumeError(file: path, what: "slab", expected: "a writer not yet finished", found: "finish() already called") }
        guard slab.count % plane == 0 else {
            throw VolumeError(file: path, what: "slab", expected: "a multiple of \(shape[0])x\(shape[1]) = \(plane) values", found: "\(slab.count)")
        }
        do { try stream.write(slab) } catch {
            abandon()
            throw error
        }
    }

    /// Checks that every slab came, then moves the file into place.
    public func finish() throws {
        guard !done else { return }
        do { try stream.close() } catch {
            abandon()
            throw error
        }
        var existing = stat()
        if stat(target, &existing) == 0 { _ = chmod(temporary, existing.st_mode & 0o7777) }
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            abandon()
            throw VolumeError(file: path, what: "write", expected: "a rename into place", found: reason)
        }
        done = true
        FileIO.renamedTemporary(temporary)
        FileIO.syncDirectory(of: target)
    }

    private func abandon() {
        done = true
        try? stream.close()
        FileIO.removeTemporary(temporary)
    }
}
