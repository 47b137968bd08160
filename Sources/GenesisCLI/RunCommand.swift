import ArgumentParser
import Foundation
import GenesisIO
import GenesisModel
import Runtime3D
import Tensors
import VolumeIO

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a forward pass of a model on cubes from a .npy file.",
        discussion: """
        MODEL is any file genesis reads. X is a float32 or float64 .npy of shape (N,1,D,H,W) or (N,D,H,W) (the official cube files), with D, H, W multiples of 8. Y is written as float32 (N,labels,D,H,W): sigmoid for one label, softmax over channels otherwise.

        BatchNorm: `inference` normalises with the stored moving statistics (Keras predict); `batch` with the statistics of the batch itself (Keras training, and the official PyTorch model in every mode). The default is each variant's official behaviour: inference for the keras variant, batch for the torch variant. Epsilon is the one the file records, else its framework's (Keras 1e-3, PyTorch 1e-5); --bn-epsilon overrides.

        Examples:
          genesis run Genesis_Chest_CT.h5 --input cubes.npy --output pred.npy
          genesis run Genesis_Chest_CT.pt --input cubes.npy --output pred.npy --bn batch --json
        """
    )

    @Argument(help: "The model file.") var model: String
    @Option(help: "Input cubes (.npy).") var input: String
    @Option(help: "Where to write the output (.npy, float32).") var output: String
    @Option(help: "BatchNorm statistics: inference or batch (default: the variant's official mode).") var bn: BatchNormMode?
    @Option(help: "BatchNorm epsilon (default: recorded in the file, else the framework's).") var bnEpsilon: Float?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @OptionGroup var inputFormat: InputOptions
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        if let t = threads, t < 1 || t > 256 { throw ValidationError("--threads must be 1...256") }
        if let e = bnEpsilon, !(e > 0 && e < 1) { throw ValidationError("--bn-epsilon must be in (0, 1)") }
    }

    func run() throws {
        let loaded = try ModelLoader.load(model, format: inputFormat.format)
        let arch = try loaded.architecture()
        let problems = Verification.verify(loaded.mapped, against: arch).problems.filter { $0.kind != .unexpected }
        guard problems.isEmpty else { throw Converter.Failure.invalidSource(file: model, problems: problems) }
        let mode = bn ?? (arch.variant == .keras ? .inference : .batch)
        let eps = bnEpsilon ?? loaded.effectiveBNEpsilon ?? arch.variant.defaultBNEpsilon
        let net = try GenesisNetwork(architecture: arch, weights: loaded.mapped.store, bnEpsilon: eps)
        let x = try VolumeBatch.readNPY(input)
        let nThreads = threads ?? Parallel.defaultThreads
        let spatial = Array(x.shape[2...])
        let progress = Progress(total: arch.forwardFLOPs(depth: spatial[0], height: spatial[1], width: spatial[2]) * Double(x.shape[0]),
                                label: "forward", enabled: !json)
        let start = Date()
        let y = try net.forward(x, bn: mode, threads: nThreads) { progress.advance(by: $0.flops) }
        let seconds = Date().timeIntervalSince(start)
        progress.finish()
        try NPY.write(y, to: output)
        let v = y.floats()
        let mean = v.reduce(0.0) { $0 + Double($1) } / Double(max(1, v.count))
        let stats: [String: Any?] = ["min": v.min().map { Double($0) }, "max": v.max().map { Double($0) }, "mean": mean]
        let gflops = arch.forwardFLOPs(depth: spatial[0], height: spatial[1], width: spatial[2]) * Double(x.shape[0]) / 1e9
        if json {
            CLIOutput.json(["model": model, "input": input, "output": output, "input_shape": x.shape, "output_shape": y.shape,
                            "variant": arch.variant.rawValue, "base_filters": arch.baseFilters, "labels": arch.labels,
                            "bn": mode.rawValue, "bn_epsilon": Double(eps), "threads": nThreads, "seconds": seconds,
                            "gflop": gflops, "output_stats": stats])
        } else {
            CLIOutput.line("\(arch), BN \(mode.rawValue) (eps \(eps)), \(nThreads) threads")
            CLIOutput.line("input \(CLIOutput.shape(x.shape)) -> output \(CLIOutput.shape(y.shape)) in \(String(format: "%.3f", seconds)) s (\(String(format: "%.1f", gflops / seconds)) GFLOP/s)")
            CLIOutput.line(String(format: "output min %.6f, max %.6f, mean %.6f; wrote %@", v.min() ?? 0, v.max() ?? 0, mean, output))
        }
    }
}

extension BatchNormMode: ExpressibleByArgument {}
