#if canImport(Glibc)
import Glibc
#endif
import Tensors

/// MetaImage (`.mhd` + `.raw`/`.zraw`, or `.mha` with the data after the header) read by our
/// bounded parser: there is no Debian C library for MetaIO. The data file must sit inside the
/// header's folder; sizes are checked against the file before reading, and compressed data is
/// inflated to exactly the bytes DimSize and ElementType call for, no more.
enum MetaImageReader {
    static func read(_ path: String, maxVoxels: Int) throws -> Volume {
        func fail(_ what: String, _ expected: String, _ found: String) -> VolumeError {
            VolumeError(file: path, what: what, expected: expected, found: found)
        }
        let headerFileSize: Int
        let prefix: [UInt8]
        do {
            headerFileSize = try FileIO.size(of: path)
            prefix = try FileIO.readPrefix(path, count: min(headerFileSize, MetaImageHeader.maxHeaderBytes))
        } catch {
            throw fail("file", "a readable regular file", "\(error)")
        }
        let h = try MetaImageHeader.parse(prefix, file: path)
        var voxels = 1
        for d in h.dims {
            let (p, overflow) = voxels.multipliedReportingOverflow(by: d)
            guard !overflow, p <= maxVoxels else {
                throw fail("DimSize", "at most \(maxVoxels) voxels", h.dims.map(String.init).joined(separator: " ") + (overflow ? " (overflows)" : ""))
            }
            voxels = p
        }
        let (expected, bytesOverflow) = voxels.multipliedReportingOverflow(by: h.type.bytes)
        guard !bytesOverflow else { throw fail("DimSize", "a data size that fits in 64 bits", "\(voxels) voxels of \(h.type.bytes) bytes") }

        // Where the bytes are: after the header (LOCAL) or in a file beside it.
        let dataPath: String
        let dataFileSize: Int
        var start: Int
        if let name = h.dataFile {
            let dir = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
            dataPath = dir + name
            do { dataFileSize = try FileIO.size(of: dataPath) } catch {
                throw fail("ElementDataFile", "the data file \(name) beside the header", "\(error)")
            }
            start = h.dataSkip ?? max(0, dataFileSize - expected)
        } else {
            dataPath = path
            dataFileSize = headerFileSize
            start = h.headerLength + (h.dataSkip ?? 0)
            if h.dataSkip == nil { start = max(h.headerLength, dataFileSize - expected) }
        }
        let available = max(0, dataFileSize - start)
        let storedBytes: [UInt8]
        if h.compressed {
            let size = h.compressedSize.map { min($0, available) } ?? available
            if let c = h.compressedSize, c > available {
                throw fail("data", "\(c) compressed bytes (CompressedDataSize) in \(dataPath)", "\(available): the file is cut short")
            }
            let packed = try RawFile.read(dataPath, offset: start, count: size, report: path)
            storedBytes = try ZlibInflate.exactly(expected, from: packed, file: path)
        } else {
            guard available >= expected else {
                throw fail("data", "\(expected) bytes for DimSize \(h.dims.map(String.init).joined(separator: " ")) of \(h.type.name) in \(dataPath)",
                           "\(available): the data is cut short")
            }
            storedBytes = try RawFile.read(dataPath, offset: start, count: expected, report: path)
        }
        let floats = storedBytes.withUnsafeBytes {
            VoxelDecoding.floats($0, type: h.type, swapBytes: h.msb, scaling: .identity)
        }
        return Volume(shape: h.dims, voxels: floats,
                      geometry: .fromLPS(spacing: h.spacing, origin: h.origin, direction: h.direction),
                      format: "metaimage", storedType: h.type.name)
    }
}

/// A byte range of a regular file, read with pread.
enum RawFile {
    static func read(_ path: String, offset: Int, count: Int, report: String) throws -> [UInt8] {
        func fail(_ found: String) -> VolumeError {
            VolumeError(file: report, what: "data", expected: "\(count) bytes at offset \(offset) of \(path)", found: found)
        }
        do { _ = try FileIO.regularFileStatus(path) } catch { throw fail("\(error)") }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw fail(String(cString: strerror(errno))) }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        try out.withUnsafeMutableBytes { buf in
            while done < count {
                let n = pread(fd, buf.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0, errno == EINTR { continue }
                if n < 0 { throw fail(String(cString: strerror(errno))) }
                if n == 0 { throw fail("\(done) (the file shrank while reading)") }
                done += n
            }
        }
        return out
    }
}
