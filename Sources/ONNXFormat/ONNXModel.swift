import Foundation
import SwiftProtobuf
import Tensors

/// An ONNX model as genesis writes and reads it: one graph of nodes over named values, float32
/// and int64 initializers, inputs and outputs with fixed or symbolic dimensions, metadata props.
/// `ONNXModel.read` checks an untrusted file against caps before it allocates; `write` stores it
/// through the atomic writer. The messages are `onnx.pb.swift`, generated once from
/// `onnx/onnx.proto3` of ONNX v1.17.0 by `scripts/gen_onnx_proto.sh` (which says how to regenerate).
public struct ONNXModel: Sendable, Equatable {
    /// ONNX v1.17.0's `IR_VERSION` (10): the highest IR version the committed messages know.
    public static let maxIRVersion = 10
    /// Caps of the reader: protobuf's own 2 GiB message limit, and counts far above any network genesis writes.
    public static let maxFileBytes = Int(Int32.max)
    public static let maxNodes = 100_000
    public static let maxInitializers = 100_000
    public static let maxMetadata = 10_000
    public static let maxRank = 8

    public enum Dimension: Sendable, Equatable {
        case fixed(Int)
        case symbolic(String)
    }

    public struct ValueInfo: Sendable, Equatable {
        public var name: String
        public var dims: [Dimension]
        public init(name: String, dims: [Dimension]) {
            self.name = name
            self.dims = dims
        }
    }

    public enum Attribute: Sendable, Equatable {
        case int(Int), ints([Int]), float(Float), string(String)
    }

    public struct Node: Sendable, Equatable {
        public var opType: String
        public var name: String
        public var inputs: [String]
        public var outputs: [String]
        public var attributes: [String: Attribute]
        public init(_ opType: String, name: String, inputs: [String], outputs: [String], attributes: [String: Attribute] = [:]) {
            self.opType = opType
            self.name = name
            self.inputs = inputs
            self.outputs = outputs
            self.attributes = attributes
        }

        public func int(_ key: String) -> Int? { if case let .int(v)? = attributes[key] { return v }; return nil }
        public func ints(_ key: String) -> [Int]? { if case let .ints(v)? = attributes[key] { return v }; return nil }
        public func float(_ key: String) -> Float? { if case let .float(v)? = attributes[key] { return v }; return nil }
        public func string(_ key: String) -> String? { if case let .string(v)? = attributes[key] { return v }; return nil }
    }

    public var irVersion: Int
    /// The default domain's opset version.
    public var opset: Int
    public var producerName: String
    public var producerVersion: String
    public var graphName: String
    public var nodes: [Node]
    public var initializers: TensorStore
    public var inputs: [ValueInfo]
    public var outputs: [ValueInfo]
    /// `metadata_props`, in order.
    public var metadata: [(key: String, value: String)]

    public init(irVersion: Int, opset: Int, producerName: String, producerVersion: String, graphName: String, nodes: [Node],
                initializers: TensorStore, inputs: [ValueInfo], outputs: [ValueInfo], metadata: [(key: String, value: String)]) {
        self.irVersion = irVersion
        self.opset = opset
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.graphName = graphName
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
        self.metadata = metadata
    }

    public static func == (a: ONNXModel, b: ONNXModel) -> Bool {
        a.irVersion == b.irVersion && a.opset == b.opset && a.producerName == b.producerName && a.producerVersion == b.producerVersion
            && a.graphName == b.graphName && a.nodes == b.nodes && a.initializers == b.initializers && a.inputs == b.inputs
            && a.outputs == b.outputs && a.metadata.map(\.key) == b.metadata.map(\.key) && a.metadata.map(\.value) == b.metadata.map(\.value)
    }

    /// The metadata as a dictionary (the last value of a repeated key).
    public var metadataDictionary: [String: String] {
        var d: [String: String] = [:]
        for (k, v) in metadata { d[k] = v }
        return d
    }
}

