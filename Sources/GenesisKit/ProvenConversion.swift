import Foundation
import GenesisIO
import GenesisModel
import Runtime3D

/// A conversion with its proof: the file is written beside the target, read back and compared
/// tensor by tensor (`Converter`, or `NNUNetConversion` for nnU-Net Genesis), then the source and
/// the written model both run on a seeded cube in this runtime, each as its family's runnable
/// network with the source's epsilon and arithmetic; only then is the output moved into place. A
/// forward deviation over `reproductionTolerance`, or an allowed lossy step, gives a `warning`.
public struct ProvenConversion: Sendable {
    /// What was written and read back (the Models Genesis U-Net).
    public let genesis: Converter.Result?
    /// What was written and read back (nnU-Net Genesis).
    public let nnunet: NNUNetConversion.Result?
    /// Source vs written, per BatchNorm mode, on the seeded cube.
    public let forward: ForwardComparison.Result
    /// The epsilon both sides ran with (the source's).
    public let bnEpsilon: Float
    /// Set when the written model does not compute what the source computes.
    public let warning: String?
    /// An ONNX export: the graph as written, run by the runtime's ONNX interpreter against the source.
    public var onnx: ONNXProof? = nil

    /// How an ONNX export was proven: the graph read back from the written file and run node by
    /// node (`ONNXInterpreter`) on a seeded batch of two cubes, against the source network run by
    /// the runtime with the same BatchNorm statistics.
    public struct ONNXProof: Sendable {
        public let bn: ONNXBatchNorm
        public let opset: Int
        public let irVersion: Int
        /// The batch both ran: (2, C, D, H, W).
        public let cubeShape: [Int]
        public let maxAbsDifference: Double
        public let nodes: Int
        public let fileBytes: Int
        /// Seconds to write (with the weights' read-back) and to run the graph.
        public let exportSeconds: Double
        public let interpreterSeconds: Double
    }

    public var reproducesSource: Bool { warning == nil }
    /// The read-back against what was meant to be written.
    public var reread: TensorDiff { genesis?.reread ?? nnunet!.reread }
    /// Tensors read back bit for bit equal to what was written.
    public var bitIdenticalTensors: Int { reread.entries.filter(\.bitIdentical).count }
    /// What the conversion did, in words.
    public var notes: [String] { genesis?.notes ?? nnunet!.notes }
    /// The network written, as `verify` describes it.
    public var writtenNetwork: any NetworkArchitecture { genesis?.written.architecture ?? nnunet!.architecture }
    /// Tensors in the written file's network (aliases included for nnU-Net v2 names).
    public var tensorsWritten: Int { genesis?.written.weights.count ?? nnunet!.written.count }
    /// The optimizer state written, if any.
    public var optimizerWritten: OptimizerState? { genesis?.written.optimizer ?? nnunet?.optimizerWritten }
    /// Tensors dropped by an allowed lossy step (non-identity up-convolutions, nonzero v2 biases).
    public var dropped: [String] { genesis?.droppedNonIdentity ?? nnunet!.droppedNonzero }
    /// Seconds per phase of the Genesis conversion (empty for nnU-Net Genesis).
    public var phases: [(name: String, seconds: Double)] { genesis?.phases ?? [] }

    /// Largest forward deviation, written vs source, that still counts as reproducing it: the
    /// forward-pass tolerance of the reference comparisons (schemas/numerics.md).
    public static let reproductionTolerance = 1e-4

