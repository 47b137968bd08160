import ArgumentParser
import GenesisKit

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two weight files tensor by tensor, in any formats.",
        discussion: """
        Both files are mapped onto the canonical Genesis names and layouts first, so a Keras .h5 and a PyTorch .pt of the same network compare directly. Tensors are named as file a names them (b's name in brackets where it differs; a tensor only in b by b's name). Reports every tensor's max absolute and relative difference (relative to the tensor's largest magnitude), and tensors missing from either side. Up-convolutions that are the identity (what the keras variant implies) and PyTorch's BatchNorm counters do not count as missing.

        Exit 0 when every difference is within --tolerance, 1 otherwise, 2 when a file cannot be read.

        Examples:
          genesis diff Genesis_Chest_CT.h5 converted.pt
          genesis diff a.safetensors b.genesis --tolerance 1e-6 --json
        """
    )

    @Argument(help: "The first file.") var a: String
    @Argument(help: "The second file.") var b: String
    @Option(parsing: .unconditional, help: "Largest max |a - b| accepted (default 0: bit-identical values).") var tolerance: Double = 0
    @Flag(help: "List every tensor, not only those that differ.") var all = false
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        guard tolerance >= 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a finite number >= 0 (0 asks for bit-identical values), not \(tolerance)") }
    }

    func run() throws {
        let ma = try ModelLoader.load(a), mb = try ModelLoader.load(b)
        // A classifier's head, and a sibling's (under its layout's names), are compared like the
        // network's tensors.
        func withHead(_ m: LoadedModel) -> TensorStore {
            var s = m.mapped.store
            for (n, t) in m.head.entries { s[n] = t }
            for (n, t) in m.sibling?.tensors.entries ?? [] { s[n] = t }
            return s
        }
        let d = TensorDiff.compare(withHead(ma), withHead(mb))
        let ok = d.within(tolerance)
        func extras(_ m: LoadedModel) -> [String] {
            m.mapped.unexpected.map(\.name).filter { n in m.head[n.hasPrefix("module.") ? String(n.dropFirst(7)) : n] == nil }
        }
        let extraA = extras(ma), extraB = extras(mb)
        let clean = ok && extraA.isEmpty && extraB.isEmpty
        // The files' own names (a Keras file's layer/weight names, a .pt's keys), not canonical ones.
        func inA(_ n: String) -> String { ma.mapped.sourceNames[n] ?? ma.sibling?.sourceNames[n] ?? n }
        func inB(_ n: String) -> String { mb.mapped.sourceNames[n] ?? mb.sibling?.sourceNames[n] ?? n }
        func both(_ n: String) -> String { inA(n) == inB(n) ? inA(n) : "\(inA(n)) [b: \(inB(n))]" }
        if json {
            CLIOutput.json([
                "a": a, "b": b, "tolerance": tolerance, "within_tolerance": clean,
                "max_abs_diff": d.maxAbs, "tensors_compared": d.entries.count,
                "bit_identical": d.entries.filter(\.bitIdentical).count,
                // One truth: only_in_a/only_in_b are the missing tensors that "missing" counts;
                // the ones the other side's variant implies are listed apart, not compared.
                "only_in_a": d.missingFromB.map(inA), "only_in_b": d.missingFromA.map(inB),
                "implied": ["only_in_a": d.impliedOnlyInA.map(inA), "only_in_b": d.impliedOnlyInB.map(inB)],
                "missing": ["only_in_a": d.missingFromB.count, "only_in_b": d.missingFromA.count],
                "values_within_tolerance": d.valuesWithin(tolerance),
                "not_genesis_in_a": extraA, "not_genesis_in_b": extraB,
                "tensors": d.entries.filter { all || !$0.bitIdentical }.map {
                    ["name": inA($0.name), "name_b": inB($0.name), "canonical": $0.name, "max_abs": $0.maxAbs.isFinite ? $0.maxAbs : nil, "max_rel": $0.maxRel.isFinite ? $0.maxRel : nil,
                     "bit_identical": $0.bitIdentical, "shape_a": $0.shapeA, "shape_b": $0.shapeB,
                     "dtype_a": $0.dtypeA.rawValue, "dtype_b": $0.dtypeB.rawValue] as [String: Any?]
                },
            ])
        } else {
            CLIOutput.line("a: \(a) (\(ma.formatDescription))")
            CLIOutput.line("b: \(b) (\(mb.formatDescription))")
            for e in d.entries where all || !e.bitIdentical {
                let what = e.shapeA != e.shapeB ? "shape \(CLIOutput.shape(e.shapeA)) vs \(CLIOutput.shape(e.shapeB))"
                    : e.bitIdentical ? "bit-identical" : String(format: "max abs %.3g, max rel %.3g", e.maxAbs, e.maxRel)
                CLIOutput.line("  \(both(e.name)): \(what)")
            }
            for n in d.missingFromB { CLIOutput.line("  only in a: \(inA(n))") }
            for n in d.missingFromA { CLIOutput.line("  only in b: \(inB(n))") }
            for (side, names, other) in [("a", d.impliedOnlyInA, "b"), ("b", d.impliedOnlyInB, "a")] where !names.isEmpty {
                CLIOutput.line("  \(names.count) tensor\(names.count == 1 ? "" : "s") only in \(side), implied by \(other)'s variant (identity up-convolutions, BN counters): not compared")
            }
            for n in extraA { CLIOutput.line("  not part of the network, in a: \(n)") }
            for n in extraB { CLIOutput.line("  not part of the network, in b: \(n)") }
            CLIOutput.line(DiffCommand.verdict(d, tolerance: tolerance, extraA: extraA.count, extraB: extraB.count))
        }
        if !clean { throw ExitCode(1) }
    }

    /// The last line: what was compared, and what (values, missing tensors, foreign tensors) keeps it from passing.
    static func verdict(_ d: TensorDiff, tolerance: Double, extraA: Int, extraB: Int) -> String {
        let identical = d.entries.filter(\.bitIdentical).count
        var problems: [String] = []
        if !d.valuesWithin(tolerance) { problems.append("max |a - b| = \(d.maxAbs): NOT within tolerance \(tolerance)") }
        if !d.missingFromB.isEmpty || !d.missingFromA.isEmpty {
            problems.append("missing tensors: \(d.missingFromB.count) only in a, \(d.missingFromA.count) only in b")
        }
        if extraA + extraB > 0 { problems.append("not part of the network: \(extraA) in a, \(extraB) in b") }
        let head = "\(d.entries.count) tensors compared, \(identical) bit-identical"
        if problems.isEmpty { return "\(head), max |a - b| = \(d.maxAbs): within tolerance \(tolerance)" }
        let values = d.valuesWithin(tolerance) ? ", max |a - b| = \(d.maxAbs) (within tolerance \(tolerance))" : ""
        return "\(head)\(values); " + problems.joined(separator: "; ")
    }
}
