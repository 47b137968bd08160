import ArgumentParser
import GenesisKit

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a file against the Genesis architecture and name every problem.",
        discussion: """
        Detects the variant (keras: UpSampling3D; torch: ConvTranspose3d), base width and label count from the tensors (or takes them from the flags), then reports every missing, unexpected, mis-shaped or mistyped tensor, NaN/Inf values and BatchNorm variances <= 0.

        A file is a Genesis network when at least 10 of the 14 block kernels have the shape the network gives them at one base width (each conv's in-channels what the previous block, or the upsampled map plus the skip, give); the report says how many fit and how the channel links chain. Otherwise the first line says "not a Models Genesis network: ...", naming what matched and the first block that does not, and the match follows step by step (exit 1); --variant with --base-filters checks every tensor against that architecture anyway.

        Exit 0 when the file is clean, 1 when problems were found (or it is not a Genesis network), 2 when it cannot be read.

        Examples:
          genesis verify Genesis_Chest_CT.h5
          genesis verify converted.pt --variant torch --base-filters 32 --json
        """
    )

    @Argument(help: "The file to verify.") var file: String
    @OptionGroup var input: InputOptions
    @Option(help: "Expect this variant (keras or torch) instead of detecting it.") var variant: Variant?
    @Option(parsing: .unconditional, help: "Expect this base width (official: 32).") var baseFilters: Int?
    @Option(parsing: .unconditional, help: "Expect this many output labels (official: 1).") var labels: Int?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        if let b = baseFilters, b < 1 || b > Architecture.maxBaseFilters { throw ValidationError("--base-filters must be positive, at most \(Architecture.maxBaseFilters), not \(b)") }
        if let l = labels, l < 1 || l > Architecture.maxLabels { throw ValidationError("--labels must be positive, at most \(Architecture.maxLabels), not \(l)") }
    }

    func run() throws {
        let model = try ModelLoader.load(file, format: input.format)
        let zoo = try ZooMatch.of(file: file)
        if let w = zoo.warning { CLIOutput.warn(w) }
        let topology = Detection.analyze(model.mapped)
        let detected = model.detected?.architecture
        guard detected != nil || (variant != nil && baseFilters != nil) else {
            reportNotGenesis(model: model, topology: topology, zoo: zoo)
            throw ExitCode(1)
        }
        let arch = Architecture(variant: variant ?? detected!.variant, baseFilters: baseFilters ?? detected!.baseFilters,
                                labels: labels ?? detected?.labels ?? 1)
        let report = Verification.verify(model.mapped, against: arch)
        self.report(model: model, arch: arch, topology: topology, problems: report.problems, zoo: zoo)
        if !report.valid { throw ExitCode(1) }
    }

    /// Not a Genesis network by its tensors, and no architecture asked for: one line saying so
    /// (what matched, the first thing that did not), then the match step by step.
    private func reportNotGenesis(model: LoadedModel, topology: TopologyMatch, zoo: ZooMatch) {
        let headline = "not a Models Genesis network: " + topology.verdict
        let first = topology.blocks.first { !$0.fits }
        let problem = Problem(tensor: topology.baseFilters == nil ? "" : first?.tensor ?? "", kind: .architecture,
                              expected: "at least \(TopologyMatch.requiredFittingBlocks) of 14 block kernels fitting one base width",
                              found: topology.baseFilters.map { "\(topology.fittingBlocks) of 14 at base \($0)" } ?? "no block kernel",
                              message: headline)
        if json {
            report(model: model, arch: nil, topology: topology, problems: [problem], zoo: zoo)
            return
        }
        CLIOutput.line(headline)
        CLIOutput.line("\(model.path): \(model.formatDescription)")
        CLIOutput.line(zoo.line)
        if topology.baseFilters != nil {
            for step in topology.steps { CLIOutput.line("  " + TopologyRendering.line(step, base: topology.baseFilters!)) }
        }
        CLIOutput.line("(to check every tensor against a given architecture anyway: --variant keras|torch --base-filters B)")
    }

    private func report(model: LoadedModel, arch: Architecture?, topology: TopologyMatch, problems: [Problem], zoo: ZooMatch) {
        if json {
            CLIOutput.json([
                "file": model.path, "format": model.format.rawValue, "format_description": model.formatDescription,
                "valid": problems.isEmpty, "variant": arch?.variant.rawValue, "base_filters": arch?.baseFilters, "labels": arch?.labels,
                "parameters": arch?.trainableCount, "bn_statistics": arch?.statisticsCount,
                "detected": model.detected.map { ["variant": $0.architecture.variant.rawValue, "base_filters": $0.architecture.baseFilters,
                                                   "labels": $0.architecture.labels, "evidence": $0.evidence] as [String: Any] },
                "tensors_checked": arch?.tensors.count,
                "genesis": model.detected != nil, "structure": TopologyRendering.json(topology),
                "problems": problems.map { ["tensor": $0.tensor, "kind": $0.kind.rawValue, "expected": $0.expected, "found": $0.found, "message": $0.message] },
                "sha256": zoo.sha256, "zoo_match": zoo.jsonValue,
            ])
            return
        }
        CLIOutput.line("\(model.path): \(model.formatDescription)")
        CLIOutput.line(zoo.line)
        if let arch {
            let how = model.detected?.architecture == arch ? "detected" : "as asked"
            CLIOutput.line("\(arch) (\(how)): \(CLIOutput.grouped(arch.trainableCount)) trainable values + \(CLIOutput.grouped(arch.statisticsCount)) BN statistics, \(arch.tensors.count) tensors")
        }
        if let d = model.detected {
            CLIOutput.line("structure: \(d.evidence)")
        } else {
            CLIOutput.line("structure: not a Models Genesis network by its tensors (\(topology.verdict)); checked against the architecture asked for")
        }
        if problems.isEmpty {
            CLIOutput.line("valid: every tensor present, shaped and typed as expected, finite, BN variances > 0")
            return
        }
        for p in problems { CLIOutput.line("  \(p.kind.rawValue): \(p.message)") }
        CLIOutput.line("invalid: \(problems.count) problem\(problems.count == 1 ? "" : "s")")
    }
}

/// The topology match for `verify`: one line per step, and JSON.
enum TopologyRendering {
    static func line(_ step: TopologyMatch.Step, base: Int) -> String {
        let found = step.found.map(CLIOutput.shape) ?? "absent"
        let expected = step.expected.map(CLIOutput.shape) ?? "?"
        let fit = step.fits ? "fits" : step.found == nil ? "absent" : "differs"
        let chain = step.found == nil || step.chains ? "" : step.inputChannels.map { "; its inputs give \($0) channel\($0 == 1 ? "" : "s")" } ?? "; its inputs are absent"
        return InspectRendering.pad(step.label, 17) + InspectRendering.pad(step.tensor, 28) + " " + InspectRendering.pad(found, 16)
            + " base \(base): " + InspectRendering.pad(expected, 16) + " " + fit + chain
    }

    static func json(_ t: TopologyMatch) -> [String: Any?] {
        ["genesis": t.isGenesis, "base_filters": t.baseFilters, "fitting_blocks": t.fittingBlocks, "blocks": 14,
         "required_fitting_blocks": TopologyMatch.requiredFittingBlocks, "chaining_links": t.chainingLinks, "links": t.steps.count,
         "verdict": t.verdict,
         "steps": t.steps.map { ["label": $0.label, "tensor": $0.tensor, "expected": $0.expected, "found": $0.found, "fits": $0.fits,
                                 "input_channels": $0.inputChannels, "chains": $0.chains] as [String: Any?] }]
    }
}
