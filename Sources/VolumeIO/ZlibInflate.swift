internal import SystemZlib

/// zlib (or gzip) data inflated to an exact size, as MetaIO writes `CompressedData = True`.
enum ZlibInflate {
    /// deflate's largest expansion (zlib FAQ: 1032:1), plus the gzip/zlib header's slack.
    static let maxRatio = 1032

    /// Inflates `packed` to exactly `count` bytes: a stream that ends early or is damaged is an
    /// error; output past `count` is never produced (the buffer is the cap).
    static func exactly(_ count: Int, from packed: [UInt8], file: String) throws -> [UInt8] {
        func fail(_ found: String) -> VolumeError {
            VolumeError(file: file, what: "compressed data", expected: "a zlib stream of \(count) bytes", found: found)
        }
        // deflate gives at most 1032 bytes per input byte: refuse before allocating a size the
        // stream could never fill (a few kilobytes claiming gigabytes).
        let (most, overflow) = packed.count.multipliedReportingOverflow(by: maxRatio)
        guard overflow || most >= count else {
            throw fail("\(packed.count) compressed bytes, which inflate to at most \(most)")
        }
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        var s = z_stream()
        // 15 + 32: a zlib or a gzip header, detected.
        guard inflateInit2_(&s, 47, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw fail("zlib could not start") }
        defer { inflateEnd(&s) }
        var produced = 0, consumed = 0
        var status = Z_OK
        try packed.withUnsafeBytes { input in
            try out.withUnsafeMutableBytes { output in
                while produced < count {
                    let inChunk = min(input.count - consumed, Int(UInt32.max >> 1))
                    let outChunk = min(count - produced, Int(UInt32.max >> 1))
                    s.next_in = UnsafeMutablePointer(mutating: input.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + consumed })
                    s.avail_in = UInt32(inChunk)
                    s.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self) + produced
                    s.avail_out = UInt32(outChunk)
                    status = inflate(&s, Z_NO_FLUSH)
                    consumed += inChunk - Int(s.avail_in)
                    produced += outChunk - Int(s.avail_out)
                    if status == Z_STREAM_END { break }
                    guard status == Z_OK else {
                        if status == Z_BUF_ERROR, consumed == input.count { throw fail("\(produced) bytes: the stream is cut short") }
                        throw fail("\(produced) bytes, then a damaged stream (zlib \(status))")
                    }
                }
            }
        }
        guard produced == count else { throw fail("\(produced) bytes: the stream ends early") }
        return out
    }
}
