import Foundation
import GenesisKit
import HDF5
import TestSupport
import XCTest

/// ONNX export (`convert MODEL OUT.onnx`): the graph written for each network, run by the
/// runtime's ONNX interpreter, against the real framework's outputs stored in the fixtures
/// (TensorFlow for the Keras file in inference mode, PyTorch's ContBatchNorm3d for the `.pt`
/// file with batch statistics, nnunet's Generic_UNet for the nnU-Net file), at the forward
/// tolerance the issue sets for ONNX, 2e-5; the weights and metadata read back; dynamic axes;
/// untrusted files refused in one line. (onnxruntime itself: scripts/interop_onnx.py.)
final class ONNXExportTests: XCTestCase {
    static let tolerance: Float = 2e-5

    func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return a.count == b.count ? zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) } : .infinity
    }

    func export(_ source: String, _ name: String, bn: ONNXBatchNorm? = nil, opset: Int = ONNXExport.defaultOpset) throws -> (path: String, proof: ProvenConversion) {
        let out = Fixtures.scratchDirectory() + "/" + name
        let model = try ModelLoader.load(source)
        let p = try ProvenConversion.convert(model, to: out, format: .onnx, options: WriteOptions(onnxBatchNorm: bn, onnxOpset: opset))
        return (out, p)
    }

    func testKerasGraphReproducesTensorFlowInInferenceMode() throws {
        let (path, proof) = try export(Fixtures.path("keras/genesis_tiny.h5"), "k.onnx")
        XCTAssertEqual(proof.onnx?.bn, .inference, "a Keras file's official mode")
        XCTAssertNil(proof.warning)
        XCTAssertLessThanOrEqual(proof.onnx?.maxAbsDifference ?? 1, 1e-5)
        let ref = try H5File.open(Fixtures.path("keras/genesis_tiny.reference.h5")).root()
        let y = try ONNXInterpreter(path: path).run(try ref.readFloat32("input"))
        let err = maxAbs(y.floats(), try ref.readFloat32("output_inference").floats())
        print("ONNX graph of genesis_tiny.h5 (interpreter) vs TensorFlow predict: max |diff| \(err)")
        XCTAssertLessThanOrEqual(err, Self.tolerance)
        let ops = Set(try ONNXModel.read(path).nodes.map(\.opType))
        XCTAssertEqual(ops, ["Conv", "BatchNormalization", "Relu", "MaxPool", "Resize", "Concat", "Sigmoid"])
    }

    func testTorchGraphComputesBatchStatisticsAsPyTorch() throws {
        let (path, proof) = try export(Fixtures.path("torch/genesis_tiny.pt"), "t.onnx")
        XCTAssertEqual(proof.onnx?.bn, .batch, "ContBatchNorm3d normalises with batch statistics in every mode")
        let m = try ONNXModel.read(path)
        XCTAssertEqual(m.metadataDictionary["genesis_bn_mode"], "batch")
        XCTAssertFalse(m.nodes.contains { $0.opType == "BatchNormalization" })
        XCTAssertEqual(m.nodes.filter { $0.opType == "ReduceMean" }.count, 2 * 14, "mean and variance per BatchNorm")
        XCTAssertEqual(m.nodes.filter { $0.opType == "ConvTranspose" }.count, 3)
        let ref = try H5File.open(Fixtures.path("torch/genesis_tiny.reference.h5")).root()
        let y = try ONNXInterpreter(m, file: path).run(try ref.readFloat32("input"))
        let err = maxAbs(y.floats(), try ref.readFloat32("output_batchstats").floats())
        print("ONNX graph of genesis_tiny.pt (interpreter) vs PyTorch ContBatchNorm3d: max |diff| \(err)")
        XCTAssertLessThanOrEqual(err, Self.tolerance)
        // Opset 18 takes ReduceMean's axes as an input; the numbers stay.
        let (p18, _) = try export(Fixtures.path("torch/genesis_tiny.pt"), "t18.onnx", opset: 18)
        let m18 = try ONNXModel.read(p18)
        XCTAssertEqual(m18.opset, 18)
        XCTAssertEqual(m18.irVersion, 8)
        XCTAssertEqual(try ONNXInterpreter(m18, file: p18).run(try ref.readFloat32("input")).floats(), y.floats())
    }

    func testNNUNetGraphReproducesGenericUNet() throws {
        let (path, proof) = try export(Fixtures.reference("nnunet/nnunet_tiny.model"), "n.onnx")
        XCTAssertNil(proof.warning)
        let m = try ONNXModel.read(path)
        XCTAssertTrue(Set(m.nodes.map(\.opType)).isSuperset(of: ["InstanceNormalization", "LeakyRelu", "Conv", "ConvTranspose"]))
        XCTAssertTrue(m.nodes.contains { $0.opType == "Conv" && $0.ints("strides") == [1, 2, 2] }, "the anisotropic strided conv")
        XCTAssertEqual(m.metadataDictionary["genesis_spatial_multiples"], "16,32,32")
        XCTAssertEqual(m.metadataDictionary["genesis_input_window"], "nnunet-ct")
        XCTAssertEqual(m.metadataDictionary["genesis_bn_mode"], "none", "InstanceNorm only")
        let ref = try H5File.open(Fixtures.reference("nnunet/nnunet_tiny.reference.h5")).root()
        let y = try ONNXInterpreter(m, file: path).run(try ref.readFloat32("input"))
        let err = maxAbs(y.floats(), try ref.readFloat32("logits").floats())
        print("ONNX graph of nnunet_tiny.model (interpreter) vs nnunet Generic_UNet: max |diff| \(err)")
        XCTAssertLessThanOrEqual(err, Self.tolerance)
        // Read back: the same nnU-Net network, every tensor bit for bit (the unused deep-supervision outputs too).
        let back = try ModelLoader.load(path)
        XCTAssertEqual(back.recognised?.architecture.description, try ModelLoader.load(Fixtures.reference("nnunet/nnunet_tiny.model")).recognised?.architecture.description)
        XCTAssertNotNil(back.mapped.store["seg_outputs.0.weight"])
    }

    func testWeightsAndMetadataReadBack() throws {
        let source = Fixtures.path("keras/genesis_tiny.h5")
        let (path, _) = try export(source, "k.onnx", bn: .batch)
        let back = try ModelLoader.load(path)
        XCTAssertEqual(back.format, .onnx)
        XCTAssertEqual(try back.architecture(), Architecture(variant: .keras, baseFilters: 4, labels: 1))
        let src = try ModelLoader.load(source)
        XCTAssertEqual(back.mapped.store, src.mapped.store, "every tensor bit for bit, running statistics too")
        XCTAssertEqual(back.bnEpsilon, 0.001)
        XCTAssertEqual(back.writer, GenesisWriter.name)
        XCTAssertEqual(back.versions["genesis_source_sha256"], try Checksum.sha256Hex(fileAt: source))
        XCTAssertEqual(back.versions["genesis_bn_mode"], "batch")
        XCTAssertEqual(back.versions["genesis_variant"], "keras")
        XCTAssertEqual(back.versions["genesis_base_filters"], "4")
        XCTAssertEqual(back.versions["genesis_labels"], "1")
        XCTAssertEqual(back.versions["genesis_input_window"], "ct")
        XCTAssertEqual(back.versions["genesis_spatial_multiples"], "8,8,8")
        XCTAssertEqual(back.annotations["genesis_source_format"], "keras-h5")
        // ONNX -> .pt: the weights convert on like any file's.
        let pt = Fixtures.scratchDirectory() + "/back.pt"
        let p = try ProvenConversion.convert(back, to: pt, format: .torch)
        XCTAssertNil(p.warning)
    }

    /// Batch and spatial axes are symbolic: another batch size and another valid size run, and
    /// equal the runtime's forward of the source.
    func testDynamicAxes() throws {
        let source = try ModelLoader.load(Fixtures.path("torch/genesis_tiny.pt"))
        let (path, _) = try export(source.path, "t.onnx", bn: .inference)
        let m = try ONNXModel.read(path)
        XCTAssertEqual(m.inputs[0].dims, [.symbolic("batch"), .fixed(1), .symbolic("depth"), .symbolic("height"), .symbolic("width")])
        XCTAssertEqual(m.outputs[0].dims, [.symbolic("batch"), .fixed(1), .symbolic("depth"), .symbolic("height"), .symbolic("width")])
        let net = try source.network()
        var rng = SeededGenerator(seed: 5)
        let x = Tensor(shape: [3, 1, 24, 16, 32], floats: (0..<(3 * 24 * 16 * 32)).map { _ in rng.nextUnitFloat() })
        let err = maxAbs(try ONNXInterpreter(m, file: path).run(x).floats(), try net.forward(x, bn: .inference).floats())
        XCTAssertLessThanOrEqual(err, Self.tolerance)
    }

    /// The classifier of `finetune --task classification`: encoder, mean, Gemm, ReLU, Gemm, Softmax.
    func testClassifierGraph() throws {
        let src = try ModelLoader.load(Fixtures.path("torch/genesis_tiny.pt"))
        var rng = SeededGenerator(seed: 9)
        func values(_ n: Int, _ s: Float) -> [Float] { (0..<n).map { _ in (rng.nextUnitFloat() - 0.5) * s } }
        var store = src.mapped.store
        store["head.fc1.weight"] = Tensor(shape: [1024, 64], floats: values(1024 * 64, 0.2))
        store["head.fc1.bias"] = Tensor(shape: [1024], floats: values(1024, 0.2))
        store["head.fc2.weight"] = Tensor(shape: [3, 1024], floats: values(3 * 1024, 0.1))
        store["head.fc2.bias"] = Tensor(shape: [3], floats: values(3, 0.2))
        let dir = Fixtures.scratchDirectory()
        try ModelWriter.write(ModelPayload(architecture: try src.architecture(), weights: store), to: dir + "/cls.pt", format: .torch)
        let model = try ModelLoader.load(dir + "/cls.pt")
        XCTAssertEqual(model.head.count, 4)
        let p = try ProvenConversion.convert(model, to: dir + "/cls.onnx", format: .onnx)
        XCTAssertNil(p.warning)
        XCTAssertLessThanOrEqual(p.onnx?.maxAbsDifference ?? 1, 1e-5)
        let m = try ONNXModel.read(dir + "/cls.onnx")
        XCTAssertEqual(m.outputs[0].dims, [.symbolic("batch"), .fixed(3), .fixed(1), .fixed(1), .fixed(1)])
        XCTAssertEqual(m.metadataDictionary["genesis_classes"], "3")
        XCTAssertTrue(Set(m.nodes.map(\.opType)).isSuperset(of: ["GlobalAveragePool", "Flatten", "Gemm", "Softmax", "Reshape"]))
        XCTAssertEqual(try ModelLoader.load(dir + "/cls.onnx").head.count, 4, "the head reads back")
    }

    // MARK: untrusted files

    func writeProto(_ m: Onnx_ModelProto, _ name: String) throws -> String {
        let path = Fixtures.scratchDirectory() + "/" + name
        try FileIO.write(try m.serializedBytes(), to: path)
        return path
    }

    func validModel() throws -> ONNXModel {
        try ONNXModel.read(try export(Fixtures.path("keras/genesis_tiny.h5"), "k.onnx").path)
    }

    func testDamagedFilesAreRefusedInOneLine() throws {
        let good = try validModel()
        // Truncated bytes.
        let bytes = try good.serialized()
        let cut = Fixtures.scratchDirectory() + "/cut.onnx"
        try FileIO.write(Array(bytes.prefix(bytes.count / 2)), to: cut)
        XCTAssertThrowsError(try ModelLoader.load(cut)) { e in
            XCTAssertTrue("\(e)".hasPrefix(cut + ": "), "\(e)")
            XCTAssertFalse("\(e)".contains("\n"))
        }
        // An initializer whose raw data is shorter than its dims say.
        var p = good.proto
        p.graph.initializer[0].rawData = p.graph.initializer[0].rawData.prefix(8)
        let name = p.graph.initializer[0].name
        XCTAssertThrowsError(try ModelLoader.load(try writeProto(p, "short.onnx"))) { e in
            guard case let ONNXError.badTensor(_, tensor, expected, found)? = e as? ONNXError else { return XCTFail("\(e)") }
            XCTAssertEqual(tensor, name)
            XCTAssertTrue(expected.contains("bytes of raw_data"), expected)
            XCTAssertEqual(found, "8")
        }
        // Dims whose product is far beyond any tensor: refused before allocation.
        p = good.proto
        p.graph.initializer[0].dims = [1 << 30, 1 << 30, 1 << 30]
        XCTAssertThrowsError(try ModelLoader.load(try writeProto(p, "huge.onnx"))) { e in
            guard case ONNXError.badTensor? = e as? ONNXError else { return XCTFail("\(e)") }
        }
        // External data, another dtype, a foreign domain's opset.
        p = good.proto
        p.graph.initializer[0].dataLocation = .external
        XCTAssertThrowsError(try ONNXModel.read(try writeProto(p, "ext.onnx"))) { XCTAssertTrue("\($0)".contains("external data"), "\($0)") }
        p = good.proto
        p.graph.initializer[0].dataType = 11
        XCTAssertThrowsError(try ONNXModel.read(try writeProto(p, "f64.onnx"))) { XCTAssertTrue("\($0)".contains("data_type 11"), "\($0)") }
        p = good.proto
        var op = Onnx_OperatorSetIdProto()
        op.domain = "com.example"
        op.version = 1
        p.opsetImport.append(op)
        XCTAssertThrowsError(try ONNXModel.read(try writeProto(p, "domain.onnx"))) { XCTAssertTrue("\($0)".contains("opset_import"), "\($0)") }
        p = good.proto
        p.irVersion = 99
        XCTAssertThrowsError(try ONNXModel.read(try writeProto(p, "ir.onnx"))) { XCTAssertTrue("\($0)".contains("ir_version: expected 3...10, found 99"), "\($0)") }
    }

    /// Counted on the wire before protobuf allocates: many empty nodes, a node of many attributes,
    /// a subgraph attribute are refused in one line.
    func testWireCountsAreCappedBeforeDecoding() throws {
        let good = try validModel()
        var p = good.proto
        p.graph.node[0].attribute = (0..<300).map { k in
            var a = Onnx_AttributeProto()
            a.name = "a\(k)"
            return a
        }
        XCTAssertThrowsError(try ONNXModel.read(try writeProto(p, "attrs.onnx"))) { e in
            guard case let ONNXError.overCap(_, what, cap, found)? = e as? ONNXError else { return XCTFail("\(e)") }
            XCTAssertEqual(what, "repeated field 5 of a node message")
            XCTAssertEqual(cap, 256)
            XCTAssertEqual(found, 257)
        }
        p = good.proto
        p.graph.node += [Onnx_NodeProto](repeating: Onnx_NodeProto(), count: ONNXModel.maxNodes)
        XCTAssertThrowsError(try ONNXModel.read(try writeProto(p, "nodes.onnx"))) { e in
            guard case let ONNXError.overCap(_, what, _, _)? = e as? ONNXError else { return XCTFail("\(e)") }
            XCTAssertEqual(what, "repeated field 1 of a graph message")
        }
        p = good.proto
        var sub = Onnx_AttributeProto()
        sub.name = "body"
        sub.type = .graph
        sub.g = Onnx_GraphProto()
        sub.g.name = "inner"
        p.graph.node[0].attribute.append(sub)
        XCTAssertThrowsError(try ONNXModel.read(try writeProto(p, "subgraph.onnx"))) { e in
            XCTAssertTrue("\(e)".contains("subgraph attributes: expected none (genesis never writes it), found present"), "\(e)")
        }
    }

    /// Seeded damage (flipped bytes, cut ends, spliced runs) of a written graph: every variant is
    /// read or refused with `ONNXError`, never a crash or another error type.
    func testDamagedBytesAreReadOrRefusedWithTheModulesError() throws {
        let bytes = try validModel().serialized()
        var rng = SeededGenerator(seed: 22)
        func below(_ n: Int) -> Int { Int(rng.nextUnitFloat() * Float(n)) % max(1, n) }
        var refused = 0
        for round in 0..<400 {
            var b = bytes
            switch round % 4 {
            case 0: for _ in 0..<(1 + below(8)) { b[below(b.count)] ^= UInt8(1 << below(8)) }
            case 1: b = Array(b.prefix(below(b.count)))
            case 2: let at = below(b.count), n = below(64); b.replaceSubrange(at..<min(b.count, at + n), with: [UInt8](repeating: UInt8(below(256)), count: n))
            default: let at = below(b.count); b.insert(contentsOf: b[below(b.count - 16)...].prefix(16), at: at)
            }
            do { _ = try ONNXModel.decode(b, file: "m.onnx") } catch is ONNXError { refused += 1 } catch { XCTFail("round \(round): \(type(of: error)): \(error)") }
        }
        print("ONNX reader on 400 damaged variants: \(refused) refused with ONNXError, \(400 - refused) read")
        XCTAssertGreaterThan(refused, 100)
    }

    func testInterpreterRunsOnlyTheOperatorsGenesisWrites() throws {
        var m = try validModel()
        m.nodes[0].opType = "Einsum"
        XCTAssertThrowsError(try ONNXInterpreter(m, file: "x.onnx")) { e in
            XCTAssertTrue("\(e)".hasPrefix("x.onnx: ONNX node"), "\(e)")
            XCTAssertTrue("\(e)".contains("operator Einsum is not one genesis writes"), "\(e)")
        }
        m = try validModel()
        let i = try XCTUnwrap(m.nodes.firstIndex { $0.opType == "Conv" })
        m.nodes[i].attributes["group"] = .int(2)
        XCTAssertThrowsError(try ONNXInterpreter(m, file: "x.onnx").run(Tensor(shape: [1, 1, 8, 8, 8], floats: [Float](repeating: 0, count: 512)))) { e in
            XCTAssertTrue("\(e)".contains("not a 3-D convolution genesis writes"), "\(e)")
        }
    }

    func testOpsetOutsideTheRangeIsRefused() throws {
        XCTAssertThrowsError(try export(Fixtures.path("keras/genesis_tiny.h5"), "k.onnx", opset: 12)) { e in
            guard case let GenesisIOError.cannotWrite(file, reason)? = e as? GenesisIOError else { return XCTFail("\(e)") }
            XCTAssertTrue(file.hasSuffix("/k.onnx"), file)
            XCTAssertEqual(reason, "--opset 12: genesis writes opsets 13 to 22")
        }
    }
}