// MARK: - Writing

extension ONNXModel {
    /// The protobuf message.
    public var proto: Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = Int64(irVersion)
        m.producerName = producerName
        m.producerVersion = producerVersion
        var op = Onnx_OperatorSetIdProto()
        op.domain = ""
        op.version = Int64(opset)
        m.opsetImport = [op]
        m.metadataProps = metadata.map { k, v in
            var e = Onnx_StringStringEntryProto()
            e.key = k
            e.value = v
            return e
        }
        var g = Onnx_GraphProto()
        g.name = graphName
        g.node = nodes.map(Self.proto)
        g.initializer = initializers.entries.map { Self.proto($0.name, $0.tensor) }
        g.input = inputs.map(Self.proto)
        g.output = outputs.map(Self.proto)
        m.graph = g
        return m
    }

    /// The serialised model.
    public func serialized() throws -> [UInt8] { try proto.serializedBytes() }

    /// Writes the model atomically (temporary file beside `path`, fsync, rename).
    public func write(to path: String) throws {
        let bytes: [UInt8]
        do { bytes = try serialized() } catch { throw ONNXError.io(file: path, reason: "cannot serialise: \(error)") }
        guard bytes.count <= Self.maxFileBytes else { throw ONNXError.overCap(file: path, what: "model bytes", cap: Self.maxFileBytes, found: bytes.count) }
        do { try FileIO.write(bytes, to: path) } catch { throw ONNXError.io(file: path, reason: "\(error)") }
    }

    static func proto(_ n: Node) -> Onnx_NodeProto {
        var p = Onnx_NodeProto()
        p.opType = n.opType
        p.name = n.name
        p.input = n.inputs
        p.output = n.outputs
        p.attribute = n.attributes.keys.sorted().map { key in
            var a = Onnx_AttributeProto()
            a.name = key
            switch n.attributes[key]! {
            case let .int(v): a.type = .int; a.i = Int64(v)
            case let .ints(v): a.type = .ints; a.ints = v.map(Int64.init)
            case let .float(v): a.type = .float; a.f = v
            case let .string(v): a.type = .string; a.s = Data(v.utf8)
            }
            return a
        }
        return p
    }

    static func proto(_ name: String, _ t: Tensor) -> Onnx_TensorProto {
        var p = Onnx_TensorProto()
        p.name = name
        p.dims = t.shape.map(Int64.init)
        p.dataType = t.dtype == .int64 ? Int32(Onnx_TensorProto.DataType.int64.rawValue) : Int32(Onnx_TensorProto.DataType.float.rawValue)
        p.rawData = Data(t.dtype == .int64 || t.dtype == .float32 ? t.bytes : t.asFloat32().bytes)
        return p
    }

    static func proto(_ v: ValueInfo) -> Onnx_ValueInfoProto {
        var p = Onnx_ValueInfoProto()
        p.name = v.name
        var tt = Onnx_TypeProto.Tensor()
        tt.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var shape = Onnx_TensorShapeProto()
        shape.dim = v.dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case let .fixed(n): dim.dimValue = Int64(n)
            case let .symbolic(s): dim.dimParam = s
            }
            return dim
        }
        tt.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tt
        p.type = type
        return p
    }
}

// MARK: - Reading (untrusted)

