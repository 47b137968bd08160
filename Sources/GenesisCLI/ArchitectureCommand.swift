import ArgumentParser
import GenesisKit

struct ArchitectureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "architecture",
        abstract: "Print the Genesis network's tensors: canonical, Keras and PyTorch names, shapes.",
        discussion: """
        The network as data, for any base width, label count and variant. Canonical names are the official PyTorch module paths (without `module.`) and canonical shapes PyTorch's layouts; Keras shapes are (kD,kH,kW,in,out) for kernels.

        Example:
          genesis architecture --variant torch --base-filters 32 --json
        """
    )

    @Option(help: "keras (UpSampling3D) or torch (ConvTranspose3d).") var variant: Variant = .keras
    @Option(parsing: .unconditional, help: "Base width b (official: 32).") var baseFilters: Int = 32
    @Option(parsing: .unconditional, help: "Output labels (official: 1).") var labels: Int = 1
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        guard (1...Architecture.maxBaseFilters).contains(baseFilters) else { throw ValidationError("--base-filters must be positive, at most \(Architecture.maxBaseFilters), not \(baseFilters)") }
        guard (1...Architecture.maxLabels).contains(labels) else { throw ValidationError("--labels must be positive, at most \(Architecture.maxLabels), not \(labels)") }
    }

    func run() throws {
        let arch = Architecture(variant: variant, baseFilters: baseFilters, labels: labels)
        let rows = arch.tensors.map { t -> [String: Any?] in
            ["name": t.name, "role": t.role.rawValue, "shape": t.shape, "dtype": t.dtype.rawValue, "trainable": t.role.isTrainable,
             "optional": t.optional, "torch_name": t.name, "keras_name": KerasNames.official(t, variant: variant),
             "keras_auto_named": KerasNames.isAutoNamed(t),
             "keras_shape": NameMaps.kerasShape(of: t)]
        }
        if json {
            CLIOutput.json(["variant": variant.rawValue, "base_filters": baseFilters, "labels": labels,
                            "parameters": arch.trainableCount, "bn_statistics": arch.statisticsCount,
                            "keras_names": "the official Keras 2.2.4 file's; " + KerasNames.autoNameNote,
                            "blocks": arch.blocks.map { ["index": $0.index, "in": $0.inChannels, "out": $0.outChannels, "module": Layout.blockModules[$0.index], "keras": "depth_\($0.index)"] },
                            "tensors": rows])
            return
        }
        CLIOutput.line("\(arch): \(CLIOutput.grouped(arch.trainableCount)) trainable values, \(arch.tensors.count) tensors")
        for t in arch.tensors {
            CLIOutput.line(InspectRendering.pad(t.name, 42) + InspectRendering.pad(CLIOutput.shape(t.shape), 18)
                           + InspectRendering.pad(KerasNames.official(t, variant: variant) ?? "-", 34) + CLIOutput.shape(NameMaps.kerasShape(of: t)))
        }
        CLIOutput.line("Keras names are the official Keras 2.2.4 file's; \(KerasNames.autoNameNote) (genesis finds them by position and shape).")
    }
}
