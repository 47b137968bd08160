import ArgumentParser
import Foundation
import GenesisKit

struct CubesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cubes",
        abstract: "Cut training cubes from your scans (NIfTI, MetaImage), or write seeded random cubes.",
        discussion: """
        With scans: cubes are cut the way the official Models Genesis generator (infinite_generator_3D.py) \
        cuts them. Intensities are clipped to the window (--modality ct: [-1000, 1000] HU; mri: [0, 4000]) \
        and scaled to [0, 1]. Corners are drawn at random, keeping --border voxels clear (official: 100 on \
        x and y, 30 on z). A cube is kept only when its tissue score (for each voxel, 1 when it is at least \
        -150 HU, 0.5 when only the next slice is, else 0) is at most --max-tissue of its voxels (official \
        0.15), so cubes of mostly air and lung are kept. There are at most 50 draws per wanted cube. Output \
        is (N, 1, D, H, W) float32, with D along the scan's i axis, H along j and W along k. A scan too \
        small for the cube and borders gives no cube. A damaged scan stops the run (exit 2) before \
        anything is written. Reads .nii, .nii.gz (NIfTI-1 and -2), .mhd (+ .raw/.zraw) and .mha.

        With masks (--labels, one per scan, in the same order, each of its scan's shape and geometry): label \
        cubes are cut at the very corners of the image cubes, raw mask voxels (not windowed) as float32, and \
        written to --labels-out: (N, 1, D, H, W) for 0/1 masks, (N, D, H, W) class indices when a mask has \
        classes above 1 (so that finetune one-hot encodes them into K channels). Both files feed \
        `genesis finetune --task segmentation --images X --labels Y`. Mask voxels must be whole numbers \
        0...4095; the first other one stops the run (exit 2). --positions-from-labels --foreground F keeps \
        round(F x --per-volume) cubes per scan holding foreground (a voxel other than 0) and the rest none, \
        on top of the tissue rule (draws past either count are refused).

        Without scans: values are uniform in [0, 1), and the same seed gives the same bytes everywhere.

        Examples:
          genesis cubes subset0/*.mhd --out bat_32_64x64x32_0.npy --per-volume 32 --seed 1
          genesis cubes t1.nii.gz --modality mri --size 64,64,32 --border 10,5 --out mri.npy --json
          genesis cubes ct.mha --labels lungs.mha --labels-out y.npy --out x.npy --size 64,64,32 --border 8,4
          genesis cubes a.nii.gz b.nii.gz --labels a_seg.nii.gz b_seg.nii.gz --labels-out y.npy --out x.npy --positions-from-labels --foreground 0.5
          genesis cubes --count 2 --shape 64,64,32 --seed 7 --out cubes.npy
        """
    )

    @Argument(help: "Scans to cut cubes from (.nii, .nii.gz, .mhd, .mha). None: synthetic cubes.") var volumes: [String] = []
    @Option(help: "Output .npy file.") var out: String
    @Option(help: "Cube size D,H,W along the scan's i,j,k (multiples of 8; official: 64,64,32).", transform: CubesCommand.parseSpatial)
    var size: [Int]?
    @Option(name: .customLong("per-volume"), parsing: .unconditional, help: "Cubes wanted from each scan (official scale: 32).") var perVolume: Int?
    @Option(help: "ct (clip [-1000, 1000] HU) or mri (clip [0, 4000]); scaled to [0, 1].") var modality: String?
    @Option(help: "Borders kept clear, XY,Z voxels (official: 100,30).") var border: String?
    @Option(name: .customLong("max-tissue"), parsing: .unconditional, help: "Largest tissue score kept, as a fraction of a cube's voxels (official: 0.15; 1 keeps every cube).")
    var maxTissue: Double?
    @Option(parsing: .upToNextOption, help: "Segmentation masks, one per scan in the same order (needs --labels-out).")
    var labels: [String] = []
    @Option(name: .customLong("labels-out"), help: "Output .npy file of the label cubes (with --labels).") var labelsOut: String?
    @Flag(name: .customLong("ignore-geometry"), help: "Cut masks whose spacing, origin or direction differ from their scan's.")
    var ignoreGeometry = false
    @Flag(name: .customLong("positions-from-labels"), help: "Choose corners so that a share (--foreground) of the cubes hold foreground.")
    var positionsFromLabels = false
    @Option(parsing: .unconditional, help: "With --positions-from-labels: share of cubes holding foreground, in [0, 1] (default 0.5).") var foreground: Double?
    @Option(parsing: .unconditional, help: "Synthetic cubes only: number of cubes N (default 1).") var count: Int?
    @Option(help: "Synthetic cubes only: spatial shape D,H,W (multiples of 8; default 64,64,32).", transform: CubesCommand.parseSpatial)
    var shape: [Int]?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Flag(help: "Replace an existing --out or --labels-out that is not a NumPy array.") var force = false
    @Flag(help: "Print one JSON object instead of text.") var json = false

    @Sendable static func parseSpatial(_ s: String) throws -> [Int] {
        let p = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard p.count == 3, p.allSatisfy({ ($0 ?? 0) > 0 && $0! % 8 == 0 && $0! <= 1024 }) else {
            throw ValidationError("takes D,H,W, each a multiple of 8 up to 1024 (e.g. 64,64,32)")
        }
        return p.map { $0! }
    }

    func validate() throws {
        if volumes.isEmpty {
            for (flag, given) in [("--size", size != nil), ("--per-volume", perVolume != nil), ("--modality", modality != nil),
                                  ("--border", border != nil), ("--max-tissue", maxTissue != nil), ("--labels", !labels.isEmpty)] where given {
                throw ValidationError("\(flag) is for cubes cut from scans; give the scans, or use --count and --shape for synthetic cubes")
            }
            let n = count ?? 1, s = shape ?? [64, 64, 32]
            guard n >= 1 else { throw ValidationError("--count must be positive, not \(n)") }
            guard n <= 4096 else { throw ValidationError("--count must be at most 4096, not \(n)") }
            guard n * s.reduce(1, *) <= 1 << 30 else { throw ValidationError("--count x D x H x W must stay below 2^30 values") }
        } else {
            if count != nil || shape != nil {
                throw ValidationError("--count and --shape are for synthetic cubes; with scans use --per-volume and --size")
            }
            _ = try sampling()
            _ = try labelOptions()
        }
    }

    /// What the --labels options ask, or nil without --labels.
    func labelOptions() throws -> CubesFromScans.Labels? {
        if labels.isEmpty {
            for (flag, given) in [("--labels-out", labelsOut != nil), ("--ignore-geometry", ignoreGeometry),
                                  ("--positions-from-labels", positionsFromLabels), ("--foreground", foreground != nil)] where given {
                throw ValidationError("\(flag) needs --labels MASK... (one mask per scan)")
            }
            return nil
        }
        guard labels.count == volumes.count else {
            throw ValidationError("--labels has \(labels.count) mask(s) for \(volumes.count) scan(s); give one mask per scan, in the same order")
        }
        guard let labelsOut else { throw ValidationError("--labels needs --labels-out Y.npy for the label cubes") }
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        guard resolved(labelsOut) != resolved(out) else {
            throw ValidationError("--labels-out and --out name the same file")
        }
        if foreground != nil, !positionsFromLabels { throw ValidationError("--foreground is for --positions-from-labels") }
        var l = CubesFromScans.Labels(masks: labels, ignoreGeometry: ignoreGeometry)
        if positionsFromLabels {
            let share = foreground ?? 0.5
            guard share.isFinite, (0...1).contains(share) else { throw ValidationError("--foreground takes a share in [0, 1]") }
            l.foreground = share
        }
        return l
    }

    /// The sampling the options ask for (official defaults).
    func sampling() throws -> CubeSampling {
        let window: IntensityWindow
        switch (modality ?? "ct").lowercased() {
        case "ct": window = .ct
        case "mri": window = .mri
        default: throw ValidationError("--modality takes ct or mri")
        }
        let n = perVolume ?? 32
        guard n >= 1 else { throw ValidationError("--per-volume must be positive, not \(n)") }
        guard n <= 4096 else { throw ValidationError("--per-volume must be at most 4096, not \(n)") }
        let cube = size ?? [64, 64, 32]
        let (total, overflow) = (volumes.count * n).multipliedReportingOverflow(by: cube.reduce(1, *))
        let cap = labels.isEmpty ? 1 << 30 : 1 << 29   // with --labels the label cubes are held too
        guard !overflow, total <= cap else {
            throw ValidationError("scans x --per-volume x D x H x W must stay below \(labels.isEmpty ? "2^30" : "2^29 (with --labels)") values (4 GiB in all); cut fewer scans per file")
        }
        var s = CubeSampling(size: cube, perVolume: n, window: window)
        if let border {
            let p = border.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard p.count == 2, let xy = p[0], let z = p[1], (0...4096).contains(xy), (0...4096).contains(z) else {
                throw ValidationError("--border takes XY,Z voxels, each 0...4096 (official: 100,30)")
            }
            (s.borderXY, s.borderZ) = (xy, z)
        }
        if let maxTissue {
            guard maxTissue.isFinite, (0...1).contains(maxTissue) else { throw ValidationError("--max-tissue takes a fraction in [0, 1]") }
            s.maxTissue = maxTissue
        }
        return s
    }

    func run() throws {
        let inputs = volumes + labels
        try OutputGuard.check(out, writes: .npy, inputs: inputs, force: force)
        if let labelsOut { try OutputGuard.check(labelsOut, writes: .npy, inputs: inputs, force: force) }
        if volumes.isEmpty { return try runSynthetic() }
        let s = try sampling()
        let l = try labelOptions()
        let result = try CubesFromScans.cut(volumes, s, seed: seed, labels: l, progress: !json)
        // 0/1 masks as (N, 1, D, H, W) like the images; class indices as (N, D, H, W) for finetune to one-hot.
        let labelsShape = result.largestClass <= 1 ? [result.cubes, 1] + s.size : [result.cubes] + s.size
        let hint = result.rejectionHint(s, foreground: l?.foreground != nil)
        func report(written: Bool) -> [String: Any?] {
            var r = result.json(file: out, seed: seed, sampling: s, written: written,
                                labelsOut: l == nil ? nil : labelsOut, labelsShape: l == nil ? nil : labelsShape, foreground: l?.foreground)
            r["rejection_hint"] = hint
            return r
        }
        guard result.cubes > 0 else {
            CLIOutput.warn("no cube kept from \(volumes.count) scan(s): \(result.summary); nothing written to \(out)")
            if let hint { CLIOutput.warn(hint) }
            if json { CLIOutput.json(report(written: false)) }
            throw ExitCode(1)
        }
        let t = Tensor(shape: [result.cubes, 1] + s.size, floats: result.values)
        if l != nil, let labelsOut {
            try NPY.write(Tensor(shape: labelsShape, floats: result.labelValues), to: labelsOut)
            do { try NPY.write(t, to: out) } catch {
                try? FileManager.default.removeItem(atPath: labelsOut)   // never one file of the pair alone
                throw error
            }
        } else {
            try NPY.write(t, to: out)
        }
        if json {
            CLIOutput.json(report(written: true))
        } else {
            CLIOutput.line("wrote \(CLIOutput.terminalSafe(out)): \(CLIOutput.shape(t.shape)) float32, \(result.cubes) cubes from \(volumes.count) scan(s), seed \(seed)")
            if l != nil, let labelsOut {
                CLIOutput.line("wrote \(CLIOutput.terminalSafe(labelsOut)): \(CLIOutput.shape(labelsShape)) float32 labels, classes \(result.largestClass <= 1 ? 1 : result.largestClass + 1)")
            }
            CLIOutput.line(result.summary)
            if let hint { CLIOutput.warn(hint) }
        }
    }

    func runSynthetic() throws {
        let n = count ?? 1, spatial = shape ?? [64, 64, 32]
        var cubes: [Float] = []
        for i in 0..<n { cubes += ForwardComparison.seededCube(spatial, seed: seed &+ UInt64(i)).floats() }
        let t = Tensor(shape: [n, 1] + spatial, floats: cubes)
        try NPY.write(t, to: out)
        if json {
            CLIOutput.json(["file": out, "shape": t.shape, "seed": Int(truncatingIfNeeded: seed), "dtype": "float32", "cubes": n])
        } else {
            CLIOutput.line("wrote \(out): \(CLIOutput.shape(t.shape)) float32, seed \(seed)")
        }
    }
}
