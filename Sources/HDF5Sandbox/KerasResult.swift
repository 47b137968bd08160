import Foundation
import HDF5
import KerasFormat
import Tensors

/// A `KerasModelFile` as the metadata records of `ResultLayout`: the child encodes what the
/// reader returned, placing each tensor's bytes in the data section; the parent decodes it,
/// copying each tensor once out of the shared memory into its own buffer.
enum KerasResult {
    /// Where a tensor's bytes come from: the data section, or the file itself (a tensor the
    /// child located, `KerasWeight.located`, which the parent reads from its own descriptor).
    enum Source: UInt8 {
        case memory = 0
        case file = 1
    }

    /// The encoded records and where each tensor's bytes go (offsets inside the data section).
    struct Encoded {
        var meta: [UInt8]
        var placements: [(tensor: Tensor, offset: Int)]
        var dataLength: Int
    }

    static func encode(_ m: KerasModelFile) -> Encoded {
        var w = ResultWriter()
        var placements: [(Tensor, Int)] = []
        var cursor = 0
        func tensor(_ w: inout ResultWriter, _ x: KerasWeight) {
            if let l = x.located {
                w.u8(Source.file.rawValue)
                w.string(l.dtype.rawValue)
                w.count(l.shape.count)
                for d in l.shape { w.int(d) }
                w.int(l.extent.offset)
                w.int(l.extent.length)
                return
            }
            let t = x.tensor
            w.u8(Source.memory.rawValue)
            w.string(t.dtype.rawValue)
            w.count(t.shape.count)
            for d in t.shape { w.int(d) }
            w.int(cursor)
            w.int(t.bytes.count)
            placements.append((t, cursor))
            cursor = ResultLayout.aligned(cursor + t.bytes.count)!
        }
        func weights(_ w: inout ResultWriter, _ list: [KerasWeight]) {
            w.count(list.count)
            for x in list { w.string(x.name); tensor(&w, x) }
        }
        func layers(_ w: inout ResultWriter, _ list: [KerasLayer]) {
            w.count(list.count)
            for l in list {
                w.string(l.name)
                w.optional(l.className) { $0.string($1) }
                weights(&w, l.weights)
            }
        }
        w.string(m.layout.rawValue)
        w.optional(m.kerasVersion) { $0.string($1) }
        w.optional(m.backend) { $0.string($1) }
        w.optional(m.writer) { $0.string($1) }
        layers(&w, m.layers)
        weights(&w, m.optimizerWeights)
        layers(&w, m.extraLayers)
        w.optional(m.config) { w, c in
            w.string(c.modelClass)
            w.optional(c.name) { $0.string($1) }
            w.count(c.layers.count)
            for l in c.layers { w.string(l.className); w.string(l.name) }
            w.optional(c.inputShape) { w, shape in
                w.count(shape.count)
                for d in shape { w.optional(d) { $0.int($1) } }
            }
        }
        w.optional(m.optimizer) { w, o in
            w.string(o.className)
            let hp = o.hyperparameters.sorted { $0.key < $1.key }
            w.count(hp.count)
            for (k, v) in hp { w.string(k); w.u64(v.bitPattern) }
        }
        let ann = m.annotations.sorted { $0.key < $1.key }
        w.count(ann.count)
        for (k, v) in ann { w.string(k); w.string(v) }
        return Encoded(meta: w.bytes, placements: placements, dataLength: cursor)
    }

    /// Decodes the records against `data` (the data section). Every tensor must lie inside it,
    /// have exactly its shape's byte count, and all tensors together may not claim more bytes
    /// than the section holds (no amplification by overlapping tensors).
    ///
    /// Tensors the child located are read from `file` by this process: the records are decoded
    /// once to collect their extents (checked there), the extents are read on all cores, then
    /// the records are decoded again with those bytes (the records are small; the reads are
    /// most of the time).
    static func decode(_ r: inout ResultReader, data: UnsafeRawBufferPointer, path: String, file: SourceFile) throws -> KerasModelFile {
        var first = r, extents: [(FileExtent, String)] = []
        _ = try decode(&first, data: data, path: path, file: file, located: nil, extents: &extents)
        let bytes = try file.read(extents)
        return try decode(&r, data: data, path: path, file: file, located: bytes, extents: &extents)
    }

