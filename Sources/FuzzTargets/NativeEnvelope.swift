/// A `.genesis` file with no tensors whose `__metadata__["genesis"]` is the fuzzer's input, so
/// that the native target spends its executions on the metadata document, not on the
/// safetensors framing around it (which the safetensors target covers).
enum NativeEnvelope {
    static func wrap(_ document: [UInt8]) -> [UInt8] {
        var header = Array(#"{"__metadata__":{"format":"genesis","format_version":"1.0","genesis":""#.utf8)
        quote(String(decoding: document, as: UTF8.self), into: &header)
        header += Array(#""}}"#.utf8)
        let n = UInt64(header.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + header
    }

    /// The body of a JSON string literal for `s` (quotes, backslashes and controls escaped).
    static func quote(_ s: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
    }
}
