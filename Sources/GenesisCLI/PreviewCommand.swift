import ArgumentParser
import Foundation
import GenesisKit

struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Draw what pretraining sees (cubes before and after the Models Genesis transforms), a loss curve, or the middle planes of scans, as PNG.",
        discussion: """
        Cubes (--data): for the first K cubes of a .npy file ((N, D, H, W) float like the official cube files, or (N, 1, D, H, W)), the middle depth slice of the original, of the transformed cube the network is given, and, with --model, of the model's restoration, side by side in gray (value x 255, clamped to [0, 1]), scaled up by nearest neighbour. The transforms are the official ones (flip, local pixel shuffling, non-linear intensity map, in- or out-painting, at the official rates); cube i is transformed with a generator seeded from (--seed, i), as pretraining does, so the same seed gives the same picture. The original is shown flipped like the input: that is the training target. Under each row: what the transforms drew.

        Scans (--scan, repeatable): the middle axial, coronal and sagittal planes of each scan, one row per scan, in millimetres (the spacing kept), head up. Gray levels through --window when given; else chosen from the values: a label map (whole numbers 0...255, at most 16 distinct: a 0/1 mask, segmentation classes) from 0 to its largest label, so each label is its own gray; CT HU ([-1000, 1000]) for other integer scans; [0, 1] for float scans whose values lie there (a model's output); the scan's own range otherwise. The caption and --json ("window_choice") say which window was used and why.

        Loss curves (--log): a JSON-lines log; lines with "step" and "loss" are training steps (drawn per step, with an exponentially smoothed line), lines with "epoch" and a number "validation" are validation points (placed at their "step" if given, else at the last step of their epoch, else spread evenly). NaN and Infinity are counted, not drawn. Lines that are not JSON objects are reported and exit 1 (the picture is still written); an unfinished last line (a write in progress) is ignored.

        Output: an 8-bit PNG written beside the target and renamed into place; OUT must end .png, may not be one of the inputs, and replaces an existing file that is not a PNG only with --force.

        Examples:
          genesis cubes --count 4 --out cubes.npy && genesis preview --data cubes.npy --out pairs.png
          genesis preview --data Self_Learning_Cubes/bat_32_s_64x64x32_0.npy --count 6 --seed 3 --out pairs.png
          genesis preview --data cubes.npy --model Genesis_Chest_CT.h5 --out restored.png
          genesis preview --log train.jsonl --out curve.png --log-scale
          genesis preview --scan chest.nii.gz --scan restored.nii.gz --out planes.png
        """
    )

    @Option(help: ArgumentHelp("Cubes to transform (.npy).", valueName: "cubes.npy")) var data: String?
    @Option(help: ArgumentHelp("A JSON-lines training log to draw.", valueName: "log.jsonl")) var log: String?
    @Option(help: ArgumentHelp("A scan to draw (NIfTI, MetaImage; repeat for more rows: a scan and the model's output on it).", valueName: "scan"))
    var scan: [String] = []
    @Option(help: "Where to write the picture (.png).") var out: String
    @Option(help: "Seed of the transforms (cube i uses the generator of (seed, i)).") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Cubes to show (the first K of the file; default 4).") var count: Int = 4
    @Option(help: "A model to restore the transformed cubes with (any file genesis reads).") var model: String?
    @Option(help: "BatchNorm statistics for --model: inference or batch (default: the variant's official mode).") var bn: BatchNormMode?
    @Option(parsing: .unconditional, help: "Pixels per voxel: 1, 2, 3 or 4 (default 4 for cubes up to 96 on a side, else 2).") var scale: Int?
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Intensity window for raw (integer) cubes: ct, mri or LO,HI.", valueName: "ct|mri|LO,HI"))
    var window: String?
    @Flag(help: "Loss curves: a logarithmic loss axis.") var logScale = false
    @Option(parsing: .unconditional, help: "Loss curves: smoothing weight of the moving average, in [0, 1).") var smoothing: Double = 0.9
    @Option(parsing: .unconditional, help: "Threads for the transforms and the model (default: all cores).") var threads: Int?
    @Flag(help: "Replace an existing OUT that is not a PNG image.") var force = false
    @OptionGroup var inputFormat: InputOptions
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        guard [data != nil, log != nil, !scan.isEmpty].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --data CUBES.npy (transform previews), --log LOG.jsonl (loss curves) or --scan SCAN (the middle planes of scans)")
        }
        guard scan.count <= 8 else { throw ValidationError("--scan takes at most 8 scans") }
        if !scan.isEmpty, model != nil { throw ValidationError("--model goes with --data; run the model with `genesis run MODEL --input SCAN --output OUT.nii.gz`, then --scan SCAN --scan OUT.nii.gz") }
        guard count >= 1 else { throw ValidationError("--count must be positive, not \(count)") }
        guard count <= 64 else { throw ValidationError("--count must be at most 64, not \(count)") }
        if let s = scale, !(1...4).contains(s) { throw ValidationError("--scale must be 1, 2, 3 or 4") }
        guard smoothing >= 0, smoothing < 1 else { throw ValidationError("--smoothing must be in [0, 1)") }
        if let t = threads, t < 1 || t > 256 { throw ValidationError("--threads must be positive, at most 256, not \(t)") }
        if let w = window, IntensityWindow(parsing: w) == nil {
            throw ValidationError("--window takes ct, mri or LO,HI with LO < HI (e.g. --window -1000,400), not '\(w)'")
        }
        if log != nil, model != nil || window != nil { throw ValidationError("--model and --window go with --data, not --log") }
        guard out.lowercased().hasSuffix(".png") else { throw ValidationError("--out must name a .png file, not '\(out)'") }
    }

    func run() throws {
        try OutputGuard.check(out, writes: .png, inputs: [data, log, model] + scan, force: force)
        if let log { try runLog(log) } else if let data { try runCubes(data) } else { try runScans(scan) }
    }

    func runCubes(_ path: String) throws {
        let batch = try VolumeBatch.readNPY(path, window: window.flatMap(IntensityWindow.init(parsing:)))
        let cubes = try Cube.cubes(of: batch, limit: count)
        if cubes.count < count, !json { CLIOutput.warn("note: \(path) holds \(batch.shape[0]) cubes; showing \(cubes.count)") }
        let nThreads = threads ?? Parallel.defaultThreads
        let pairs = GenesisTransforms.official.pairs(cubes, seed: seed, threads: nThreads)
        let restoration = try model.map { try PreviewRestoration.run($0, format: inputFormat.format, inputs: pairs.map(\.input), bn: bn, threads: nThreads) }
        let side = max(cubes[0].rows, cubes[0].cols)
        let pixels = scale ?? (side <= 96 ? 4 : 2)
        let rows = pairs.enumerated().map { i, p in
            CubePreview.Row(original: p.target, input: p.input, restored: restoration?.cubes[i], caption: p.record.summary)
        }
        let canvas = CubePreview(rows: rows, scale: pixels).draw()
        try PNG.write(try canvas.image(gray: true), to: out)

        if json {
            var object: [String: Any?] = ["file": out, "width": canvas.width, "height": canvas.height, "cubes": cubes.count,
                                          "data": path, "data_shape": batch.shape, "seed": Int(truncatingIfNeeded: seed),
                                          "slice_depth": cubes[0].deps / 2, "scale": pixels, "color": "gray", "threads": nThreads,
                                          "transforms": pairs.enumerated().map { i, p in PreviewRecordJSON.object(p.record, cube: i) }]
            if let r = restoration {
                object["model"] = r.model
                object["bn"] = r.mode.rawValue
                object["restoration_mse"] = zip(r.cubes, pairs).map { PreviewRestoration.mse($0, $1.target) }
            }
            CLIOutput.json(object)
        } else {
            CLIOutput.line("wrote \(out): \(canvas.width) x \(canvas.height) gray, \(cubes.count) cube\(cubes.count == 1 ? "" : "s") of \(path), seed \(seed), depth slice \(cubes[0].deps / 2)")
            for (i, p) in pairs.enumerated() { CLIOutput.line("  \(i): \(p.record.summary)") }
            if let r = restoration {
                let mse = zip(r.cubes, pairs).map { String(format: "%.5f", PreviewRestoration.mse($0, $1.target)) }
                CLIOutput.line("restored by \(r.model) (BN \(r.mode.rawValue)): MSE to the target \(mse.joined(separator: ", "))")
            }
        }
    }

    func runLog(_ path: String) throws {
        let parsed = try LossLog.read(path)
        guard !parsed.training.isEmpty || !parsed.validation.isEmpty else {
            throw WorkflowError(subject: path, message: "no training steps ({\"step\": N, \"loss\": X}) or validation points ({\"epoch\": N, \"validation\": X}) with finite values in the log")
        }
        if logScale, (parsed.training + parsed.validation).allSatisfy({ $0.y <= 0 }) {
            throw WorkflowError(subject: path, message: "--log-scale needs positive losses; the log has none")
        }
        let canvas = LossCurvePlot(log: parsed, logScale: logScale, smoothing: smoothing).draw()
        try PNG.write(try canvas.image(gray: false), to: out)
        let bad = parsed.badLines
        if json {
            CLIOutput.json(["file": out, "width": canvas.width, "height": canvas.height, "color": "rgb", "log": path,
                            "points": ["training": parsed.training.count, "validation": parsed.validation.count],
                            "validation_placement": parsed.validation.isEmpty ? nil : parsed.placement, "non_finite": parsed.nonFinite,
                            "bad_lines": bad, "partial_last_line": parsed.partialLastLine, "log_scale": logScale, "smoothing": smoothing])
        } else {
            CLIOutput.line("wrote \(out): \(canvas.width) x \(canvas.height), \(parsed.training.count) training steps, \(parsed.validation.count) validation points"
                + (parsed.validation.isEmpty ? "" : " (placed by \(parsed.placement))"))
            if parsed.nonFinite > 0 { CLIOutput.warn("\(path): \(parsed.nonFinite) non-finite values not drawn") }
        }
        if !bad.isEmpty {
            CLIOutput.warn("\(path): \(bad.count) line\(bad.count == 1 ? " is not a JSON object" : "s are not JSON objects") (line \(bad.prefix(5).map(String.init).joined(separator: ", "))\(bad.count > 5 ? ", ..." : ""))")
            throw ExitCode(1)
        }
    }

    func runScans(_ paths: [String]) throws {
        let fixed = window.flatMap(IntensityWindow.init(parsing:))
        let rows = try paths.map { path -> ScanPreview.Row in
            let v = try VolumeFile.read(path)
            guard v.shape.count >= 3, v.shape.prefix(3).allSatisfy({ $0 >= 1 }) else {
                throw WorkflowError(subject: path, message: "is not a 3-D scan (shape \(v.shape))")
            }
            let (w, choice) = fixed.map { ($0, "--window") } ?? ScanWindowChoice.choose(v)
            let dims = v.shape.prefix(3).map(String.init).joined(separator: "x")
            return ScanPreview.Row(volume: v, window: w, choice: choice, caption: "\((path as NSString).lastPathComponent): \(dims), window \(w) (\(choice))")
        }
        let canvas = ScanPreview(rows: rows, pixelsPerVoxel: scale ?? 2).draw()
        try PNG.write(try canvas.image(gray: true), to: out)
        if json {
            CLIOutput.json(["file": out, "width": canvas.width, "height": canvas.height, "color": "gray",
                            "scans": rows.enumerated().map { i, r in
                                ["file": paths[i], "shape": r.volume.shape, "spacing": r.volume.geometry.spacing,
                                 "window": [r.window.low, r.window.high], "window_choice": r.choice, "format": r.volume.format] as [String: Any] }])
        } else {
            CLIOutput.line("wrote \(out): \(canvas.width) x \(canvas.height) gray, the middle planes of \(rows.count) scan\(rows.count == 1 ? "" : "s")")
        }
    }

}