    /// One decoding pass: without `located`, a located tensor is checked, its extent appended to
    /// `extents` and an empty tensor stands in; with it, the tensors take those bytes in order.
    private static func decode(_ r: inout ResultReader, data: UnsafeRawBufferPointer, path: String, file: SourceFile,
                               located: [[UInt8]]?, extents: inout [(FileExtent, String)]) throws -> KerasModelFile {
        var claimed = 0, claimedInFile = 0, nextLocated = 0
        func tensor(_ r: inout ResultReader, _ name: String) throws -> Tensor {
            let source = try r.u8("\(name): source")
            guard let source = Source(rawValue: source) else { throw ResultReader.Malformed(reason: "\(name): unknown source \(source)") }
            let code = try r.string("\(name): dtype")
            guard let dtype = DType(rawValue: code) else { throw ResultReader.Malformed(reason: "\(name): unknown dtype \(code.debugDescription)") }
            let rank = try r.count("\(name): rank", minRecord: 8)
            guard rank <= Limits.maxRank else { throw ResultReader.Malformed(reason: "\(name): rank \(rank)") }
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(try r.size("\(name): dimension")) }
            let offset = try r.size("\(name): offset"), length = try r.size("\(name): length")
            let expected: Int
            do { expected = try Limits.byteCount(shape, dtype, what: name) } catch { throw ResultReader.Malformed(reason: "\(error)") }
            if source == .file {
                let (end, o1) = offset.addingReportingOverflow(length)
                let (total, o2) = claimedInFile.addingReportingOverflow(length)
                guard length == expected, !o1, !o2, end <= file.size, total <= file.budget else {
                    throw ResultReader.Malformed(reason: "\(name): \(length) bytes at file offset \(offset) (shape \(shape) \(dtype.rawValue) needs \(expected); the file has \(file.size), located tensors may claim \(file.budget))")
                }
                claimedInFile = total
                guard let located else {
                    extents.append((FileExtent(offset: offset, length: length), name))
                    return Tensor(shape: [0], floats: [])
                }
                guard nextLocated < located.count else { throw ResultReader.Malformed(reason: "\(name): the records changed between passes") }
                defer { nextLocated += 1 }
                return try Tensor(dtype: dtype, shape: shape, bytes: located[nextLocated], name: name)
            }
            let (end, o1) = offset.addingReportingOverflow(length)
            let (total, o2) = claimed.addingReportingOverflow(length)
            guard length == expected, !o1, !o2, end <= data.count, total <= data.count else {
                throw ResultReader.Malformed(reason: "\(name): \(length) bytes at \(offset) (shape \(shape) \(dtype.rawValue) needs \(expected); data section \(data.count))")
            }
            claimed = total
            let bytes = UnzeroedBytes.make(length) { buf in
                if length > 0 { buf.copyMemory(from: UnsafeRawBufferPointer(rebasing: data[offset..<end])) }
            }
            return try Tensor(dtype: dtype, shape: shape, bytes: bytes, name: name)
        }
        func weights(_ r: inout ResultReader, _ owner: String) throws -> [KerasWeight] {
            let n = try r.count("\(owner): weight count", minRecord: 24)
            var out: [KerasWeight] = []
            for _ in 0..<n {
                let name = try r.string("\(owner): weight name")
                out.append(KerasWeight(name: name, tensor: try tensor(&r, "\(owner)/\(name)")))
            }
            return out
        }
        func layers(_ r: inout ResultReader, _ what: String) throws -> [KerasLayer] {
            let n = try r.count("\(what) count", minRecord: 9)
            var out: [KerasLayer] = []
            for _ in 0..<n {
                let name = try r.string("\(what) name")
                let cls = try r.optional("\(name): class") { try $0.string("\(name): class") }
                out.append(KerasLayer(name: name, className: cls, weights: try weights(&r, name)))
            }
            return out
        }
        let layoutName = try r.string("layout")
        guard let layout = KerasModelFile.Layout(rawValue: layoutName) else { throw ResultReader.Malformed(reason: "unknown layout \(layoutName.debugDescription)") }
        let version = try r.optional("keras_version") { try $0.string("keras_version") }
        let backend = try r.optional("backend") { try $0.string("backend") }
        let writer = try r.optional("writer") { try $0.string("writer") }
        let modelLayers = try layers(&r, "layer")
        let optimizerWeights = try weights(&r, "optimizer_weights")
        let extra = try layers(&r, "extra layer")
        let config = try r.optional("model_config") { r -> KerasModelConfig in
            let cls = try r.string("model class")
            let name = try r.optional("model name") { try $0.string("model name") }
            let n = try r.count("config layer count", minRecord: 8)
            var list: [(className: String, name: String)] = []
            for _ in 0..<n { list.append((try r.string("config layer class"), try r.string("config layer name"))) }
            let input = try r.optional("input shape") { r -> [Int?] in
                let k = try r.count("input rank", minRecord: 1)
                var s: [Int?] = []
                for _ in 0..<k { s.append(try r.optional("input dimension") { try $0.int("input dimension") }) }
                return s
            }
            return KerasModelConfig(modelClass: cls, name: name, layers: list, inputShape: input)
        }
        let optimizer = try r.optional("optimizer") { r -> KerasOptimizerConfig in
            let cls = try r.string("optimizer class")
            let n = try r.count("hyperparameter count", minRecord: 12)
            var hp: [String: Double] = [:]
            for _ in 0..<n { hp[try r.string("hyperparameter")] = Double(bitPattern: try r.u64("hyperparameter value")) }
            return KerasOptimizerConfig(className: cls, hyperparameters: hp)
        }
        let nAnn = try r.count("annotation count", minRecord: 8)
        var annotations: [String: String] = [:]
        for _ in 0..<nAnn { annotations[try r.string("annotation name")] = try r.string("annotation value") }
        guard r.remaining == 0 else { throw ResultReader.Malformed(reason: "\(r.remaining) bytes after the last record") }
        var m = KerasModelFile(path: path, layout: layout, kerasVersion: version, backend: backend, layers: modelLayers,
                               optimizerWeights: optimizerWeights, config: config, optimizer: optimizer, writer: writer)
        m.extraLayers = extra
        m.annotations = annotations
        return m
    }
}
