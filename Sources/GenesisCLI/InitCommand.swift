import ArgumentParser
import Foundation
import GenesisKit

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a freshly initialised, seeded Genesis network.",
        discussion: """
        He-normal convolution kernels, zero biases, BatchNorm at identity statistics (mean 0, variance 1); the torch variant's up-convolutions start as exact nearest upsamplers. The same seed gives the same bytes on every machine. The output format follows the extension or --format (genesis writes \(FormatRegistry.describe(FormatRegistry.writable))); .h5 is the Keras 2 model.save layout that tf_keras/Keras load_model and load_weights both take, --weights-only the save_weights layout.

        Example:
          genesis init --base-filters 4 --seed 7 --out tiny.h5
        """
    )

    @Option(parsing: .unconditional, help: "Base width b (official: 32).") var baseFilters: Int = 32
    @Option(parsing: .unconditional, help: "Output labels (official: 1).") var labels: Int = 1
    @Option(help: "Variant: keras (UpSampling3D) or torch (ConvTranspose3d).") var variant: Variant = .keras
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Output file; its extension picks the format.") var out: String
    @Option(help: "Write this format regardless of the extension.") var format: WritableFormat?
    @Flag(help: "For .h5: write the save_weights layout (no model_config) instead of the model.save layout.") var weightsOnly = false
    @Flag(help: "Accepted for old scripts and ignored: the model.save layout is the default now.") var kerasModel = false
    @Option(help: "Input shape C,D,H,W the file records (default 1,64,64,32; run takes it as a scan's default patch).", transform: InitCommand.parseShape)
    var inputShape: [Int] = [1, 64, 64, 32]
    @Flag(help: "Replace an existing OUT that is not a model file of the format written.") var force = false
    @Flag(help: "Print one JSON object instead of text.") var json = false

    static func parseShape(_ s: String) throws -> [Int] {
        let parts = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, parts.allSatisfy({ ($0 ?? 0) > 0 }), parts[0] == 1, parts[1...].allSatisfy({ $0! % 8 == 0 }) else {
            throw ValidationError("--input-shape takes C,D,H,W with C = 1 and D, H, W divisible by 8 (e.g. 1,64,64,32)")
        }
        return parts.map { $0! }
    }

    func validate() throws {
        guard baseFilters >= 1 else { throw ValidationError("--base-filters must be positive, not \(baseFilters)") }
        guard baseFilters <= Architecture.maxBaseFilters else { throw ValidationError("--base-filters must be at most \(Architecture.maxBaseFilters), not \(baseFilters)") }
        guard labels >= 1 else { throw ValidationError("--labels must be positive, not \(labels)") }
        guard labels <= Architecture.maxLabels else { throw ValidationError("--labels must be at most \(Architecture.maxLabels), not \(labels)") }
        _ = try OutputFormat.resolve(format, path: out)
        if weightsOnly && kerasModel { throw ValidationError("--weights-only and --keras-model ask for different Keras layouts: give one") }
    }

    func run() throws {
        let arch = Architecture(variant: variant, baseFilters: baseFilters, labels: labels)
        let store = Initialization.heNormal(arch, seed: seed)
        let fmt = try OutputFormat.resolve(format, path: out)
        try OutputFormat.check(out, writes: fmt, inputs: [], force: force)
        let payload = ModelPayload(architecture: arch, weights: store, inputShape: inputShape)
        try ModelWriter.write(payload, to: out, format: fmt, options: WriteOptions(kerasFullModel: !weightsOnly))
        let digest = try Checksum.sha256Hex(fileAt: out)
        if json {
            CLIOutput.json(["file": out, "format": fmt.rawValue, "variant": arch.variant.rawValue, "base_filters": baseFilters,
                            "labels": labels, "seed": Int(truncatingIfNeeded: seed), "input_shape": inputShape, "parameters": arch.trainableCount, "sha256": digest])
        } else {
            CLIOutput.line("wrote \(out): \(arch), seed \(seed), \(CLIOutput.grouped(arch.trainableCount)) trainable values, sha256 \(digest.prefix(16))…")
        }
    }
}