extension ONNXModel {
    /// Reads and checks an ONNX file: size under `maxFileBytes` before it is read, fields counted
    /// on the wire under the caps before protobuf decodes them (`ONNXWireScan`), every initializer float32 or int64 with its data inline and exactly as many
    /// bytes as its dims say, attributes of the four types genesis writes. Throws `ONNXError`.
    public static func read(_ path: String) throws -> ONNXModel {
        let size: Int
        do { size = try FileIO.size(of: path) } catch { throw ONNXError.io(file: path, reason: "\(error)") }
        guard size <= maxFileBytes else { throw ONNXError.overCap(file: path, what: "file bytes", cap: maxFileBytes, found: size) }
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, cap: maxFileBytes) } catch { throw ONNXError.io(file: path, reason: "\(error)") }
        return try decode(bytes, file: path)
    }

    /// Decodes and checks serialised bytes (`file` names them in errors).
    public static func decode(_ bytes: [UInt8], file: String) throws -> ONNXModel {
        // Counted on the wire first: decoding allocates per field (ONNXWireScan).
        try ONNXWireScan.check(bytes, file: file)
        let m: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 32
            m = try Onnx_ModelProto(serializedBytes: bytes, options: options)
        } catch { throw ONNXError.notProtobuf(file: file, reason: "\(error)") }
        guard m.irVersion >= 3, m.irVersion <= maxIRVersion else {
            throw ONNXError.badField(file: file, field: "ir_version", expected: "3...\(maxIRVersion)", found: "\(m.irVersion)")
        }
        guard m.hasGraph else { throw ONNXError.badField(file: file, field: "graph", expected: "a graph", found: "none") }
        let defaultDomain = m.opsetImport.filter { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        guard defaultDomain.count == 1, m.opsetImport.count == 1 else {
            throw ONNXError.badField(file: file, field: "opset_import", expected: "the default domain only", found: m.opsetImport.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }.joined(separator: ", "))
        }
        let g = m.graph
        for (what, count, cap) in [("nodes", g.node.count, maxNodes), ("initializers", g.initializer.count, maxInitializers),
                                   ("metadata props", m.metadataProps.count, maxMetadata), ("graph inputs", g.input.count, maxNodes),
                                   ("graph outputs", g.output.count, maxNodes)] where count > cap {
            throw ONNXError.overCap(file: file, what: what, cap: cap, found: count)
        }
        guard g.sparseInitializer.isEmpty else { throw ONNXError.badField(file: file, field: "graph.sparse_initializer", expected: "none", found: "\(g.sparseInitializer.count)") }
        guard m.functions.isEmpty else { throw ONNXError.badField(file: file, field: "functions", expected: "none", found: "\(m.functions.count)") }
        var store = TensorStore()
        for t in g.initializer {
            guard !store.contains(t.name) else { throw ONNXError.badTensor(file: file, tensor: t.name, expected: "one initializer of this name", found: "two") }
            store[t.name] = try tensor(t, file: file)
        }
        let nodes = try g.node.map { n -> Node in
            var attributes: [String: Attribute] = [:]
            for a in n.attribute {
                let label = n.name.isEmpty ? n.opType : n.name
                switch a.type {
                case .int: attributes[a.name] = .int(try int(a.i, file: file, node: label))
                case .ints:
                    guard a.ints.count <= 64 else { throw ONNXError.overCap(file: file, what: "attribute \(a.name) of \(label)", cap: 64, found: a.ints.count) }
                    attributes[a.name] = .ints(try a.ints.map { try int($0, file: file, node: label) })
                case .float: attributes[a.name] = .float(a.f)
                case .string:
                    guard let s = String(data: a.s, encoding: .utf8) else { throw ONNXError.unsupported(file: file, node: label, expected: "UTF-8 string attribute", found: "\(a.name): bytes") }
                    attributes[a.name] = .string(s)
                default:
                    throw ONNXError.unsupported(file: file, node: label, expected: "attributes of type INT, INTS, FLOAT or STRING", found: "\(a.name): \(a.type)")
                }
            }
            guard n.domain.isEmpty || n.domain == "ai.onnx" else {
                throw ONNXError.unsupported(file: file, node: n.name, expected: "an operator of the default domain", found: "domain \(n.domain)")
            }
            return Node(n.opType, name: n.name, inputs: n.input, outputs: n.output, attributes: attributes)
        }
        let inputs = try g.input.map { try valueInfo($0, file: file) }
        let outputs = try g.output.map { try valueInfo($0, file: file) }
        return ONNXModel(irVersion: Int(m.irVersion), opset: Int(defaultDomain[0].version), producerName: m.producerName,
                         producerVersion: m.producerVersion, graphName: g.name, nodes: nodes, initializers: store, inputs: inputs,
                         outputs: outputs, metadata: m.metadataProps.map { ($0.key, $0.value) })
    }

    private static func int(_ v: Int64, file: String, node: String) throws -> Int {
        guard v >= -(1 << 40), v <= 1 << 40 else { throw ONNXError.unsupported(file: file, node: node, expected: "an integer attribute within +-2^40", found: "\(v)") }
        return Int(v)
    }

    private static func valueInfo(_ v: Onnx_ValueInfoProto, file: String) throws -> ValueInfo {
        guard v.type.tensorType.shape.dim.count <= maxRank else {
            throw ONNXError.overCap(file: file, what: "rank of \(v.name)", cap: maxRank, found: v.type.tensorType.shape.dim.count)
        }
        let dims = v.type.tensorType.shape.dim.map { d -> Dimension in
            if case let .dimValue(n)? = d.value { return .fixed(Int(clamping: n)) }
            return .symbolic(d.dimParam)
        }
        return ValueInfo(name: v.name, dims: dims)
    }

    private static func tensor(_ t: Onnx_TensorProto, file: String) throws -> Tensor {
        guard t.dataLocation != .external, t.externalData.isEmpty else {
            throw ONNXError.badTensor(file: file, tensor: t.name, expected: "data inside the file", found: "external data")
        }
        guard t.dims.count <= maxRank else { throw ONNXError.overCap(file: file, what: "rank of initializer \(t.name)", cap: maxRank, found: t.dims.count) }
        guard t.dims.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else {
            throw ONNXError.badTensor(file: file, tensor: t.name, expected: "dims from 0 to 2^31-1", found: "\(t.dims)")
        }
        let shape = t.dims.map { Int($0) }
        let dtype: DType
        switch t.dataType {
        case Int32(Onnx_TensorProto.DataType.float.rawValue): dtype = .float32
        case Int32(Onnx_TensorProto.DataType.int64.rawValue): dtype = .int64
        default: throw ONNXError.badTensor(file: file, tensor: t.name, expected: "FLOAT or INT64", found: "data_type \(t.dataType)")
        }
        let expected: Int
        do { expected = try Limits.byteCount(shape, dtype, what: t.name) } catch {
            throw ONNXError.badTensor(file: file, tensor: t.name, expected: "a size under \(Limits.maxTensorBytes) bytes", found: "dims \(shape)")
        }
        var bytes: [UInt8]
        if !t.rawData.isEmpty || (t.floatData.isEmpty && t.int64Data.isEmpty) {
            guard t.rawData.count == expected else { throw ONNXError.badTensor(file: file, tensor: t.name, expected: "\(expected) bytes of raw_data", found: "\(t.rawData.count)") }
            bytes = [UInt8](t.rawData)
        } else if dtype == .float32 {
            guard t.floatData.count * 4 == expected else { throw ONNXError.badTensor(file: file, tensor: t.name, expected: "\(expected / 4) float_data values", found: "\(t.floatData.count)") }
            bytes = t.floatData.withUnsafeBytes { Array($0) }
        } else {
            guard t.int64Data.count * 8 == expected else { throw ONNXError.badTensor(file: file, tensor: t.name, expected: "\(expected / 8) int64_data values", found: "\(t.int64Data.count)") }
            bytes = t.int64Data.withUnsafeBytes { Array($0) }
        }
        do { return try Tensor(dtype: dtype, shape: shape, bytes: bytes, name: t.name) } catch {
            throw ONNXError.badTensor(file: file, tensor: t.name, expected: "\(expected) bytes", found: "\(bytes.count)")
        }
    }
}
