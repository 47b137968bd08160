import Foundation
import HDF5
import Tensors

/// The file the child read, as the parent holds it open: the tensors the child located
/// (contiguous, unfiltered, stored as read) are read from here by the parent itself, after
/// their extents are checked against the file's size and a budget, so the child hands back
/// their places and no bytes (one copy, as an in-process read makes).
struct SourceFile {
    let fd: Int32
    let size: Int
    let path: String

    /// What all located tensors together may claim: 8 x the file's size + 64 MiB, the reader's
    /// own budget (`KerasReader.ReadBudget`), so overlapping extents cannot amplify a small file.
    var budget: Int { (64 << 20) &+ size.multipliedReportingOverflow(by: 8).partialValue }

    /// The bytes of every extent, in order, read on two threads (halves of equal bytes).
    func read(_ extents: [(FileExtent, String)]) throws -> [[UInt8]] {
        let total = extents.reduce(0) { $0 + $1.0.length }
        var running = 0
        let cut = extents.firstIndex { running += $0.0.length; return running * 2 >= total }.map { $0 + 1 } ?? extents.count
        let halves = [Array(extents[..<cut]), Array(extents[cut...])]
        let results = halves.concurrentMap { part in Result { try part.map { try read($0.0, name: $0.1) } } }
        return try results.flatMap { try $0.get() }
    }

    func read(_ e: FileExtent, name: String) throws -> [UInt8] {
        var failure: String?
        let bytes = UnzeroedBytes.make(e.length) { buf in
            var done = 0
            while done < e.length {
                let got = pread(fd, buf.baseAddress! + done, min(e.length - done, 1 << 30), off_t(e.offset + done))
                if got > 0 { done += got; continue }
                if got < 0, errno == EINTR { continue }
                failure = got < 0 ? String(cString: strerror(errno)) : "end of file at \(e.offset + done)"
                return
            }
        }
        if let failure { throw SandboxError.badResult(file: path, reason: "\(name): cannot read \(e.length) bytes at \(e.offset): \(failure)") }
        return bytes
    }
}
