import ArgumentParser
import Foundation
import GenesisKit

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert weights between formats, with proof.",
        discussion: """
        The output format follows OUT's extension or --format; genesis writes \(FormatRegistry.describe(FormatRegistry.writable)). Keras .h5 output is the model.save layout (model_config, model_weights, optimizer_weights when there is optimizer state), which tf_keras/Keras load_model and load_weights both take; --weights-only writes the save_weights layout. Keras -> PyTorch adds identity up-convolutions (exact). PyTorch -> Keras is refused when the up-convolutions are not the identity, unless --allow-lossy; then the deviation is measured. Optimizer state converts with the convention change (SGD: keras m = -lr * buf). Every conversion reads back what it wrote and compares every tensor, and where both sides run in the genesis runtime compares forward passes on a seeded cube (max_abs_diff): the model's recorded input when small, else 16x16x16, the smallest cube in which every tap of every 3x3x3 kernel meets the data. OUT may not be IN (also not through a symlink or hard link): exit 2. A MONAI bundle (--format monai-bundle; OUT a new directory) holds configs/metadata.json and configs/inference.json (a sliding-window NIfTI pipeline), scripts/genesis_unet.py (the official module names, TorchScript-able), models/model.pt (its state dict, strict=True) read back and run against the source, docs/README.md and LICENSE: the source's zoo manifest's licence, or --license FILE (none is guessed); --bn chooses its BatchNorm (default: batch statistics for weights trained in PyTorch, as ContBatchNorm3d; the running ones for Keras). ONNX output (.onnx) is a graph with dynamic batch and spatial axes (sizes: multiples of genesis_spatial_multiples in its metadata); --bn chooses BatchNormalization with the running statistics or the batch's statistics computed in the graph; the written graph is read back and run by genesis's ONNX interpreter against the source (max |diff| printed).

        Siblings (Semantic Genesis, TransVW, SuPreM: schemas/sibling-networks.md): the Genesis trunk converts as above; the head is kept, under its own names, in .pt, .safetensors (canonical or torch naming) and .genesis output, and Keras output refuses it (exit 2) unless --trunk-only drops it. A SuPreM trunk has no output layer: Keras output is refused; the forward proof runs both trunks through one seeded 1x1x1 probe layer.

        Examples:
          genesis convert Genesis_Chest_CT.h5 Genesis_Chest_CT.pt --module-prefix
          genesis convert semantic_genesis_chest_ct.h5 trunk.pt --trunk-only
          genesis convert Genesis_Chest_CT.pt keras.h5 --allow-lossy --json
          genesis convert Genesis_Chest_CT.h5 genesis.onnx --bn inference --opset 17
          genesis convert Genesis_Chest_CT.pt genesis_bundle --format monai-bundle
        """
    )

    @Argument(help: "The file to convert.") var input: String
    @Argument(help: "The file to write (written beside, then renamed into place).") var output: String
    @Option(help: "Output format instead of guessing from OUT (only the formats genesis writes).") var format: WritableFormat?
    @Option(name: .customLong("input-format"), help: "Read INPUT as this format.") var inputFormat: FormatKind?
    @Flag(help: "PyTorch output: prefix keys with `module.` as nn.DataParallel saves them (the official .pt does).") var modulePrefix = false
    @Flag(help: "Allow a conversion that cannot be exact (non-identity up-convolutions to Keras), and measure it.") var allowLossy = false
    @Flag(help: "Keras output: write the save_weights layout (layer_names at the root, no model_config, no optimizer state) instead of the model.save layout.")
    var weightsOnly = false
    @Flag(help: "Accepted for old scripts and ignored: the model.save layout is the default now.") var kerasModel = false
    @Flag(help: "Leave optimizer state out.") var noOptimizer = false
    @Option(help: "Names to write: safetensors output (canonical, torch, keras2); nnunetv2 (nnU-Net Genesis only, .pt/.pth or .safetensors): nnU-Net v2's PlainConvUNet keys, aliases included, in a v2 checkpoint (network_weights).") var naming: Naming = .canonical
    @Flag(help: "A sibling's file (Semantic Genesis, TransVW, SuPreM): write the Genesis trunk alone, its head dropped (what the official Genesis UNet3D / unet_model_3d loads strictly). Without it the head is kept in .pt, .safetensors and .genesis output; Keras output refuses a head.")
    var trunkOnly = false
    @Option(help: "ONNX output: BatchNorm with the running statistics (inference) or the batch's own, computed in the graph (batch). Default: batch for a network whose official code predicts with batch statistics (the PyTorch Genesis U-Net), else inference.")
    var bn: ONNXBatchNorm?
    @Option(help: "ONNX output: the opset version (\(ONNXExport.opsets.lowerBound)-\(ONNXExport.opsets.upperBound)).") var opset: Int = ONNXExport.defaultOpset
    @Option(help: ArgumentHelp("MONAI bundle output: the weights' licence text for its LICENSE (default: what the source's zoo manifest says; a file no manifest knows needs this).", valueName: "file"))
    var license: String?
    @Flag(help: "Replace an existing OUT that is not a model file of the format written.") var force = false
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        _ = try OutputFormat.resolve(format, path: output)
        if weightsOnly && kerasModel { throw ValidationError("--weights-only and --keras-model ask for different Keras layouts: give one") }
        if !ONNXExport.opsets.contains(opset) { throw ValidationError("--opset \(opset): genesis writes opsets \(ONNXExport.opsets.lowerBound) to \(ONNXExport.opsets.upperBound)") }
        let fmt = try OutputFormat.resolve(format, path: output)
        if fmt != .onnx, opset != ONNXExport.defaultOpset { throw ValidationError("--opset applies to ONNX output (.onnx) only") }
        if fmt != .onnx, fmt != .monaiBundle, bn != nil { throw ValidationError("--bn applies to ONNX output (.onnx) and MONAI bundles only") }
        if fmt != .monaiBundle, license != nil { throw ValidationError("--license applies to MONAI bundle output (--format monai-bundle) only") }
    }

    func run() throws {
        let start = Date()
        let fmt = try OutputFormat.resolve(format, path: output)
        if FileIdentity.same(input, output) { throw GenesisIOError.sameFile(input: input, output: output) }
        try OutputFormat.check(output, writes: fmt, inputs: [input], force: force)
        let source = try ModelLoader.load(input, format: inputFormat)
        var options = WriteOptions(kerasFullModel: !weightsOnly, modulePrefix: modulePrefix, includeOptimizer: !noOptimizer, naming: naming, trunkOnly: trunkOnly,
                                   onnxBatchNorm: bn, onnxOpset: opset)
        if let license {
            options.licence = String(decoding: try FileIO.read(license, cap: 1 << 20), as: UTF8.self)
            options.licenceSummary = "The weights' licence was given with --license (\(URL(fileURLWithPath: license).lastPathComponent))."
        }
        let proven: ProvenConversion
        do {
            proven = try ProvenConversion.convert(source, to: output, format: fmt, options: options, allowLossy: allowLossy)
        } catch let e as VariantConversion.Failure {
            CLIOutput.warn("error: \(input): \(e)")
            if json { CLIOutput.json(["error": "\(e)", "exit_code": 1]) }
            throw ExitCode(1)
        }
        let forward = proven.forward, eps = proven.bnEpsilon, written = proven.writtenNetwork
        let seconds = Date().timeIntervalSince(start)
        let lossWarning = proven.warning
        if let lossWarning { CLIOutput.warn(lossWarning) }
        let identical = proven.bitIdenticalTensors
        if json {
            CLIOutput.json([
                "input": input, "output": output, "source_format": source.format.rawValue, "target_format": fmt.rawValue,
                "family": written.family.rawValue, "naming": proven.nnunet.map { $0.naming.rawValue },
                "source_variant": source.recognised?.architecture.variantName, "target_variant": written.variantName,
                "base_filters": written.baseFilters, "labels": written.labels,
                "tensors_written": proven.tensorsWritten, "reread_bit_identical": identical == proven.reread.entries.count,
                "optimizer": proven.optimizerWritten.map { ["kind": $0.kind.rawValue, "convention": $0.convention.rawValue, "step": $0.step as Any, "slots": $0.slots.count] as [String: Any?] },
                "lossy": !proven.dropped.isEmpty, "dropped_non_identity": proven.genesis?.droppedNonIdentity ?? [],
                "dropped_nonzero_v2_biases": proven.nnunet?.droppedNonzero, "warning": lossWarning,
                "reproduces_source": lossWarning == nil,
                "max_abs_diff": forward.worst,
                "forward": ["cube": forward.cubeShape, "seed": 1, "bn_epsilon": Double(eps),
                            "max_abs_diff": Dictionary(uniqueKeysWithValues: forward.maxAbsDifference.map { ($0.key.rawValue, $0.value) })] as [String: Any],
                "notes": proven.notes, "seconds": seconds,
                "sibling": source.sibling.map { s in
                    ["sibling": s.network, "layout": s.layout.id, "head_kept": !trunkOnly, "head_tensors": trunkOnly ? 0 : s.tensors.count] as [String: Any?]
                },
                "phases": proven.phases.map { ["name": $0.name, "seconds": $0.seconds] as [String: Any] },
                "onnx": proven.onnx.map { o in
                    ["bn": written.officialBatchStatistics == nil ? "none" : o.bn.rawValue, "opset": o.opset, "ir_version": o.irVersion, "nodes": o.nodes, "file_bytes": o.fileBytes,
                     "batch": o.cubeShape, "interpreter_max_abs_diff": o.maxAbsDifference, "export_seconds": o.exportSeconds,
                     "interpreter_seconds": o.interpreterSeconds] as [String: Any]
                },
            ])
        } else {
            for n in proven.notes { CLIOutput.line("- \(n)") }
            let modes = forward.maxAbsDifference.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \(String(format: "%.3g", $0.value))" }
            if fmt == .monaiBundle {
                CLIOutput.line("MONAI bundle: configs/metadata.json, configs/inference.json, scripts/genesis_unet.py, models/model.pt, docs/README.md, LICENSE; run from \(output) with python -m monai.bundle run --config_file configs/inference.json")
            }
            CLIOutput.line("wrote \(output) (\(fmt.rawValue), \(written)); read back: \(identical)/\(proven.reread.entries.count) tensors bit-identical")
            if let o = proven.onnx {
                let bn = written.officialBatchStatistics == nil ? "no BatchNorm" : "BatchNorm \(o.bn.rawValue)"
                CLIOutput.line("ONNX opset \(o.opset) (IR \(o.irVersion)), \(o.nodes) nodes, \(bn), batch and spatial axes dynamic; \(o.fileBytes) bytes")
                CLIOutput.line("graph run by the ONNX interpreter on a seeded \(CLIOutput.shape(o.cubeShape)) batch, source network vs written graph: max |diff| \(String(format: "%.3g", o.maxAbsDifference)); \(String(format: "%.2f", seconds)) s")
            } else {
                CLIOutput.line("forward on a seeded \(CLIOutput.shape(forward.cubeShape)) cube, source vs written: max |diff| \(modes.joined(separator: ", ")); \(String(format: "%.2f", seconds)) s")
            }
        }
    }
}

extension ONNXBatchNorm: ExpressibleByArgument {}

extension Naming: ExpressibleByArgument {
    public static var allValueStrings: [String] { [Naming.canonical, .torch, .keras2, .nnunetv2].map(\.rawValue) }
}