    /// Converts `source` into `output` as `format` and proves it; nothing is left at `output`
    /// when any step fails. Throws `VariantConversion.Failure` for a conversion that cannot be
    /// exact unless `allowLossy`.
    public static func convert(_ source: LoadedModel, to output: String, format: FormatKind, options: WriteOptions = WriteOptions(),
                               allowLossy: Bool = false) throws -> ProvenConversion {
        var options = options
        if format == .monaiBundle {
            guard source.detected != nil else {
                throw WorkflowError(subject: source.path, message: "a MONAI bundle holds the Models Genesis U-Net; this file holds \(source.recognised.map { "\($0.architecture)" } ?? "no network genesis knows") (convert it to .pt or .onnx)")
            }
            if options.licence == nil { (options.licence, options.licenceSummary) = try MonaiBundleLicence.fromZoo(source) }
        }
        if format == .onnx { return try convertONNX(source, to: output, options: options, allowLossy: allowLossy) }
        if source.detected == nil, source.recognised?.architecture is NNUNetArchitecture {
            let r = try NNUNetConversion.convert(source, to: output, format: format, options: options, allowLossy: allowLossy, staged: true)
            let forward: ForwardComparison.Result
            do {
                let a = try RunnableNetwork(architecture: r.architecture, weights: source.mapped.store, algorithm: .im2col)
                let b = try RunnableNetwork(architecture: try r.rereadModel.networkArchitecture(), weights: r.rereadModel.mapped.store, algorithm: .im2col)
                // Twice the smallest input per axis: more than one voxel per InstanceNorm plane at the bottleneck.
                forward = try ForwardComparison.compare(a, b, spatial: r.architecture.spatialMultiples.map { 2 * $0 }, modes: [.inference])
                try r.commit()
            } catch {
                r.discard()
                throw error
            }
            let why = r.droppedNonzero.isEmpty ? "" : ": \(r.droppedNonzero.count) nonzero v2-only bias(es) were dropped (--allow-lossy); the runtime never ran them"
            let over = forward.worst > reproductionTolerance
            let warning = r.droppedNonzero.isEmpty && !over ? nil
                : "warning: the written model does not reproduce the source (forward on the seeded cube: max |diff| \(String(format: "%.3g", forward.worst)))\(why); use it as a different model, or keep the source's format"
            return ProvenConversion(genesis: nil, nnunet: r, forward: forward, bnEpsilon: r.architecture.conventions.bnEpsilon, warning: warning)
        }
        let r = try Converter.convert(source, to: output, format: format, options: options, allowLossy: allowLossy, staged: true)
        let eps = source.effectiveBNEpsilon ?? r.written.architecture.variant.defaultBNEpsilon
        let forward: ForwardComparison.Result
        do {
            let sourceArchitecture = try source.architecture()
            let arithmetic = BatchNormArithmetic(sourceArchitecture.variant)
            var (sa, sb) = (source.mapped.store, r.rereadModel.mapped.store)
            if !source.hasOutputLayer {
                // A trunk without the output layer (SuPreM): both run through one seeded 1x1x1 probe.
                for (n, t) in Self.probeOutputLayer(sourceArchitecture) { sa[n] = t; sb[n] = t }
            }
            let a = try GenesisNetwork(architecture: sourceArchitecture, weights: sa, bnEpsilon: eps, algorithm: .im2col,
                                       bnArithmetic: arithmetic)
            let b = try GenesisNetwork(architecture: try r.rereadModel.architecture(), weights: sb, bnEpsilon: eps,
                                       algorithm: .im2col, bnArithmetic: arithmetic)
            forward = try ForwardComparison.compare(a.runnable, b.runnable, spatial: ForwardComparison.cubeSpatial(for: source.inputShape))
            try r.commit()
        } catch {
            r.discard()
            throw error
        }
        return ProvenConversion(genesis: r, nnunet: nil, forward: forward, bnEpsilon: eps, warning: lossWarning(r, forward))
    }

    /// A seeded batch of two cubes of `spatial` with `channels` channels, in [0, 1).
    static func seededBatch(channels: Int, spatial: [Int], seed: UInt64 = 1) -> Tensor {
        let n = 2 * channels
        return Tensor(shape: [2, channels] + spatial, floats: ForwardComparison.seededCube([n * spatial[0]] + spatial.dropFirst(), seed: seed).floats())
    }

    /// The ONNX export: written and its weights read back as every conversion (`Converter`, or
    /// `NNUNetConversion`), then the graph itself read from the written file and run by the
    /// interpreter against the source network on a seeded batch of two cubes.
    static func convertONNX(_ source: LoadedModel, to output: String, options: WriteOptions, allowLossy: Bool) throws -> ProvenConversion {
        guard ONNXExport.opsets.contains(options.onnxOpset) else {
            throw GenesisIOError.cannotWrite(file: output, reason: "--opset \(options.onnxOpset): genesis writes opsets \(ONNXExport.opsets.lowerBound) to \(ONNXExport.opsets.upperBound)")
        }
        let clock = Date()
        if source.detected == nil, let arch = source.recognised?.architecture as? NNUNetArchitecture {
            let r = try NNUNetConversion.convert(source, to: output, format: .onnx, options: options, allowLossy: allowLossy, staged: true)
            let exportSeconds = Date().timeIntervalSince(clock)
            do {
                let a = try RunnableNetwork(architecture: arch, weights: source.mapped.store, algorithm: .im2col)
                let x = seededBatch(channels: arch.inputChannels, spatial: arch.spatialMultiples.map { 2 * $0 })
                let proof = try proveONNX(staged: r.staged, bn: options.onnxBatchNorm ?? .inference, x: x, exportSeconds: exportSeconds) { try a.forward($0, bn: .inference) }
                try r.commit()
                var p = ProvenConversion(genesis: nil, nnunet: r, forward: .init(maxAbsDifference: [.inference: proof.maxAbsDifference], cubeShape: x.shape),
                                         bnEpsilon: arch.conventions.bnEpsilon, warning: onnxWarning(proof))
                p.onnx = proof
                return p
            } catch {
                r.discard()
                throw error
            }
        }
        if !source.hasOutputLayer {
            throw GenesisIOError.cannotWrite(file: output, reason: "the \(source.sibling?.networkTitle ?? "network")'s trunk has no output layer (\(Layout.finalModule)), which an ONNX graph of it needs; fine-tune it first (`genesis finetune --init`), then export the result")
        }
        let r = try Converter.convert(source, to: output, format: .onnx, options: options, allowLossy: allowLossy, staged: true)
        let exportSeconds = Date().timeIntervalSince(clock)
        let eps = source.effectiveBNEpsilon ?? r.written.architecture.variant.defaultBNEpsilon
        do {
            let arch = try source.architecture()
            let bn = options.onnxBatchNorm ?? ONNXBatchNorm.official(arch)
            let mode: BatchNormMode = bn == .batch ? .batch : .inference
            let g = try GenesisNetwork(architecture: arch, weights: source.mapped.store, bnEpsilon: eps, algorithm: .im2col, bnArithmetic: BatchNormArithmetic(arch.variant))
            let x = seededBatch(channels: 1, spatial: ForwardComparison.cubeSpatial(for: source.inputShape))
            let proof: ONNXProof
            if source.head.isEmpty {
                proof = try proveONNX(staged: r.staged, bn: bn, x: x, exportSeconds: exportSeconds) { try g.forward($0, bn: mode) }
            } else {
                var weights = source.mapped.store
                for (n, t) in source.head.entries { weights[n] = t }
                let c = try EncoderClassifier(network: g, weights: weights)
                proof = try proveONNX(staged: r.staged, bn: bn, x: x, exportSeconds: exportSeconds) { t in
                    let y = try c.forward(try FeatureMap(t), bn: mode)
                    return Tensor(shape: y.shape, floats: y.data)
                }
            }
            try r.commit()
            var p = ProvenConversion(genesis: r, nnunet: nil, forward: .init(maxAbsDifference: [mode: proof.maxAbsDifference], cubeShape: x.shape),
                                     bnEpsilon: eps, warning: onnxWarning(proof))
            p.onnx = proof
            return p
        } catch {
            r.discard()
            throw error
        }
    }

