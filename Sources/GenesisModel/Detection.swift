import Tensors

/// Reads variant, base width and label count off a file's tensors alone, by matching them
/// against the network's topology (`TopologyMatch`), never from one tensor.
public enum Detection {
    public struct Result: Sendable, Equatable {
        public let architecture: Architecture
        /// What the detection rests on, for users.
        public let evidence: String

        public init(architecture: Architecture, evidence: String) {
            self.architecture = architecture
            self.evidence = evidence
        }
    }

    /// How far the tensors fit the topology, with evidence and the first thing that does not.
    public static func analyze(_ m: MappedTensors) -> TopologyMatch { TopologyMatch.of(m) }

    /// The architecture, when the tensors are a Genesis network (at least
    /// `TopologyMatch.requiredFittingBlocks` of the 14 block kernels fit one base width); nil
    /// otherwise.
    public static func detect(_ m: MappedTensors) -> Result? {
        let match = analyze(m)
        guard let arch = match.architecture else { return nil }
        return Result(architecture: arch, evidence: match.evidence)
    }
}
