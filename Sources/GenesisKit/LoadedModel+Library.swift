import Foundation
import GenesisIO
import GenesisModel
import Runtime3D

/// What a program asks of a loaded file in one call: is it a valid network of a family genesis
/// knows (the Models Genesis 3D U-Net, nnU-Net Genesis), and the network to run.
public struct ModelVerdict: Sendable, CustomStringConvertible {
    /// The network checked against: the one recognised from the tensors, or the one asked for.
    public let network: (any NetworkArchitecture)?
    /// Every problem found (empty: valid).
    public let problems: [Problem]
    /// Why the file is not recognised as a network genesis knows, when it is not.
    public let notGenesis: String?

    public init(network: (any NetworkArchitecture)?, problems: [Problem], notGenesis: String?) {
        self.network = network
        self.problems = problems
        self.notGenesis = notGenesis
    }

    /// The Models Genesis U-Net checked against (nil for another family's network).
    public var architecture: Architecture? { network as? Architecture }

    public var valid: Bool { network != nil && problems.isEmpty }

    /// "valid: <network>", or "invalid: N problems: ..." / "not a Models Genesis network: ...".
    public var description: String {
        if let notGenesis { return "not a Models Genesis network: \(notGenesis)" }
        guard let network else { return "invalid: no architecture" }
        if problems.isEmpty { return "valid: \(network)" }
        return "invalid: \(problems.count) problem\(problems.count == 1 ? "" : "s"): " + problems.map(\.message).joined(separator: "; ")
    }

    /// The verdict on `mapped` (as the network's family maps it) against `network`, else the one
    /// `recognised` from the tensors; with neither, why no family knows them.
    public static func of(_ mapped: MappedTensors, recognised: (any NetworkArchitecture)?, against network: (any NetworkArchitecture)? = nil) -> ModelVerdict {
        guard let arch = network ?? recognised else {
            return ModelVerdict(network: nil, problems: [], notGenesis: NetworkFamilies.verdict(mapped))
        }
        return ModelVerdict(network: arch, problems: arch.verify(mapped), notGenesis: nil)
    }

    /// The verdict on Genesis-mapped tensors against the Genesis U-Net `architecture`, else the
    /// one `detected`.
    public static func of(_ mapped: MappedTensors, detected: Architecture?, against architecture: Architecture? = nil) -> ModelVerdict {
        of(mapped, recognised: detected, against: architecture)
    }
}

extension LoadedModel {
    /// Checks every tensor against `network`, by default the one the tensors show (of any family).
    public func verify(against network: (any NetworkArchitecture)? = nil) -> ModelVerdict {
        guard let network else { return ModelVerdict.of(mapped, recognised: recognised?.architecture) }
        guard let m = mapped(as: network.family) else {
            return ModelVerdict(network: nil, problems: [], notGenesis: "a \(mapped.naming.rawValue)-named file cannot hold a network of the \(network.family.title) family")
        }
        return ModelVerdict.of(m, recognised: nil, against: network)
    }

    /// The network this file holds, ready to run, of whichever family: its weights, the
    /// BatchNorm epsilon it records (else its framework's) and its framework's arithmetic.
    /// Throws when the tensors do not make the network (run `verify` first to see why).
    public func network(bnEpsilon: Float? = nil) throws -> RunnableNetwork {
        let arch = try networkArchitecture()
        return try RunnableNetwork(architecture: arch, weights: mapped.store, bnEpsilon: bnEpsilon ?? effectiveBNEpsilon ?? arch.conventions.bnEpsilon,
                                   bnArithmetic: arch.conventions.bnArithmetic)
    }

    /// The Models Genesis U-Net this file holds (training, the classifier head); throws for
    /// another family's network.
    public func genesisNetwork(bnEpsilon: Float? = nil) throws -> GenesisNetwork {
        let arch = try architecture()
        return try GenesisNetwork(architecture: arch, weights: mapped.store,
                                  bnEpsilon: bnEpsilon ?? effectiveBNEpsilon ?? arch.variant.defaultBNEpsilon,
                                  bnArithmetic: BatchNormArithmetic(arch.variant))
    }
}