    static func proveONNX(staged: String, bn: ONNXBatchNorm, x: Tensor, exportSeconds: Double, source: (Tensor) throws -> Tensor) throws -> ONNXProof {
        let interpreter = try ONNXInterpreter(path: staged)
        let start = Date()
        let yb = try interpreter.run(x)
        let interpreterSeconds = Date().timeIntervalSince(start)
        let ya = try source(x)
        var m = 0.0
        let (a, b) = (ya.floats(), yb.floats())
        for i in 0..<min(a.count, b.count) { m = max(m, Double(abs(a[i] - b[i]))) }
        if ya.shape != yb.shape || a.count != b.count || m.isNaN { m = .infinity }
        return ONNXProof(bn: bn, opset: interpreter.model.opset, irVersion: interpreter.model.irVersion, cubeShape: x.shape, maxAbsDifference: m,
                         nodes: interpreter.model.nodes.count, fileBytes: (try? FileIO.size(of: staged)) ?? 0, exportSeconds: exportSeconds,
                         interpreterSeconds: interpreterSeconds)
    }

    static func onnxWarning(_ p: ONNXProof) -> String? {
        guard p.maxAbsDifference > reproductionTolerance else { return nil }
        return "warning: the ONNX graph does not reproduce the source (interpreter vs runtime on a seeded \(p.cubeShape) batch, BatchNorm \(p.bn.rawValue): max |diff| \(String(format: "%.3g", p.maxAbsDifference)), over the \(reproductionTolerance) tolerance)"
    }

    /// A seeded output layer for comparing two trunks that have none (values in [-1, 1)).
    static func probeOutputLayer(_ arch: Architecture) -> [(String, Tensor)] {
        var rng = SeededGenerator(seed: 0x5EB1)
        let c = arch.finalConv
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1) } }
        return [(Layout.finalModule + ".weight", Tensor(shape: [arch.labels, c.inChannels, 1, 1, 1], floats: values(arch.labels * c.inChannels))),
                (Layout.finalModule + ".bias", Tensor(shape: [arch.labels], floats: values(arch.labels)))]
    }

    /// A warning when the written model does not reproduce the source (an allowed lossy step,
    /// or a forward deviation over the tolerance); nil otherwise.
    static func lossWarning(_ r: Converter.Result, _ forward: ForwardComparison.Result) -> String? {
        let worst = forward.maxAbsDifference.max { $0.value < $1.value }
        let over = (worst?.value ?? 0) > reproductionTolerance
        guard !r.droppedNonIdentity.isEmpty || over else { return nil }
        let measured = worst.map { String(format: "max |diff| %.3g (%@ mode)", $0.value, $0.key.rawValue) } ?? "not measured"
        let why = r.droppedNonIdentity.isEmpty ? "" : ": \(r.droppedNonIdentity.count) up-convolution(s) that were not the identity were replaced by upsampling (--allow-lossy)"
        return "warning: the written model does not reproduce the source (forward on the seeded cube: \(measured), over the \(reproductionTolerance) tolerance)\(why); use it as a different model, or keep the source's format"
    }
}
