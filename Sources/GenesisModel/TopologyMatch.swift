import Tensors

/// How far a file's tensors fit the Genesis topology (schemas/genesis-architecture.md): the 14 blocks'
/// 3x3x3 kernels at one base width, each kernel's in-channels chained to what its inputs give
/// (the previous block; for decoder blocks the upsampled map plus the skip), the torch
/// up-convolutions (C,C,2,2,2) and the final 1x1x1 convolution.
///
/// The rule: a file is a Genesis network when at least `requiredFittingBlocks` of the 14
/// block kernels have exactly the shape the network gives them at one base width. A damaged
/// network (a wrong kernel, a missing tensor, one block's width changed, NaN values) keeps
/// 11 or more; another network's convolutions, filled into the block slots by position, fit
/// few (the wild voxelmorph U-Nets: 2).
public struct TopologyMatch: Sendable, Equatable {
    /// One weighted step of the network: a conv block, an up-convolution or the final conv.
    public struct Step: Sendable, Equatable {
        /// `depth_3`, `up-convolution 1`, `final conv`.
        public let label: String
        /// The kernel's name in the file (or the name it would have there).
        public let tensor: String
        /// Kernel shape the network has at the chosen base, in the file's layout.
        public let expected: [Int]?
        /// Kernel shape found, in the file's layout; nil when the file has none.
        public let found: [Int]?
        /// Whether `found` is `expected`.
        public let fits: Bool
        /// Channels this step's inputs give, as found in the file (nil when unknown).
        public let inputChannels: Int?
        /// Whether the kernel's in-channels equal `inputChannels`.
        public let chains: Bool
    }

    /// Block kernels that must fit one base width for a file to be a Genesis network.
    public static let requiredFittingBlocks = 10

    public let variant: Variant
    /// The base width most block kernels fit; nil when the file has no block kernel.
    public let baseFilters: Int?
    public let labels: Int
    public let blocks: [Step]
    /// The three up-convolutions (torch variant only).
    public let upsamplers: [Step]
    public let finalConv: Step
    /// Whether any tensor of the file mapped onto the network at all.
    public let anyTensorMapped: Bool
    /// Whether shapes are shown in Keras layout (kD,kH,kW,in,out).
    public let shownInKerasLayout: Bool

    public var fittingBlocks: Int { blocks.filter(\.fits).count }
    public var steps: [Step] { blocks + upsamplers + [finalConv] }
    public var chainingLinks: Int { steps.filter(\.chains).count }
    public var isGenesis: Bool { baseFilters != nil && fittingBlocks >= Self.requiredFittingBlocks }

    /// The architecture the tensors fit, when they are a Genesis network.
    public var architecture: Architecture? {
        guard isGenesis, let b = baseFilters else { return nil }
        return Architecture(variant: variant, baseFilters: b, labels: labels)
    }

    /// What the match rests on: "14 of 14 blocks fit base 4, 15 of 15 channel links chain; final conv 8 -> 1".
    public var evidence: String {
        guard let b = baseFilters else { return "no 3D convolution kernel in the places of the network's 14 blocks" }
        let misfits = blocks.filter { !$0.fits }.map(\.label)
        let shown = misfits.prefix(4).joined(separator: ", ") + (misfits.count > 4 ? ", ..." : "")
        var s = "\(fittingBlocks) of 14 blocks fit base \(b)" + (misfits.isEmpty ? "" : " (not \(shown))")
        s += ", \(chainingLinks) of \(steps.count) channel links chain"
        if variant == .torch {
            s += "; up-convolutions \(upsamplers.filter(\.fits).count) of 3 (C,C,2,2,2)"
        }
        if let f = finalConv.found, f.count == 5 {
            let (inC, outC) = finalChannels(f)
            s += "; final conv \(inC) -> \(outC)"
        } else {
            s += "; no final conv"
        }
        return s
    }

    /// Why the file is or is not a Genesis network, naming what matched and the first thing that did not.
    public var verdict: String {
        if isGenesis { return evidence }
        guard anyTensorMapped else { return "none of its tensors is a convolution or BatchNorm weight of the Genesis 3D U-Net" }
        guard let b = baseFilters else { return evidence }
        let fitting = blocks.filter(\.fits).map(\.label)
        var s = "\(fittingBlocks) of 14 blocks fit base \(b) (\(Self.requiredFittingBlocks) needed)"
        s += fitting.isEmpty ? "" : ": " + fitting.joined(separator: ", ")
        if let first = blocks.first(where: { !$0.fits }) {
            s += "; the first that does not: \(first.label) (\(first.tensor)) "
            if let f = first.found {
                s += "is \(Verification.fmt(f)), the network has \(Verification.fmt(first.expected ?? []))"
            } else {
                s += "is absent"
            }
        }
        return s
    }

    /// (in, out) channels of a final-conv kernel shown in the file's layout: Keras
    /// (1,1,1,in,out), PyTorch (out,in,1,1,1).
    private func finalChannels(_ shown: [Int]) -> (Int, Int) {
        shownInKerasLayout ? (shown[3], shown[4]) : (shown[1], shown[0])
    }
}

