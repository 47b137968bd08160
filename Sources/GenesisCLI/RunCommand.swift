import ArgumentParser
import Foundation
import GenesisKit

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a forward pass of a model on cubes from a .npy file, or on a whole scan with sliding windows.",
        discussion: """
        MODEL is any network file genesis reads: a Models Genesis U-Net, or the nnU-Net Genesis file (genesis_nnunet_luna16_006.model). X is a .npy of shape (N,1,D,H,W) or (N,D,H,W) (the official cube files), with D, H, W multiples of the network's downsampling (8 for the Genesis U-Net; 16, 32, 32 for nnU-Net Genesis). Float arrays are taken as they are (the Genesis U-Net expects values in [0, 1], nnU-Net Genesis its normalised input: --window nnunet-cubes or nnunet-ct makes it); integer arrays (raw HU) need --window. Y is written as float32 (N,labels,D,H,W) as the network returns it: for the Genesis U-Net sigmoid for one label, softmax over channels otherwise; for nnU-Net Genesis the logits. OUT is checked before the model loads: a .npy for cubes, a .nii or .nii.gz for a scan, never one of the inputs (also not through a symlink or hard link); an existing file of another kind is replaced only with --force.

        BatchNorm: `inference` normalises with the stored moving statistics (Keras predict); `batch` with the statistics of the batch itself (Keras training, and the official PyTorch model in every mode). The default is each variant's official behaviour: inference for the keras variant, batch for the torch variant. Epsilon is the one the file records, else its framework's (Keras 1e-3, PyTorch 1e-5); --bn-epsilon overrides. A line on stderr says when either differs from the file's framework. nnU-Net Genesis has no BatchNorm (InstanceNorm normalises each cube by itself): --bn and --bn-epsilon change nothing.

        Memory: in inference mode cubes are independent and run in slices, the output streamed to disk, so peak memory stays near one cube's whatever N is. Batch statistics couple the cubes: they run as one batch, the estimated peak is printed first, and a batch over --max-memory is refused.

        Whole scans: an --input ending in .nii, .nii.gz, .mhd or .mha is one 3D scan, read in its own index order (i, j, k): the network's D runs along i, H along j, W along k. Its values are windowed first, by default as the model was pretrained: the Genesis U-Net with --window ct (clip [-1000, 1000] HU, scale to [0, 1]), nnU-Net Genesis with --window nnunet-ct (clip [-1000, 1000] HU, then (x - (-775.8457)) / 251.9326, the official Genesis_nnUNet.py input); --window none takes them as they are; the summary says which. Windows of --patch D,H,W (default: the input size the model records when its sides fit the network, else 64,64,32, rounded up to the network's multiples; the summary says which) slide over it as MONAI's sliding_window_inference does: step patch*(1-overlap) (--overlap, default 0.5), the last window flush with the border, a side shorter than the patch padded with 0 and cropped back, and overlaps blended with a Gaussian (sigma 0.125 x patch per axis). Each window is its own batch (BN batch mode uses each window's statistics). The output, a float32 NIfTI (.nii or .nii.gz) with the input's geometry, is written slab by slab along k, so memory stays near the scan, I x J x patch-k accumulators and one window's activations; with several labels it is 4D (i, j, k, label).

        Examples:
          genesis run Genesis_Chest_CT.h5 --input cubes.npy --output pred.npy
          genesis run Genesis_Chest_CT.h5 --input scan.nii.gz --output pred.nii.gz
          genesis run Genesis_Chest_CT.h5 --input scan.mhd --output pred.nii.gz --patch 64,64,64 --overlap 0.25
          genesis run Genesis_Chest_CT.pt --input cubes.npy --output pred.npy --bn batch --json
          genesis run Genesis_Chest_CT.h5 --input scan_hu.npy --window ct --output pred.npy
          genesis run model.h5 --input mr.npy --window -200,1800 --output pred.npy
          genesis run cls.h5 --classifier --input cubes.npy --output probabilities.npy
          genesis run genesis_nnunet_luna16_006.model --input cubes.npy --window nnunet-cubes --output logits.npy
          genesis run genesis_nnunet_luna16_006.model --input scan.mhd --output logits.nii.gz
        """
    )

    @Argument(help: "The model file.") var model: String
    @Option(help: "Input cubes (.npy), or a whole scan (.nii, .nii.gz, .mhd, .mha).") var input: String
    @Option(help: "Where to write the output (.npy, float32; for a scan .nii or .nii.gz).") var output: String
    @Option(help: "BatchNorm statistics: inference or batch (default: the variant's official mode; for an .onnx file, the mode its graph was written with).") var bn: BatchNormMode?
    @Option(parsing: .unconditional, help: "BatchNorm epsilon (default: recorded in the file, else the framework's).") var bnEpsilon: Float?
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Intensity window for raw input: ct (clip [-1000, 1000] HU, scale to [0, 1]), mri ([0, 4000]) or LO,HI; nnunet-ct (clip [-1000, 1000] HU, then (x - (-775.8457)) / 251.9326: nnU-Net Genesis's input), nnunet-cubes ([0, 1] cubes as HU x * 2000 - 1000, then the same); none takes a scan's values as they are (default: for a scan ct, nnunet-ct for nnU-Net Genesis; cubes are taken as they are).", valueName: "ct|mri|nnunet-ct|nnunet-cubes|LO,HI|none"))
    var window: String?
    @Option(help: ArgumentHelp("Scan: sliding-window size D,H,W along i,j,k (default: the model's recorded input size, else 64,64,32 rounded up to the network's multiples).", valueName: "D,H,W")) var patch: String?
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
        if let w = window, !(scan && w.lowercased() == "none"), InputWindows.parse(w) == nil {
            throw ValidationError("--window takes \(InputWindows.names.joined(separator: ", ")) or LO,HI with LO < HI (e.g. --window -1000,400), not '\(w)'")
        }
        if let m = maxMemory, MemorySize.parse(m) == nil { throw ValidationError("--max-memory takes a size such as 12G, 800M or 2000000000, not '\(m)'") }
    }

    func run() throws {
        try checkFiles()
        let loaded = try ModelLoader.load(model, format: inputFormat.format)
        let arch = try loaded.networkArchitecture()
        if let s = loaded.sibling, !s.layout.trunkHasOutput {
            throw WorkflowError(subject: model, message: "the \(s.networkTitle) trunk has no output layer (out_tr), so it gives no segmentation by itself (\(s.networkTitle) segments with its \(s.layout.title), which genesis does not run); fine-tune it (`genesis finetune --init \(model) ...` adds a new output layer) and run the result")
        }
        let problems = loaded.problems(arch).filter { $0.kind != .unexpected }
        guard problems.isEmpty else { throw Converter.Failure.invalidSource(file: model, problems: problems) }
        if let s = loaded.sibling, !json {
            CLIOutput.warn("note: a \(s.networkTitle) file: the output is its Genesis trunk's segmentation; the \(s.layout.title) is not run")
        }
        // An ONNX graph records the BatchNorm mode it computes (`genesis_bn_mode`): run as it does.
        let graphMode = loaded.format == .onnx ? loaded.versions["genesis_bn_mode"].flatMap(BatchNormMode.init(rawValue:)) : nil
        let mode = bn ?? graphMode ?? arch.officialBatchNormMode
        let eps = bnEpsilon ?? loaded.effectiveBNEpsilon ?? arch.conventions.bnEpsilon
        if !json { notes(loaded, arch, mode: mode, epsilon: eps).forEach(CLIOutput.warn) }
        let nThreads = threads ?? Parallel.defaultThreads

        if ScanInference.isScanPath(input) {
            guard !classifier else { throw WorkflowError(subject: input, message: "--classifier runs on cubes (.npy), not on a whole scan") }
            return try runScan(network: try loaded.network(bnEpsilon: eps), mode: mode, epsilon: eps, threads: nThreads, recordedInput: loaded.inputShape)
        }
        let cubeWindow = window.flatMap(InputWindows.parse)
        if cubeWindow == nil, !json, !classifier, let note = InputWindows.cubesNote(for: arch) { CLIOutput.warn(note) }
        if !json, let note = InputWindows.foreignNote(cubeWindow, for: arch) { CLIOutput.warn(note) }
        let x = try VolumeBatch.readNPY(input, window: cubeWindow)
        if !allowNonfinite, let bad = VolumeBatch.nonFinite(x) {
            throw WorkflowError(subject: input, message: "\(bad.count) of \(x.elementCount) values are NaN or Inf (first at index \(bad.firstIndex)); the network needs finite input (--allow-nonfinite runs it anyway)")
        }
        let count = x.shape[0], spatial = Array(x.shape[2...]), multiples = arch.spatialMultiples
        if (0..<3).contains(where: { spatial[$0] < multiples[$0] || spatial[$0] % multiples[$0] != 0 }) {
            let fit = (0..<3).map { max(multiples[$0], spatial[$0] / multiples[$0] * multiples[$0]) }
            let why = Set(multiples).count == 1 && multiples[0] == 8 ? "the network pools three times by 2"
                : "the network downsamples D, H, W by \(multiples.map(String.init).joined(separator: ", ")) in \(arch.network.downsamplingSteps) steps"
            throw WorkflowError(subject: input, message: "cubes of \(CLIOutput.shape(spatial)): every side must be \(arch.spatialMultiplesText) (\(why)); crop or pad them, e.g. to \(CLIOutput.shape(fit))")
        }
        if classifier { return try runClassifier(loaded, network: try loaded.genesisNetwork(bnEpsilon: eps), x, mode: mode, epsilon: eps, threads: nThreads) }
        let net = try loaded.network(bnEpsilon: eps)

        var inference = CubeInference(mode: mode)
        inference.threads = nThreads
        inference.maxMemoryBytes = maxMemory.flatMap(MemorySize.parse)
        inference.cubesPerSlice = cubesPerSlice
        inference.showProgress = !json
        let plan = try inference.slicePlan(net, cubes: count, spatial: spatial, subject: input)
        if let note = plan.note, !json { CLIOutput.warn(note) }
        let r = try inference.run(net, cubes: x, plan: plan, output: output)
        if json {
            CLIOutput.json(["model": model, "input": input, "output": output, "input_shape": x.shape, "output_shape": r.outputShape,
                            "family": arch.family.rawValue, "variant": arch.variantName, "base_filters": arch.baseFilters, "labels": arch.labels,
                            "output_kind": arch.outputKind, "bn": mode.rawValue, "bn_epsilon": Double(eps), "threads": nThreads, "seconds": r.seconds,
                            "window": cubeWindow.map(\.json),
                            "cubes_per_slice": plan.cubesPerSlice, "estimated_peak_bytes": plan.estimatedPeakBytes, "max_memory_bytes": plan.limitBytes,
                            "gflop": r.gflop, "output_stats": r.statistics.json,
                            "sibling": loaded.sibling.map { ["sibling": $0.network, "layout": $0.layout.id, "output": "the trunk's segmentation; the head is not run"] as [String: Any?] }])
        } else {
            CLIOutput.line("\(arch), \(normalisation(arch, mode: mode, epsilon: eps)), \(nThreads) threads")
            if let w = cubeWindow { CLIOutput.line("input window \(w)") }
            CLIOutput.line("input \(CLIOutput.shape(x.shape)) -> output \(CLIOutput.shape(r.outputShape)) in \(String(format: "%.3f", r.seconds)) s (\(String(format: "%.1f", r.gflop / r.seconds)) GFLOP/s)")
            CLIOutput.line(r.statistics.text + "; wrote \(output)")
        }
    }

    /// "BN inference (eps 0.001)" for a network with BatchNorm, else what normalises it.
    func normalisation(_ arch: any NetworkArchitecture, mode: BatchNormMode, epsilon: Float) -> String {
        arch.officialBatchStatistics == nil ? "no BatchNorm (InstanceNorm per cube)" : "BN \(mode.rawValue) (eps \(epsilon))"
    }

    /// The stderr notes on BatchNorm: the framework's (`BatchNormNotes`) for a network with
    /// BatchNorm; for one without, that --bn and --bn-epsilon change nothing.
    func notes(_ loaded: LoadedModel, _ arch: any NetworkArchitecture, mode: BatchNormMode, epsilon: Float) -> [String] {
        guard arch.officialBatchStatistics != nil, let variant = Variant(rawValue: arch.conventions.rawValue) else {
            return bn != nil || bnEpsilon != nil ? ["note: \(arch.family.title) has no BatchNorm: --bn and --bn-epsilon change nothing"] : []
        }
        return BatchNormNotes.notes(loaded: loaded, variant: variant, mode: mode, epsilon: epsilon, epsilonFlag: bnEpsilon != nil)
    }

    /// `run` on a whole scan: the library's sliding windows, then the summary.
    func runScan(network net: RunnableNetwork, mode: BatchNormMode, epsilon: Float, threads nThreads: Int, recordedInput: [Int]?) throws {
        let start = Date()
        let arch = net.architecture
        let (patchSides, patchOrigin) = patch != nil ? (try parsedPatch(arch), "--patch")
            : ScanInference.patch(recordedInput: recordedInput, multiples: arch.spatialMultiples)
        var scan = ScanInference(patch: patchSides, mode: mode)
        scan.overlap = overlap
        let defaultWindow = InputWindows.defaultScanWindow(for: arch)
        scan.window = window.map { $0.lowercased() == "none" ? nil : InputWindows.parse($0) } ?? defaultWindow
        let windowOrigin = window == nil ? "the default for \(arch.family.title)" : "--window"
        if !json, let note = InputWindows.foreignNote(scan.window, for: arch) { CLIOutput.warn(note) }
        scan.threads = nThreads
        scan.allowNonfinite = allowNonfinite
        scan.showProgress = !json
        let r = try scan.run(net, input: input, output: output)
        let seconds = Date().timeIntervalSince(start)
        let peak = Self.peakRSSMegabytes()
        if json {
            CLIOutput.json(["model": model, "input": input, "output": output, "shape": r.shape, "output_shape": r.outputShape,
                            "windows": r.windows, "patch": patchSides, "patch_origin": patchOrigin, "overlap": overlap,
                            "window": scan.window.map(\.json), "window_origin": windowOrigin,
                            "family": arch.family.rawValue, "variant": arch.variantName, "base_filters": arch.baseFilters, "labels": arch.labels,
                            "output_kind": arch.outputKind, "bn": mode.rawValue, "bn_epsilon": Double(epsilon), "threads": nThreads,
                            "accumulator_bytes": r.accumulatorBytes,
                            "seconds": seconds, "peak_rss_mb": peak, "output_stats": r.statistics.json])
        } else {
            CLIOutput.line("\(arch), \(normalisation(arch, mode: mode, epsilon: epsilon)), \(nThreads) threads")
            // The Genesis U-Net's default CT window keeps its short form; a family's own default says so.
            let said = window == nil && scan.window?.summary != nil ? ", \(windowOrigin)" : ""
            CLIOutput.line("scan \(CLIOutput.shape(r.shape)) (\(r.format)), window \(scan.window.map(\.description) ?? "none")\(said): \(r.windows) windows of \(CLIOutput.shape(patchSides)) (\(patchOrigin)), overlap \(overlap), Gaussian blending")
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

    /// --patch as D,H,W (i, j, k), each side a multiple of the network's downsampling on its axis.
    func parsedPatch(_ arch: any NetworkArchitecture) throws -> [Int] {
        guard let text = patch else { return ScanInference.defaultPatch }
        let m = arch.spatialMultiples
        let sides = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sides.count == 3, let p = sides as? [Int], (0..<3).allSatisfy({ p[$0] >= m[$0] && p[$0] % m[$0] == 0 && p[$0] <= 1024 }) else {
            throw WorkflowError(subject: "--patch", message: "takes three sides D,H,W (i, j, k), each \(arch.spatialMultiplesText) up to 1024 (e.g. 64,64,32), not '\(text)'")
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
