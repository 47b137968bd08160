import FormatNames
import Tensors

/// Recognises an nnU-Net Genesis network from a file's tensors alone (schemas/nnunet-genesis.md):
/// the number of pools from the module indices, the width of every level, the kernels and the
/// label count from the tensors' shapes, each by a vote over every tensor that shows it (so one
/// damaged tensor does not move it), the pools from the transposed convolutions' kernels
/// (kernel = stride = the pool). The network so found is then checked kernel by kernel: the file
/// is one when at least half of the convolution and transposed-convolution kernels have the
/// shape the network gives them (a damaged file still is one, with its problems named).
public enum NNUNetDetection {
    /// Generic_UNet's module lists (`td` holds pooling modules, parameterless here).
    public static let modules = NetworkDescription.nnunetModuleOrder + ["td"]

    /// Where a key sits in Generic_UNet.
    enum Place {
        /// `conv_blocks_context.<stage>.blocks.<block>.<op>.<kind>` (stages before the bottleneck).
        case encoder(stage: Int, block: Int)
        /// `conv_blocks_context.<pools>.<part>.blocks.<block>.<op>.<kind>`.
        case bottleneck(index: Int, part: Int, block: Int)
        /// `conv_blocks_localization.<stage>.<part>.blocks.<block>.<op>.<kind>`.
        case decoder(stage: Int, part: Int, block: Int)
        /// `tu.<stage>.weight`.
        case up(Int)
        /// `seg_outputs.<stage>.weight`.
        case seg(Int)
    }

    /// Module indices above this are not read as structure (a hostile key cannot make a huge network).
    static let maxIndex = 64

    static func place(_ key: String) -> (place: Place, op: String)? {
        let p = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func n(_ i: Int) -> Int? { i < p.count ? Int(p[i]).flatMap { (0...maxIndex).contains($0) ? $0 : nil } : nil }
        switch (p.first, p.count) {
        case ("conv_blocks_context", 6) where p[2] == "blocks":
            guard let d = n(1), let j = n(3) else { return nil }
            return (.encoder(stage: d, block: j), p[4])
        case ("conv_blocks_context", 7) where p[3] == "blocks":
            guard let d = n(1), let k = n(2), let j = n(4) else { return nil }
            return (.bottleneck(index: d, part: k, block: j), p[5])
        case ("conv_blocks_localization", 7) where p[3] == "blocks":
            guard let u = n(1), let k = n(2), let j = n(4) else { return nil }
            return (.decoder(stage: u, part: k, block: j), p[5])
        case ("tu", 3) where p[2] == "weight":
            return n(1).map { (.up($0), "tu") }
        case ("seg_outputs", 3) where p[2] == "weight":
            return n(1).map { (.seg($0), "seg") }
        default:
            return nil
        }
    }

    /// Counts of each value seen; the winner is the most common (the first seen on a tie).
    struct Votes<T: Hashable> {
        private var counts: [T: Int] = [:]
        private var order: [T] = []
        mutating func add(_ v: T?) {
            guard let v else { return }
            if counts[v] == nil { order.append(v) }
            counts[v, default: 0] += 1
        }
        var winner: T? { order.max { counts[$0]! < counts[$1]! || (counts[$0]! == counts[$1]! && order.firstIndex(of: $0)! > order.firstIndex(of: $1)!) } }
    }

