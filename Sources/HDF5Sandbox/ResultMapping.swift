import Foundation
import KerasFormat

/// The parent's view of the result memory: the header checked, the region mapped read-only,
/// every record bounds-checked while decoding, then unmapped.
enum ResultMapping {
    static func decode(_ fd: Int32, path: String, reader: SandboxHelper, file: SourceFile) throws -> KerasModelFile {
        func bad(_ reason: String) -> SandboxError { .badResult(file: path, reason: reason) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw bad("cannot stat the result memory") }
        let size = Int(st.st_size)
        var header = [UInt8](repeating: 0, count: ResultLayout.headerSize)
        guard size >= header.count, pread(fd, &header, header.count, 0) == header.count else { throw bad("no header") }
        guard Array(header[0..<8]) == ResultLayout.magic else {
            throw SandboxError.helper(file: path, reason: "\(reader) exited without answering as the reader (is it \(SandboxHelper.executableName) or genesis? name it with \(SandboxHelper.variable) or SandboxHelper.executable)")
        }
        let fields = try header.withUnsafeBytes { raw -> (UInt32, Int, Int, Int, Int) in
            var r = ResultReader(UnsafeRawBufferPointer(rebasing: raw[8...]))
            let status = try r.u32("status")
            _ = try r.u32("reserved")
            return (status, try r.size("meta offset"), try r.size("meta length"), try r.size("data offset"), try r.size("data length"))
        }
        let (statusCode, metaOffset, metaLength, dataOffset, dataLength) = fields
        guard let status = ResultLayout.Status(rawValue: statusCode) else { throw bad("status \(statusCode)") }
        let (metaEnd, o1) = metaOffset.addingReportingOverflow(metaLength)
        let (total, o2) = dataOffset.addingReportingOverflow(dataLength)
        guard metaOffset == ResultLayout.headerSize, metaLength <= ResultLayout.maxMetaBytes, !o1, !o2, metaEnd <= dataOffset, total <= size else {
            throw bad("sections meta \(metaOffset)+\(metaLength), data \(dataOffset)+\(dataLength) do not fit the \(size) bytes")
        }
        guard let base = mmap(nil, total, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0), base != MAP_FAILED else { throw bad("cannot map \(total) bytes") }
        defer { munmap(base, total) }
        let region = UnsafeRawBufferPointer(start: base, count: total)
        var r = ResultReader(UnsafeRawBufferPointer(rebasing: region[metaOffset..<metaEnd]))
        do {
            switch status {
            case .rejected, .testReport:
                let message = try r.string("message").replacingOccurrences(of: SandboxChild.filePath, with: path)
                throw SandboxError.rejected(file: path, message: status == .testReport ? "sandbox test report: \(message)" : message)
            case .ok:
                return try KerasResult.decode(&r, data: UnsafeRawBufferPointer(rebasing: region[dataOffset..<total]), path: path, file: file)
            }
        } catch let e as ResultReader.Malformed {
            throw bad(e.reason)
        }
    }
}
