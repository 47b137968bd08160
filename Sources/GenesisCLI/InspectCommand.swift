import ArgumentParser
import GenesisKit

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a weights file holds: format, versions, layers, tensors, optimizer state.",
        discussion: """
        Works for any Keras HDF5 file, not only Genesis networks. Layers are listed in their saved order (from `layer_names`), each weight with its shape, dtype and value count. The "looks like" line names the network the tensors are (the Genesis U-Net, nnU-Net Genesis), or why they are none genesis knows.

        Examples:
          genesis inspect Genesis_Chest_CT.h5
          genesis inspect model.h5 --json | jq '.totals'
        """
    )

    @Argument(help: "The file to inspect.") var file: String
    @OptionGroup var input: InputOptions
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let model = try ModelLoader.load(file, format: input.format)
        let s = FileSummary.of(model)
        let id = try ZooMatch.of(file: file)
        if let w = id.warning { CLIOutput.warn(w) }
        if json {
            var out = InspectRendering.json(s)
            out["sha256"] = id.sha256
            out.updateValue(id.jsonValue, forKey: "zoo_match")
            CLIOutput.json(out)
        } else {
            InspectRendering.text(s, verdict: NetworkFamilies.verdict(model.fileMapping), zoo: id)
        }
    }
}

enum InspectRendering {
    static func json(_ s: FileSummary) -> [String: Any?] {
        func entry(_ e: FileSummary.Entry) -> [String: Any?] {
            ["name": e.name, "shape": e.shape, "dtype": e.dtype.rawValue, "values": e.values]
        }
        var out: [String: Any?] = [
            "file": s.path, "format": s.format.rawValue, "format_description": s.formatDescription,
            "versions": s.versions, "file_bytes": s.fileBytes,
            "layers": s.groups.map { g in ["name": g.name, "class": g.className, "weights": g.tensors.map(entry)] as [String: Any?] },
            "totals": ["layers": s.groups.count, "weighted_layers": s.groups.filter { !$0.tensors.isEmpty }.count,
                       "tensors": s.tensorCount, "values": s.valueCount, "bytes": s.tensorBytes],
        ]
        s.addProvenance(to: &out)
        if let o = s.optimizer {
            out["optimizer"] = ["class": o.className, "hyperparameters": o.hyperparameters, "iterations": o.iterations,
                                "slots": o.slotCount, "slot_values": o.slotValues, "entries": o.entries.map(entry)] as [String: Any?]
        } else {
            out["optimizer"] = nil as Any?
        }
        if let g = s.genesis {
            out["genesis"] = ["variant": g.architecture.variant.rawValue, "base_filters": g.architecture.baseFilters, "labels": g.architecture.labels,
                              "evidence": g.evidence]
        } else {
            out["genesis"] = nil as Any?
        }
        if let n = s.network {
            var o: [String: Any?] = ["family": n.architecture.family.rawValue, "variant": n.architecture.variantName,
                                     "base_filters": n.architecture.baseFilters, "labels": n.architecture.labels, "evidence": n.evidence]
            for f in n.architecture.facts { o[f.key] = f.jsonValue }
            out["network"] = o
        } else {
            out["network"] = nil as Any?
        }
        out["head"] = s.sibling.map(SiblingRendering.json)
        return out
    }

    /// `verdict`: why the tensors are no network genesis knows (`NetworkFamilies.verdict`), said when they are none.
    static func text(_ s: FileSummary, verdict: String, zoo: ZooMatch? = nil) {
        CLIOutput.line("\(s.path): \(s.formatDescription), \(CLIOutput.megabytes(s.fileBytes))")
        if let g = s.network {
            CLIOutput.line("looks like: \(g.architecture): \(g.evidence) (run `genesis verify` to check every tensor)")
            if let sib = s.sibling { SiblingRendering.lines(sib).forEach { CLIOutput.line($0) } }
        } else {
            CLIOutput.line("looks like: not a Models Genesis network: \(verdict)")
        }
        if let zoo { CLIOutput.line(zoo.line) }
        let nameWidth = min(40, max(8, s.groups.flatMap { $0.tensors.map(\.name.count) }.max() ?? 8))
        let layerWidth = min(28, max(5, s.groups.map(\.name.count).max() ?? 5))
        CLIOutput.line()
        CLIOutput.line(pad("layer", layerWidth) + "  " + pad("class", 18) + "  " + pad("weight", nameWidth) + "  " + pad("shape", 18) + "  " + pad("dtype", 8) + "  values")
        for g in s.groups {
            if g.tensors.isEmpty {
                CLIOutput.line(pad(g.name, layerWidth) + "  " + pad(g.className ?? "", 18) + "  -")
            }
            for (i, t) in g.tensors.enumerated() {
                CLIOutput.line(pad(i == 0 ? g.name : "", layerWidth) + "  " + pad(i == 0 ? g.className ?? "" : "", 18) + "  " + pad(t.name, nameWidth) + "  "
                               + pad(CLIOutput.shape(t.shape), 18) + "  " + pad(t.dtype.rawValue, 8) + "  " + CLIOutput.grouped(t.values))
            }
        }
        CLIOutput.line()
        let weighted = s.groups.filter { !$0.tensors.isEmpty }.count
        CLIOutput.line("totals: \(s.groups.count) layers (\(weighted) with weights), \(s.tensorCount) tensors, \(CLIOutput.grouped(s.valueCount)) values, \(CLIOutput.megabytes(s.tensorBytes))")
        if let o = s.optimizer {
            let hp = o.hyperparameters.sorted { $0.key < $1.key }.filter { ["lr", "learning_rate", "momentum", "decay", "nesterov", "beta_1", "beta_2", "epsilon"].contains($0.key) }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let it = o.iterations.map { ", iterations \($0)" } ?? ""
            CLIOutput.line("optimizer: \(o.className ?? "unknown")\(hp.isEmpty ? "" : " (\(hp))")\(it), \(o.slotCount) slots, \(CLIOutput.grouped(o.slotValues)) values")
        } else {
            CLIOutput.line("optimizer: none saved")
        }
        s.provenanceLines.forEach { CLIOutput.line($0) }
        if s.format == .onnx {
            // The graph's metadata props: BatchNorm mode, input convention, valid sizes, source hash.
            for (k, v) in s.versions.sorted(by: { $0.key < $1.key }) where k.hasPrefix("genesis_") && k != GenesisWriter.key || k.hasPrefix("onnx_") {
                CLIOutput.line("onnx metadata \(k): \(v)")
            }
        }
    }

    static func pad(_ s: String, _ w: Int) -> String {
        s.count >= w ? s : s + String(repeating: " ", count: w - s.count)
    }
}
