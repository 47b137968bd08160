import Foundation
import GenesisIO
import GenesisModel
import Runtime3D

/// A conversion with its proof: the file is written beside the target, read back and compared
/// tensor by tensor (`Converter`), then the source and the written model both run on a seeded
/// cube in this runtime, with the source's BatchNorm epsilon and arithmetic; only then is the
/// output moved into place. A forward deviation over `reproductionTolerance`, or an allowed
/// lossy step, gives a `warning`.
public struct ProvenConversion: Sendable {
    /// What was written and read back.
    public let result: Converter.Result
    /// Source vs written, per BatchNorm mode, on the seeded cube.
    public let forward: ForwardComparison.Result
    /// The epsilon both sides ran with (the source's).
    public let bnEpsilon: Float
    /// Set when the written model does not compute what the source computes.
    public let warning: String?

    public var reproducesSource: Bool { warning == nil }
    /// Tensors read back bit for bit equal to what was written.
    public var bitIdenticalTensors: Int { result.reread.entries.filter(\.bitIdentical).count }

    /// Largest forward deviation, written vs source, that still counts as reproducing it: the
    /// forward-pass tolerance of the reference comparisons (schemas/numerics.md).
    public static let reproductionTolerance = 1e-4

    /// Converts `source` into `output` as `format` and proves it; nothing is left at `output`
    /// when any step fails. Throws `VariantConversion.Failure` for a conversion that cannot be
    /// exact unless `allowLossy`.
    public static func convert(_ source: LoadedModel, to output: String, format: FormatKind, options: WriteOptions = WriteOptions(),
                               allowLossy: Bool = false) throws -> ProvenConversion {
        let r = try Converter.convert(source, to: output, format: format, options: options, allowLossy: allowLossy, staged: true)
        let eps = source.effectiveBNEpsilon ?? r.written.architecture.variant.defaultBNEpsilon
        let forward: ForwardComparison.Result
        do {
            let sourceArchitecture = try source.architecture()
            let arithmetic = BatchNormArithmetic(sourceArchitecture.variant)
            let a = try GenesisNetwork(architecture: sourceArchitecture, weights: source.mapped.store, bnEpsilon: eps, algorithm: .im2col,
                                       bnArithmetic: arithmetic)
            let b = try GenesisNetwork(architecture: try r.rereadModel.architecture(), weights: r.rereadModel.mapped.store, bnEpsilon: eps,
                                       algorithm: .im2col, bnArithmetic: arithmetic)
            forward = try ForwardComparison.compare(a, b, spatial: ForwardComparison.cubeSpatial(for: source.inputShape))
            try r.commit()
        } catch {
            r.discard()
            throw error
        }
        return ProvenConversion(result: r, forward: forward, bnEpsilon: eps, warning: lossWarning(r, forward))
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
