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
