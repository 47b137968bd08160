import ArgumentParser
import GenesisKit

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a file against the network it holds (the Genesis U-Net, nnU-Net Genesis) and name every problem.",
        discussion: """
        Recognises the network from the tensors alone: the Models Genesis 3D U-Net with its variant (keras: UpSampling3D; torch: ConvTranspose3d), base width and label count, or nnU-Net Genesis (genesis_nnunet_luna16_006.model, nnU-Net v1's Generic_UNet: variant nnunet) with its base width, label count, pools and width cap (or takes them from the flags), then reports every missing, unexpected, mis-shaped or mistyped tensor, NaN/Inf values and BatchNorm variances <= 0.

        A file is a Genesis network when at least 10 of the 14 block kernels have the shape the network gives them at one base width (each conv's in-channels what the previous block, or the upsampled map plus the skip, give); the report says how many fit and how the channel links chain. It is an nnU-Net Genesis network when at least half of its kernels (conv_blocks_context, tu, conv_blocks_localization, seg_outputs) have the shape the network read off its tensors gives them. Otherwise the first line says "not a Models Genesis network: ...", naming what matched and the first block that does not, and the match follows step by step (exit 1); --variant with --base-filters checks every tensor against that architecture anyway.

        With --plans (nnU-Net Genesis files): compares the weights, under nnU-Net v2's PlainConvUNet names, with the network of an nnU-Net v2 nnUNetPlans.json configuration (or of a v1 nnUNetPlansv2.1_plans_3D.pkl stage: 3d_fullres, 3d_lowres, stageN; read as data, nothing in it is run), tensor by tensor (transfers, differs_in_shape, differs_in_meaning: a stride, the input channels or normalisation, the norm or nonlinearity; only_in_plans, only_in_model, skipped: the segmentation layers, which nnU-Net's load_pretrained_weights skips, and v2-only biases), then one line: transfers whole / transfers the encoder only / does not transfer. Exit 0 only for transfers whole.

        Exit 0 when the file is clean, 1 when problems were found (or it is not a Genesis network), 2 when it cannot be read.

        Examples:
          genesis verify Genesis_Chest_CT.h5
          genesis verify converted.pt --variant torch --base-filters 32 --json
          genesis verify genesis_nnunet_luna16_006.model --json
          genesis verify genesis_nnunet_luna16_006.model --plans nnUNetPlans.json --configuration 3d_fullres
        """
    )

    @Argument(help: "The file to verify.") var file: String
    @OptionGroup var input: InputOptions
    @Option(help: ArgumentHelp("Expect this variant (\(NetworkFamilyName.variantList)) instead of detecting it.", valueName: "variant")) var variant: String?
    @Option(parsing: .unconditional, help: "Expect this base width (official: 32).") var baseFilters: Int?
    @Option(parsing: .unconditional, help: "Expect this many output labels (official: 1; nnU-Net Genesis: 2).") var labels: Int?
    @Option(help: ArgumentHelp("nnU-Net Genesis only: report, tensor by tensor, whether the weights transfer to the network of this nnU-Net v2 nnUNetPlans.json (or v1 plans .pkl), ending in transfers whole / transfers the encoder only / does not transfer (exit 0 only for whole).", valueName: "plans.json|plans.pkl")) var plans: String?
    @Option(help: "With --plans: the configuration (default 3d_fullres, or the only one).") var configuration: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        if let v = variant, NetworkFamilyName.family(ofVariant: v) == nil { throw ValidationError("--variant takes \(NetworkFamilyName.variantList), not '\(v)'") }
        if let b = baseFilters, b < 1 || b > Architecture.maxBaseFilters { throw ValidationError("--base-filters must be positive, at most \(Architecture.maxBaseFilters), not \(b)") }
        if let l = labels, l < 1 || l > Architecture.maxLabels { throw ValidationError("--labels must be positive, at most \(Architecture.maxLabels), not \(l)") }
        if configuration != nil, plans == nil { throw ValidationError("--configuration names a configuration of --plans: give --plans too") }
        if plans != nil, variant != nil || baseFilters != nil || labels != nil { throw ValidationError("--plans reports on the network the file holds: leave out --variant, --base-filters and --labels") }
    }

    func run() throws {
        let model = try ModelLoader.load(file, format: input.format)
        if let plans { return try VerifyPlansReport.run(model: model, plans: plans, configuration: configuration, json: json) }
        let zoo = try ZooMatch.of(file: file)
        if let w = zoo.warning { CLIOutput.warn(w) }
        let detected = model.recognised?.architecture
        guard let arch = try expected(detected), let mapped = model.mapped(as: arch.family) else {
            reportNotGenesis(model: model, zoo: zoo)
            throw ExitCode(1)
        }
        let problems = arch.verify(mapped)
        report(model: model, arch: arch, mapped: mapped, problems: problems, zoo: zoo)
        if !problems.isEmpty { throw ExitCode(1) }
    }

    /// The network to check against: the one recognised, or the one the flags ask for (what they
    /// leave open taken from the recognised one when it is of the same family); nil when neither.
    private func expected(_ detected: (any NetworkArchitecture)?) throws -> (any NetworkArchitecture)? {
        guard variant != nil || baseFilters != nil || labels != nil else { return detected }
        guard let family = variant.flatMap(NetworkFamilies.family(ofVariant:)) ?? detected.map({ NetworkFamilies.family($0.family) }) else { return nil }
        let same = detected.map { $0.family == family.name } ?? false
        guard let v = variant ?? (same ? detected?.variantName : nil), let b = baseFilters ?? (same ? detected?.baseFilters : nil) else {
            if let d = detected { throw ValidationError("\(file) holds \(d); --variant \(variant ?? "") needs --base-filters to check it as another network") }
            return nil
        }
        guard let a = family.architecture(variant: v, baseFilters: b, labels: labels, like: same ? detected : nil) else {
            throw ValidationError("--base-filters \(b) or --labels \(labels.map(String.init) ?? "") is out of range for \(family.name.title)")
        }
        return a
    }

    /// Not a network genesis knows by its tensors, and none asked for: one line saying so (what
    /// matched, the first thing that did not), then the match step by step.
    private func reportNotGenesis(model: LoadedModel, zoo: ZooMatch) {
        let topology = Detection.analyze(model.fileMapping)
        let headline = "not a Models Genesis network: " + NetworkFamilies.verdict(model.fileMapping)
        let first = topology.blocks.first { !$0.fits }
        let problem = Problem(tensor: topology.baseFilters == nil ? "" : first?.tensor ?? "", kind: .architecture,
                              expected: "at least \(TopologyMatch.requiredFittingBlocks) of 14 block kernels fitting one base width",
                              found: topology.baseFilters.map { "\(topology.fittingBlocks) of 14 at base \($0)" } ?? "no block kernel",
                              message: headline)
        if json {
            report(model: model, arch: nil, mapped: model.fileMapping, problems: [problem], zoo: zoo)
            return
        }
        CLIOutput.line(headline)
        CLIOutput.line("\(model.path): \(model.formatDescription)")
        CLIOutput.line(zoo.line)
        if let base = topology.baseFilters {
            for step in topology.steps { CLIOutput.line("  " + TopologyRendering.line(step, base: base)) }
        }
        for (family, match) in Self.otherMatches(model) where match.anyTensorMapped && !match.steps.isEmpty {
            CLIOutput.line("\(family.title):")
            for step in match.steps { CLIOutput.line("  " + TopologyRendering.line(step)) }
        }
        CLIOutput.line("(to check every tensor against a given architecture anyway: --variant \(NetworkFamilyName.allCases.flatMap(\.variants).joined(separator: "|")) --base-filters B)")
    }

    /// How the file fits each family other than the Genesis U-Net.
    static func otherMatches(_ model: LoadedModel) -> [(NetworkFamilyName, FamilyMatch)] {
        NetworkFamilies.all.filter { $0.name != .modelsGenesisUNet3D }.compactMap { f in f.map(model.fileMapping).map { (f.name, f.match($0)) } }
    }

    private func report(model: LoadedModel, arch: (any NetworkArchitecture)?, mapped: MappedTensors, problems: [Problem], zoo: ZooMatch) {
        let detected = model.recognised
        let genesisFamily = (arch?.family ?? .modelsGenesisUNet3D) == .modelsGenesisUNet3D
        if json {
            var out: [String: Any?] = [
                "file": model.path, "format": model.format.rawValue, "format_description": model.formatDescription,
                "valid": problems.isEmpty, "family": arch?.family.rawValue, "variant": arch?.variantName, "base_filters": arch?.baseFilters,
                "labels": arch?.labels, "parameters": arch?.trainableCount, "bn_statistics": arch?.statisticsCount,
                "detected": detected.map { d in
                    var o: [String: Any?] = ["variant": d.architecture.variantName, "base_filters": d.architecture.baseFilters,
                                             "labels": d.architecture.labels, "evidence": d.evidence]
                    for f in d.architecture.facts { o[f.key] = f.jsonValue }
                    return o
                },
                "tensors_checked": arch?.tensorCount,
                "genesis": detected != nil,
                "structure": genesisFamily ? TopologyRendering.json(Detection.analyze(mapped)) : TopologyRendering.json(NetworkFamilies.family(arch!.family).match(mapped)),
                "problems": problems.map { ["tensor": $0.tensor, "kind": $0.kind.rawValue, "expected": $0.expected, "found": $0.found, "message": $0.message] },
                "sha256": zoo.sha256, "zoo_match": zoo.jsonValue,
            ]
            for f in arch?.facts ?? [] { out[f.key] = f.jsonValue }
            CLIOutput.json(out)
            return
        }
        CLIOutput.line("\(model.path): \(model.formatDescription)")
        CLIOutput.line(zoo.line)
        let batchNorm = arch.map { $0.officialBatchStatistics != nil } ?? true
        if let arch {
            let how = detected.map { $0.architecture.isSame(as: arch) } == true ? "detected" : "as asked"
            let statistics = batchNorm ? " + \(CLIOutput.grouped(arch.statisticsCount)) BN statistics" : ""
            CLIOutput.line("\(arch) (\(how)): \(CLIOutput.grouped(arch.trainableCount)) trainable values\(statistics), \(arch.tensorCount) tensors")
        }
        if let d = detected, arch.map({ $0.family == d.architecture.family }) ?? true {
            CLIOutput.line("structure: \(d.evidence)")
        } else {
            CLIOutput.line("structure: not a Models Genesis network by its tensors (\(NetworkFamilies.verdict(model.fileMapping))); checked against the architecture asked for")
        }
        if problems.isEmpty {
            CLIOutput.line("valid: every tensor present, shaped and typed as expected, finite" + (batchNorm ? ", BN variances > 0" : ""))
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

    /// Any family's step: label, tensor, found, expected, whether it fits.
    static func line(_ step: StructureStep) -> String {
        let found = step.found.map(CLIOutput.shape) ?? "absent"
        let expected = step.expected.map(CLIOutput.shape) ?? "?"
        return InspectRendering.pad(step.label, 36) + InspectRendering.pad(step.tensor, 44) + " " + InspectRendering.pad(found, 16) + " expected "
            + InspectRendering.pad(expected, 16) + " " + (step.fits ? "fits" : step.found == nil ? "absent" : "differs")
    }

    static func json(_ t: TopologyMatch) -> [String: Any?] {
        ["genesis": t.isGenesis, "base_filters": t.baseFilters, "fitting_blocks": t.fittingBlocks, "blocks": 14,
         "required_fitting_blocks": TopologyMatch.requiredFittingBlocks, "chaining_links": t.chainingLinks, "links": t.steps.count,
         "verdict": t.verdict,
         "steps": t.steps.map { ["label": $0.label, "tensor": $0.tensor, "expected": $0.expected, "found": $0.found, "fits": $0.fits,
                                 "input_channels": $0.inputChannels, "chains": $0.chains] as [String: Any?] }]
    }

    /// Any other family's match: whether the tensors are its network, the kernels that fit, the verdict, the steps.
    static func json(_ m: FamilyMatch) -> [String: Any?] {
        ["family": m.family.rawValue, "recognised": m.architecture != nil, "fitting_kernels": m.steps.filter(\.fits).count, "kernels": m.steps.count,
         "verdict": m.verdict, "evidence": m.evidence,
         "steps": m.steps.map { ["label": $0.label, "tensor": $0.tensor, "expected": $0.expected, "found": $0.found, "fits": $0.fits] as [String: Any?] }]
    }
}
