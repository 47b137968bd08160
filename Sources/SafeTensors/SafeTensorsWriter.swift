import Tensors

extension SafeTensors {
    /// Writes `store` atomically as a safetensors file, laid out as the reference writer does.
    /// `metadata` nil writes `store.metadata`; an empty map writes no `__metadata__`.
    public static func write(_ store: TensorStore, metadata: [String: String]? = nil, to path: String) throws {
        let (prefix, order) = try prepare(store, metadata: metadata ?? store.metadata, file: path)
        let chunks = [prefix] + order.map { store[$0]!.bytes }
        do { try FileIO.write(chunks: chunks, to: path) } catch let e as FileError { throw SafeTensorsError(path, e) }
    }

    /// The bytes of the whole file `write` would write.
    public static func serialize(_ store: TensorStore, metadata: [String: String]? = nil) throws -> [UInt8] {
        let (prefix, order) = try prepare(store, metadata: metadata ?? store.metadata, file: "<memory>")
        var out = prefix
        for n in order { out += store[n]!.bytes }
        return out
    }

    /// Tensor names in the order the writer lays out their data: dtype alignment descending,
    /// then name by UTF-8 bytes (Rust `prepare`).
    public static func layoutOrder(_ store: TensorStore) -> [String] {
        let keyed = store.entries.map { (name: $0.name, bytes: Array($0.name.utf8), rank: SafeTensorsDType($0.tensor.dtype).alignmentRank) }
        return keyed.sorted { a, b in
            if a.rank != b.rank { return a.rank > b.rank }
            return a.bytes.lexicographicallyPrecedes(b.bytes)
        }.map(\.name)
    }

    /// The 8-byte length and padded header, and the names in data order.
    static func prepare(_ store: TensorStore, metadata: [String: String], file: String) throws -> ([UInt8], [String]) {
        let order = layoutOrder(store)
        var h: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func comma() { if !first { h.append(UInt8(ascii: ",")) }; first = false }
        if !metadata.isEmpty {
            comma()
            JSONWriter.quoted("__metadata__", into: &h)
            h += Array(":{".utf8)
            let keys = metadata.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for (i, k) in keys.enumerated() {
                if i > 0 { h.append(UInt8(ascii: ",")) }
                JSONWriter.quoted(k, into: &h)
                h.append(UInt8(ascii: ":"))
                JSONWriter.quoted(metadata[k]!, into: &h)
            }
            h.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for name in order {
            guard name != "__metadata__" else {
                throw SafeTensorsError.invalidInput(file: file, tensor: name, reason: "this name is reserved for the metadata map")
            }
            let t = store[name]!
            let (end, o) = offset.addingReportingOverflow(t.bytes.count)
            guard !o else { throw SafeTensorsError.sizeOverflow(file: file, tensor: name, shape: t.shape, dtype: t.dtype.safetensorsCode) }
            comma()
            JSONWriter.quoted(name, into: &h)
            h += Array(":{\"dtype\":".utf8)
            JSONWriter.quoted(t.dtype.safetensorsCode, into: &h)
            h += Array(",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}".utf8)
            offset = end
        }
        h.append(UInt8(ascii: "}"))
        // Pad with spaces so the data buffer starts 8-aligned.
        h += [UInt8](repeating: 0x20, count: (8 - h.count % 8) % 8)
        guard h.count <= maxHeaderBytes else {
            throw SafeTensorsError.headerTooLarge(file: file, found: UInt64(h.count), cap: maxHeaderBytes)
        }
        var prefix = [UInt8](repeating: 0, count: 8)
        for k in 0..<8 { prefix[k] = UInt8(truncatingIfNeeded: UInt64(h.count) >> (8 * UInt64(k))) }
        return (prefix + h, order)
    }
}