    public static func match(_ m: MappedTensors) -> FamilyMatch {
        let places = m.store.entries.compactMap { e in place(e.name).map { (e.name, $0.place, $0.op, e.tensor.shape) } }
        func none(_ why: String) -> FamilyMatch {
            FamilyMatch(family: .nnunetV1GenericUNet, architecture: nil, evidence: why, verdict: why, anyTensorMapped: !m.store.isEmpty, steps: [])
        }
        guard !places.isEmpty else { return none("none of its tensors is a conv_blocks_context, conv_blocks_localization, tu or seg_outputs weight of Generic_UNet") }

        // Pools: one vote per module list (the bottleneck's index; one past the last stage of the others).
        var poolCount = Votes<Int>()
        poolCount.add(places.compactMap { if case let .bottleneck(d, _, _) = $0.1 { return d } else { return nil } }.max())
        for list in 0..<4 {
            poolCount.add(places.compactMap { p -> Int? in
                switch (p.1, list) {
                case let (.encoder(d, _), 0): return d + 1
                case let (.up(u), 1), let (.seg(u), 2), let (.decoder(u, _, _), 3): return u + 1
                default: return nil
                }
            }.max())
        }
        guard let p = poolCount.winner, (1...NNUNetArchitecture.maxPools).contains(p) else {
            return none("its module indices give no pool count between 1 and \(NNUNetArchitecture.maxPools)")
        }

        var widths = [Votes<Int>](repeating: Votes(), count: p + 1)
        var kernels = [Votes<[Int]>](repeating: Votes(), count: p + 1)
        var pools = [Votes<[Int]>](repeating: Votes(), count: p)
        var labels = Votes<Int>(), inputs = Votes<Int>(), convs = Votes<Int>()
        var blocksPerStage: [Int: Int] = [:]  // encoder stage -> blocks (the convolutions per stage)
        func width(_ level: Int, _ v: Int?) {
            guard let v, level >= 0, level <= p, (1...NNUNetArchitecture.maxWidth).contains(v) else { return }
            widths[level].add(v)
        }
        for (_, place, op, s) in places {
            let conv = op == "conv" && s.count == 5, vector = s.count == 1
            let kernel = conv && s[2...].allSatisfy({ $0 == 1 || $0 == 3 }) ? Array(s[2...]) : nil
            switch place {
            case let .encoder(d, j) where d < p:
                blocksPerStage[d] = max(blocksPerStage[d] ?? 0, j + 1)
                if conv {
                    width(d, s[0])
                    if j > 0 { width(d, s[1]) } else if d > 0 { width(d - 1, s[1]) } else { inputs.add((1...NNUNetArchitecture.maxWidth).contains(s[1]) ? s[1] : nil) }
                    kernels[d].add(kernel)
                } else if vector { width(d, s[0]) }
            case let .bottleneck(d, k, j) where d == p:
                if conv {
                    width(p, s[0])
                    width(k == 0 && j == 0 ? p - 1 : p, s[1])
                    kernels[p].add(kernel)
                } else if vector { width(p, s[0]) }
            case let .decoder(u, k, j) where u < p:
                let level = p - 1 - u
                if conv {
                    width(level, s[0])
                    width(level, k == 0 && j == 0 ? (s[1] % 2 == 0 ? s[1] / 2 : nil) : s[1])
                    kernels[p - u].add(kernel)
                } else if vector { width(level, s[0]) }
            case let .up(u) where u < p && s.count == 5:
                width(p - u, s[0])
                width(p - 1 - u, s[1])
                if s[2...].allSatisfy({ (1...8).contains($0) }) { pools[p - 1 - u].add(Array(s[2...])) }
            case let .seg(u) where u < p && s.count == 5:
                labels.add((1...NNUNetArchitecture.maxLabels).contains(s[0]) ? s[0] : nil)
                width(p - 1 - u, s[1])
            default:
                break
            }
        }
        for n in blocksPerStage.values where (1...8).contains(n) { convs.add(n) }
        guard let base = widths[0].winner else { return none("no tensor shows the width of the first stage (conv_blocks_context.0)") }

        // The cap: the width of a level narrower than twice the one before (none: no level reached it).
        var level = [base]
        for d in 1...p { level.append(widths[d].winner ?? 2 * level[d - 1]) }
        let capped = (1...p).filter { level[$0] < 2 * level[$0 - 1] }.map { level[$0] }
        let official = NetworkDescription.nnunetGenesisPools
        let arch = NNUNetArchitecture(inputChannels: inputs.winner ?? 1, baseFilters: base, maxFilters: max(capped.max() ?? level.max()!, base),
                                      maxFiltersReached: !capped.isEmpty,
                                      pools: (0..<p).map { pools[$0].winner ?? (p == official.count ? official[$0] : [2, 2, 2]) },
                                      kernels: kernels.map { $0.winner ?? [3, 3, 3] }, labels: labels.winner ?? 2, convsPerStage: convs.winner ?? 2)
        return check(m, arch, assumedPools: (0..<p).filter { pools[$0].winner == nil })
    }

    /// The architecture's kernels against the file's: recognised when at least half fit.
    static func check(_ m: MappedTensors, _ arch: NNUNetArchitecture, assumedPools: [Int]) -> FamilyMatch {
        let net = arch.network
        let kernels = net.nodes.flatMap(\.parameters).filter { $0.kind == .weight && $0.shape.count == 5 }
        let steps = kernels.map { k in
            StructureStep(label: k.node, tensor: displayName(k.name, m), expected: k.shape, found: m.store[k.name].map(\.shape))
        }
        let fitting = steps.filter(\.fits).count
        let params = net.parameters
        let tensorsFitting = params.filter { m.store[$0.name]?.shape == $0.shape }.count
        let widths = arch.widths.map(String.init).joined(separator: ", ")
        let cap = arch.maxFiltersReached ? "cap \(arch.maxFilters)" : "no level at a cap"
        let poolNote = assumedPools.isEmpty ? "from the tu kernels" : "from the tu kernels, \(assumedPools.map { "pool \($0)" }.joined(separator: ", ")) assumed (no tu kernel)"
        let seg = params.last { $0.node.hasPrefix("seg_outputs.") }.map { "; seg outputs \($0.shape[1]) -> \($0.shape[0])" } ?? ""
        let evidence = "\(fitting) of \(steps.count) kernels fit (\(tensorsFitting) of \(params.count) tensors): widths \(widths) (base \(arch.baseFilters), \(cap)); "
            + "pools \(arch.pools.map { $0.map(String.init).joined(separator: "x") }.joined(separator: ", ")) \(poolNote)\(seg)"
        let needed = (steps.count + 1) / 2
        guard fitting >= needed, fitting > 0 else {
            var verdict = "\(fitting) of \(steps.count) kernels fit widths \(widths) (\(needed) needed)"
            if let first = steps.first(where: { !$0.fits }) {
                verdict += "; the first that does not: \(first.label) (\(first.tensor)) "
                verdict += first.found.map { "is \(Verification.fmt($0)), the network has \(Verification.fmt(first.expected ?? []))" } ?? "is absent"
            }
            return FamilyMatch(family: .nnunetV1GenericUNet, architecture: nil, evidence: evidence, verdict: verdict, anyTensorMapped: true, steps: steps)
        }
        return FamilyMatch(family: .nnunetV1GenericUNet, architecture: arch, evidence: evidence, verdict: evidence, anyTensorMapped: true, steps: steps)
    }

    /// The file's name for a key (or the name it would have there: `module.` when the file's keys carry it).
    static func displayName(_ key: String, _ m: MappedTensors) -> String {
        m.sourceNames[key] ?? (m.hadModulePrefix ? NameMaps.dataParallelPrefix : "") + key
    }
}
