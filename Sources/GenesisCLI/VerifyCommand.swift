import ArgumentParser
import GenesisIO
import GenesisModel

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a file against the Genesis architecture and name every problem.",
        discussion: """
        Detects the variant (keras: UpSampling3D; torch: ConvTranspose3d), base width and label count from the tensors (or takes them from the flags), then reports every missing, unexpected, mis-shaped or mistyped tensor, NaN/Inf values and BatchNorm variances <= 0.

        Exit 0 when the file is clean, 1 when problems were found, 2 when it cannot be read.

        Examples:
          genesis verify Genesis_Chest_CT.h5
          genesis verify converted.pt --variant torch --base-filters 32 --json
        """
    )

    @Argument(help: "The file to verify.") var file: String
    @OptionGroup var input: InputOptions
    @Option(help: "Expect this variant (keras or torch) instead of detecting it.") var variant: Variant?
    @Option(help: "Expect this base width (official: 32).") var baseFilters: Int?
    @Option(help: "Expect this many output labels (official: 1).") var labels: Int?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        if let b = baseFilters, b < 1 || b > Architecture.maxBaseFilters { throw ValidationError("--base-filters must be 1...\(Architecture.maxBaseFilters)") }
        if let l = labels, l < 1 || l > Architecture.maxLabels { throw ValidationError("--labels must be 1...\(Architecture.maxLabels)") }
    }

    func run() throws {
        let model = try ModelLoader.load(file, format: input.format)
        let detected = model.detected?.architecture
        guard detected != nil || (variant != nil && baseFilters != nil) else {
            report(model: model, arch: nil, problems: [Problem(
                tensor: "", kind: .architecture, expected: "Genesis 3D U-Net tensors", found: "none",
                message: "no tensor of the Genesis 3D U-Net was found (give --variant and --base-filters to check against a given architecture)")])
            throw ExitCode(1)
        }
        let arch = Architecture(variant: variant ?? detected!.variant, baseFilters: baseFilters ?? detected!.baseFilters,
                                labels: labels ?? detected?.labels ?? 1)
        let report = Verification.verify(model.mapped, against: arch)
        self.report(model: model, arch: arch, problems: report.problems)
        if !report.valid { throw ExitCode(1) }
    }

    private func report(model: LoadedModel, arch: Architecture?, problems: [Problem]) {
        if json {
            CLIOutput.json([
                "file": model.path, "format": model.format.rawValue, "format_description": model.formatDescription,
                "valid": problems.isEmpty, "variant": arch?.variant.rawValue, "base_filters": arch?.baseFilters, "labels": arch?.labels,
                "parameters": arch?.trainableCount, "bn_statistics": arch?.statisticsCount,
                "detected": model.detected.map { ["variant": $0.architecture.variant.rawValue, "base_filters": $0.architecture.baseFilters,
                                                   "labels": $0.architecture.labels, "evidence": $0.evidence] as [String: Any] },
                "tensors_checked": arch?.tensors.count,
                "problems": problems.map { ["tensor": $0.tensor, "kind": $0.kind.rawValue, "expected": $0.expected, "found": $0.found, "message": $0.message] },
            ])
            return
        }
        CLIOutput.line("\(model.path): \(model.formatDescription)")
        if let arch {
            let how = model.detected?.architecture == arch ? "detected" : "as asked"
            CLIOutput.line("\(arch) (\(how)): \(CLIOutput.grouped(arch.trainableCount)) trainable values + \(CLIOutput.grouped(arch.statisticsCount)) BN statistics, \(arch.tensors.count) tensors")
        }
        if problems.isEmpty {
            CLIOutput.line("valid: every tensor present, shaped and typed as expected, finite, BN variances > 0")
            return
        }
        for p in problems { CLIOutput.line("  \(p.kind.rawValue): \(p.message)") }
        CLIOutput.line("invalid: \(problems.count) problem\(problems.count == 1 ? "" : "s")")
    }
}
