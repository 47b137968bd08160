/// A bounded walk over a serialised `ModelProto` before protobuf decodes it: decoding builds a
/// Swift value per field, so a few bytes of wire (an empty node, a one-byte varint) can become
/// hundreds of bytes of memory. The walk counts every field of every message it knows
/// (model, graph, node, attribute, tensor, value info and its type) against one budget and
/// per-message caps, and refuses what genesis never writes before anything is allocated:
/// functions, training info, subgraphs and tensors inside attributes, sparse and external data,
/// sequence, map and optional types. It reads the bytes in place and allocates nothing per field.
enum ONNXWireScan {
    /// Fields in the whole file (a genesis graph of the official network has about 4,000).
    static let maxFields = 2_000_000
    /// Occurrences of one field number in one message, except the graph's nodes, initializers
    /// and value infos and the model's metadata (`ONNXModel`'s caps).
    static let maxRepeated = 256

    enum Message { case model, graph, node, attribute, tensor, valueInfo, type, tensorType, shape, dimension, entry, opset, leaf }

    /// What a length-delimited field of a message is: a message to walk, bytes, or refused.
    static func child(_ m: Message, _ field: UInt64) -> (Message?, refused: String?) {
        switch (m, field) {
        case (.model, 7): return (.graph, nil)
        case (.model, 8): return (.opset, nil)
        case (.model, 14): return (.entry, nil)
        case (.model, 20): return (nil, "training_info")
        case (.model, 25): return (nil, "functions")
        case (.graph, 1): return (.node, nil)
        case (.graph, 5): return (.tensor, nil)
        case (.graph, 11), (.graph, 12), (.graph, 13): return (.valueInfo, nil)
        case (.graph, 14): return (nil, "graph.quantization_annotation")
        case (.graph, 15): return (nil, "graph.sparse_initializer")
        case (.node, 5): return (.attribute, nil)
        case (.attribute, 5), (.attribute, 10): return (nil, "tensor attributes")
        case (.attribute, 6), (.attribute, 11): return (nil, "subgraph attributes")
        case (.attribute, 22), (.attribute, 23): return (nil, "sparse tensor attributes")
        case (.attribute, 14), (.attribute, 15): return (nil, "type attributes")
        case (.tensor, 13): return (nil, "external data")
        case (.tensor, 5), (.tensor, 10), (.tensor, 11): return (nil, "tensor data other than float, int64 or raw bytes")
        case (.tensor, 3): return (nil, "tensor segments")
        case (.valueInfo, 2): return (.type, nil)
        case (.type, 1): return (.tensorType, nil)
        case (.type, 4), (.type, 5), (.type, 8), (.type, 9): return (nil, "sequence, map, sparse or optional types")
        case (.tensorType, 2): return (.shape, nil)
        case (.shape, 1): return (.dimension, nil)
        default: return (nil, nil)
        }
    }

    static func cap(_ m: Message, _ field: UInt64) -> Int {
        switch (m, field) {
        case (.graph, 1), (.graph, 5), (.graph, 11), (.graph, 12), (.graph, 13): return ONNXModel.maxNodes
        case (.model, 14): return ONNXModel.maxMetadata
        default: return maxRepeated
        }
    }

    struct Walker {
        let bytes: [UInt8]
        let file: String
        var fields = 0

        mutating func varint(_ i: inout Int, end: Int) throws -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < end {
                let b = bytes[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
                if shift >= 64 { break }
            }
            throw ONNXError.notProtobuf(file: file, reason: "malformed varint at byte \(i)")
        }

        mutating func walk(_ m: Message, from start: Int, to end: Int, depth: Int) throws {
            guard depth <= 16 else { throw ONNXError.overCap(file: file, what: "message nesting", cap: 16, found: depth) }
            var counts: [UInt64: Int] = [:]
            var i = start
            while i < end {
                let key = try varint(&i, end: end)
                let field = key >> 3, wire = key & 7
                fields += 1
                guard fields <= ONNXWireScan.maxFields else { throw ONNXError.overCap(file: file, what: "protobuf fields", cap: ONNXWireScan.maxFields, found: fields) }
                counts[field, default: 0] += 1
                let cap = ONNXWireScan.cap(m, field)
                guard counts[field]! <= cap else { throw ONNXError.overCap(file: file, what: "repeated field \(field) of a \(m) message", cap: cap, found: counts[field]!) }
                switch wire {
                case 0: _ = try varint(&i, end: end)
                case 1: i += 8
                case 5: i += 4
                case 2:
                    let n = try varint(&i, end: end)
                    guard n <= UInt64(end - i) else { throw ONNXError.notProtobuf(file: file, reason: "field \(field) runs past its message (\(n) bytes at byte \(i))") }
                    let (sub, refused) = ONNXWireScan.child(m, field)
                    if let refused { throw ONNXError.badField(file: file, field: refused, expected: "none (genesis never writes it)", found: "present") }
                    if let sub { try walk(sub, from: i, to: i + Int(n), depth: depth + 1) } else if m == .tensor, field == 1 || field == 7 {
                        // Packed dims or int64_data: one Int64 per varint, counted against the budget.
                        var j = i, k = 0
                        while j < i + Int(n) { _ = try varint(&j, end: i + Int(n)); k += 1 }
                        fields += k
                        guard fields <= ONNXWireScan.maxFields else { throw ONNXError.overCap(file: file, what: "protobuf fields", cap: ONNXWireScan.maxFields, found: fields) }
                    } else if m == .attribute, field == 8 {
                        var j = i, k = 0
                        while j < i + Int(n) { _ = try varint(&j, end: i + Int(n)); k += 1 }
                        guard k <= ONNXWireScan.maxRepeated else { throw ONNXError.overCap(file: file, what: "ints of an attribute", cap: ONNXWireScan.maxRepeated, found: k) }
                    }
                    i += Int(n)
                default:
                    throw ONNXError.notProtobuf(file: file, reason: "wire type \(wire) of field \(field)")
                }
                guard i <= end else { throw ONNXError.notProtobuf(file: file, reason: "field \(field) runs past its message") }
            }
        }
    }

    /// Walks `bytes` as a ModelProto; throws `ONNXError` at the first thing over a cap or refused.
    static func check(_ bytes: [UInt8], file: String) throws {
        var w = Walker(bytes: bytes, file: file)
        try w.walk(.model, from: 0, to: bytes.count, depth: 0)
    }
}
