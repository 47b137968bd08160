import Foundation
import GenesisIO
import GenesisModel
import Runtime3D

/// What a program asks of a loaded file in one call: is it a valid Genesis network, and the
/// network to run.
public struct ModelVerdict: Sendable, CustomStringConvertible {
    /// The architecture checked against: the one detected from the tensors, or the one asked for.
    public let architecture: Architecture?
    /// Every problem found (empty: valid).
    public let problems: [Problem]
    /// Why the file is not recognised as a Genesis network, when it is not.
    public let notGenesis: String?

    public var valid: Bool { architecture != nil && problems.isEmpty }

    /// "valid: <architecture>", or "invalid: N problems: ..." / "not a Models Genesis network: ...".
    public var description: String {
        if let notGenesis { return "not a Models Genesis network: \(notGenesis)" }
        guard let architecture else { return "invalid: no architecture" }
        if problems.isEmpty { return "valid: \(architecture)" }
        return "invalid: \(problems.count) problem\(problems.count == 1 ? "" : "s"): " + problems.map(\.message).joined(separator: "; ")
    }

    /// The verdict on `mapped` against `architecture`, else the one `detected` from the tensors.
    public static func of(_ mapped: MappedTensors, detected: Architecture?, against architecture: Architecture? = nil) -> ModelVerdict {
        guard let arch = architecture ?? detected else {
            return ModelVerdict(architecture: nil, problems: [], notGenesis: Detection.analyze(mapped).verdict)
        }
        return ModelVerdict(architecture: arch, problems: Verification.verify(mapped, against: arch).problems, notGenesis: nil)
    }
}

extension LoadedModel {
    /// Checks every tensor against `architecture`, by default the one the tensors show.
    public func verify(against architecture: Architecture? = nil) -> ModelVerdict {
        ModelVerdict.of(mapped, detected: detected?.architecture, against: architecture)
    }

    /// The network this file holds, ready to run: its architecture, its weights, the BatchNorm
    /// epsilon it records (else its framework's) and its framework's BatchNorm arithmetic.
    /// Throws when the tensors do not make the network (run `verify` first to see why).
    public func network(bnEpsilon: Float? = nil) throws -> GenesisNetwork {
        let arch = try architecture()
        return try GenesisNetwork(architecture: arch, weights: mapped.store,
                                  bnEpsilon: bnEpsilon ?? effectiveBNEpsilon ?? arch.variant.defaultBNEpsilon,
                                  bnArithmetic: BatchNormArithmetic(arch.variant))
    }
}
