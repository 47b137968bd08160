import Foundation
import GenesisModel
import ONNXFormat
import Tensors

/// ONNX graphs <-> payloads. Written: the network's graph (`ONNXExport`) with every weight an
/// initializer under its canonical name and `genesis_*` metadata props; read: the initializers
/// (the graph's constants left out) and the metadata, mapped as a safetensors file with
/// PyTorch names is. `convert` proves the graph itself on the runtime's ONNX interpreter
/// (GenesisKit's `ONNXInterpreter`).
struct ONNXBridge: FormatBridge {
    var kind: FormatKind { .onnx }
    var extensions: [String] { kind.extensions }
    var containers: [FormatKind.Container] { [.onnx] }
    var summary: String { "ONNX graph (opset \(ONNXExport.opsets.lowerBound)-\(ONNXExport.opsets.upperBound), --bn inference|batch), weights read back" }
    func carriesOptimizer(_ options: WriteOptions) -> Bool { false }

    func load(_ path: String, verifyChecksums: Bool) throws -> LoadedModel {
        let m = try ONNXModel.read(path)
        let meta = m.metadataDictionary
        let weights = m.initializers.renamed { $0.hasPrefix(ONNXExport.constantPrefix) ? nil : $0 }
        let mapped = Mapping.fromFlat(weights, naming: .torch).canonicallyOrdered()
        let detected = Detection.detect(mapped)
        var description = "ONNX (IR \(m.irVersion), opset \(m.opset)"
        if let bn = meta["genesis_bn_mode"] { description += ", BatchNorm \(bn)" }
        description += ", producer \(m.producerName.isEmpty ? "unnamed" : m.producerName) \(m.producerVersion))"
        var versions = meta
        versions["onnx_ir_version"] = String(m.irVersion)
        versions["onnx_opset"] = String(m.opset)
        var loaded = LoadedModel(path: path, format: .onnx, formatDescription: description, mapped: mapped, detected: detected, kerasListing: nil,
                                 inputShape: nil, optimizer: nil, bnEpsilon: meta["genesis_bn_epsilon"].flatMap(Float.init), versions: versions,
                                 writer: meta[GenesisWriter.key])
        if let arch = detected?.architecture {
            let head = ClassifierHead.tensors(in: mapped.unexpected)
            if ClassifierHead.classes(in: head, baseFilters: arch.baseFilters) != nil { loaded.head = head }
        }
        var annotations: [String: String] = [:]
        for (k, v) in meta where k.hasPrefix(GenesisWriter.annotationPrefix) && !ONNXExport.structuralKeys.contains(k) { annotations[k] = v }
        loaded.annotations = annotations
        return loaded
    }

    func write(_ p: ModelPayload, to path: String, options: WriteOptions) throws {
        guard p.weights.contains(Layout.finalModule + ".weight") else {
            throw GenesisIOError.cannotWrite(file: path, reason: "the network has no output layer (\(Layout.finalModule)), which an ONNX graph of it needs; fine-tune it first (`genesis finetune --init`), then export the result")
        }
        let classes = ClassifierHead.classes(in: p.weights, baseFilters: p.architecture.baseFilters)
        let net = classes.map { NetworkDescription.genesisClassifier(variant: p.architecture.variant, baseFilters: p.architecture.baseFilters, classes: $0) }
            ?? p.architecture.network
        let bn = options.onnxBatchNorm ?? ONNXBatchNorm.official(p.architecture)
        let meta = ONNXExport.metadata(network: p.architecture, classes: classes, bn: bn, bnEpsilon: p.bnEpsilon,
                                       sourceSHA256: p.provenance?.sourceSHA256, sourceFile: p.provenance.map { URL(fileURLWithPath: $0.sourceFile).lastPathComponent },
                                       sourceFormat: p.provenance?.sourceFormat, annotations: p.annotations)
        try Self.write(network: net, weights: p.weights, bn: bn, bnEpsilon: p.bnEpsilon, options: options,
                       graphName: classes == nil ? "genesis_unet3d_\(p.architecture.variant.rawValue)" : "genesis_classifier", metadata: meta, to: path)
    }

    static func write(network: NetworkDescription, weights: TensorStore, bn: ONNXBatchNorm, bnEpsilon: Float, options: WriteOptions, graphName: String,
                      metadata: [(key: String, value: String)], to path: String) throws {
        let model = try ONNXExport.model(network: network, weights: weights, bn: bn, bnEpsilon: bnEpsilon, opset: options.onnxOpset,
                                         graphName: graphName, metadata: metadata, file: path)
        try model.write(to: path)
    }
}