extension TopologyMatch {
    /// Matches mapped tensors against the topology at the base width most block kernels fit.
    public static func of(_ m: MappedTensors) -> TopologyMatch {
        let s = m.store
        let variant: Variant = Layout.upsamplerModules.contains { s.contains($0 + ".weight") || s.contains($0 + ".bias") } ? .torch : .keras
        func kernel(_ name: String) -> [Int]? {
            guard let t = s[name], t.rank == 5 else { return nil }
            return t.shape
        }
        let blockKernels = Layout.blockModules.map { kernel($0 + ".conv1.weight") }
        let upKernels = Layout.upsamplerModules.map { kernel($0 + ".weight") }
        let finalKernel = kernel(Layout.finalModule + ".weight")

        // Output channels of each block as the file has them: kernel, else bias or BN.
        let blockOut: [Int?] = Layout.blockModules.enumerated().map { i, module in
            if let k = blockKernels[i] { return k[0] }
            for suffix in [".conv1.bias", ".bn1.weight", ".bn1.bias", ".bn1.running_mean", ".bn1.running_var"] {
                if let t = s[module + suffix], t.rank == 1 { return t.shape[0] }
            }
            return nil
        }
        let upOut: [Int?] = Layout.upsamplerModules.enumerated().map { u, module in
            if let k = upKernels[u] { return k[1] }
            if let t = s[module + ".bias"], t.rank == 1 { return t.shape[0] }
            return nil
        }

        // The base width: of every width a block kernel suggests, the one most kernels fit.
        func fitsBlock(_ i: Int, _ b: Int) -> Bool {
            guard let k = blockKernels[i] else { return false }
            let c = Layout.blockChannels[i]
            return k == [c.out * b, c.in == 0 ? 1 : c.in * b, 3, 3, 3]
        }
        var candidates = Set<Int>()
        for (i, k) in blockKernels.enumerated() {
            guard let k else { continue }
            let o = Layout.blockChannels[i].out
            if k[0] > 0, k[0] % o == 0, k[0] / o <= Architecture.maxBaseFilters { candidates.insert(k[0] / o) }
        }
        let base = candidates.sorted().max { a, b in
            (0..<14).filter { fitsBlock($0, a) }.count < (0..<14).filter { fitsBlock($0, b) }.count
        }

        let probe = Architecture(variant: .torch, baseFilters: 1, labels: 1)
        func shown(_ shape: [Int]?) -> [Int]? {
            guard let shape else { return nil }
            return m.kerasLayout && shape.count == 5 ? NameMaps.canonicalToKerasAxes.map { shape[$0] } : shape
        }
        func name(_ canonical: String) -> String { m.displayName(probe.spec(named: canonical)!) }
        // `found` and `expected` in the canonical layout: conv (out,in,k,k,k), up-convolution (in,out,2,2,2).
        func step(_ label: String, _ canonical: String, found: [Int]?, expected: [Int]?, inputs: Int?, fits: Bool, inAxis: Int = 1) -> Step {
            Step(label: label, tensor: name(canonical), expected: shown(expected), found: shown(found), fits: fits,
                 inputChannels: inputs, chains: found.map { $0[inAxis] } == inputs && inputs != nil)
        }

        var blocks: [Step] = []
        var ups: [Step] = []
        for i in 0..<14 {
            var inputs: Int?
            if i == 0 {
                inputs = 1
            } else if Layout.upBeforeBlocks.contains(i) {
                let u = (i - 8) / 2
                let up = variant == .torch ? upOut[u] : blockOut[i - 1]
                let skip = blockOut[Layout.skipBlocks[u]]
                inputs = up.flatMap { a in skip.map { a + $0 } }
                let c = base.map { Layout.upsamplerChannels[u] * $0 }
                if variant == .torch {
                    let expected = c.map { [$0, $0, 2, 2, 2] }
                    ups.append(step("up-convolution \(u)", Layout.upsamplerModules[u] + ".weight", found: upKernels[u], expected: expected,
                                    inputs: blockOut[i - 1], fits: upKernels[u] != nil && upKernels[u] == expected, inAxis: 0))
                }
            } else {
                inputs = blockOut[i - 1]
            }
            let c = Layout.blockChannels[i]
            let expected = base.map { [c.out * $0, c.in == 0 ? 1 : c.in * $0, 3, 3, 3] }
            blocks.append(step("depth_\(i)", Layout.blockModules[i] + ".conv1.weight", found: blockKernels[i], expected: expected,
                               inputs: inputs, fits: base.map { fitsBlock(i, $0) } ?? false))
        }
        var labels = 1
        if let n = finalKernel?[0] ?? s[Layout.finalModule + ".bias"]?.shape.first, (1...Architecture.maxLabels).contains(n) { labels = n }
        let finalExpected = base.map { [labels, 2 * $0, 1, 1, 1] }
        let final = step("final conv", Layout.finalModule + ".weight", found: finalKernel, expected: finalExpected,
                         inputs: blockOut[13], fits: finalKernel != nil && finalKernel == finalExpected)
        return TopologyMatch(variant: variant, baseFilters: base, labels: labels, blocks: blocks, upsamplers: ups, finalConv: final,
                             anyTensorMapped: !s.isEmpty, shownInKerasLayout: m.kerasLayout)
    }
}
