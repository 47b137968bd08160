import ArgumentParser
import GenesisKit

/// `verify MODEL --plans PLANS`: whether an nnU-Net Genesis model's weights transfer to the
/// network an nnU-Net v2 plans file describes, tensor by tensor, then one verdict line.
enum VerifyPlansReport {
    /// Exit 0 when the weights transfer whole (`verify`'s rule: nothing found), 1 when they
    /// transfer the encoder only or not at all (checked, problems found) or the model itself has
    /// problems; a model of another family or a malformed plans file is an error (exit 2).
    static func run(model: LoadedModel, plans: String, configuration: String?, json: Bool) throws {
        guard let arch = model.recognised?.architecture as? NNUNetArchitecture else {
            throw GenesisIOError.wrongNetwork(file: model.path, option: "--plans", expected: "an nnU-Net Genesis network (compared with the plans' PlainConvUNet)",
                                              found: model.recognised.map { "\($0.architecture)" } ?? "no network genesis recognises")
        }
        let (name, network) = try NNUNetPlansReader.read(plans, configuration: configuration)
        let problems = arch.verify(model.mapped)
        let normalisation = NNUNetGenesisFamily().inputWindows.first { $0.name == "nnunet-ct" }!
        let c = NNUNetCompatibility.compare(arch, weights: model.mapped.store, plans: network, normalisation: normalisation)
        if json {
            CLIOutput.json([
                "file": model.path, "plans": plans, "configuration": name, "network": "\(arch)", "model_valid": problems.isEmpty,
                "tensors": c.entries.map { ["tensor": $0.tensor, "status": $0.status.rawValue, "model": $0.model, "plans": $0.plans, "reason": $0.reason] as [String: Any?] },
                "counts": Dictionary(uniqueKeysWithValues: c.counts.map { ($0.key.rawValue, $0.value) }),
                "notes": c.notes, "verdict": c.verdict.rawValue,
            ])
        } else {
            CLIOutput.line("\(model.path): \(arch)")
            CLIOutput.line("\(plans): configuration \(name): \(network.className.split(separator: ".").last ?? ""), features \(network.features), strides \(network.strides.map { $0.map(String.init).joined(separator: "x") }.joined(separator: " ")), \(network.inputChannels) input channel\(network.inputChannels == 1 ? "" : "s") (\(network.normalisationSchemes.joined(separator: ", ")))")
            for p in problems { CLIOutput.line("  model \(p.kind.rawValue): \(p.message)") }
            for e in c.entries {
                let shapes = "model \(e.model.map(CLIOutput.shape) ?? "-"), plans \(e.plans.map(CLIOutput.shape) ?? "-")"
                CLIOutput.line("  " + InspectRendering.pad(e.status.rawValue, 19) + InspectRendering.pad(e.tensor, 48) + " " + shapes + ([.transfers, .shape].contains(e.status) || e.reason.isEmpty ? "" : ": " + e.reason))
            }
            let counts = c.counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", ")
            CLIOutput.line("\(c.entries.count) tensors (v2 names, aliases left out): \(counts)")
            CLIOutput.line(c.verdict.rawValue)
        }
        if !problems.isEmpty || c.verdict != .whole { throw ExitCode(1) }
    }
}
