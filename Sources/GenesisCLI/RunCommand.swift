import ArgumentParser
import Foundation
import GenesisKit

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a forward pass of a model on cubes from a .npy file, or on a whole scan with sliding windows.",
        discussion: """
        MODEL is any file genesis reads. X is a .npy of shape (N,1,D,H,W) or (N,D,H,W) (the official cube files), with D, H, W multiples of 8. Float arrays are taken as they are (the network expects values in [0, 1]); integer arrays (raw HU) need --window. Y is written as float32 (N,labels,D,H,W): sigmoid for one label, softmax over channels otherwise. OUT is checked before the model loads: a .npy for cubes, a .nii or .nii.gz for a scan, never one of the inputs (also not through a symlink or hard link); an existing file of another kind is replaced only with --force.

        BatchNorm: `inference` normalises with the stored moving statistics (Keras predict); `batch` with the statistics of the batch itself (Keras training, and the official PyTorch model in every mode). The default is each variant's official behaviour: inference for the keras variant, batch for the torch variant. Epsilon is the one the file records, else its framework's (Keras 1e-3, PyTorch 1e-5); --bn-epsilon overrides. A line on stderr says when either differs from the file's framework.

        Memory: in inference mode cubes are independent and run in slices, the output streamed to disk, so peak memory stays near one cube's whatever N is. Batch statistics couple the cubes: they run as one batch, the estimated peak is printed first, and a batch over --max-memory is refused.

        Whole scans: an --input ending in .nii, .nii.gz, .mhd or .mha is one 3D scan, read in its own index order (i, j, k): the network's D runs along i, H along j, W along k. Its values are windowed first, by default as the model was pretrained (--window ct: clip [-1000, 1000] HU, scale to [0, 1]; --window none takes them as they are). Windows of --patch D,H,W (default: the input size the model records when its sides are multiples of 8, else 64,64,32; the summary says which) slide over it as MONAI's sliding_window_inference does: step patch*(1-overlap) (--overlap, default 0.5), the last window flush with the border, a side shorter than the patch padded with 0 and cropped back, and overlaps blended with a Gaussian (sigma 0.125 x patch per axis). Each window is its own batch (BN batch mode uses each window's statistics). The output, a float32 NIfTI (.nii or .nii.gz) with the input's geometry, is written slab by slab along k, so memory stays near the scan, I x J x patch-k accumulators and one window's activations; with several labels it is 4D (i, j, k, label).

        Examples:
          genesis run Genesis_Chest_CT.h5 --input cubes.npy --output pred.npy
          genesis run Genesis_Chest_CT.h5 --input scan.nii.gz --output pred.nii.gz
          genesis run Genesis_Chest_CT.h5 --input scan.mhd --output pred.nii.gz --patch 64,64,64 --overlap 0.25
          genesis run Genesis_Chest_CT.pt --input cubes.npy --output pred.npy --bn batch --json
          genesis run Genesis_Chest_CT.h5 --input scan_hu.npy --window ct --output pred.npy
          genesis run model.h5 --input mr.npy --window -200,1800 --output pred.npy
          genesis run cls.h5 --classifier --input cubes.npy --output probabilities.npy
        """
    )

    @Argument(help: "The model file.") var model: String
    @Option(help: "Input cubes (.npy), or a whole scan (.nii, .nii.gz, .mhd, .mha).") var input: String
    @Option(help: "Where to write the output (.npy, float32; for a scan .nii or .nii.gz).") var output: String
    @Option(help: "BatchNorm statistics: inference or batch (default: the variant's official mode).") var bn: BatchNormMode?
    @Option(parsing: .unconditional, help: "BatchNorm epsilon (default: recorded in the file, else the framework's).") var bnEpsilon: Float?
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Intensity window for raw input: ct (clip [-1000, 1000] HU, scale to [0, 1]), mri ([0, 4000]) or LO,HI; none takes a scan's values as they are (default: ct for a scan; cubes are taken as they are).", valueName: "ct|mri|LO,HI|none"))
    var window: String?
    @Option(help: ArgumentHelp("Scan: sliding-window size D,H,W along i,j,k (default: the model's recorded input size, else 64,64,32).", valueName: "D,H,W")) var patch: String?
    @Option(parsing: .unconditional, help: "Scan: overlap of neighbouring windows, in [0, 1) (default 0.5).") var overlap: Double = 0.5
    @Flag(help: "Run an input that holds NaN or Inf (refused by default, naming the count and first index).") var allowNonfinite = false
    @Option(help: ArgumentHelp("Largest estimated peak memory to start with, e.g. 12G, 800M (default: 80% of RAM).", valueName: "size"))
    var maxMemory: String?
    @Option(parsing: .unconditional, help: "Inference mode: cubes per forward call (default: as many as fit 256 MiB of activations, at least 1).")
    var cubesPerSlice: Int?
    @Flag(help: "Run the file's classification head (a finetune --task classification model): Y is (N, K) class probabilities.")
    var classifier = false
    @Option(parsing: .unconditional, help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Replace an existing OUT that is not of the kind written (a NumPy array, or a NIfTI scan for a scan).") var force = false
    @OptionGroup var inputFormat: InputOptions
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        if let t = threads, t < 1 || t > 256 { throw ValidationError("--threads must be positive, at most 256, not \(t)") }
        if let c = cubesPerSlice, c < 1 { throw ValidationError("--cubes-per-slice must be positive, not \(c)") }
        if let e = bnEpsilon, !(e > 0 && e < 1) { throw ValidationError("--bn-epsilon must be in (0, 1)") }
        if !(overlap >= 0 && overlap < 1) { throw ValidationError("--overlap must be >= 0 and < 1, not \(overlap)") }
        let scan = ScanInference.isScanPath(input)
        if (patch != nil || overlap != 0.5) && !scan { throw ValidationError("--patch and --overlap are for a whole scan (.nii, .nii.gz, .mhd, .mha input)") }
        if let w = window, !(scan && w.lowercased() == "none"), IntensityWindow(parsing: w) == nil {
            throw ValidationError("--window takes ct, mri or LO,HI with LO < HI (e.g. --window -1000,400), not '\(w)'")
        }
        if let m = maxMemory, MemorySize.parse(m) == nil { throw ValidationError("--max-memory takes a size such as 12G, 800M or 2000000000, not '\(m)'") }
    }

    func run() throws {
        try checkFiles()
        let loaded = try ModelLoader.load(model, format: inputFormat.format)
        let arch = try loaded.architecture()
        let problems = Verification.verify(loaded.mapped, against: arch).problems.filter { $0.kind != .unexpected }
        guard problems.isEmpty else { throw Converter.Failure.invalidSource(file: model, problems: problems) }
        let mode = bn ?? arch.variant.officialBatchNormMode
        let eps = bnEpsilon ?? loaded.effectiveBNEpsilon ?? arch.variant.defaultBNEpsilon
        if !json { for note in BatchNormNotes.notes(loaded: loaded, variant: arch.variant, mode: mode, epsilon: eps, epsilonFlag: bnEpsilon != nil) { CLIOutput.warn(note) } }
        let nThreads = threads ?? Parallel.defaultThreads

        if ScanInference.isScanPath(input) {
            guard !classifier else { throw WorkflowError(subject: input, message: "--classifier runs on cubes (.npy), not on a whole scan") }
            let net = try GenesisNetwork(architecture: arch, weights: loaded.mapped.store, bnEpsilon: eps)
            return try runScan(network: net, mode: mode, epsilon: eps, threads: nThreads, recordedInput: loaded.inputShape)
        }
        let x = try VolumeBatch.readNPY(input, window: window.flatMap(IntensityWindow.init(parsing:)))
        if !allowNonfinite, let bad = VolumeBatch.nonFinite(x) {
            throw WorkflowError(subject: input, message: "\(bad.count) of \(x.elementCount) values are NaN or Inf (first at index \(bad.firstIndex)); the network needs finite input (--allow-nonfinite runs it anyway)")
        }
        let count = x.shape[0], spatial = Array(x.shape[2...])
        if spatial.contains(where: { $0 < 8 || $0 % 8 != 0 }) {
            let fit = spatial.map { max(8, $0 / 8 * 8) }
            throw WorkflowError(subject: input, message: "cubes of \(CLIOutput.shape(spatial)): every side must be a multiple of 8 (the network pools three times by 2); crop or pad them, e.g. to \(CLIOutput.shape(fit))")
        }
        let net = try GenesisNetwork(architecture: arch, weights: loaded.mapped.store, bnEpsilon: eps)
        if classifier { return try runClassifier(loaded, network: net, x, mode: mode, epsilon: eps, threads: nThreads) }

        var inference = CubeInference(mode: mode)
        inference.threads = nThreads
        inference.maxMemoryBytes = maxMemory.flatMap(MemorySize.parse)
        inference.cubesPerSlice = cubesPerSlice
        inference.showProgress = !json
        let plan = try inference.slicePlan(arch, cubes: count, spatial: spatial, subject: input)
        if let note = plan.note, !json { CLIOutput.warn(note) }
        let r = try inference.run(net, cubes: x, plan: plan, output: output)
        if json {
            CLIOutput.json(["model": model, "input": input, "output": output, "input_shape": x.shape, "output_shape": r.outputShape,
                            "variant": arch.variant.rawValue, "base_filters": arch.baseFilters, "labels": arch.labels,
                            "bn": mode.rawValue, "bn_epsilon": Double(eps), "threads": nThreads, "seconds": r.seconds,
                            "window": window.flatMap(IntensityWindow.init(parsing:)).map { ["low": $0.low, "high": $0.high] },
                            "cubes_per_slice": plan.cubesPerSlice, "estimated_peak_bytes": plan.estimatedPeakBytes, "max_memory_bytes": plan.limitBytes,
                            "gflop": r.gflop, "output_stats": r.statistics.json])
        } else {
            CLIOutput.line("\(arch), BN \(mode.rawValue) (eps \(eps)), \(nThreads) threads")
            CLIOutput.line("input \(CLIOutput.shape(x.shape)) -> output \(CLIOutput.shape(r.outputShape)) in \(String(format: "%.3f", r.seconds)) s (\(String(format: "%.1f", r.gflop / r.seconds)) GFLOP/s)")
            CLIOutput.line(r.statistics.text + "; wrote \(output)")
        }
    }

    /// `run` on a whole scan: the library's sliding windows, then the summary.
    func runScan(network net: GenesisNetwork, mode: BatchNormMode, epsilon: Float, threads nThreads: Int, recordedInput: [Int]?) throws {
        let start = Date()
        let (patchSides, patchOrigin) = patch != nil ? (try parsedPatch(), "--patch") : ScanInference.patch(recordedInput: recordedInput)
        var scan = ScanInference(patch: patchSides, mode: mode)
        scan.overlap = overlap
        scan.window = window.map { $0.lowercased() == "none" ? nil : IntensityWindow(parsing: $0) } ?? .ct
        scan.threads = nThreads
        scan.allowNonfinite = allowNonfinite
        scan.showProgress = !json
        let r = try scan.run(net, input: input, output: output)
        let seconds = Date().timeIntervalSince(start)
        let peak = Self.peakRSSMegabytes()
        let arch = net.architecture
        if json {
            CLIOutput.json(["model": model, "input": input, "output": output, "shape": r.shape, "output_shape": r.outputShape,
                            "windows": r.windows, "patch": patchSides, "patch_origin": patchOrigin, "overlap": overlap,
                            "window": scan.window.map { ["low": $0.low, "high": $0.high] },
                            "variant": arch.variant.rawValue, "base_filters": arch.baseFilters, "labels": arch.labels,
                            "bn": mode.rawValue, "bn_epsilon": Double(epsilon), "threads": nThreads,
                            "accumulator_bytes": r.accumulatorBytes,
                            "seconds": seconds, "peak_rss_mb": peak, "output_stats": r.statistics.json])
        } else {
            CLIOutput.line("\(arch), BN \(mode.rawValue) (eps \(epsilon)), \(nThreads) threads")
            CLIOutput.line("scan \(CLIOutput.shape(r.shape)) (\(r.format)), window \(scan.window.map(\.description) ?? "none"): \(r.windows) windows of \(CLIOutput.shape(patchSides)) (\(patchOrigin)), overlap \(overlap), Gaussian blending")
            CLIOutput.line(String(format: "%@ in %.1f s, peak RSS %.0f MB; wrote %@", r.statistics.text, seconds, peak, output))
        }
    }

    /// `run --classifier`: (N, K) class probabilities of a file that carries a classification head.
    func runClassifier(_ loaded: LoadedModel, network: GenesisNetwork, _ x: Tensor, mode: BatchNormMode, epsilon: Float, threads nThreads: Int) throws {
        let start = Date()
        let out = try CubeInference.classify(loaded, network: network, cubes: x, mode: mode, threads: nThreads)
        try NPY.write(out, to: output)
        let seconds = Date().timeIntervalSince(start)
        if json {
            CLIOutput.json(["model": model, "input": input, "output": output, "input_shape": x.shape, "output_shape": out.shape,
                            "classifier": true, "classes": out.shape[1], "bn": mode.rawValue, "bn_epsilon": Double(epsilon),
                            "threads": nThreads, "seconds": seconds])
        } else {
            CLIOutput.line("classifier (\(out.shape[1]) class(es)) on \(network.architecture), BN \(mode.rawValue) (eps \(epsilon))")
            CLIOutput.line("input \(CLIOutput.shape(x.shape)) -> output \(CLIOutput.shape(out.shape)) in \(String(format: "%.3f", seconds)) s; wrote \(output)")
        }
    }

    /// The input is cubes (.npy) or a scan, and OUT is a name for what is written, none of the
    /// inputs, and replaces only its own kind: checked before the model loads.
    func checkFiles() throws {
        let scan = ScanInference.isScanPath(input)
        if !scan, FileIO.exists(input), let kind = FileKind.describe(path: input),
           let prefix = try? FileIO.readPrefix(input, count: 8), !FileKind.isNPY(prefix) {
            throw WorkflowError(subject: input, message: "is \(kind), not cubes (.npy) or a scan (.nii, .nii.gz, .mhd, .mha)")
        }
        if !scan, OutputKind.nifti.matchingExtension(output) != nil {
            throw WorkflowError(subject: output, message: "cubes (.npy input) give a NumPy array (N, labels, D, H, W), not a NIfTI scan: name the output \(OutputKind.npy.suggestedName(for: output)), or run a whole scan (.nii, .nii.gz, .mhd, .mha) to get a NIfTI")
        }
        try OutputGuard.check(output, writes: scan ? .nifti : .npy, inputs: [model, input], force: force)
    }

    /// --patch as D,H,W (i, j, k), each side a multiple of 8.
    func parsedPatch() throws -> [Int] {
        guard let text = patch else { return ScanInference.defaultPatch }
        let sides = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sides.count == 3, let p = sides as? [Int], p.allSatisfy({ $0 >= 8 && $0 % 8 == 0 && $0 <= 1024 }) else {
            throw WorkflowError(subject: "--patch", message: "takes three sides D,H,W (i, j, k), each a multiple of 8 up to 1024 (e.g. 64,64,32), not '\(text)'")
        }
        return p
    }

    /// The process's peak resident set so far (getrusage: kilobytes on Linux).
    static func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

extension BatchNormMode: ExpressibleByArgument {}
