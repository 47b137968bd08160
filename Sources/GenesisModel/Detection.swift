import Tensors

/// Reads variant, base width and label count off a file's tensors alone.
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

    /// Detects the architecture from canonical tensors. Nil when no tensor of the network is
    /// present or the widths are not a Genesis network's.
    public static func detect(_ m: MappedTensors) -> Result? {
        let s = m.store
        let variant: Variant = Layout.upsamplerModules.contains { s.contains($0 + ".weight") || s.contains($0 + ".bias") } ? .torch : .keras
        // Base width: from the first tensor whose channel count is a known multiple of b.
        let probe = Architecture(variant: .torch, baseFilters: 1, labels: 1)
        var base: Int?
        var evidence = ""
        for spec in probe.tensors where spec.role != .bnCount {
            guard let t = s[spec.name], let b = spec.block, b < 14, !t.shape.isEmpty else { continue }
            let multiple = Layout.blockChannels[b].out
            let found = t.shape[0]
            if found > 0, found % multiple == 0 {
                base = found / multiple
                evidence = "\(m.displayName(spec)) has \(found) output channels"
                break
            }
        }
        if base == nil {
            for (u, module) in Layout.upsamplerModules.enumerated() {
                if let t = s[module + ".bias"], t.rank == 1, t.shape[0] % Layout.upsamplerChannels[u] == 0, t.shape[0] > 0 {
                    base = t.shape[0] / Layout.upsamplerChannels[u]
                    evidence = "\(module).bias has \(t.shape[0]) channels"
                    break
                }
            }
        }
        guard let b = base, b <= Architecture.maxBaseFilters else { return nil }
        var labels = 1
        if let t = s[Layout.finalModule + ".weight"] ?? s[Layout.finalModule + ".bias"], let n = t.shape.first, n >= 1, n <= Architecture.maxLabels {
            labels = n
        }
        return Result(architecture: Architecture(variant: variant, baseFilters: b, labels: labels), evidence: evidence)
    }
}
